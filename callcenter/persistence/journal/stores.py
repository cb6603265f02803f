"""The stores of a call's story behind one journal, and the database's answers to what a
replay asks first: what callcenter/app.py wires."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from callcenter.acd.agent_states import AgentStateStore, StateChange
from callcenter.acd.agents import AgentEvent
from callcenter.acd.ports import AcdStore
from callcenter.ivr.ports import IvrBackend
from callcenter.pbx.call_states import CallControlBackend
from callcenter.persistence.acd_backend import SqlAcdBackend
from callcenter.persistence.agent_states import SqlAgentStates
from callcenter.persistence.call_control import SqlCallControlBackend
from callcenter.persistence.db import Database
from callcenter.persistence.ivr_backend import SqlIvrBackend
from callcenter.persistence.journal.acd_store import JournaledAcdStore
from callcenter.persistence.journal.agent_states import JournaledAgentStates, KnownStatuses
from callcenter.persistence.journal.calls import JournaledCallControl, JournaledIvrBackend
from callcenter.persistence.journal.file import WriteJournal
from callcenter.persistence.journal.writes import (
    DEFAULT_WRITE_TIMEOUT,
    JournaledWrites,
    ReplayChecks,
)
from callcenter.persistence.tables import AgentStateChange, Interaction


class SqlReplayChecks:
    """What a replay asks the database first (writes.py ReplayChecks)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def route_recorded(self, interaction_id: int, queue: str, path_entry: str) -> bool:
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(Interaction.queue, Interaction.ivr_path).where(
                        Interaction.id == interaction_id
                    )
                )
            ).first()
        return row is not None and row[0] == queue and list(row[1] or ())[-1:] == [path_entry]

    async def agent_change_stored(self, change: StateChange) -> bool:
        assert isinstance(change.event, AgentEvent)  # a journaled change names its event
        stmt = select(AgentStateChange.id).where(
            AgentStateChange.agent_id == change.agent_id,
            AgentStateChange.event == change.event,
            AgentStateChange.at >= change.at,
        )
        if change.interaction_id is not None:
            stmt = stmt.where(AgentStateChange.interaction_id == change.interaction_id)
        async with self.db.read() as session:
            return (await session.scalar(stmt.limit(1))) is not None


@dataclass(frozen=True)
class JournaledStores:
    """The ACD's and the agents' state owner's stores behind one journal."""

    journal: WriteJournal
    acd: JournaledAcdStore
    agent_states: JournaledAgentStates


@dataclass(frozen=True)
class JournaledSqlStores(JournaledStores):
    """The database's stores of a call's story behind one journal, the IVR's and call
    control's too: built once, in the app's lifespan."""

    ivr: JournaledIvrBackend
    call_control: JournaledCallControl


def journaled_stores(
    journal: WriteJournal,
    *,
    acd: AcdStore,
    agent_states: AgentStateStore,
    checks: ReplayChecks,
    write_timeout: float = DEFAULT_WRITE_TIMEOUT,
) -> JournaledStores:
    return _journaled(JournaledWrites(journal, write_timeout), acd, agent_states, checks)


def journaled_sql_stores(
    journal: WriteJournal,
    db: Database,
    *,
    pin_max_failures: int,
    write_timeout: float = DEFAULT_WRITE_TIMEOUT,
) -> JournaledSqlStores:
    """What callcenter/app.py wires. Every kind of entry has its replay from here on, so a
    journal a previous run left lands whatever this run serves."""
    writes = JournaledWrites(journal, write_timeout)
    core = _journaled(writes, SqlAcdBackend(db), SqlAgentStates(db), SqlReplayChecks(db))
    return JournaledSqlStores(
        journal,
        core.acd,
        core.agent_states,
        JournaledIvrBackend(SqlIvrBackend(db, pin_max_failures=pin_max_failures), writes),
        JournaledCallControl(SqlCallControlBackend(db), writes),
    )


def _journaled(
    writes: JournaledWrites, acd: AcdStore, agent_states: AgentStateStore, checks: ReplayChecks
) -> JournaledStores:
    statuses = KnownStatuses()  # shared: the ACD's reads of agents feed it too
    return JournaledStores(
        writes.journal,
        JournaledAcdStore(acd, writes, statuses, checks),
        JournaledAgentStates(agent_states, writes, statuses, checks),
    )


if TYPE_CHECKING:  # the wrappers have the ports of what they wrap

    def _ports(
        s: JournaledSqlStores,
    ) -> tuple[AcdStore, AgentStateStore, IvrBackend, CallControlBackend]:
        return s.acd, s.agent_states, s.ivr, s.call_control
