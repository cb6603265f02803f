"""The start-up's objects are frozen out of full collections while the service runs
(callcenter/heap.py)."""

from __future__ import annotations

import gc

from callcenter.heap import start_up_frozen


class Node:
    """A container the collector tracks."""


def test_what_is_alive_at_start_up_is_frozen_and_given_back_at_the_stop() -> None:
    built_at_start_up = Node()
    assert gc.is_tracked(built_at_start_up)

    with start_up_frozen():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert not any(o is built_at_start_up for o in gc.get_objects())  # out of every walk
        later = Node()
        assert any(o is later for o in gc.get_objects(generation=0))  # the calls' own: walked

    assert gc.get_freeze_count() == 0
    assert any(o is built_at_start_up for o in gc.get_objects())


def test_start_up_garbage_is_collected_before_the_freeze() -> None:
    cycle = Node()
    cycle.me = cycle  # type: ignore[attr-defined]
    del cycle
    with start_up_frozen():
        pass
    # Had the cycle been frozen, it would be back among the live objects now, uncollected.
    assert not any(isinstance(o, Node) for o in gc.get_objects())
