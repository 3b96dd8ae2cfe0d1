"""Issue 8, item 1 (session tags): a session's tags come in their own field, checked as AWS would.

A session's ``aws:PrincipalTag/K`` used to be whatever the context said. Now the tags travel in
``session_tags``, only for assumed-role sessions, and only where the role's trust policy allows
``sts:TagSession`` with them; accepted tags override the role's own tag of the same key.
"""

from __future__ import annotations

import pytest

import iamgate_client as sdk
from iamgate.cli import main

from .trust_helpers import ANALYST_SESSION, LEDGER, sidecar_client, write_abac_bundle


@pytest.fixture(scope="module")
def abac(tmp_path_factory):
    with sidecar_client(write_abac_bundle(tmp_path_factory.mktemp("abac"))) as running:
        yield running


def test_a_session_tag_the_trust_policy_allows_becomes_a_principal_tag(abac):
    client, _ = abac
    assert client.authorize(ANALYST_SESSION, "s3:GetObject", LEDGER).outcome is sdk.Outcome.IMPLICIT_DENY
    tagged = client.authorize(ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags={"Department": "Finance"})
    assert tagged.outcome is sdk.Outcome.ALLOWED
    assert "aws:PrincipalTag/Department" in tagged.filled_context_keys


def test_a_session_tag_value_the_trust_policy_does_not_allow_is_refused(abac):
    client, _ = abac
    with pytest.raises(sdk.InvalidRequestError, match=r"session_tags: the trust policy of .* does not allow"):
        client.authorize(ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags={"Department": "Legal"})


def test_a_session_tag_key_the_trust_policy_does_not_allow_is_refused(abac):
    client, _ = abac
    with pytest.raises(sdk.InvalidRequestError, match="does not allow sts:TagSession"):
        client.authorize(
            ANALYST_SESSION,
            "s3:GetObject",
            LEDGER,
            session_tags={"Department": "Finance", "Clearance": "top"},
        )


def test_session_tags_of_a_role_that_does_not_allow_tag_session_are_refused(abac):
    client, _ = abac
    auditor = "arn:aws:sts::111122223333:assumed-role/auditor/bob"
    with pytest.raises(sdk.InvalidRequestError, match="does not allow sts:TagSession"):
        client.authorize(auditor, "s3:GetObject", LEDGER, session_tags={"Department": "Finance"})


@pytest.mark.parametrize("principal", ["erin", "analyst", "arn:aws:iam::111122223333:role/analyst"])
def test_session_tags_are_refused_for_principals_that_are_not_sessions(abac, principal):
    client, _ = abac
    with pytest.raises(sdk.InvalidRequestError, match="session_tags: apply only to assumed-role sessions"):
        client.authorize(principal, "s3:GetObject", LEDGER, session_tags={"Department": "Finance"})


def test_the_cache_never_serves_one_sessions_answer_to_another_with_other_tags(abac):
    client, _ = abac
    for _ in range(3):
        finance = client.authorize(
            ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags={"Department": "Finance"}
        )
        engineering = client.authorize(
            ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags={"Department": "Engineering"}
        )
        untagged = client.authorize(ANALYST_SESSION, "s3:GetObject", LEDGER)
        assert (finance.outcome, engineering.outcome, untagged.outcome) == (
            sdk.Outcome.ALLOWED,
            sdk.Outcome.IMPLICIT_DENY,
            sdk.Outcome.IMPLICIT_DENY,
        )


def test_explain_takes_session_tags(abac):
    client, _ = abac
    explained = client.explain(
        ANALYST_SESSION, "s3:GetObject", LEDGER, session_tags={"Department": "Finance"}
    )
    assert explained.decision.outcome is sdk.Outcome.ALLOWED


def test_the_cli_passes_session_tags(abac, capsys):
    _, running = abac
    address = f"127.0.0.1:{running.port}"
    code = main(
        [
            "check",
            ANALYST_SESSION,
            "s3:GetObject",
            LEDGER,
            "-a",
            address,
            "--session-tag",
            "Department=Finance",
        ]
    )
    assert code == 0
    assert "ALLOWED" in capsys.readouterr().out.upper()
