"""The in-process event bus (callcenter/events/bus.py): publishing never waits, a subscriber that
falls behind loses its oldest events and counts them, and the events it keeps (the hub's
screen pops) are never pushed out by a flood of others, nor taken out of order."""

from __future__ import annotations

import asyncio

from callcenter.events import Envelope, Event, EventBus, EventSubscription, QueueChanged
from tests.support.events import bus_event


async def drain(sub: EventSubscription) -> list[Envelope[Event]]:
    sub.close()  # no more events: get() ends once the buffers are empty
    events = []
    while True:
        try:
            events.append(await asyncio.wait_for(sub.get(), 1.0))
        except StopAsyncIteration:
            return events


def queue_of(event: Envelope[Event]) -> str:
    queue = event.narrow(QueueChanged)
    assert queue is not None
    return queue.payload.queue


async def test_a_subscriber_behind_loses_its_oldest_events_and_counts_them() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=3)
    for n in range(5):
        bus.publish(bus_event("queue.changed", queue=f"q{n}"))
    assert sub.dropped == 2
    assert [queue_of(e) for e in await drain(sub)] == ["q2", "q3", "q4"]


async def test_kept_events_survive_a_flood_and_come_in_publishing_order() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=3, keep=lambda e: e.topic == "call.offered")
    published = []
    for n in range(10):
        published.append(bus.publish(bus_event("agent.state", agent_id=n, state="ready")))
        if n in (1, 7):
            published.append(bus.publish(bus_event("call.offered", agent_id=n, call_id="c")))
    got = await drain(sub)
    # Both pops, though each was followed by more other events than the buffer holds.
    assert [e.payload.about_agent for e in got if e.topic == "call.offered"] == [1, 7]
    assert [e.payload.about_agent for e in got if e.topic == "agent.state"] == [7, 8, 9]
    assert [e.seq for e in got] == sorted(e.seq for e in got)
    assert sub.dropped == 7  # the agent states pushed out; no pop
    assert len(published) == 12


async def test_a_subscriber_only_gets_what_it_accepts() -> None:
    bus = EventBus()
    sub = bus.subscribe(lambda e: e.topic.startswith("call."), keep=lambda e: True)
    bus.publish(bus_event("agent.state", agent_id=1, state="ready"))
    bus.publish(bus_event("call.queued", call_id="c1"))
    assert [e.topic for e in await drain(sub)] == ["call.queued"]
