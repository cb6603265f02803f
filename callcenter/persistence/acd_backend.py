"""The ACD's ports (callcenter.acd.ports.AcdStore) over the database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import select

from callcenter.acd.agents import AgentStatus, profile_of
from callcenter.acd.model import AgentProfile, AgentState, ClientSummary, QueueConfig
from callcenter.acd.ports import OpenCall
from callcenter.crm.interactions import (
    Phase,
    PhaseAlreadyRecorded,
    PhaseOutOfOrder,
    PhaseUpdate,
    close_as_anomaly,
    impossible_phases,
    record_phase,
    record_route,
    recorded_phases,
)
from callcenter.persistence import agents, queues
from callcenter.persistence.crm import SqlCrm
from callcenter.persistence.db import Database
from callcenter.persistence.interactions import interaction_record
from callcenter.persistence.screen_pop import client_summary
from callcenter.persistence.tables import AgentStatusRow, Interaction

log = logging.getLogger(__name__)


class SqlAcdBackend:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.crm = SqlCrm(db)

    async def open_calls(self, since: dt.datetime, until: dt.datetime) -> list[OpenCall]:
        """Calls through Asterisk started in [since, until) whose record has no end."""
        async with self.db.read() as session:
            rows = await session.execute(
                select(Interaction)
                .where(
                    Interaction.started_at >= since,
                    Interaction.started_at < until,
                    Interaction.ended_at.is_(None),
                    Interaction.call_id.is_not(None),
                )
                .order_by(Interaction.id)
            )
            calls = [
                OpenCall(
                    row.id,
                    row.call_id,
                    row.agent_id,
                    row.queue,
                    row.answered_at is not None,
                    row.client_id,
                    row.caller_number,
                    impossible_phases(recorded_phases(interaction_record(row))),
                )
                for row in rows.scalars().all()
                if row.call_id
            ]
            # An agent reserved for a call whose offer the previous run had not written yet
            # (it stopped between the reservation and the dial's record): the agent's state
            # names the call.
            reserved = await session.execute(
                select(AgentStatusRow.interaction_id, AgentStatusRow.agent_id).where(
                    AgentStatusRow.interaction_id.in_([c.interaction_id for c in calls]),
                    AgentStatusRow.state.in_([AgentState.RESERVED, AgentState.ON_CALL]),
                )
            )
            holding: dict[int | None, int] = {
                interaction_id: agent_id for interaction_id, agent_id in reserved.all()
            }
        return [
            call
            if call.agent_id is not None or call.interaction_id not in holding
            else dataclasses.replace(call, agent_id=holding[call.interaction_id])
            for call in calls
        ]

    async def queue_configs(self) -> list[QueueConfig]:
        async with self.db.read() as session:
            return await queues.load_queue_configs(session)

    async def agents(self) -> list[tuple[AgentProfile, AgentStatus]]:
        async with self.db.read() as session:
            records = await agents.list_agents(session)
            return [
                (profile_of(record), record.status)
                for record in records
                if record.extension and record.status.state is not AgentState.LOGGED_OUT
            ]

    async def agent(self, agent_id: int) -> tuple[AgentProfile | None, AgentStatus]:
        async with self.db.read() as session:
            record = await agents.get_agent(session, agent_id)
            profile = profile_of(record) if record.extension else None
            return profile, record.status

    async def caller(self, client_id: int) -> ClientSummary | None:
        async with self.db.read() as session:
            return await client_summary(session, client_id)

    async def queued(self, interaction_id: int, queue: str, at: dt.datetime) -> None:
        try:
            await self._phase(interaction_id, PhaseUpdate(Phase.QUEUED, at, queue=queue))
        except PhaseOutOfOrder as exc:  # offered or answered already: queued is past
            log.info("interaction %s: not queued again: %s", interaction_id, exc)

    async def offered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None:
        # A call offered again after a ring-no-answer keeps its first offer time.
        await self._phase(interaction_id, PhaseUpdate(Phase.OFFERED, at, agent_id=agent_id))

    async def answered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None:
        await self._phase(interaction_id, PhaseUpdate(Phase.ANSWERED, at, agent_id=agent_id))

    async def ended(self, interaction_id: int, at: dt.datetime) -> None:
        await self._phase(interaction_id, PhaseUpdate(Phase.ENDED, at))

    async def overflowed(self, interaction_id: int, to_queue: str, path_entry: str) -> None:
        await record_route(self.crm, interaction_id, queue=to_queue, add_to_path=[path_entry])

    async def wrapped_up(self, interaction_id: int, at: dt.datetime) -> None:
        await self._phase(interaction_id, PhaseUpdate(Phase.WRAPPED_UP, at))

    async def close_as_anomaly(self, interaction_id: int, at: dt.datetime, reason: str) -> None:
        await close_as_anomaly(self.crm, interaction_id, at, reason)

    async def _phase(self, interaction_id: int, update: PhaseUpdate) -> None:
        try:
            await record_phase(self.crm, interaction_id, update)
        except PhaseAlreadyRecorded:
            log.debug("interaction %s: %s already recorded", interaction_id, update.phase)
