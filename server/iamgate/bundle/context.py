"""The request context IAM would build by itself, for the keys a query does not supply.

AWS adds keys such as ``aws:username``, ``aws:PrincipalTag/...`` and ``aws:CurrentTime`` to every
request; a sidecar asked by an application has to do the same from what the bundle knows, or
policies using them would silently stop matching. Which keys a query may supply at all is the
trust model's business (``iamgate.bundle.trust``): by the time ``merge`` runs, the query holds only
keys the sidecar does not own, or owned keys the operator trusts callers with, and those win.
Session tags arrive as a layer of their own, ahead of the role's tags. Every filled key is
reported back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType

from iamgate.bundle.model import Tags
from iamgate.engine.request import ContextValue

ContextMap = Mapping[str, ContextValue]
"""Context values keyed by lower-cased name, as ``Request.context`` holds them."""


def as_map(entries: Iterable[ContextValue]) -> dict[str, ContextValue]:
    return {entry.name.lower(): entry for entry in entries}


def principal_entries(
    *,
    arn: str,
    account: str,
    principal_type: str,
    user_id: str | None,
    username: str | None,
    tags: Tags,
) -> ContextMap:
    """The principal's keys, computed once per user or role when the snapshot is built."""
    entries = []
    if username is not None:
        entries.append(ContextValue("aws:username", (username,)))
    if user_id is not None:
        entries.append(ContextValue("aws:userid", (user_id,)))
    entries += [
        ContextValue("aws:PrincipalArn", (arn,)),
        ContextValue("aws:PrincipalAccount", (account,)),
        ContextValue("aws:PrincipalType", (principal_type,)),
        ContextValue("aws:PrincipalIsAWSService", ("false",)),
    ]
    entries += [ContextValue(f"aws:PrincipalTag/{key}", (value,)) for key, value in tags]
    return MappingProxyType(as_map(entries))


def service_entries(service: str) -> ContextMap:
    return as_map(
        (
            ContextValue("aws:PrincipalIsAWSService", ("true",)),
            ContextValue("aws:PrincipalServiceName", (service,)),
        )
    )


def resource_tag_entries(resource_arn: str, tags: Tags) -> ContextMap:
    """``aws:ResourceTag/K`` and the service's own ``SERVICE:ResourceTag/K`` (e.g. ec2:ResourceTag/K)."""
    pieces = resource_arn.split(":", 3)
    service = pieces[2] if len(pieces) > 2 else ""
    entries = [ContextValue(f"aws:ResourceTag/{key}", (value,)) for key, value in tags]
    if service:
        entries += [ContextValue(f"{service}:ResourceTag/{key}", (value,)) for key, value in tags]
    return MappingProxyType(as_map(entries))


def time_entries(now: datetime) -> ContextMap:
    moment = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    return {
        "aws:currenttime": ContextValue("aws:CurrentTime", (moment.strftime("%Y-%m-%dT%H:%M:%SZ"),)),
        "aws:epochtime": ContextValue("aws:EpochTime", (str(int(moment.timestamp())),)),
    }


def layered(*layers: ContextMap) -> tuple[MappingProxyType[str, ContextValue], tuple[tuple[str, str], ...]]:
    """The filled layers merged once (earlier ones win), read-only, with each key's (lower-cased key, name).

    What ``merge`` computes before the caller's keys go on top: it depends only on the principal,
    the resource and the second, so the snapshot keeps it across requests instead of merging per request.
    """
    merged: dict[str, ContextValue] = dict(layers[0]) if layers else {}
    for layer in layers[1:]:
        for key, value in layer.items():
            if key not in merged:
                merged[key] = value
    return MappingProxyType(merged), tuple((key, value.name) for key, value in merged.items())


Layers = tuple[MappingProxyType[str, ContextValue], tuple[tuple[str, str], ...], tuple[str, ...]]
"""Merged filled layers: the read-only context, each key's (lower-cased key, name), and the names."""


def with_names(
    merged: tuple[MappingProxyType[str, ContextValue], tuple[tuple[str, str], ...]],
) -> Layers:
    """``layered``'s result with the filled names beside it (what ``over_layers`` reports)."""
    return merged[0], merged[1], tuple(name for _, name in merged[1])


def extended(base: Layers, layer: ContextMap) -> Layers:
    """``with_names(layered(*layers, layer))`` from ``base = with_names(layered(*layers))``: the
    base's keys win.

    The snapshot keeps the principal's and the clock's layers merged per second (``base``) and
    puts each resource's layer on top here, so a request for a new resource merges its one or two
    keys instead of every key of the principal again.
    """
    if not layer:
        return base
    merged, pairs, names = base
    added = {key: value for key, value in layer.items() if key not in merged}
    if not added:
        return base
    merged_copy = merged.copy()
    merged_copy.update(added)
    more = tuple((key, value.name) for key, value in added.items())
    return MappingProxyType(merged_copy), pairs + more, names + tuple(name for _, name in more)


def over_layers(
    supplied: dict[str, ContextValue] | None,
    layers: MappingProxyType[str, ContextValue],
    pairs: tuple[tuple[str, str], ...],
    names: tuple[str, ...],
) -> tuple[ContextMap, tuple[str, ...]]:
    """``merge`` on layers merged by ``layered`` (``names``: every filled name, in order).

    The caller's keys win and are not reported as filled; without any, the shared layers serve as
    they are (read-only), so the common request allocates nothing here. With some, the layers are
    copied by the proxy's ``copy()`` (the underlying dict's, at C speed: ~0.2 µs for a dozen
    keys where ``dict(proxy)`` walks the mapping protocol, ~1.2 µs).
    """
    if not supplied:
        return layers, names
    merged = layers.copy()
    merged.update(supplied)
    if supplied.keys().isdisjoint(layers.keys()):  # the usual case: the caller fills none of them
        return merged, names
    return merged, tuple(name for key, name in pairs if key not in supplied)


def merge(
    supplied: dict[str, ContextValue], *layers: ContextMap
) -> tuple[dict[str, ContextValue], tuple[str, ...]]:
    """The request context: the layers (earlier ones win among themselves), then what the query supplied.

    Returns the context and the names of the keys that came from the layers, i.e. were filled.
    """
    merged: dict[str, ContextValue] = dict(layers[0]) if layers else {}
    for layer in layers[1:]:
        for key, value in layer.items():
            if key not in merged:
                merged[key] = value
    names = tuple(value.name for key, value in merged.items() if key not in supplied)
    merged.update(supplied)
    return merged, names
