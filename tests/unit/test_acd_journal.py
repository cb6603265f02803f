"""The ACD's story of a call goes on while its store cannot write (issue 14): the journaled
stores (callcenter/persistence/journal/) around the ACD's in-memory store, made to fail.

A tester saw a failed write at the end of a call (SQLite on a full disk, PostgreSQL down for
25 s) leave the agent on_call until the service restarted, and the record end at the restart.
Here the end of the call is journaled, the agent goes to wrap-up and back to ready in memory,
takes the next call, and the writes land in order, with their own times, once the store is
back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc

from callcenter.acd.agent_states import AgentStates, StateChange
from callcenter.acd.agents import AgentEvent, AgentStatus
from callcenter.acd.model import AgentProfile, AgentState, QueueConfig
from callcenter.acd.ports import OpenCall
from callcenter.acd.service import AcdService
from callcenter.events import AgentStateChanged, EventBus
from callcenter.ivr.commands import OutcomeKind
from callcenter.ivr.engine import Outcome
from callcenter.persistence.journal import AgentWritesPending, WriteJournal, journaled_stores
from tests.fakes.acd import T0, FakeAcdStore, FakeLeg, RecordingPops, settle

QUICK = QueueConfig("general", wrap_up_seconds=0.0)  # wrap-up ends on the next turn of the loop


def disk_full() -> sa_exc.OperationalError:
    """What SQLAlchemy raises for a write SQLite refuses (here: a read-only file)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a)")
    conn.execute("PRAGMA query_only = 1")
    try:
        conn.execute("INSERT INTO t VALUES (1)")
    except sqlite3.OperationalError as exc:
        return sa_exc.OperationalError("UPDATE interactions SET ...", {}, exc)
    finally:
        conn.close()
    raise AssertionError("the write was not refused")


@dataclass
class FlakyStore(FakeAcdStore):
    """The in-memory store, refusing every write while ``down`` (reads still work), and
    keeping each write's time."""

    down: bool = False
    writes: list[tuple[str, int, dt.datetime]] = field(default_factory=list)
    changes: list[StateChange] = field(default_factory=list)

    def _check(self) -> None:
        if self.down:
            raise disk_full()

    async def apply(self, change: StateChange) -> AgentStatus:
        self._check()
        status = await super().apply(change)
        self.changes.append(change)
        return status

    async def offered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None:
        self._check()
        self.writes.append(("offered", interaction_id, at))
        await super().offered(interaction_id, agent_id, at)

    async def answered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None:
        self._check()
        self.writes.append(("answered", interaction_id, at))
        await super().answered(interaction_id, agent_id, at)

    async def ended(self, interaction_id: int, at: dt.datetime) -> None:
        self._check()
        self.writes.append(("ended", interaction_id, at))
        await super().ended(interaction_id, at)

    async def wrapped_up(self, interaction_id: int, at: dt.datetime) -> None:
        self._check()
        self.writes.append(("wrapped_up", interaction_id, at))
        await super().wrapped_up(interaction_id, at)

    # --- what a replay asks first (callcenter/persistence/journal/writes.py ReplayChecks) ---

    async def route_recorded(self, interaction_id: int, queue: str, path_entry: str) -> bool:
        routes = [r for r in self.routes if r[0] == interaction_id]
        return bool(routes) and routes[-1][1:] == (queue, path_entry)

    async def agent_change_stored(self, change: StateChange) -> bool:
        return any(
            (c.agent_id, c.event) == (change.agent_id, change.event) and c.at >= change.at
            for c in self.changes
        )


@dataclass
class Wall:
    """The wall clock of the ACD and of the agents' states: it jumps when the test says."""

    now: dt.datetime = T0

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Center:
    acd: AcdService
    store: FlakyStore
    journal: WriteJournal
    wall: Wall
    states: AgentStates
    bus_states: list[tuple[int, str]] = field(default_factory=list)
    calls: dict[str, asyncio.Task[Any]] = field(default_factory=dict)

    async def call(self, call_id: str, interaction_id: int) -> FakeLeg:
        leg = FakeLeg(call_id)
        outcome = Outcome(kind=OutcomeKind.QUEUED, path=(), queue="general")
        self.calls[call_id] = asyncio.create_task(self.acd.take(leg, outcome, interaction_id))
        await settle()
        return leg


@contextlib.asynccontextmanager
async def center(folder: Path, store: FlakyStore) -> AsyncIterator[Center]:
    journal = WriteJournal(folder, offload=False)
    stores = journaled_stores(journal, acd=store, agent_states=store, checks=store)
    wall = Wall()
    bus = EventBus(clock=wall)
    states = AgentStates(stores.agent_states, bus, clock=wall)
    acd = AcdService(stores.acd, bus, states, pops=RecordingPops(store), wallclock=wall)
    c = Center(acd, store, journal, wall, states)
    sub = bus.subscribe(maxsize=10_000)

    async def collect() -> None:
        while True:
            event = (await sub.get()).payload
            if isinstance(event, AgentStateChanged):
                c.bus_states.append((event.agent_id, event.state.value))

    tasks = [asyncio.create_task(acd.run()), asyncio.create_task(collect())]
    await acd.started.wait()
    try:
        yield c
    finally:
        for task in [*tasks, *c.calls.values()]:
            task.cancel()
        await asyncio.gather(*tasks, *c.calls.values(), return_exceptions=True)
        sub.close()


def agent(agent_id: int) -> AgentProfile:
    return AgentProfile(agent_id, str(1000 + agent_id), queues=frozenset({"general"}))


