"""Pending screen pops: which endings end them, and the limits that keep the map small."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from callcenter.cti.pops import MAX_PENDING_PER_AGENT, PendingPop, PendingPops
from callcenter.events import CallOffered, Envelope
from tests.support.events import bus_event, summary

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
A, B = 7, 8


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def follow(pops: PendingPops, topic: str, **data: Any) -> None:
    """What the hub does with each event: a pop starts with its call.offered, and every
    event may end pops."""
    event = Envelope(1, AT, bus_event(topic, **data))
    offer = event.narrow(CallOffered)
    if offer is not None:
        pops.offered(offer, "{}")
    pops.follow(event)


def client_of(pop: PendingPop) -> int | None:
    """The client whose summary the pending pop carries (sent again as it is on resume)."""
    client = pop.event.payload.client
    return client.client_id if client else None


def ringing(agent: int = A, call: str = "c1") -> PendingPops:
    pops = PendingPops(ttl=120, clock=Clock())
    follow(pops, "call.offered", agent_id=agent, call_id=call, client=summary(3))
    return pops


def test_an_offer_is_pending_for_its_agent_only() -> None:
    pops = ringing()
    assert [p.call_id for p in pops.of(A)] == ["c1"]
    assert pops.of(B) == []
    assert client_of(pops.of(A)[0]) == 3


@pytest.mark.parametrize(
    ("topic", "data"),
    [
        ("call.offer_ended", {"agent_id": A, "call_id": "c1", "reason": "no_answer"}),
        ("call.answered", {"agent_id": A, "call_id": "c1"}),
        ("call.ended", {"agent_id": A, "call_id": "c1"}),
        ("call.abandoned", {"call_id": "c1", "waited_seconds": 12}),
        ("call.overflowed", {"call_id": "c1", "to_queue": None}),
        ("agent.state", {"agent_id": A, "state": "on_call"}),
        ("agent.state", {"agent_id": A, "state": "not_ready", "reason": "missed"}),
    ],
)
def test_what_ends_a_pending_pop(topic: str, data: dict[str, Any]) -> None:
    pops = ringing()
    follow(pops, topic, **data)
    assert pops.of(A) == []
    assert len(pops) == 0


@pytest.mark.parametrize(
    ("topic", "data"),
    [
        ("call.answered", {"agent_id": B, "call_id": "c1"}),  # another agent's
        ("call.offer_ended", {"agent_id": A, "call_id": "c2"}),  # another call
        ("call.abandoned", {"call_id": "c2"}),
        ("agent.state", {"agent_id": A, "state": "reserved"}),  # still ringing
        ("agent.state", {"agent_id": B, "state": "ready"}),
        ("queue.changed", {"queue": "general"}),
    ],
)
def test_what_leaves_a_pending_pop_alone(topic: str, data: dict[str, Any]) -> None:
    pops = ringing()
    follow(pops, topic, **data)
    assert [p.call_id for p in pops.of(A)] == ["c1"]


def test_an_old_pop_is_forgotten_after_its_time_to_live() -> None:
    clock = Clock()
    pops = PendingPops(ttl=120, clock=clock)
    follow(pops, "call.offered", agent_id=A, call_id="old")
    clock.now += 100
    follow(pops, "call.offered", agent_id=A, call_id="new")
    clock.now += 30
    assert [p.call_id for p in pops.of(A)] == ["new"]


def test_an_agent_keeps_only_the_newest_few_pops() -> None:
    pops = PendingPops(ttl=120, clock=Clock())
    for n in range(MAX_PENDING_PER_AGENT + 3):
        follow(pops, "call.offered", agent_id=A, call_id=f"c{n}")
    calls = [p.call_id for p in pops.of(A)]
    assert calls == [f"c{n}" for n in range(3, MAX_PENDING_PER_AGENT + 3)]


def test_the_same_call_offered_again_replaces_its_pop() -> None:
    pops = ringing()
    follow(pops, "call.offered", agent_id=A, call_id="c1", client=summary(4))
    assert [(p.call_id, client_of(p)) for p in pops.of(A)] == [("c1", 4)]
