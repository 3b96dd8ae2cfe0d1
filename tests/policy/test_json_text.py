"""The strict JSON reader every JSON input goes through (``iamgate.policy.json_text``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamgate.policy import PolicyParseError, parse_policy
from iamgate.policy.json_text import DEFAULT_MAX_DEPTH, JsonTextError, json_path, load_strict


def _problems(text: str | bytes, **limits) -> list[tuple[str, str]]:
    with pytest.raises(JsonTextError) as raised:
        load_strict(text, **limits)
    return [(problem.path, problem.code) for problem in raised.value.problems]


def test_valid_json_reads_as_the_json_module_reads_it():
    text = '{"Statement": [{"Effect": "Allow", "Sid": "caf\\u00e9 \\ud83d\\ude00", "n": 1.5}]}'
    assert load_strict(text) == json.loads(text)


def test_bytes_must_be_utf8_and_a_byte_order_mark_is_ignored():
    assert load_strict(b'\xef\xbb\xbf{"a": "\xc3\xa9"}') == {"a": "é"}
    with pytest.raises(JsonTextError, match=r"not UTF-8 text: invalid byte 0xff at offset 7"):
        load_strict(b'{"a": "\xff"}')


def test_a_repeated_key_is_an_error_naming_its_path():
    text = '{"Statement": [{"Effect": "Deny", "Effect": "Allow"}]}'
    assert _problems(text) == [("Statement[0].Effect", "duplicate-key")]


def test_every_repeated_key_is_listed_in_document_order():
    text = '{"a": 1, "a": 2, "b": [{"c": 1, "c": 1}], "d": {"e": 0, "e": 0}}'
    assert _problems(text) == [("a", "duplicate-key"), ("b[0].c", "duplicate-key"), ("d.e", "duplicate-key")]


def test_a_key_that_is_not_a_plain_name_is_quoted_in_the_path():
    text = (
        '{"Condition": {"StringEquals": {"aws:PrincipalTag/team": 1, "aws:PrincipalTag/team": 2}},'
        ' "a b": {"x": 1, "x": 2}}'
    )
    assert [path for path, _ in _problems(text)] == [
        "Condition.StringEquals.aws:PrincipalTag/team",
        '["a b"].x',
    ]


def test_nesting_up_to_the_limit_is_accepted_and_one_more_level_refused():
    assert load_strict("[" * DEFAULT_MAX_DEPTH + "]" * DEFAULT_MAX_DEPTH)
    deeper = DEFAULT_MAX_DEPTH + 1
    assert _problems("[" * deeper + "]" * deeper) == [("[0][0][0][0][0][0][0][0][0][0][0][0]...", "depth")]


def test_the_nesting_limit_is_configurable():
    assert _problems('{"a": {"b": [1]}}', max_depth=2) == [("a.b", "depth")]
    assert load_strict('{"a": {"b": [1]}}', max_depth=3)


def test_nesting_deeper_than_python_can_recurse_is_a_depth_error_not_a_recursion_error():
    assert _problems("[" * 100_000 + "]" * 100_000) == [("", "depth")]
    assert _problems('{"a": ' * 5000 + "1" + "}" * 5000) == [("", "depth")]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_refused(constant):
    assert _problems(f'{{"n": {constant}}}') == [("", "number")]


def test_an_integer_too_long_for_python_is_a_number_error():
    assert _problems("1" * 5000) == [("", "number")]


def test_a_lone_surrogate_escape_is_refused_with_its_path_and_a_pair_is_text():
    assert _problems('{"Sid": ["ok", "\\ud800"]}') == [("Sid[1]", "encoding")]
    assert _problems('{"\\udfff": 1}') == [('["\\udfff"]', "encoding")]
    assert load_strict('"\\ud83d\\ude00"') == "\U0001f600"


def test_a_text_holding_a_lone_surrogate_is_refused():
    assert _problems('{"a": "\udcff"}') == [("", "encoding")]


def test_malformed_json_names_line_and_column():
    with pytest.raises(JsonTextError, match=r"malformed JSON: Expecting ',' delimiter at line 2, column 1"):
        load_strict('{"a": 1\n"b": 2}')


def test_a_size_cap_refuses_longer_text():
    assert _problems(b'{"a": 1}', max_bytes=4) == [("", "size")]
    assert load_strict(b'{"a": 1}', max_bytes=8) == {"a": 1}


def test_json_path_reads_like_the_parser_paths():
    assert json_path(["Statement", 0, "Condition", "StringLike", "s3:prefix"]) == (
        "Statement[0].Condition.StringLike.s3:prefix"
    )
    assert json_path([0, "a.b"]) == '[0]["a.b"]'


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=30,
    )
)
def test_whatever_json_dumps_writes_reads_back_unchanged(value):
    assert load_strict(json.dumps(value)) == value


# -- through the policy parser --------------------------------------------------------------------


def test_a_policy_repeating_effect_is_refused_not_read_as_the_last_value():
    text = (
        '{"Version": "2012-10-17", "Statement": '
        '[{"Effect": "Deny", "Effect": "Allow", "Action": "*", "Resource": "*"}]}'
    )
    with pytest.raises(PolicyParseError) as raised:
        parse_policy(text, source_name="policy.json")
    assert [str(problem) for problem in raised.value.problems] == [
        "Statement[0].Effect: duplicate key (an object may give each key once)"
    ]


def test_a_deep_policy_is_a_parse_error():
    text = '{"Version": "2012-10-17", "Statement": ' + "[" * 3000 + "]" * 3000 + "}"
    with pytest.raises(PolicyParseError) as raised:
        parse_policy(text)
    assert raised.value.problems[0].code == "depth"


def test_the_policy_parser_takes_a_nesting_limit():
    text = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
    assert parse_policy(text, max_depth=3)
    with pytest.raises(PolicyParseError, match="nested too deeply"):
        parse_policy(text, max_depth=2)


def test_no_module_of_the_server_reads_json_but_through_the_strict_reader():
    root = Path(__file__).resolve().parents[2] / "server" / "iamgate"
    lenient = re.compile(r"\bjson\.loads?\(")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "json_text.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if lenient.search(line)
    ]
    assert offenders == [], "read JSON with iamgate.policy.json_text.load_strict"


_NESTED = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3)),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from("abc"), children, max_size=3)
    ),
    max_leaves=30,
)


@given(_NESTED, st.integers(1, 8), st.booleans())
def test_the_quick_depth_check_answers_as_the_full_walk(value, max_depth, repeat_a_key):
    """A text without duplicate keys or surrogate escapes skips the per-container walk (``_check``)
    when it holds too few brackets to be too deep, or a level-at-a-time pass finds nothing too deep;
    the answer must be the walk's."""
    from iamgate.policy import json_text

    text = json.dumps(value)
    if repeat_a_key and text.startswith("{") and len(text) > 2:
        text = '{"a": 1, "a": 2, ' + text[1:]

    def outcome():
        try:
            return "read", load_strict(text, max_depth=max_depth)
        except JsonTextError as error:
            return "refused", [(p.path, p.code) for p in error.problems]

    quick = outcome()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_text, "_shallow_enough", lambda *args: False)
        patch.setattr(json_text, "_few_brackets", lambda *args: False)
        patch.setattr(json_text, "_few_containers", lambda *args: False)
        assert outcome() == quick