async def test_an_agent_is_not_left_on_call_when_the_end_of_the_call_cannot_be_written(
    tmp_path: Path,
) -> None:
    store = FlakyStore([QUICK])
    store.add_agent(agent(1), AgentState.READY)
    async with center(tmp_path, store) as c:
        first = await c.call("c1", 101)
        assert first.dialled() == [1]
        first.ringing.answer()
        await settle()
        assert store.state(1) is AgentState.ON_CALL

        # The disk fills up during the conversation; the agent hangs up a minute later.
        store.down = True
        c.wall.now = ended_at = T0 + dt.timedelta(minutes=1)
        first.ringing.agent_hangs_up()
        await settle()

        assert c.bus_states[-2:] == [(1, "wrap_up"), (1, "ready")], "as after any call"
        assert store.state(1) is AgentState.ON_CALL, "the store has not heard of it yet"
        assert c.acd.router.agent_state(1) is AgentState.READY
        # Ready, the agent takes the next caller at once, while the store is still away.
        c.wall.now = offered_at = T0 + dt.timedelta(minutes=2)
        second = await c.call("c2", 102)
        assert second.dialled() == [1]
        assert c.bus_states[-1] == (1, "reserved")
        # ended, hang_up, wrap_up_done, wrapped_up; then the offer: its reservation, its phase
        assert c.journal.pending == 6

        # The store is back an hour later: everything lands in order, with its own time.
        store.down = False
        c.wall.now = T0 + dt.timedelta(hours=1)
        assert await c.journal.drain()
        assert [(w[0], w[1]) for w in store.writes] == [
            ("offered", 101),
            ("answered", 101),
            ("ended", 101),
            ("wrapped_up", 101),
            ("offered", 102),
        ]
        assert [w[2] for w in store.writes[2:4]] == [ended_at, ended_at]
        assert store.writes[4][2] == offered_at
        assert [(ch.event, ch.at) for ch in store.changes[2:]] == [
            (AgentEvent.HANG_UP, ended_at),
            (AgentEvent.WRAP_UP_DONE, ended_at),
            (AgentEvent.OFFER, offered_at),
        ]
        assert store.statuses[1] == AgentStatus(1, AgentState.RESERVED, offered_at, None, 102)


async def test_later_writes_wait_behind_earlier_ones_even_once_the_store_is_back(
    tmp_path: Path,
) -> None:
    store = FlakyStore([QueueConfig("general", wrap_up_seconds=30.0)])
    store.add_agent(agent(1), AgentState.READY)
    async with center(tmp_path, store) as c:
        leg = await c.call("c1", 101)
        leg.ringing.answer()
        await settle()
        store.down = True
        leg.ringing.agent_hangs_up()
        await settle()
        assert c.acd.router.agent_state(1) is AgentState.WRAP_UP
        store.down = False  # back, but the journal still holds the call's end
        await c.acd.store.wrapped_up(101, T0 + dt.timedelta(seconds=5))
        assert [w[0] for w in store.writes] == ["offered", "answered"]
        assert await c.journal.drain()
        assert [w[0] for w in store.writes] == ["offered", "answered", "ended", "wrapped_up"]


async def test_an_agents_own_change_waits_for_their_journaled_changes(tmp_path: Path) -> None:
    store = FlakyStore([QueueConfig("general", wrap_up_seconds=30.0)])
    store.add_agent(agent(1), AgentState.READY)
    async with center(tmp_path, store) as c:
        leg = await c.call("c1", 101)
        leg.ringing.answer()
        await settle()
        store.down = True
        leg.ringing.agent_hangs_up()
        await settle()
        # The agent ends their wrap-up early: it cannot overtake their hang-up.
        with pytest.raises(AgentWritesPending):
            await c.states.set_own(1, "ready", None)
        store.down = False
        record = await c.states.set_own(1, "ready", None)  # the hang-up lands first
        assert record.status.state is AgentState.READY
        # Stored in order: the call's changes, then the agent's own "ready".
        assert [ch.event for ch in store.changes[:3]] == [
            AgentEvent.OFFER,
            AgentEvent.ANSWER,
            AgentEvent.HANG_UP,
        ]
        assert store.changes[3].by_user_id == 1
        assert store.state(1) is AgentState.READY


async def test_a_restart_over_a_full_journal_neither_adopts_nor_ends_a_call_again(
    tmp_path: Path,
) -> None:
    store = FlakyStore([QUICK])
    store.add_agent(agent(1), AgentState.READY)
    async with center(tmp_path, store) as c:
        leg = await c.call("c1", 101)
        leg.ringing.answer()
        await settle()
        store.down = True
        leg.ringing.agent_hangs_up()
        await settle()
        assert c.journal.pending == 4
    # The service stops while the store still refuses writes; its record shows the call
    # open and the agent on it.
    store.open = [OpenCall(101, "c1", 1, "general", answered=True)]

    restarted = WriteJournal(tmp_path, offload=False)
    stores = journaled_stores(restarted, acd=store, agent_states=store, checks=store)
    assert await stores.acd.open_calls(T0, T0 + dt.timedelta(hours=1)) == []
    [(profile, status)] = await stores.acd.agents()
    assert (profile.agent_id, status.state) == (1, AgentState.READY)
    store.down = False
    assert await restarted.drain()
    assert store.phases_of(101) == ["offered", "answered", "ended", "wrapped_up"]
    assert store.state(1) is AgentState.READY
