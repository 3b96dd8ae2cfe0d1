"""Tests that cannot lie: a test naming an action or context key nothing knows is an error.

A test expecting ``implicitDeny`` for ``s3:GetObjekt`` passes whatever the policies say, and one
giving ``contxt``-style keys no policy reads proves nothing about conditions. An action must be in
the catalogue (AWS's reference or the bundle's ``services.json``) or, for a service the catalogue
does not know, be matched by some statement of the bundle; a context key must be in the catalogue
or be read by some condition of the bundle. (Unknown principals are refused when the test runs:
the snapshot's resolution is the authority on names, ARNs and sessions.)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from iamgate.bundle.errors import BundleProblem
from iamgate.bundle.model import Organization, Origin
from iamgate.catalogue import Catalogue
from iamgate.engine.glob import Glob
from iamgate.policy.errors import Severity
from iamgate.policy.model import PolicyDocument


def lying_test_problems(organization: Organization, catalogue: Catalogue) -> list[BundleProblem]:
    if not organization.tests:
        return []
    documents = list(_documents(organization))
    patterns = {a for d in documents for s in d.statements for a in (s.actions or s.not_actions or ())}
    keys = {c.key.lower() for d in documents for s in d.statements for c in s.conditions}
    problems: list[BundleProblem] = []

    def error(origin: Origin, field: str, message: str, code: str) -> None:
        path = f"{origin.path}.{field}" if origin.path else field
        problems.append(BundleProblem(origin.file, path, message, Severity.ERROR, code))

    for test in organization.tests:
        why = _unknown_action(test.action, catalogue, patterns)
        if why:
            error(test.origin, "action", why, "test-unknown-action")
        else:
            misfit = catalogue.resource_hint(test.action, test.resource) if test.resource != "*" else None
            if misfit:  # an ARN AWS would never authorize the action against: worth a look, not wrong
                path = f"{test.origin.path}.resource" if test.origin.path else "resource"
                problems.append(
                    BundleProblem(test.origin.file, path, misfit, Severity.WARNING, "test-resource-type")
                )
        for value in test.context:
            if value.name.lower() in keys or catalogue.condition_key(value.name) is not None:
                continue
            if not catalogue.available and value.name.partition(":")[0].lower() != "aws":
                continue  # without the reference, a service's key cannot be called unknown
            if any(_template_reads(key, value.name) for key in keys):
                continue
            hint = difflib.get_close_matches(value.name.lower(), sorted(keys), n=1, cutoff=0.75)
            more = f"; did you mean {hint[0]!r}?" if hint else ""
            error(
                test.origin,
                f"context.{value.name}",
                f"no condition of the bundle reads {value.name!r} and the catalogue does not know it{more}",
                "test-unknown-context-key",
            )
    return problems


def _unknown_action(action: str, catalogue: Catalogue, patterns: set[str]) -> str:
    prefix, _, name = action.partition(":")
    service = catalogue.service(prefix)
    if service is not None:
        if service.action(name) is not None:
            return ""
        hint = service.suggest_action(name)
        more = f"; did you mean '{service.prefix}:{hint}'?" if hint else ""
        return f"{action!r} is not an action of {service.name}{more}"
    if catalogue.knows_service(prefix) or not catalogue.available:
        return ""
    for pattern in patterns:
        if pattern.strip("*") and ":" in pattern and Glob.compile(pattern, ignore_case=True).matches(action):
            return ""
    hint = catalogue.suggest_service(prefix)
    more = f"; did you mean {hint!r}?" if hint else "; declare the service in services.json"
    return f"{action!r}: service {prefix!r} is in neither the catalogue nor any statement of the bundle{more}"


def _template_reads(policy_key: str, context_key: str) -> bool:
    """A policy key with a variable (``aws:PrincipalTag/${aws:username}``) may read any tag."""
    if "${" not in policy_key:
        return False
    stem = policy_key.split("${", 1)[0]
    return context_key.lower().startswith(stem)


def _documents(organization: Organization) -> Iterable[PolicyDocument]:
    for policy in organization.policies:
        yield policy.document
    for owner in (*organization.users, *organization.groups, *organization.roles):
        for inline in owner.inline:
            yield inline.document
    for role in organization.roles:
        if role.trust_policy is not None:
            yield role.trust_policy
    for resource_policy in organization.resource_policies:
        yield resource_policy.document
    if organization.tree is not None:
        for scp in organization.tree.scps:
            yield scp.document
