"""An Organization compiled the way the sidecar compiles a bundle, ready to be timed.

Every policy document is parsed and compiled once; principals share the compiled managed
policies. The request streams become ``Case``s: the engine ``Request`` plus the ``PolicySet`` that
applies to it and the cache scope that identifies that set. Building them happens outside any
timed loop, so the timings measure decisions only.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Mapping
from dataclasses import dataclass

from bench.generator import Organization, PrincipalDef, RequestDef
from iamgate.engine import (
    CompiledPolicy,
    ContextValue,
    PolicyKind,
    PolicySet,
    Principal,
    Request,
    build_context,
    compile_policy,
)
from iamgate.engine.wildcard_only import WildcardOnlyActions
from iamgate.policy import parse_policy


@dataclass(frozen=True, slots=True)
class Case:
    """One timed decision: the cache scope, the policies that apply and the request."""

    scope: tuple[str, str]
    policy_set: PolicySet
    request: Request
    kind: str


@dataclass(frozen=True, slots=True)
class Workload:
    organization: Organization
    compiled: Mapping[str, CompiledPolicy]
    parse_seconds: float
    compile_seconds: float
    typical: tuple[Case, ...]
    heavy: tuple[Case, ...]
    """The heavy principal's requests (with the resource policy where the resource has one)."""
    heavy_statements: int
    """Identity-based statements the heavy principal holds."""


def compile_policies(organization: Organization) -> tuple[dict[str, CompiledPolicy], float, float]:
    """Parse and compile every document once; returns the compiled set and the two phase times.

    Like the sidecar's bundle compiler, the cyclic garbage collector is paused meanwhile.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        parsed = [(p, parse_policy(p.document, source_name=p.policy_id)) for p in organization.policies]
        parsed_at = time.perf_counter()
        compiled = {
            p.policy_id: compile_policy(document, policy_id=p.policy_id, kind=PolicyKind(p.kind))
            for p, document in parsed
        }
        return compiled, parsed_at - started, time.perf_counter() - parsed_at
    finally:
        if paused:
            gc.enable()


class _SetBuilder:
    """PolicySets per principal, built once and shared by all of that principal's cases."""

    def __init__(self, organization: Organization, compiled: Mapping[str, CompiledPolicy]) -> None:
        self.organization = organization
        self.compiled = compiled
        self.groups = organization.group_index()
        self.principals = {p.arn: p for p in organization.principals}
        self.wildcard_only = WildcardOnlyActions()
        self.scp_levels = {
            account: tuple(tuple(compiled[i] for i in level) for level in levels)
            for account, levels in organization.scp_levels.items()
        }
        self.base: dict[str, PolicySet] = {}
        self.principal_objects: dict[str, Principal] = {}

    def principal(self, arn: str) -> tuple[PrincipalDef, Principal, PolicySet]:
        definition = self.principals[arn]
        base = self.base.get(arn)
        if base is None:
            identity = tuple(self.compiled[i] for i in self.organization.identity_of(definition, self.groups))
            boundary = (self.compiled[definition.boundary],) if definition.boundary else None
            base = PolicySet(
                identity=identity, boundary=boundary, scp_levels=self.scp_levels[definition.account]
            )
            self.base[arn] = base
            self.principal_objects[arn] = Principal.parse(arn)
        return definition, self.principal_objects[arn], base

    def resource_policy(self, resource: str) -> CompiledPolicy | None:
        attached = self.organization.resource_policies
        policy_id = attached.get(resource)
        if policy_id is None and resource.startswith("arn:aws:s3:::") and "/" in resource:
            policy_id = attached.get(resource.split("/", 1)[0])
        return self.compiled[policy_id] if policy_id is not None else None

    def case(self, definition: RequestDef) -> Case:
        _, principal, base = self.principal(definition.principal)
        policy_set = base
        # As the bundle path does: an action that takes no resource is evaluated on '*'.
        resource = self.wildcard_only.evaluated_resource(definition.action, definition.resource)
        resource_policy = self.resource_policy(resource)
        if resource_policy is not None:
            policy_set = PolicySet(
                identity=base.identity,
                resource=resource_policy,
                boundary=base.boundary,
                scp_levels=base.scp_levels,
                merged_identity=base.identity_index,  # as the bundle does: built once per principal
            )
        context = build_context(
            ContextValue(name, values, multi) for name, values, multi in definition.context
        )
        owner = definition.resource_account if resource == definition.resource else None
        request = Request(principal, definition.action, resource, context, owner)
        return Case((self.organization.revision, definition.principal), policy_set, request, definition.kind)


def build_workload(organization: Organization) -> Workload:
    compiled, parse_seconds, compile_seconds = compile_policies(organization)
    sets = _SetBuilder(organization, compiled)
    typical = tuple(sets.case(r) for r in organization.typical_requests)
    heavy = tuple(sets.case(r) for r in organization.heavy_requests)
    _, _, heavy_set = sets.principal(organization.heavy_principal)
    heavy_statements = sum(len(p.statements) for p in heavy_set.identity)
    return Workload(organization, compiled, parse_seconds, compile_seconds, typical, heavy, heavy_statements)
