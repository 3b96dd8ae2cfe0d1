"""``AccessQuery`` and ``AccessOutcome`` build through their slot descriptors (``bundle/query.py``)
and are still the frozen dataclasses callers know: the same fields, defaults, equality, hash,
repr and ``replace``, and no assignment. Compared with reference dataclasses declared the usual
way, so a constructor that set a field in the wrong slot, or kept a default wrong, fails here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamgate.bundle.query import AccessOutcome, AccessQuery
from iamgate.engine.request import ContextValue
from iamgate.engine.result import Decision, Evaluation, PolicyKind


@dataclass(frozen=True, slots=True)
class _ReferenceQuery:
    principal: str
    action: str
    resource: str
    context: tuple = ()
    session_policy: str | None = None
    request_id: str = ""
    session_tags: tuple = ()


@dataclass(frozen=True, slots=True)
class _ReferenceOutcome:
    evaluation: Evaluation
    principal_arn: str
    message: str
    filled_context: tuple
    revision: str
    principal_known: bool = True


texts = st.text(max_size=8)
contexts = st.lists(st.builds(ContextValue, texts, st.lists(texts, max_size=2).map(tuple)), max_size=2).map(
    tuple
)
tags = st.lists(st.tuples(texts, texts), max_size=2).map(tuple)
queries = st.tuples(texts, texts, texts, contexts, st.none() | texts, texts, tags)


def _values(instance) -> tuple:
    return tuple(getattr(instance, f.name) for f in dataclasses.fields(instance))


@given(fields=queries, given_count=st.integers(min_value=3, max_value=7))
def test_a_query_holds_what_a_plain_dataclass_would(fields, given_count):
    args = fields[:given_count]
    query, reference = AccessQuery(*args), _ReferenceQuery(*args)
    assert _values(query) == _values(reference)
    assert query == AccessQuery(*args)
    assert hash(query) == hash(AccessQuery(*args))
    assert repr(query) == repr(reference).replace("_ReferenceQuery", "AccessQuery")
    keywords = {f.name: v for f, v in zip(dataclasses.fields(AccessQuery), args, strict=False)}
    assert AccessQuery(**keywords) == query


def test_queries_differing_in_any_field_differ():
    base = ("p", "a", "r", (), None, "", ())
    changed = ("q", "b", "s", (ContextValue("k", ("v",)),), "{}", "id", (("t", "v"),))
    for index in range(len(base)):
        other = (*base[:index], changed[index], *base[index + 1 :])
        assert AccessQuery(*other) != AccessQuery(*base)


def test_a_query_is_frozen_and_replace_works():
    query = AccessQuery("p", "a", "r")
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.principal = "x"  # type: ignore[misc]
    assert dataclasses.replace(query, request_id="7") == AccessQuery("p", "a", "r", request_id="7")
    assert [f.default for f in dataclasses.fields(AccessQuery)][3:] == [(), None, "", ()]


@given(
    decision=st.sampled_from(list(Decision)),
    denied_by=st.none() | st.sampled_from(list(PolicyKind)),
    principal=texts,
    message=texts,
    filled=st.lists(texts, max_size=3).map(tuple),
    revision=texts,
    known=st.none() | st.booleans(),
)
def test_an_outcome_holds_what_a_plain_dataclass_would(
    decision, denied_by, principal, message, filled, revision, known
):
    evaluation = Evaluation(decision, denied_by=denied_by)
    args = (evaluation, principal, message, filled, revision) + (() if known is None else (known,))
    outcome, reference = AccessOutcome(*args), _ReferenceOutcome(*args)
    assert _values(outcome) == _values(reference)
    assert outcome == AccessOutcome(*args)
    assert outcome.allowed is (decision is Decision.ALLOWED)
    assert repr(outcome) == repr(reference).replace("_ReferenceOutcome", "AccessOutcome")


def test_an_outcome_is_frozen():
    outcome = AccessOutcome(Evaluation(Decision.ALLOWED), "arn", "m", (), "r")
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.message = "x"  # type: ignore[misc]
    assert outcome.principal_known is True
    assert dataclasses.replace(outcome, principal_known=False).principal_known is False
