"""The caller lookup's fast path gives the same answer as the plain unit of work."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from callcenter.persistence.clients import find_clients_by_phone, lookup_clients_by_phone
from callcenter.persistence.db import Database
from callcenter.persistence.tables import Client
from tests.support.crm_data import add_branch, add_client

SHARED_LANDLINE = "+862152345678"


async def test_fast_lookup_matches_the_unit_of_work_and_sees_fresh_writes(
    database: Database,
) -> None:
    branch = await add_branch(database)
    closed = await add_client(
        database, branch, account_no="1", name="王芳", phones=["+8613911112222", SHARED_LANDLINE]
    )
    open_ = await add_client(
        database, branch, account_no="2", name="李娜", phones=["+8613933334444", SHARED_LANDLINE]
    )
    async with database.write() as session:
        await session.execute(
            update(Client).where(Client.id == closed).values(closed_on=dt.date(2026, 1, 31))
        )

    fast = await lookup_clients_by_phone(database, SHARED_LANDLINE)
    async with database.read() as session:
        slow = [c.id for c in await find_clients_by_phone(session, SHARED_LANDLINE)]

    assert [c.id for c in fast] == slow == [open_, closed]  # open account first
    assert fast[0].name == "李娜"
    assert await lookup_clients_by_phone(database, "+8613000000000") == []
    # A client written just now is found at once: the fast path reads no stale snapshot.
    newcomer = await add_client(database, branch, account_no="3", phones=["+8613955556666"])
    assert [c.id for c in await lookup_clients_by_phone(database, "+8613955556666")] == [newcomer]
