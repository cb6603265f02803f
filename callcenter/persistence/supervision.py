"""Supervision's port (callcenter.pbx.supervision.SupervisionBackend) over the database; every
action audited in its own transaction. (A supervisor's change of an agent's state goes
through the states' owner, callcenter/acd/agent_states.py.)"""

from __future__ import annotations

from sqlalchemy import select

from callcenter.persistence import agents
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
