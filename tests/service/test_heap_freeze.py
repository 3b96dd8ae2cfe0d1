"""``iamgate serve`` keeps its heap frozen (``service/heap.py``), and frees old bundles on change."""

from __future__ import annotations

import gc
import weakref
from types import SimpleNamespace

import pytest

from iamgate.service import heap


@pytest.fixture(autouse=True)
def _unfrozen():
    yield
    gc.unfreeze()


class _Source:
    def __init__(self) -> None:
        self.listeners = []

    def add_listener(self, listener) -> None:
        self.listeners.append(listener)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_starting_freezes_the_heap_and_listens_for_bundle_changes():
    source = _Source()
    heap.keep_frozen(source)
    assert gc.get_freeze_count() > 0
    assert len(source.listeners) == 1


def test_a_bundle_change_frees_what_was_frozen_and_is_now_garbage():
    source = _Source()
    old = _Cycle()  # an old snapshot's objects: a cycle, only collectable unfrozen
    gone = weakref.ref(old)
    heap.keep_frozen(source)
    del old
    gc.collect()
    assert gone() is not None, "frozen: a collection skips it"
    source.listeners[0](SimpleNamespace(result="activated"), False)
    assert gone() is None
    assert gc.get_freeze_count() > 0


def test_events_that_change_no_bundle_leave_the_heap_as_it_is():
    source = _Source()
    heap.keep_frozen(source)
    old = _Cycle()
    gone = weakref.ref(old)
    gc.freeze()
    del old
    for result in ("rejected", "unchanged", "fetch-failed"):
        source.listeners[0](SimpleNamespace(result=result), False)
    assert gone() is not None
