"""Client search by name is answered from an index (migration 0003), on both databases, and
matches exactly the names that start with what was typed."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from callcenter.crm.clients import ClientSearch
from callcenter.crm.scopes import SYSTEM
from callcenter.persistence.clients import SqlClientStore, _search_conditions
from callcenter.persistence.db import Database
from callcenter.persistence.tables import Client
from tests.support.crm_data import add_branch, add_client


async def test_name_search_uses_the_name_indexes(database: Database) -> None:
    dialect = "sqlite" if database.sqlite else "postgresql"
    stmt = select(Client.id).where(*_search_conditions(ClientSearch(name="zhang"), dialect))
    async with database.connect() as conn:
        sql = str(stmt.compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
        if database.sqlite:
            plan = (await conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all()
        else:
            # A handful of rows would be scanned anyway: ask whether the index *can* serve.
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = (await conn.execute(text(f"EXPLAIN {sql}"))).all()
    described = " ".join(str(column) for row in plan for column in row)
    assert "ix_clients_name_lower" in described
    assert "ix_clients_name_latin_lower" in described


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("zh", {"Zhang Wei", "Zhao Li"}),
        ("zhang", {"Zhang Wei"}),
        ("ZHAO L", {"Zhao Li"}),
        ("zhang wei", {"Zhang Wei"}),
        ("zhang weix", set()),
        ("z_", set()),
        ("王", {"Wang Fang"}),
        ("ü", {"ülker"}),  # the last character has no upper case: plain code point range
    ],
)
async def test_name_prefix_finds_exactly_the_names_starting_with_it(
    database: Database, typed: str, found: set[str]
) -> None:
    branch_id = await add_branch(database)
    people = [("张伟", "Zhang Wei"), ("赵丽", "Zhao Li"), ("王芳", "Wang Fang"), ("x", "ülker")]
    for number, (name, latin) in enumerate(people):
        await add_client(database, branch_id, account_no=f"A{number}", name=name, name_latin=latin)
    async with database.read() as session:
        page = await SqlClientStore(session).search(ClientSearch(name=typed), SYSTEM)
    assert {item.name_latin for item in page.items} == found
