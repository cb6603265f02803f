"""Migrations: an empty database upgrades to head and downgrades again, on both databases;
the migrated schema is exactly the one the models describe; the audit log is append-only."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from callcenter.persistence import migrate
from callcenter.persistence.db import Database
from callcenter.persistence.tables import AuditEntry, Base, ComplaintCategory


async def test_upgrade_to_head_then_down_to_base_and_up_again(database_url: str) -> None:
    await migrate.downgrade_async(database_url, "base")
    db = Database(database_url)
    try:
        async with db.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables <= {"alembic_version"}
        await migrate.upgrade_async(database_url)
        async with db.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables
    finally:
        await db.dispose()


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    async with database.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
        )
    assert diff == []


async def test_complaint_taxonomy_is_there_after_migrating(database: Database) -> None:
    async with database.read() as session:
        leaves = await session.scalar(
            select(func.count()).where(ComplaintCategory.parent_code.is_not(None))
        )
        owner = await session.scalar(
            select(ComplaintCategory.owner).where(ComplaintCategory.code == "advice.suitability")
        )
    assert leaves is not None
    assert leaves >= 15
    assert owner == "compliance"


async def test_audit_log_refuses_update_and_delete(database: Database) -> None:
    async with database.write() as session:
        await session.execute(
            insert(AuditEntry).values(at=dt.datetime.now(dt.UTC), action="client.view", detail={})
        )
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.write() as session:
            await session.execute(update(AuditEntry).values(action="tampered"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.write() as session:
            await session.execute(text("DELETE FROM audit_log"))
    async with database.read() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert actions == ["client.view"]
