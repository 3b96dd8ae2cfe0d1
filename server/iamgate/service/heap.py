"""Keeping the compiled bundle out of the garbage collector's full collections (``gc.freeze``).

A serving process holds a large, long-lived heap (the compiled bundle, its indexes, gRPC's and
the interpreter's own objects) and allocates short-lived objects per call. CPython's oldest
generation is collected now and then, and each such collection walks every object the process
holds: with a bundle of 100,000 statements that is a pause of all threads proportional to the
bundle. ``gc.freeze()`` moves every object alive into a permanent generation that collections
skip; objects freed by reference counting are still freed.

So ``iamgate serve`` (``server.serve``, one call per process, workers included) freezes once
started, and again after each change of the bundles it holds (an activation, a rollback, a
restore, a shadow bundle loaded): first ``gc.unfreeze()`` and a full collection, so that the
cycles of the snapshots no longer referenced are freed (a frozen object is never collected),
then ``gc.freeze()`` again. The collection runs on the thread that activated the bundle (the
poller), once per activation. Measured (docs/performance.md, "Batch path, session 4"): the
collector costs a batch item ~0.1 µs either way (its allocations are freed as they go), a unary
call at 64 in flight 0.7-9 µs unfrozen against ~2.5 µs frozen.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

CHANGES = frozenset({"activated", "rolled-back", "restored", "shadowed"})
"""Activation events after which the process holds other bundles than before."""

_lock = threading.Lock()


def refreeze() -> None:
    """Free what is garbage now, then freeze everything alive."""
    with _lock:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


def keep_frozen(source: Any) -> None:
    """Freeze now, and again after every change of ``source``'s bundles (when it reports them)."""
    refreeze()
    add_listener = getattr(source, "add_listener", None)
    if add_listener is not None:
        add_listener(_on_event)


def _on_event(event: Any, shadow: bool = False) -> None:
    if str(event.result) in CHANGES:
        refreeze()
