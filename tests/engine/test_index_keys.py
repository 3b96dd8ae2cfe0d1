"""Where a resource index files an ARN pattern: read off the text at compile time.

``ArnPattern.index_key`` is computed from the pattern's text when it is compiled (a bundle of
100,000 statements compiles ~40,000 distinct ARNs). It must be exactly the key the index would
derive from the compiled globs (``index.index_key``): a pattern filed under the wrong key is never
offered to a request it matches, and a Deny missed that way would allow.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from iamgate.engine.arn import ArnPattern, ShortArn
from iamgate.engine.index import index_key

EXAMPLES = settings(max_examples=500, deadline=None)
PART = st.text(alphabet="aB1-*?", max_size=4)
RESOURCE = st.text(alphabet="aB1/:*?$", max_size=8)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(["arn", "*", "ARN"]))
    parts = [draw(PART) for _ in range(draw(st.integers(0, 4)))]
    text = ":".join([head, *parts])
    if len(parts) == 4:
        text += ":" + draw(RESOURCE)
    return text


@EXAMPLES
@given(patterns(), st.booleans(), st.booleans(), st.sampled_from(list(ShortArn)))
def test_index_key_read_off_the_text_is_the_one_derived_from_the_globs(
    text: str, fold_prefix: bool, variables: bool, short: ShortArn
) -> None:
    pattern = ArnPattern.compile(text, variables=variables, fold_prefix=fold_prefix, short=short)
    if pattern.everything or pattern.template is not None or not pattern.prefix:
        assert pattern.index_key is None
    else:
        assert pattern.index_key == index_key(pattern)


def test_literal_arn_is_filed_under_itself_with_its_prefix_folded() -> None:
    pattern = ArnPattern.compile("arn:AWS:S3:::Bucket/Key", fold_prefix=True, short=ShortArn.PAD)
    assert pattern.index_key == (True, "arn:aws:s3:::Bucket/Key")


def test_wildcard_arn_is_filed_under_its_literal_head_cut_at_a_delimiter() -> None:
    pattern = ArnPattern.compile("arn:aws:s3:::bucket/home/us*", fold_prefix=True, short=ShortArn.PAD)
    assert pattern.index_key == (False, "arn:aws:s3:::bucket/home/")
