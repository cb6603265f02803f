"""Writing the append-only audit log (the database refuses UPDATE and DELETE on it).

Call :func:`record_audit` inside the same write transaction as the change it records, so the
change and its audit entry commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.ports import AuditRecord
from callcenter.persistence.tables import AuditEntry


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
