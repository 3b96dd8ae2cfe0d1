"""Actions that take no resource are evaluated on resource ``*``, whatever resource the caller names.

AWS authorizes an action its service authorization reference lists without resource types
(``s3:ListAllMyBuckets``, ``ec2:DescribeInstances``, ``sts:GetCallerIdentity``) on resource ``*``:
only a statement whose Resource matches ``*`` applies, Allow and Deny alike, so
``Allow s3:ListAllMyBuckets on arn:aws:s3:::*`` grants nothing and a Deny of one bucket's ARN does
not reach it. Evaluating the ARN a caller happens to name instead would let such a statement allow
(or deny) what AWS never would. The catalogue says which actions those are: AWS's reference and the
bundle's ``services.json`` (an action declared without ``Resources``). An action the catalogue does
not know is evaluated on the resource as given. ``Snapshot.authorize`` (every bundle path) and
``simulate`` ask the same question, so the one evaluator answers alike everywhere.

The answer is kept per action (bounded like the snapshot's other memos), so a request pays one dict
lookup; the catalogue reads a service's reference the first time one of its actions is asked
(~5-25 ms once per service per process), and ``warm`` pays that at activation for the services the
bundle's policies name.
"""

from __future__ import annotations

from collections.abc import Iterable

from iamgate.catalogue import Catalogue, aws_catalogue

ACTIONS_KEPT = 4096
"""Actions whose answer is remembered (then all are dropped)."""
TEXT_LIMIT = 1024
"""Longer actions are looked up afresh each time, never kept."""


class WildcardOnlyActions:
    """Which actions take only resource ``*``, by a catalogue; safe to share between threads."""

    __slots__ = ("_actions", "_catalogue")

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self._catalogue = catalogue
        """``None``: AWS's reference (``aws_catalogue()``), fetched on first use."""
        self._actions: dict[str, bool] = {}
        """Action as asked -> takes no resource; a plain dict (atomic get/set) emptied at ACTIONS_KEPT."""

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = aws_catalogue()
        return self._catalogue

    def takes_no_resource(self, action: str) -> bool:
        """Whether the catalogue lists ``action`` without resource types (unknown actions: no)."""
        known = self._actions.get(action)
        if known is not None:
            return known
        found = self.catalogue.action(action)
        answer = found is not None and not found.resource_types
        if len(action) <= TEXT_LIMIT:  # callers choose actions: stay bounded
            if len(self._actions) >= ACTIONS_KEPT:
                self._actions.clear()
            self._actions[action] = answer
        return answer

    def evaluated_resource(self, action: str, resource: str) -> str:
        """The resource AWS evaluates ``action`` on: ``*`` for an action without resource types, else
        ``resource`` as given (the caller checks ``resource`` is well-formed either way)."""
        takes_none = self._actions.get(action)  # the hot path: one dict lookup
        if takes_none is None:
            takes_none = self.takes_no_resource(action)
        return "*" if takes_none else resource

    def warm(self, actions: Iterable[str]) -> None:
        """Read the catalogue's services of ``actions`` (patterns included) now, at activation, rather
        than on the first request that names one."""
        prefixes = {action.partition(":")[0].lower() for action in actions if ":" in action}
        for prefix in prefixes:
            if "*" not in prefix and "?" not in prefix:
                self.catalogue.service(prefix)
