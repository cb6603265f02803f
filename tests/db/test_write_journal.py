"""The write journal over the real database, on SQLite and PostgreSQL (issue 14): writes the
database refuses land once it is back, with their own times; a replay after a crash in the
middle of a replay stores nothing twice; PostgreSQL going away and coming back.

How the database refuses: every transaction is made read-only while ``Outage.on`` (SQLite:
``PRAGMA query_only``, "attempt to write a readonly database", what a read-only file gives;
PostgreSQL: ``SET TRANSACTION READ ONLY``, what a standby gives after a failover). PostgreSQL
going away for real goes through a TCP proxy that cuts and refuses connections.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection

from callcenter.acd.agent_states import StateChange
from callcenter.acd.agents import AgentEvent
from callcenter.acd.model import AgentState
from callcenter.crm.vocabulary import Role
from callcenter.ivr.commands import OutcomeKind
from callcenter.ivr.engine import Outcome, Step
from callcenter.persistence import agents
from callcenter.persistence.db import Database
from callcenter.persistence.journal import WriteJournal, journaled_sql_stores
from callcenter.persistence.journal.file import JOURNAL_FILE
from callcenter.persistence.tables import AgentStateChange, AuditEntry, Interaction, User
from tests.support.crm_data import add_branch, add_client, add_interaction
from tests.support.proxy import FaultProxy

AT = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)


def after(seconds: float) -> dt.datetime:
    return AT + dt.timedelta(seconds=seconds)


class Outage:
    """While ``on``, every transaction of ``db`` is read-only: reads work, writes fail."""

    def __init__(self, db: Database) -> None:
        self.on = False
        self._db = db

    def begin(self, conn: Connection) -> None:
        if self.on:
            sql = "PRAGMA query_only = 1" if self._db.sqlite else "SET TRANSACTION READ ONLY"
            conn.exec_driver_sql(sql)

    async def end(self) -> None:
        self.on = False
        await self._db.engine.dispose()  # SQLite's read-only connections go (PRAGMA sticks)


@pytest.fixture
def outage(database: Database) -> Iterator[Outage]:
    outage = Outage(database)
    engine = database.engine.sync_engine
    event.listen(engine, "begin", outage.begin)
    try:
        yield outage
    finally:
        event.remove(engine, "begin", outage.begin)


async def ready_agent(db: Database) -> int:
    async with db.write() as session:
        user = User(username="agent01", display_name="Agent One", role=Role.AGENT, extension="1001")
        session.add(user)
        await session.flush()
        await agents.login(session, user.id, at=after(-300))
        return user.id


async def changes(db: Database, agent_id: int) -> list[tuple[AgentEvent, dt.datetime]]:
    async with db.read() as session:
        return [(c.event, c.at) for c in await agents.state_changes(session, agent_id)]


async def record(db: Database, interaction_id: int) -> dict[str, Any]:
    async with db.read() as session:
        row = await session.get(Interaction, interaction_id)
        assert row is not None
        return {column.key: getattr(row, column.key) for column in Interaction.__table__.c}


async def status(db: Database, agent_id: int) -> tuple[AgentState, dt.datetime | None]:
    async with db.read() as session:
        found = (await agents.get_agent(session, agent_id)).status
        return found.state, found.since


def change(agent_id: int, event: AgentEvent, seconds: float, **kw: Any) -> StateChange:
    return StateChange(agent_id, event, after(seconds), **kw)


async def test_writes_the_database_refuses_land_once_it_is_back_with_their_own_times(
    database: Database, outage: Outage, tmp_path: Path
) -> None:
    interaction_id = await add_interaction(database, None, after(-60), "c1")
    agent_id = await ready_agent(database)
    journal = WriteJournal(tmp_path)
    stores = journaled_sql_stores(journal, database, pin_max_failures=3)
    acd, states = stores.acd, stores.agent_states

    await states.apply(change(agent_id, AgentEvent.OFFER, 0, interaction_id=interaction_id))
    await acd.offered(interaction_id, agent_id, after(0))
    await states.apply(change(agent_id, AgentEvent.ANSWER, 5))
    await acd.answered(interaction_id, agent_id, after(5))
    assert journal.pending == 0, "the database took them"

    outage.on = True  # the disk fills up during the conversation
    await acd.ended(interaction_id, after(60))
    wrap_up = await states.apply(change(agent_id, AgentEvent.HANG_UP, 60))
    ready = await states.apply(change(agent_id, AgentEvent.WRAP_UP_DONE, 90))
    await acd.wrapped_up(interaction_id, after(90))

    assert (wrap_up.state, ready.state, ready.since) == (
        AgentState.WRAP_UP,
        AgentState.READY,
        after(90),
    ), "the agent moves on as the call justifies"
    assert journal.pending == 4
    assert await status(database, agent_id) == (AgentState.ON_CALL, after(5))
    assert (await record(database, interaction_id))["ended_at"] is None
    assert not await journal.drain(), "still refused: nothing lands"

    await outage.end()
    assert await journal.drain(), journal.last_error
    row = await record(database, interaction_id)
    assert (row["ended_at"], row["wrapup_ended_at"], row["talk_seconds"]) == (
        after(60),
        after(90),
        55,
    )
    assert (await changes(database, agent_id))[-2:] == [
        (AgentEvent.HANG_UP, after(60)),
        (AgentEvent.WRAP_UP_DONE, after(90)),
    ]
    assert await status(database, agent_id) == (AgentState.READY, after(90))
    assert (tmp_path / JOURNAL_FILE).read_text() == ""


async def test_a_replay_after_a_crash_in_the_middle_of_a_replay_stores_nothing_twice(
    database: Database, outage: Outage, tmp_path: Path
) -> None:
    client_id = await add_client(database, await add_branch(database))
    interaction_id = await add_interaction(database, client_id, started_at=after(-60))
    agent_id = await ready_agent(database)
    live = tmp_path / "live"
    stores = journaled_sql_stores(WriteJournal(live), database, pin_max_failures=3)
    await stores.acd.agents()  # the ACD reads its agents at start

    outage.on = True  # the whole call is journaled
    queued = Outcome(OutcomeKind.QUEUED, (Step("main_menu", ("1",)),), client_id=client_id)
    await stores.ivr.finish_ivr(interaction_id, queued, at=after(-30), call_ended=False)
    await stores.acd.overflowed(interaction_id, "backup", "overflow:general=backup")
    offer = change(agent_id, AgentEvent.OFFER, 0, interaction_id=interaction_id)
    await stores.agent_states.apply(dataclasses.replace(offer, pop_client_id=client_id))
    await stores.acd.offered(interaction_id, agent_id, after(0))
    await stores.agent_states.apply(change(agent_id, AgentEvent.ANSWER, 5))
    await stores.acd.answered(interaction_id, agent_id, after(5))
    await stores.acd.ended(interaction_id, after(60))
    await stores.agent_states.apply(change(agent_id, AgentEvent.HANG_UP, 60))
    await stores.agent_states.apply(change(agent_id, AgentEvent.WRAP_UP_DONE, 90))
    await stores.acd.wrapped_up(interaction_id, after(90))
    # What the file holds when the service dies right after landing all of it, before
    # forgetting any.
    crashed = tmp_path / "crashed"
    shutil.copytree(live, crashed)

    await outage.end()
    assert await stores.journal.drain()
    once = await stored(database, interaction_id, agent_id)

    again = journaled_sql_stores(WriteJournal(crashed), database, pin_max_failures=3)
    assert again.journal.pending == 10
    assert await again.journal.drain()
    assert again.journal.status().rejected == 0
    assert await stored(database, interaction_id, agent_id) == once
    row = await record(database, interaction_id)
    assert row["ivr_path"] == ["main_menu=1", "overflow:general=backup"]
    assert (row["queue"], row["queued_at"], row["offered_at"], row["ended_at"]) == (
        "backup",
        after(-30),
        after(0),
        after(60),
    )
    assert [event for event, _ in once["changes"]] == [
        AgentEvent.LOGIN,
        AgentEvent.OFFER,
        AgentEvent.ANSWER,
        AgentEvent.HANG_UP,
        AgentEvent.WRAP_UP_DONE,
    ]
    assert once["pop_audits"] == [after(0)], "the pop's audit, once, at the offer's time"


async def stored(db: Database, interaction_id: int, agent_id: int) -> dict[str, Any]:
    row = await record(db, interaction_id)
    async with db.read() as session:
        pop_audits = list(
            await session.scalars(select(AuditEntry.at).where(AuditEntry.action == "call.offered"))
        )
        count = await session.scalar(select(func.count()).select_from(AgentStateChange))
    return {
        "record": {name: value for name, value in row.items() if name != "version"},
        "changes": await changes(db, agent_id),
        "change_rows": count,
        "status": await status(db, agent_id),
        "pop_audits": pop_audits,
    }


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_postgresql_away_then_back_lands_the_end_of_the_call(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    interaction_id = await add_interaction(database, None, after(-60), "c1")
    agent_id = await ready_agent(database)
    host_port = database_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    proxy = FaultProxy(host, int(port))
    await proxy.start()
    through = Database(database_url.replace(host_port, f"127.0.0.1:{proxy.port}", 1))
    try:
        journal = WriteJournal(tmp_path)
        stores = journaled_sql_stores(journal, through, pin_max_failures=3)
        await stores.agent_states.apply(
            change(agent_id, AgentEvent.OFFER, 0, interaction_id=interaction_id)
        )
        await stores.agent_states.apply(change(agent_id, AgentEvent.ANSWER, 5))
        await stores.acd.answered(interaction_id, agent_id, after(5))

        proxy.refuse = True  # PostgreSQL goes away: open connections drop, new ones fail
        proxy.cut()
        await stores.acd.ended(interaction_id, after(60))
        wrap_up = await stores.agent_states.apply(change(agent_id, AgentEvent.HANG_UP, 60))
        assert wrap_up.state is AgentState.WRAP_UP
        assert journal.pending == 2
        assert not await journal.drain()

        proxy.refuse = False  # back 25 s later
        assert await journal.drain()
        assert (await record(database, interaction_id))["ended_at"] == after(60)
        assert await status(database, agent_id) == (AgentState.WRAP_UP, after(60))
    finally:
        await through.dispose()
        await proxy.stop()
