"""Queues in the database: their configuration, read by the ACD and edited by admins.

Edits are versioned (``queues.version``): an admin who saves a queue someone else changed
since they read it gets :class:`StaleVersion`. An edit locks every queue row first, because
the overflow check reads the other queues: two admins pointing two queues at each other at
the same time must not both pass the check and leave a loop (on SQLite ``BEGIN IMMEDIATE``
serializes the edits already).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.model import QueueConfig
from callcenter.acd.queues import (
    QueueExists,
    QueueNotFound,
    check_queue_config,
    config_from_json,
    config_to_json,
)
from callcenter.errors import StaleVersion
from callcenter.persistence.tables import CallQueue, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueRecord:
    config: QueueConfig
    version: int
    updated_at: dt.datetime
    updated_by_id: int | None


def _record(row: CallQueue) -> QueueRecord:
    return QueueRecord(
        config_from_json(row.name, row.config), row.version, row.updated_at, row.updated_by_id
    )


async def list_queues(session: AsyncSession) -> list[QueueRecord]:
    """Every queue, by name."""
    rows = await session.scalars(select(CallQueue).order_by(CallQueue.name))
    return [_record(row) for row in rows]


async def load_queue_configs(session: AsyncSession) -> list[QueueConfig]:
    """Every queue's configuration, for the ACD."""
    return [record.config for record in await list_queues(session)]


async def get_queue(session: AsyncSession, name: str) -> QueueRecord:
    row = await session.get(CallQueue, name)
    if row is None:
        raise QueueNotFound(f"no queue {name!r}", queue=name)
    return _record(row)


async def put_queue(
    session: AsyncSession,
    config: QueueConfig,
    version: int | None,
    by_user_id: int | None = None,
    at: dt.datetime | None = None,
) -> tuple[QueueRecord, bool]:
    """Create the queue (``version`` None) or replace the configuration of ``version`` of it.
    Returns the stored queue and whether it was created."""
    rows = {
        row.name: row
        for row in await session.scalars(
            select(CallQueue).with_for_update().execution_options(populate_existing=True)
        )
    }
    row = rows.get(config.name)
    _check_version(config.name, row, version)
    overflows = {name: config_from_json(name, r.config).overflow_queue for name, r in rows.items()}
    check_queue_config(config, overflows)
    created = row is None
    if row is None:
        row = CallQueue(name=config.name, version=0)
        session.add(row)
    row.config = config_to_json(config)
    row.version += 1
    row.updated_at = at or utcnow()
    row.updated_by_id = by_user_id
    try:
        await session.flush()
    except IntegrityError as clash:
        # PostgreSQL: another admin created the same queue since our read (the lock covers
        # only the rows that existed).
        raise QueueExists(f"queue {config.name!r} was just created", queue=config.name) from clash
    log.info(
        "queue %s %s (version %s)", config.name, "created" if created else "changed", row.version
    )
    return _record(row), created


def _check_version(name: str, row: CallQueue | None, version: int | None) -> None:
    if row is None and version is not None:
        raise QueueNotFound(f"no queue {name!r} to change", queue=name)
    if row is not None and version is None:
        raise QueueExists(f"queue {name!r} exists: send its version to change it", queue=name)
    if row is not None and row.version != version:
        raise StaleVersion(
            f"queue {name!r} has changed (version {row.version}, not {version}): reload it",
            version=version,
            current_version=row.version,
        )
