"""``policy.frozen.positional`` builds the same frozen objects as their own ``__init__``."""

from __future__ import annotations

import dataclasses

import pytest

from iamgate.engine.compiled import CompiledStatement
from iamgate.policy.frozen import positional
from iamgate.policy.model import ConditionClause, SetOperator, Statement


@pytest.mark.parametrize("cls", [Statement, ConditionClause, CompiledStatement])
def test_positional_constructor_builds_what_init_builds(cls: type) -> None:
    values = [object() for _ in dataclasses.fields(cls)]
    made, built = positional(cls)(*values), cls(*values)
    assert type(made) is cls
    for field in dataclasses.fields(cls):
        assert getattr(made, field.name) is getattr(built, field.name)


def test_objects_built_positionally_stay_frozen_and_compare_equal() -> None:
    clause = positional(ConditionClause)(
        "ForAnyValue:StringLike", "StringLike", SetOperator.FOR_ANY_VALUE, False, "k", ("v",), "p"
    )
    assert clause == ConditionClause(
        "ForAnyValue:StringLike", "StringLike", SetOperator.FOR_ANY_VALUE, False, "k", ("v",), "p"
    )
    assert hash(clause) == hash(
        ConditionClause(
            "ForAnyValue:StringLike", "StringLike", SetOperator.FOR_ANY_VALUE, False, "k", ("v",), "q"
        )
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        clause.key = "other"  # type: ignore[misc]


def test_a_field_named_like_the_generated_helpers_is_still_set() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Odd:
        new: int
        cls: int
        set_operator: int
        v0: int

    made = positional(Odd)(1, 2, 3, 4)
    assert (made.new, made.cls, made.set_operator, made.v0) == (1, 2, 3, 4)


def test_a_class_without_slots_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        x: int

    with pytest.raises(TypeError, match="slotted"):
        positional(Plain)
