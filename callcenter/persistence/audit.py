"""Writing the append-only audit log (the database refuses UPDATE and DELETE on it).

Call :func:`record_audit` inside the same write transaction as the change it records, so the
change and its audit entry commit or roll back together. Compliance reads it back with
:func:`query_audit` (a page) and :func:`iter_audit` (the whole export, in batches).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.ports import AuditRecord, Page
from callcenter.persistence.db import Database
from callcenter.persistence.tables import AuditEntry, User


async def record_audit(
    session: AsyncSession,
    actor_id: int | None,
    action: str,
    client_id: int | None = None,
    interaction_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Append one audit entry. ``detail`` must be JSON-serialisable and must never hold a full
    ID number, a PIN or a password. ``at``: when it happened, if not now (a write the journal
    kept while the database was away lands later with its own time)."""
    await session.execute(
        insert(AuditEntry).values(
            at=at or dt.datetime.now(dt.UTC),
            actor_id=actor_id,
            action=action,
            client_id=client_id,
            interaction_id=interaction_id,
            detail=dict(detail or {}),
        )
    )


class SqlAuditTrail:
    """The domain's AuditTrail port over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, entry: AuditRecord) -> None:
        # Looked up on the module at call time, so a test can make the writer fail.
        await record_audit(
            self._session,
            entry.actor_id,
            entry.action,
            entry.client_id,
            entry.interaction_id,
            entry.detail,
        )


# --- reading the log back: compliance's query and export (issue 15, point 4) ----------------


@dataclass(frozen=True)
class AuditFilter:
    """Which entries: ``start`` <= at < ``end``, by an actor, of an action, about a client.
    Every field None: the whole log."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    actor_id: int | None = None
    action: str | None = None
    client_id: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.start is not None:
            conditions.append(AuditEntry.at >= self.start)
        if self.end is not None:
            conditions.append(AuditEntry.at < self.end)
        if self.actor_id is not None:
            conditions.append(AuditEntry.actor_id == self.actor_id)
        if self.action is not None:
            conditions.append(AuditEntry.action == self.action)
        if self.client_id is not None:
            conditions.append(AuditEntry.client_id == self.client_id)
        return conditions


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_username: str | None
    action: str
    client_id: int | None
    interaction_id: int | None
    detail: dict[str, Any]


def _listing(where: AuditFilter) -> Select[AuditEntry, str]:
    return (
        select(AuditEntry, User.username)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(*where.conditions())
        .order_by(AuditEntry.id)
    )


def _audit_row(entry: AuditEntry, username: str | None) -> AuditRow:
    return AuditRow(
        id=entry.id,
        at=entry.at,
        actor_id=entry.actor_id,
        actor_username=username,
        action=entry.action,
        client_id=entry.client_id,
        interaction_id=entry.interaction_id,
        detail=dict(entry.detail or {}),
    )


async def query_audit(
    session: AsyncSession, where: AuditFilter, limit: int, offset: int
) -> Page[AuditRow]:
    """One page of the entries, oldest first (the log's own order: its ids)."""
    rows = (await session.execute(_listing(where).limit(limit + 1).offset(offset))).all()
    return Page.of([_audit_row(entry, username) for entry, username in rows], limit, offset)


async def iter_audit(
    db: Database, where: AuditFilter, *, batch: int = 1000
) -> AsyncIterator[AuditRow]:
    """Every entry, oldest first, in batches of ``batch`` read by id (keyset, never OFFSET):
    an export of millions of entries holds neither them all in memory nor one long
    transaction. Entries appended meanwhile with a later id are included."""
    after = 0
    while True:
        async with db.read() as session:
            # Made plain rows inside the session: its end expires the ORM objects.
            rows = [
                _audit_row(entry, username)
                for entry, username in (
                    await session.execute(_listing(where).where(AuditEntry.id > after).limit(batch))
                ).all()
            ]
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].id


async def record_audit_export(
    db: Database, actor_id: int, where: AuditFilter, *, via: str, action: str
) -> None:
    """Exporting the log is itself audited: who, with which filters, through what."""
    detail: dict[str, Any] = {
        "via": via,
        "from": where.start.isoformat() if where.start else None,
        "to": where.end.isoformat() if where.end else None,
        "actor_id": where.actor_id,
        "action": where.action,
        "client_id": where.client_id,
    }
    async with db.write() as session:
        await record_audit(session, actor_id, action, where.client_id, detail=detail)
