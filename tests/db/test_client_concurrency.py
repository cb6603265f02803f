"""Concurrent changes to one client lose nothing, on SQLite and on PostgreSQL.

Each change runs the real service function (callcenter.crm.clients) in its own unit of work:
its own session and connection, all started together. The row lock taken before reading
(``FOR UPDATE``; ``BEGIN IMMEDIATE`` on SQLite) turns read-then-write into one-after-the-other.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from callcenter.crm import clients
from callcenter.crm.clients import ClientChanges, ClientUpdate
from callcenter.crm.scopes import DataScope, Reach
from callcenter.crm.vocabulary import Role
from callcenter.errors import StaleVersion
from callcenter.persistence.crm import SqlCrm
from callcenter.persistence.db import Database
from callcenter.persistence.tables import AuditEntry, Client, User
from tests.support.crm_data import add_branch, add_client

WRITERS = 50


def scope_of_supervisor(user_id: int) -> DataScope:
    """Every client in reach: these tests are about concurrent writes, not scopes."""
    return DataScope(Reach.ALL, user_id)


async def seed(database: Database) -> tuple[int, int]:
    """An agent and a client; their ids."""
    branch_id = await add_branch(database)
    async with database.write() as session:
        agent = User(username="agent", display_name="Chen Jing", role=Role.AGENT)
        session.add(agent)
        await session.flush()
        agent_id = agent.id
    return agent_id, await add_client(database, branch_id)


async def audit_count(database: Database, action: str) -> int:
    async with database.read() as session:
        found = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )
    return found or 0


async def test_fifty_concurrent_note_lines_are_all_kept(database: Database) -> None:
    agent_id, client_id = await seed(database)
    crm = SqlCrm(database)
    lines = [f"line {n}" for n in range(WRITERS)]

    await asyncio.gather(
        *(
            clients.append_client_note(crm, scope_of_supervisor(agent_id), client_id, line)
            for line in lines
        )
    )

    async with database.read() as session:
        client = await session.get_one(Client, client_id)
        notes, version = client.notes or "", client.version
    assert sorted(notes.split("\n")) == sorted(lines)
    assert version == 1 + WRITERS
    assert await audit_count(database, "client.note") == WRITERS


async def test_of_fifty_concurrent_updates_from_one_version_exactly_one_wins(
    database: Database,
) -> None:
    agent_id, client_id = await seed(database)
    crm = SqlCrm(database)

    async def update(number: int) -> object:
        change = ClientUpdate(version=1, changes=ClientChanges(notes=f"writer {number}"))
        return await clients.update_client(crm, scope_of_supervisor(agent_id), client_id, change)

    outcomes = await asyncio.gather(*(update(n) for n in range(WRITERS)), return_exceptions=True)

    stale = [o for o in outcomes if isinstance(o, StaleVersion)]
    won = [o for o in outcomes if isinstance(o, clients.ClientProfile)]
    assert (len(won), len(stale)) == (1, WRITERS - 1)
    async with database.read() as session:
        client = await session.get_one(Client, client_id)
        notes, version = client.notes, client.version
    assert (notes, version) == (won[0].notes, 2)
    assert await audit_count(database, "client.update") == 1
