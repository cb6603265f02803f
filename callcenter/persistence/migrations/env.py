"""Alembic environment: runs migrations on the async engine of the configured URL."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Connection

from callcenter.persistence.db import create_engine, is_sqlite
from callcenter.persistence.tables import Base

config = context.config
# The migrations' turn in PostgreSQL's advisory lock space: the bytes of "cc-schem".
MIGRATION_LOCK_KEY = int.from_bytes(b"cc-schem", "big")
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE on SQLite
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Instances of a cluster starting together each upgrade at their start: they take
            # turns (the lock ends with the transaction), and the later ones find the schema
            # at head. Taken before Alembic reads or creates its version table.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            _check_references(connection)


# SQLite alters a table by copying it into a new one and dropping the old (batch mode). With
# foreign keys on, dropping a table that other rows reference fails, or worse, runs their ON
# DELETE CASCADE; and the pragma cannot change inside the migration's transaction. So it is
# off from the connection's start (after db.py's hook turned it on), and every reference is
# checked before the migration commits, as SQLite's own procedure for altering tables says.
def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def _check_references(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"migration left rows with broken references: {broken[:10]}")


async def _online() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    engine = create_engine(url)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _foreign_keys_off)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run against a database")
asyncio.run(_online())
