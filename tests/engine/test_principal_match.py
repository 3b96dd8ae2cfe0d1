"""``match_principal`` entry by entry (a short Principal element) answers as ``PrincipalIndex``
(the set form long elements use): two readings of the same rules, on every entry shape (accounts
bare and as root ARNs in either partition, users, roles with paths, sessions, services, federated
names) against every kind of caller, one entry or several."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.engine.principals import PrincipalIndex, match_principal
from iamgate.engine.request import Principal
from iamgate.policy.model import PrincipalSpec

ENTRIES = (
    ("AWS", "*"),
    ("AWS", "111122223333"),
    ("AWS", "444455556666"),
    ("AWS", "arn:aws:iam::111122223333:root"),
    ("AWS", "arn:aws-cn:iam::111122223333:root"),
    ("AWS", "arn:aws:iam::111122223333:user/alice"),
    ("AWS", "arn:aws:iam::111122223333:role/app-role"),
    ("AWS", "arn:aws:iam::111122223333:role/path/App-Role"),
    ("AWS", "arn:aws:sts::111122223333:assumed-role/app-role/worker"),
    ("AWS", "arn:aws:iam::444455556666:root"),
    ("Service", "ec2.amazonaws.com"),
    ("Federated", "cognito-identity.amazonaws.com"),
)
CALLERS = (
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:role/app-role",
    "arn:aws:sts::111122223333:assumed-role/app-role/worker",
    "arn:aws:iam::111122223333:root",
    "arn:aws-cn:iam::111122223333:user/alice",
    "arn:aws:sts::111122223333:federated-user/bob",
    "arn:aws:iam::444455556666:user/carol",
    "ec2.amazonaws.com",
    "cognito-identity.amazonaws.com",
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ENTRIES), min_size=1, max_size=4, unique=True), st.sampled_from(CALLERS))
def test_a_short_element_matches_as_its_index_does(entries, caller):
    spec = PrincipalSpec(everyone=False, entries=tuple(entries))
    principal = Principal.parse(caller)
    assert match_principal(spec, principal) == PrincipalIndex.of(spec).match(principal)
