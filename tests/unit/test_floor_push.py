"""The wallboard is pushed, not polled (issue 20, point 3): the running publisher on a clock
we own. Every assertion is about order: which nap the publisher asks for, and what it
publishes when the clock reaches it; the quiet refresh is set to an hour, so a snapshot that
comes sooner was sent by a change, not by a timer."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from callcenter.cti.floor import FLOOR_TOPIC, FloorState
from callcenter.cti.floor_publisher import FloorPublisher
from callcenter.events import EventBus, EventSubscription, FloorSnapshot
from tests.support.events import bus_event

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
HOUR = 3600.0


class FakeTime:
    """A monotonic clock that moves only when the test says, and a sleep on it. Each nap
    the publisher asks for is announced (:meth:`nap`) with the time it ends."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self._naps: asyncio.Queue[float] = asyncio.Queue()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        until = self.now + seconds
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((until, woken))
        self._naps.put_nowait(until)
        try:
            await woken
        finally:
            self._sleepers.remove((until, woken))

    async def nap(self) -> float:
        """When the publisher's next nap ends (waits until it asks for one)."""
        return await asyncio.wait_for(self._naps.get(), 5.0)  # a hang guard, not a timing

    def advance_to(self, now: float) -> None:
        self.now = now
        for until, woken in self._sleepers:
            if until <= now and not woken.done():
                woken.set_result(None)


class Floor:
    """The publisher running on a :class:`FakeTime`, and the snapshots it published."""

    def __init__(self, time: FakeTime, bus: EventBus, publisher: FloorPublisher) -> None:
        self.time = time
        self.bus = bus
        self.publisher = publisher
        self.seen: EventSubscription = bus.subscribe(lambda e: e.topic == FLOOR_TOPIC)

    async def next_snapshot(self) -> dict[str, Any]:
        event = await asyncio.wait_for(self.seen.get(), 5.0)  # a hang guard
        assert isinstance(event.payload, FloorSnapshot)
        return event.payload.to_data()


@contextlib.asynccontextmanager
async def running(
    *, batch: float = 0.05, gap: float = 0.2, refresh: float = HOUR, wallclock: list[dt.datetime]
) -> AsyncIterator[Floor]:
    time = FakeTime()
    bus = EventBus(clock=lambda: wallclock[0])
    publisher = FloorPublisher(
        bus,
        FloorState(),
        batch=batch,
        gap=gap,
        refresh=refresh,
        wallclock=lambda: wallclock[0],
        clock=time.clock,
        sleep=time.sleep,
    )
    floor = Floor(time, bus, publisher)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(publisher.run())
        try:
            # The seeded picture goes out first, once the gap from the start has passed.
            assert await time.nap() == pytest.approx(gap)
            time.advance_to(gap)
            await floor.next_snapshot()
            assert await time.nap() == pytest.approx(gap + refresh)  # quiet: the refresh
            yield floor
        finally:
            publisher.close()


def agent_state(picture: dict[str, Any], agent_id: int) -> str | None:
    return next((a["state"] for a in picture["agents"] if a["agent_id"] == agent_id), None)


def waiting_in(picture: dict[str, Any], queue: str) -> int:
    return next(q["waiting"] for q in picture["queues"] if q["queue"] == queue)


async def test_a_change_is_pushed_after_the_batch_delay_long_before_any_timer() -> None:
    async with running(wallclock=[T0]) as floor:
        floor.time.advance_to(10.0)  # a quiet floor; the refresh is an hour away
        floor.bus.publish(bus_event("agent.state", agent_id=12, state="ready", reason=None))

        assert await floor.time.nap() == pytest.approx(10.05)  # the batch, not the refresh
        floor.time.advance_to(10.05)
        picture = await floor.next_snapshot()

    assert agent_state(picture, 12) == "ready"


async def test_with_the_gap_and_the_refresh_an_hour_a_change_still_goes_out() -> None:
    async with running(gap=HOUR, refresh=HOUR, wallclock=[T0]) as floor:
        # The seeded picture went out at the hour; another hour later, a change:
        floor.time.advance_to(2 * HOUR + 1)
        floor.bus.publish(bus_event("agent.state", agent_id=12, state="ready", reason=None))

        assert await floor.time.nap() == pytest.approx(2 * HOUR + 1.05)
        floor.time.advance_to(2 * HOUR + 1.05)  # the refresh is due at 2 h + 1 h: not this
        picture = await floor.next_snapshot()

    assert agent_state(picture, 12) == "ready"


async def test_a_burst_spread_over_the_batch_makes_one_snapshot() -> None:
    async with running(wallclock=[T0]) as floor:
        published = floor.bus.published
        floor.time.advance_to(10.0)
        floor.bus.publish(bus_event("call.queued", call_id="c0", queue="general"))
        assert await floor.time.nap() == pytest.approx(10.05)
        for n, at in enumerate((10.01, 10.02, 10.03, 10.04), start=1):
            floor.time.advance_to(at)  # before the batch ends: nothing goes out
            floor.bus.publish(bus_event("call.queued", call_id=f"c{n}", queue="general"))
        floor.time.advance_to(10.05)
        picture = await floor.next_snapshot()
        # Then the publisher sleeps until the refresh: the burst made no other snapshot.
        assert await floor.time.nap() == pytest.approx(10.05 + HOUR)

    assert waiting_in(picture, "general") == 5
    assert floor.bus.published == published + 5 + 1  # five events and one snapshot


async def test_a_second_change_within_the_gap_waits_for_the_gap() -> None:
    async with running(wallclock=[T0]) as floor:
        floor.time.advance_to(10.0)
        floor.bus.publish(bus_event("agent.state", agent_id=12, state="ready", reason=None))
        assert await floor.time.nap() == pytest.approx(10.05)
        floor.time.advance_to(10.05)
        first = await floor.next_snapshot()
        assert await floor.time.nap() == pytest.approx(10.05 + HOUR)

        floor.time.advance_to(10.1)  # 50 ms after the last snapshot: the gap is 200 ms
        floor.bus.publish(bus_event("agent.state", agent_id=12, state="on_call", reason=None))
        assert await floor.time.nap() == pytest.approx(10.25)  # not 10.15: the gap
        published = floor.bus.published
        floor.time.advance_to(10.15)  # the batch alone is over: nothing yet
        assert floor.bus.published == published
        floor.time.advance_to(10.25)
        second = await floor.next_snapshot()

    assert (agent_state(first, 12), agent_state(second, 12)) == ("ready", "on_call")


async def test_a_quiet_floor_is_sent_again_at_the_refresh_with_the_new_day() -> None:
    wallclock = [T0]
    async with running(refresh=5.0, wallclock=wallclock) as floor:
        floor.time.advance_to(1.0)
        floor.bus.publish(bus_event("call.queued", call_id="c1", queue="general"))
        assert await floor.time.nap() == pytest.approx(1.05)
        floor.time.advance_to(1.05)
        assert waiting_in(await floor.next_snapshot(), "general") == 1

        wallclock[0] = T0 + dt.timedelta(hours=15)  # 00:00 UTC the next day; no event
        assert await floor.time.nap() == pytest.approx(6.05)
        floor.time.advance_to(6.05)
        picture = await floor.next_snapshot()

    assert picture["day"] == "2026-03-03"
    assert waiting_in(picture, "general") == 1  # still waiting, counted in yesterday's figures
