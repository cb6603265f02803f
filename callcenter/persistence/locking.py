"""Read a row to change it: the one place that takes the row lock.

On PostgreSQL ``SELECT ... FOR UPDATE`` holds the row until the write transaction ends, so a
concurrent read-then-write waits instead of working from a stale copy. On SQLite the write
transaction already holds the database's write lock (``BEGIN IMMEDIATE``, see db.py) and FOR
UPDATE is left out of the SQL. ``populate_existing`` refreshes an object the session already
holds, so the caller sees the row as locked, not as first loaded.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.persistence.tables import Base

Row = TypeVar("Row", bound=Base)


async def lock_row(session: AsyncSession, model: type[Row], row_id: int) -> Row | None:
    """The row of ``model`` with this primary key, locked until the transaction ends."""
    primary_key = model.__mapper__.primary_key[0]
    stmt = (
        select(model)
        .where(primary_key == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(stmt)
