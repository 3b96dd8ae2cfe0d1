"""ARN patterns: the Resource element and the Arn condition operators (issue 3, "Matching").

IAM splits an ARN into ``arn:partition:service:region:account:resource`` and matches each part on
its own: partition, service, region and account without regard to letter case, the resource part
case-sensitively, and policy variables only in the resource part. Getting any of this wrong either
grants access across accounts or silently denies it.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import ACCOUNT, OTHER_ACCOUNT, context, reference_glob

from iamgate.engine.arn import ArnPattern, ShortArn

EXAMPLES = settings(max_examples=300, deadline=None)
PREFIX_ALPHABET = "aB1-*?"
RESOURCE_ALPHABET = "aB1/:*?"

QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue"
NO_CONTEXT = context()


def _instantiate(draw: st.DrawFn, pattern: str, filler: str) -> str:
    out = []
    for char in pattern:
        if char == "*":
            out.append(draw(st.text(alphabet=filler, max_size=3)))
        elif char == "?":
            out.append(draw(st.sampled_from(filler)))
        else:
            out.append(char)
    text = "".join(out)
    return text.swapcase() if draw(st.integers(0, 3)) == 0 else text


@st.composite
def arn_cases(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """Pattern parts and value parts (partition, service, region, account, resource)."""
    prefix = [draw(st.text(alphabet=PREFIX_ALPHABET, max_size=4)) for _ in range(4)]
    resource = draw(st.text(alphabet=RESOURCE_ALPHABET, max_size=8))
    pattern = [*prefix, resource]
    if draw(st.booleans()):
        value = [_instantiate(draw, p, "aB1-") for p in prefix]
        value.append(_instantiate(draw, resource, "aB1/:"))
    else:
        value = [draw(st.text(alphabet="aB1-", max_size=4)) for _ in range(4)]
        value.append(draw(st.text(alphabet="aB1/:", max_size=8)))
    return pattern, value


@EXAMPLES
@given(arn_cases(), st.booleans())
def test_each_arn_part_matches_on_its_own_like_a_glob(case, fold):
    """The pattern matches iff every prefix part matches its counterpart (folded when asked) and the
    resource part matches the rest of the ARN, colons included, case-sensitively."""
    pattern_parts, value_parts = case
    pattern = ArnPattern.compile("arn:" + ":".join(pattern_parts), fold_prefix=fold)
    value = "arn:" + ":".join(value_parts)
    expected = all(
        reference_glob(p, v, ignore_case=fold)
        for p, v in zip(pattern_parts[:4], value_parts[:4], strict=True)
    ) and reference_glob(pattern_parts[4], value_parts[4])
    assert pattern.matches(value, NO_CONTEXT) is expected


def test_a_star_in_the_region_does_not_cross_into_the_account():
    """``*`` in the region stops at its colon; a whole-string glob would let it swallow the account."""
    pattern = ArnPattern.compile(f"arn:aws:sqs:*1:{ACCOUNT}:queue", fold_prefix=True)
    assert pattern.matches(QUEUE, NO_CONTEXT)
    # As one string, "arn:aws:sqs:*1:ACCOUNT:queue" would match this (the * eating "us-east:"):
    assert not pattern.matches(f"arn:aws:sqs:us-east:1:{ACCOUNT}:queue", NO_CONTEXT)


def test_a_star_in_the_account_matches_any_account_but_not_more_parts():
    """``arn:aws:sqs:us-east-1:*:queue`` names a queue in any account, not a longer resource."""
    pattern = ArnPattern.compile("arn:aws:sqs:us-east-1:*:queue", fold_prefix=True)
    assert pattern.matches(QUEUE, NO_CONTEXT)
    assert pattern.matches(f"arn:aws:sqs:us-east-1:{OTHER_ACCOUNT}:queue", NO_CONTEXT)
    assert not pattern.matches(f"arn:aws:sqs:us-east-1:{ACCOUNT}:other-queue", NO_CONTEXT)


def test_a_star_in_the_resource_part_spans_slashes_and_colons():
    """Everything after the fifth colon is one part; ``bucket/*`` covers nested keys and colons."""
    pattern = ArnPattern.compile("arn:aws:s3:::bucket/*", fold_prefix=True)
    assert pattern.matches("arn:aws:s3:::bucket/a/b/c:d", NO_CONTEXT)
    assert pattern.matches("arn:aws:s3:::bucket/", NO_CONTEXT)
    assert not pattern.matches("arn:aws:s3:::bucket", NO_CONTEXT)


def test_prefix_parts_compare_case_insensitively_when_folded():
    """IAM treats ``arn:AWS:S3:US-EAST-1`` and ``arn:aws:s3:us-east-1`` alike, in both directions."""
    pattern = ArnPattern.compile(f"arn:AWS:SQS:US-EAST-1:{ACCOUNT}:queue", fold_prefix=True)
    assert pattern.matches(QUEUE, NO_CONTEXT)
    lower = ArnPattern.compile(QUEUE, fold_prefix=True)
    assert lower.matches(f"arn:Aws:Sqs:Us-East-1:{ACCOUNT}:queue", NO_CONTEXT)


def test_prefix_parts_compare_as_written_without_folding():
    """Without ``fold_prefix`` (as the Arn condition operators compile them) every part is exact."""
    pattern = ArnPattern.compile(f"arn:aws:SQS:us-east-1:{ACCOUNT}:queue")
    assert not pattern.matches(QUEUE, NO_CONTEXT)
    assert pattern.matches(f"arn:aws:SQS:us-east-1:{ACCOUNT}:queue", NO_CONTEXT)


def test_the_resource_part_is_case_sensitive_even_when_prefix_parts_fold():
    """S3 keys and queue names are case-sensitive: ``Bucket/*`` does not grant ``bucket/x``."""
    pattern = ArnPattern.compile("arn:aws:s3:::Bucket/*", fold_prefix=True)
    assert not pattern.matches("arn:aws:s3:::bucket/x", NO_CONTEXT)
    assert pattern.matches("arn:AWS:s3:::Bucket/x", NO_CONTEXT)


def test_a_value_that_is_not_a_six_part_arn_never_matches_a_real_pattern():
    """Only a well-formed ARN can match a pattern with ARN structure."""
    pattern = ArnPattern.compile("arn:aws:s3:::*", fold_prefix=True, short=ShortArn.PAD)
    for value in ("*", "bucket", "arn:aws:s3", "arn:aws:s3::", "ARN:aws:s3:::bucket"):
        assert not pattern.matches(value, NO_CONTEXT), value


def test_a_short_pattern_is_padded_with_wildcards_in_identity_policies():
    """Identity-side ``arn:aws:s3`` reads as ``arn:aws:s3:*:*:*``: every S3 resource, nothing else."""
    pattern = ArnPattern.compile("arn:aws:s3", fold_prefix=True, short=ShortArn.PAD)
    assert pattern.matches("arn:aws:s3:::bucket/key", NO_CONTEXT)
    assert pattern.matches(f"arn:aws:s3:us-east-1:{ACCOUNT}:accesspoint/ap", NO_CONTEXT)
    assert not pattern.matches(QUEUE, NO_CONTEXT)


def test_a_short_pattern_in_a_resource_policy_is_padded_only_when_it_has_a_wildcard():
    """Resource-based policies: ``arn:aws:s3*`` is padded, a wildcard-free short ARN matches nothing."""
    padded = ArnPattern.compile("arn:aws:s3*", fold_prefix=True, short=ShortArn.PAD_IF_WILDCARD)
    assert padded.matches("arn:aws:s3:::bucket/key", NO_CONTEXT)
    plain = ArnPattern.compile("arn:aws:s3", fold_prefix=True, short=ShortArn.PAD_IF_WILDCARD)
    assert plain.matches_nothing
    assert not plain.matches("arn:aws:s3:::bucket/key", NO_CONTEXT)


def test_a_short_pattern_never_matches_in_arn_conditions():
    """Arn condition operators read a malformed ARN as matching nothing, wildcard or not."""
    for text in ("arn:aws:s3", "arn:aws:s3*", "arn:aws:s3:*"):
        pattern = ArnPattern.compile(text, short=ShortArn.NEVER)
        assert pattern.matches_nothing, text
        assert not pattern.matches("arn:aws:s3:::bucket/key", NO_CONTEXT), text


def test_a_bare_star_matches_everything_except_under_arn_condition_rules():
    """``"Resource": "*"`` (or ``**``) is everything; an Arn condition value ``*`` is not an ARN."""
    for short in (ShortArn.PAD, ShortArn.PAD_IF_WILDCARD):
        for text in ("*", "**"):
            pattern = ArnPattern.compile(text, fold_prefix=True, short=short)
            assert pattern.everything
            assert pattern.matches("arn:aws:s3:::bucket/key", NO_CONTEXT)
            assert pattern.matches("not-an-arn", NO_CONTEXT)
    assert not ArnPattern.compile("*", short=ShortArn.NEVER).matches("arn:aws:s3:::b", NO_CONTEXT)


def test_a_pattern_not_starting_with_arn_matches_nothing():
    """``aws:s3:::bucket`` (no ``arn:``) is not an ARN pattern and must not match by accident."""
    pattern = ArnPattern.compile("xrn:aws:s3:::bucket", fold_prefix=True, short=ShortArn.PAD)
    assert pattern.matches_nothing
    assert not pattern.matches("arn:aws:s3:::bucket", NO_CONTEXT)


# --------------------------------------------------------------------------------------------------
# Policy variables

HOME = "arn:aws:s3:::home/${aws:username}/*"


def test_a_variable_is_substituted_in_the_resource_part():
    """``home/${aws:username}/*`` gives each user their own folder and no one else's."""
    pattern = ArnPattern.compile(HOME, fold_prefix=True)
    alice = context({"aws:username": "alice"})
    assert pattern.matches("arn:aws:s3:::home/alice/notes", alice)
    assert not pattern.matches("arn:aws:s3:::home/bob/notes", alice)
    assert pattern.matches("arn:aws:s3:::home/bob/notes", context({"aws:username": "bob"}))


def test_a_substituted_value_never_acts_as_a_wildcard():
    """A user named ``*`` or ``?`` gets the folder literally called that, not every folder."""
    pattern = ArnPattern.compile(HOME, fold_prefix=True)
    for name in ("*", "?", "a*"):
        ctx = context({"aws:username": name})
        assert pattern.matches(f"arn:aws:s3:::home/{name}/notes", ctx)
        assert not pattern.matches("arn:aws:s3:::home/alice/notes", ctx)


def test_a_variable_in_the_account_field_never_matches():
    """IAM substitutes variables only after the fifth colon; ``${aws:PrincipalAccount}`` in the
    account field is text that no account id equals."""
    text = "arn:aws:sqs:us-east-1:${aws:PrincipalAccount}:queue"
    pattern = ArnPattern.compile(text, fold_prefix=True)
    ctx = context({"aws:PrincipalAccount": ACCOUNT})
    assert not pattern.matches(QUEUE, ctx)


def test_a_variable_in_the_region_field_never_matches():
    """The same holds for the region (and partition and service)."""
    pattern = ArnPattern.compile(f"arn:aws:sqs:${{aws:RequestedRegion}}:{ACCOUNT}:queue", fold_prefix=True)
    assert not pattern.matches(QUEUE, context({"aws:RequestedRegion": "us-east-1"}))


def test_an_unresolved_variable_matches_nothing_and_is_reported_unresolvable():
    """AWS: a variable whose key is missing makes the value match nothing, not an empty string.
    NotResource relies on ``resolvable`` to tell such an entry from a non-matching one."""
    pattern = ArnPattern.compile(HOME, fold_prefix=True)
    for value in ("arn:aws:s3:::home//notes", "arn:aws:s3:::home/${aws:username}/notes"):
        assert not pattern.matches(value, NO_CONTEXT)
    assert not pattern.resolvable(NO_CONTEXT)
    assert pattern.resolvable(context({"aws:username": "alice"}))


def test_multivalued_and_empty_variables_are_unresolvable():
    """A list cannot be substituted into one ARN, and an empty value names nothing."""
    pattern = ArnPattern.compile(HOME, fold_prefix=True)
    for ctx in (context({"aws:username": ["alice", "bob"]}), context({"aws:username": ""})):
        assert not pattern.resolvable(ctx)
        assert not pattern.matches("arn:aws:s3:::home/alice/notes", ctx)
        assert not pattern.matches("arn:aws:s3:::home//notes", ctx)


def test_a_default_makes_a_missing_variable_resolvable():
    """``${aws:username, 'guest'}`` stands for ``guest`` when the key is missing."""
    pattern = ArnPattern.compile("arn:aws:s3:::home/${aws:username, 'guest'}/*", fold_prefix=True)
    assert pattern.resolvable(NO_CONTEXT)
    assert pattern.matches("arn:aws:s3:::home/guest/notes", NO_CONTEXT)
    assert not pattern.matches("arn:aws:s3:::home/guest/notes", context({"aws:username": "alice"}))


def test_a_pattern_without_variables_is_always_resolvable():
    assert ArnPattern.compile("arn:aws:s3:::home/*", fold_prefix=True).resolvable(NO_CONTEXT)


def test_variables_are_plain_text_when_disabled():
    """Under Version 2008-10-17 ``${aws:username}`` is literal text in the ARN."""
    pattern = ArnPattern.compile(HOME, variables=False, fold_prefix=True)
    alice = context({"aws:username": "alice"})
    assert not pattern.matches("arn:aws:s3:::home/alice/notes", alice)
    assert pattern.matches("arn:aws:s3:::home/${aws:username}/notes", alice)
    assert pattern.resolvable(NO_CONTEXT)