@given(
    _NESTED,
    st.integers(1, 8),
    st.booleans(),
    st.sampled_from(["_few_brackets", "_few_containers", "_shallow_enough"]),
)
def test_each_quick_depth_check_alone_answers_as_the_full_walk(value, max_depth, repeat_a_key, kept):
    """Each shortcut on its own (the others turned off) must answer as the walk: a shortcut that
    said "shallow" for a text too deep would let it through, however rarely the others miss it."""
    from iamgate.policy import json_text

    text = json.dumps(value)
    if repeat_a_key and text.startswith("{") and len(text) > 2:
        text = '{"a": 1, "a": 2, ' + text[1:]

    def outcome():
        try:
            return "read", load_strict(text, max_depth=max_depth)
        except JsonTextError as error:
            return "refused", [(p.path, p.code) for p in error.problems]

    shortcuts = ("_few_brackets", "_few_containers", "_shallow_enough")
    with pytest.MonkeyPatch.context() as patch:
        for name in shortcuts:
            if name != kept:
                patch.setattr(json_text, name, lambda *args: False)
        quick = outcome()
    with pytest.MonkeyPatch.context() as patch:
        for name in shortcuts:
            patch.setattr(json_text, name, lambda *args: False)
        assert outcome() == quick


@pytest.mark.parametrize("depth", [1, 2, 3, 63, 64, 65, 66])
def test_few_containers_counts_lists_and_objects_alike(depth):
    """Nesting of lists only, objects only and both mixed, around the limit, each shortcut alone."""
    from iamgate.policy import json_text

    shapes = {
        "lists": "[" * depth + "]" * depth,
        "objects": '{"a": ' * depth + "1" + "}" * depth,
        "mixed": "".join('{"a": [' for _ in range(depth // 2)) + "1" + "]}" * (depth // 2),
    }
    for shape, text in shapes.items():
        padded = text + " " * 5000  # past _few_brackets' length
        for source in (text, padded):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(json_text, "_shallow_enough", lambda *args: False)
                patch.setattr(json_text, "_few_brackets", lambda *args: False)
                try:
                    quick = ("read", load_strict(source))
                except JsonTextError as error:
                    quick = ("refused", [p.code for p in error.problems])
            with pytest.MonkeyPatch.context() as patch:
                for name in ("_shallow_enough", "_few_brackets", "_few_containers"):
                    patch.setattr(json_text, name, lambda *args: False)
                try:
                    reference = ("read", load_strict(source))
                except JsonTextError as error:
                    reference = ("refused", [p.code for p in error.problems])
            assert quick == reference
            levels = depth if shape != "mixed" else 2 * (depth // 2)
            assert (reference[0] == "read") == (levels <= json_text.DEFAULT_MAX_DEPTH)


def test_each_thread_reads_with_its_own_decoder_and_counts():
    """The decoder kept per thread (``json_text._Reading``) carries no state from one text to the
    next, nor between threads: texts with and without repeated keys, read concurrently, each
    get their own answer."""
    import threading

    good = json.dumps({"Statement": [{"Effect": "Allow", "Action": f"s3:A{i}"} for i in range(50)]})
    bad = '{"Statement": [{"Effect": "Allow", "Effect": "Deny"}]}'
    deep = "[" * 70 + "]" * 70
    failures: list[str] = []

    def read(texts: list[str]) -> None:
        for text in texts * 200:
            try:
                load_strict(text)
                outcome = "read"
            except JsonTextError as error:
                outcome = error.problems[0].code
            expected = {good: "read", bad: "duplicate-key", deep: "depth"}[text]
            if outcome != expected:
                failures.append(f"{text[:20]}: {outcome}")

    threads = [
        threading.Thread(target=read, args=(order,)) for order in ([good, bad, deep], [bad, deep, good])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_text_read_while_the_threads_decoder_is_busy_gets_its_own():
    from iamgate.policy import json_text

    load_strict("{}")
    kept = json_text._THREAD.reading
    kept.busy = True  # as if a text were being read further up this thread
    try:
        assert load_strict('{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
        with pytest.raises(JsonTextError, match="duplicate key"):
            load_strict('{"a": 1, "a": 2}')
    finally:
        kept.busy = False


def test_a_second_byte_order_mark_is_refused_as_json_loads_refuses_it():
    with pytest.raises(JsonTextError) as raised:
        load_strict("\ufeff\ufeff{}")
    try:
        json.loads("\ufeff{}")
    except json.JSONDecodeError as error:
        expected = f"malformed JSON: {error.msg} at line {error.lineno}, column {error.colno}"
    assert raised.value.problems[0].message == expected
