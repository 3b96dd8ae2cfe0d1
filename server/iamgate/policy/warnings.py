"""Access Analyzer-style warnings: constructs that are valid but rarely what the author meant."""

from __future__ import annotations

from iamgate.policy.errors import PolicyProblem, Severity
from iamgate.policy.model import Effect, SetOperator, Statement


def statement_warnings(statement: Statement, star_actions: bool = True) -> list[PolicyProblem]:
    """``star_actions=False``: the caller knows no Action entry is ``*`` (saves a search of thousands)."""
    if statement.effect is not Effect.ALLOW:
        return []  # every warning below is about an Allow; a large policy asks once per statement
    if (
        statement.not_actions is None
        and statement.not_resources is None
        and statement.not_principal is None
        and not statement.conditions
        and (
            "*" not in (statement.resources or ()) or not star_actions or "*" not in (statement.actions or ())
        )
    ):
        return []  # the common Allow: none of the checks below can warn
    path = statement.path
    found: list[PolicyProblem] = []

    def warn(where: str, message: str, code: str) -> None:
        found.append(PolicyProblem(where, message, Severity.WARNING, code))

    if statement.effect is Effect.ALLOW:
        allows_everything = (
            "*" in (statement.resources or ()) and star_actions and "*" in (statement.actions or ())
        )
        if allows_everything and not statement.conditions:
            warn(path, "allows every action on every resource (Action * on Resource *)", "allow-all")
        if statement.not_actions is not None:
            warn(
                f"{path}.NotAction",
                "Allow with NotAction grants every action not listed, including future ones",
                "allow-not-action",
            )
        if statement.not_resources is not None:
            warn(
                f"{path}.NotResource",
                "Allow with NotResource grants access to every resource not listed",
                "allow-not-resource",
            )
        if statement.not_principal is not None:
            warn(
                f"{path}.NotPrincipal",
                "Allow with NotPrincipal grants access to every other principal, anonymous users included",
                "allow-not-principal",
            )
        for clause in statement.conditions:
            if clause.set_operator is SetOperator.FOR_ALL_VALUES and not clause.if_exists:
                warn(
                    clause.path,
                    "ForAllValues with Allow is also true when the key is missing or empty; "
                    "add a Null check on the key",
                    "forallvalues-allow",
                )
    return found
