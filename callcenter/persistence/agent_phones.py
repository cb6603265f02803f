"""The agents' phones as stored, for the phone rule of the ACD (callcenter/acd/phones.py
``AgentPhones``): an agent's extension, and every ready agent with theirs."""

from __future__ import annotations

from sqlalchemy import select

from callcenter.acd.agents import AGENT_ROLES, AgentNotFound
from callcenter.acd.model import AgentState
from callcenter.persistence.db import Database
from callcenter.persistence.tables import AgentStatusRow, User


class SqlAgentPhones:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def extension_of(self, agent_id: int) -> str | None:
        stmt = select(User.extension).where(
            User.id == agent_id, User.active, User.role.in_(AGENT_ROLES)
        )
        async with self.db.read() as session:
            found = (await session.execute(stmt)).first()
        if found is None:
            raise AgentNotFound(f"no active agent {agent_id}", agent_id=agent_id)
        extension: str | None = found[0]
        return extension or None

    async def ready_agents(self) -> list[tuple[int, str | None]]:
        stmt = (
            select(User.id, User.extension)
            .join(AgentStatusRow, AgentStatusRow.agent_id == User.id)
            .where(AgentStatusRow.state == AgentState.READY, User.active)
            .order_by(User.id)
        )
        async with self.db.read() as session:
            rows = (await session.execute(stmt)).all()
        return [(agent_id, extension or None) for agent_id, extension in rows]

    async def ready_agent_ids(self) -> list[int]:
        """Every agent ready now (the desk watch's start, callcenter/cti/desk_watch.py)."""
        return [agent_id for agent_id, _ in await self.ready_agents()]
