"""Supervision's port (callcenter.pbx.supervision.SupervisionBackend) over the database, and a
supervisor's change of an agent's state; every action audited in its own transaction."""

from __future__ import annotations

from sqlalchemy import select

from callcenter.acd import agents as machine
from callcenter.acd.agents import AgentEvent, ReasonNotExpected
from callcenter.persistence import agents
from callcenter.persistence.agents import AgentRecord
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.tables import User


class SqlSupervisionBackend:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def agent_extension(self, agent_id: int) -> str | None:
        async with self.db.read() as session:
            return (await agents.get_agent(session, agent_id)).extension

    async def own_extension(self, user_id: int) -> str | None:
        async with self.db.read() as session:
            extension: str | None = await session.scalar(
                select(User.extension).where(User.id == user_id)
            )
            return extension

    async def monitored(
        self, supervisor_id: int, agent_id: int, mode: str, interaction_id: int | None
    ) -> None:
        async with self.db.write() as session:
            await record_audit(
                session,
                supervisor_id,
                "call.monitored",
                interaction_id=interaction_id,
                detail={"agent_id": agent_id, "mode": mode},
            )

    async def monitor_ended(self, supervisor_id: int, agent_id: int) -> None:
        async with self.db.write() as session:
            await record_audit(
                session, supervisor_id, "call.monitor_ended", detail={"agent_id": agent_id}
            )


async def force_agent_state(
    db: Database,
    supervisor_id: int,
    agent_id: int,
    state: str,
    reason: str | None,
    reasons: frozenset[str],
) -> AgentRecord:
    """A supervisor sets an agent ready, not ready (with a reason) or logged out, through the
    agents' state machine (an illegal move is the same 409 as the agent's own), recorded as
    done by the supervisor and audited (``agent.state_forced``) in one transaction."""
    if state != "not_ready" and reason is not None:
        raise ReasonNotExpected(f"{state} takes no reason", field="reason")
    async with db.write() as session:
        before = await agents.get_agent(session, agent_id)
        if state == "ready":
            event = machine.ready_event(before.status.state)
        elif state == "not_ready":
            event = AgentEvent.FORCE_NOT_READY  # the state machine's supervisor events
        else:
            event = AgentEvent.FORCE_LOGOUT
        await agents.apply_event(
            session, agent_id, event, reason=reason, by_user_id=supervisor_id, reasons=reasons
        )
        after = await agents.get_agent(session, agent_id)
        await record_audit(
            session,
            supervisor_id,
            "agent.state_forced",
            detail={
                "agent_id": agent_id,
                "from": before.status.state.value,
                "to": after.status.state.value,
                "reason": reason,
            },
        )
        return after


async def record_call_moved(
    db: Database, supervisor_id: int, call_id: str, queue: str, agent_id: int | None
) -> None:
    """Audit ``call.moved``: to another queue, or offered to a named agent."""
    async with db.write() as session:
        await record_audit(
            session,
            supervisor_id,
            "call.moved",
            detail={"call_id": call_id, "queue": queue, "agent_id": agent_id},
        )
