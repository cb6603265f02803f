"""The store of the agents' state owner (callcenter/acd/agent_states.py AgentStateStore) over
the database: each change checked, applied and audited in one transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.agent_states import StateChange
from callcenter.acd.agents import AgentEvent, AgentRecord, AgentStatus
from callcenter.persistence import agents, service_codes
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.screen_pop import record_call_offered

STATE_FORCED = "agent.state_forced"  # the audit action of a supervisor setting a state


class SqlAgentStates:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def apply(self, change: StateChange) -> AgentStatus:
        async with self.db.write(urgent=change.urgent) as session:
            return await self._apply(session, change)

    async def apply_and_read(self, change: StateChange) -> AgentRecord:
        async with self.db.write(urgent=change.urgent) as session:
            await self._apply(session, change)
            return await agents.get_agent(session, change.agent_id)

    async def _apply(self, session: AsyncSession, change: StateChange) -> AgentStatus:
        event = change.event
        reasons = change.reasons
        if change.reason is not None and change.by_user_id is not None:
            # A person chose the reason: it must be one of the active reasons now (the admin
            # console's service codes), checked in the transaction that stores it.
            reasons = await service_codes.active_reasons(session)
        applied = await agents.apply_chosen(
            session,
            change.agent_id,
            (lambda _state: event) if isinstance(event, AgentEvent) else event,
            at=change.at,
            reason=change.reason,
            interaction_id=change.interaction_id,
            by_user_id=change.by_user_id,
            reasons=reasons,
        )
        if change.pop_client_id is not None and applied.change.event is AgentEvent.OFFER:
            # The client's summary pops with the offer: audited in the reservation's
            # transaction, before anything of it leaves.
            await record_call_offered(
                session, change.agent_id, change.pop_client_id, change.interaction_id, change.at
            )
        if change.forced and change.by_user_id is not None:
            await record_audit(
                session,
                change.by_user_id,
                STATE_FORCED,
                detail={
                    "agent_id": change.agent_id,
                    "from": applied.change.from_state.value,
                    "to": applied.status.state.value,
                    "reason": change.reason,
                },
            )
        return applied.status
