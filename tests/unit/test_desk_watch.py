"""No "ready" without a desk (callcenter/cti/desk_watch.py): the hub tells the watch of every
desk opened and closed; a ready agent whose last desk stays closed for the grace is taken out
of ready. Real timers, kept short."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

from callcenter.acd.model import AgentState
from callcenter.cti.desk_watch import DeskWatch
from callcenter.cti.hub import CtiHub
from callcenter.cti.routing import Viewer
from callcenter.events import AgentStateChanged, EventBus

GRACE = 0.05
T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


class States:
    """The owner of agents' states: who is ready, and who was taken out."""

    def __init__(self, ready: set[int]) -> None:
        self.ready = ready
        self.taken_out: list[int] = []

    async def desk_closed(self, agent_id: int) -> bool:
        if agent_id not in self.ready:
            return False
        self.ready.discard(agent_id)
        self.taken_out.append(agent_id)
        return True

    async def ready_ids(self) -> list[int]:
        return sorted(self.ready)


@contextlib.asynccontextmanager
async def watching(
    ready: set[int], start_grace: float = GRACE
) -> AsyncIterator[tuple[DeskWatch, CtiHub, States, EventBus]]:
    bus = EventBus(clock=lambda: T0)
    states = States(ready)
    watch = DeskWatch(
        states,
        bus,
        grace_seconds=GRACE,
        start_grace_seconds=start_grace,
        ready_agents=states.ready_ids,
    )
    hub = CtiHub(bus)
    hub.presence = watch
    task = asyncio.create_task(watch.run())
    await asyncio.sleep(0)
    try:
        yield watch, hub, states, bus
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def viewer(user_id: int) -> Viewer:
    return Viewer(user_id, f"agent{user_id:02d}", "agent")


async def test_closing_the_last_desk_takes_a_ready_agent_out_after_the_grace() -> None:
    async with watching({7}, start_grace=10.0) as (_, hub, states, _bus):
        first = hub.connect(viewer(7))
        second = hub.connect(viewer(7))  # a second tab
        hub.disconnect(first)
        await asyncio.sleep(GRACE * 3)
        assert states.taken_out == [], "one desk is still open"
        hub.disconnect(second)
        await asyncio.sleep(GRACE / 2)
        assert states.taken_out == [], "within the grace"
        await asyncio.sleep(GRACE * 3)
        assert states.taken_out == [7]


async def test_a_desk_reopened_within_the_grace_keeps_the_agent_ready() -> None:
    async with watching({7}, start_grace=10.0) as (_, hub, states, _bus):
        hub.disconnect(hub.connect(viewer(7)))  # a reload: closed ...
        await asyncio.sleep(GRACE / 3)
        hub.connect(viewer(7))  # ... and open again
        await asyncio.sleep(GRACE * 4)
        assert states.taken_out == []


async def test_at_the_start_ready_agents_have_the_longer_grace_to_reconnect() -> None:
    async with watching({7, 8}, start_grace=GRACE * 6) as (_, hub, states, _bus):
        hub.connect(viewer(8))  # agent 8's desk reconnected after the restart
        await asyncio.sleep(GRACE * 3)
        assert states.taken_out == [], "the start's grace is longer"
        await asyncio.sleep(GRACE * 6)
        assert states.taken_out == [7]


async def test_an_agent_who_becomes_ready_with_no_desk_open_is_taken_out() -> None:
    async with watching(set(), start_grace=10.0) as (_, _hub, states, bus):
        # Wrap-up ended by itself (or a supervisor made them ready): no desk is open.
        states.ready.add(9)
        bus.publish(
            AgentStateChanged(agent_id=9, state=AgentState.READY, reason=None, origin="acd")
        )
        await asyncio.sleep(GRACE * 4)
        assert states.taken_out == [9]


async def test_an_agent_who_is_not_ready_any_more_is_left_alone() -> None:
    async with watching({7}, start_grace=10.0) as (watch, hub, states, _bus):
        hub.disconnect(hub.connect(viewer(7)))
        states.ready.discard(7)  # went on a break meanwhile
        await asyncio.sleep(GRACE * 4)
        assert states.taken_out == []
        assert watch.taken_out == 0
