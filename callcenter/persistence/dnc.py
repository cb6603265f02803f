"""The do-not-call list (table ``do_not_call``, migration 0011): numbers the center must not
call, for every call (scope ``all``) or for care calls only (scope ``care``: birthday
greetings, reports, reminders), until an optional expiry.

Admins keep it (the admin console); the outbound dialler (issue 18) asks :func:`blocks`
before it dials. Numbers are stored in E.164 (callcenter/crm/phones.py), one entry per
number. Every change is audited (``admin.dnc.create``, ``.update``, ``.delete``) with the
number masked: the audit log says that an entry changed, the list itself says which number.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.phones import mask_phone
from callcenter.errors import Conflict, NotFound, StaleVersion
from callcenter.persistence.audit import record_audit
from callcenter.persistence.tables import DoNotCallEntry, utcnow

log = logging.getLogger(__name__)


class DncScope(StrEnum):
    ALL = "all"  # no call of any kind
    CARE = "care"  # no care or courtesy call; service calls the client asked for still go


class DncNotFound(NotFound):
    error_id = "dnc-not-found"


class DncExists(Conflict):
    error_id = "dnc-exists"


@dataclass(frozen=True)
class DncRecord:
    entry_id: int
    e164: str
    scope: DncScope
    reason: str
    added_by_id: int | None
    added_at: dt.datetime
    expires_at: dt.datetime | None
    version: int


@dataclass(frozen=True)
class DncFields:
    scope: DncScope
    reason: str
    expires_at: dt.datetime | None


def _record(row: DoNotCallEntry) -> DncRecord:
    return DncRecord(
        row.id,
        row.e164,
        DncScope(row.scope),
        row.reason,
        row.added_by_id,
        row.added_at,
        row.expires_at,
        row.version,
    )


async def list_entries(
    session: AsyncSession,
    *,
    number_prefix: str | None = None,
    include_expired: bool = True,
    now: dt.datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[DncRecord], int]:
    """Entries newest first (a page of them) and how many match in all."""
    stmt = select(DoNotCallEntry)
    if number_prefix:
        stmt = stmt.where(DoNotCallEntry.e164.startswith(number_prefix, autoescape=True))
    if not include_expired:
        stmt = stmt.where(_live(now or utcnow()))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await session.scalars(
        stmt.order_by(DoNotCallEntry.added_at.desc(), DoNotCallEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_record(row) for row in rows], int(total or 0)


def _live(now: dt.datetime) -> ColumnElement[bool]:
    return or_(DoNotCallEntry.expires_at.is_(None), DoNotCallEntry.expires_at > now)


async def blocks(
    session: AsyncSession, e164: str, *, care_call: bool, now: dt.datetime | None = None
) -> DncRecord | None:
    """The live entry that forbids calling ``e164`` (a care call is also stopped by a
    ``care`` entry), or None: the number may be called."""
    scopes = [DncScope.ALL.value, DncScope.CARE.value] if care_call else [DncScope.ALL.value]
    row = await session.scalar(
        select(DoNotCallEntry).where(
            DoNotCallEntry.e164 == e164,
            DoNotCallEntry.scope.in_(scopes),
            _live(now or utcnow()),
        )
    )
    return None if row is None else _record(row)


def stops(scope: DncScope, *, care_call: bool) -> bool:
    """Whether a live entry of ``scope`` forbids the call: a ``care`` entry stops care calls
    only (as :func:`blocks` decides)."""
    return scope is DncScope.ALL or care_call


def live_entries(numbers: Collection[str], now: dt.datetime) -> Select[str, str]:
    """The live entries of ``numbers`` as (number, scope): :func:`blocks` for many numbers
    in one statement (the dialler's "My work" checks each item's number)."""
    return select(DoNotCallEntry.e164, DoNotCallEntry.scope).where(
        DoNotCallEntry.e164.in_(list(numbers)), _live(now)
    )


async def get_entry(session: AsyncSession, entry_id: int) -> DncRecord:
    row = await session.get(DoNotCallEntry, entry_id)
    if row is None:
        raise DncNotFound(f"no do-not-call entry {entry_id}", entry_id=entry_id)
    return _record(row)


async def add_entry(
    session: AsyncSession,
    e164: str,
    fields: DncFields,
    *,
    by_user_id: int,
    at: dt.datetime | None = None,
) -> DncRecord:
    """Put ``e164`` on the list (409 ``dnc-exists`` if it is already); audited."""
    existing = await session.scalar(select(DoNotCallEntry.id).where(DoNotCallEntry.e164 == e164))
    if existing is not None:
        raise DncExists(
            f"{mask_phone(e164)} is on the list already (entry {existing}): change that entry",
            entry_id=existing,
            field="number",
        )
    when = at or utcnow()
    row = DoNotCallEntry(
        e164=e164,
        scope=fields.scope.value,
        reason=fields.reason,
        added_by_id=by_user_id,
        added_at=when,
        expires_at=fields.expires_at,
        version=1,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as clash:  # added by someone else since the check (PostgreSQL)
        raise DncExists(f"{mask_phone(e164)} was just added", field="number") from clash
    await record_audit(session, by_user_id, "admin.dnc.create", detail=_detail(row), at=when)
    log.info("do-not-call entry %s added (%s)", row.id, row.scope)
    return _record(row)


async def change_entry(
    session: AsyncSession,
    entry_id: int,
    fields: DncFields,
    version: int,
    *,
    by_user_id: int,
) -> DncRecord:
    row = await _locked(session, entry_id, version)
    before = _detail(row)
    row.scope, row.reason, row.expires_at = fields.scope.value, fields.reason, fields.expires_at
    row.version += 1
    await session.flush()
    after = _detail(row)
    changes = {k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v}
    await record_audit(
        session,
        by_user_id,
        "admin.dnc.update",
        detail={"entry_id": entry_id, "number": after["number"], "changes": changes},
    )
    return _record(row)


async def remove_entry(
    session: AsyncSession, entry_id: int, version: int, *, by_user_id: int
) -> None:
    row = await _locked(session, entry_id, version)
    detail = _detail(row)
    await session.execute(delete(DoNotCallEntry).where(DoNotCallEntry.id == entry_id))
    await record_audit(session, by_user_id, "admin.dnc.delete", detail=detail)
    log.info("do-not-call entry %s removed", entry_id)


async def _locked(session: AsyncSession, entry_id: int, version: int) -> DoNotCallEntry:
    row = await session.scalar(
        select(DoNotCallEntry)
        .where(DoNotCallEntry.id == entry_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise DncNotFound(f"no do-not-call entry {entry_id}", entry_id=entry_id)
    if row.version != version:
        raise StaleVersion(
            f"do-not-call entry {entry_id} has changed (version {row.version}, not {version}):"
            " reload it",
            version=version,
            current_version=row.version,
        )
    return row


def _detail(row: DoNotCallEntry) -> dict[str, object]:
    return {
        "entry_id": row.id,
        "number": mask_phone(row.e164),
        "scope": row.scope,
        "reason": row.reason,
        "expires_at": None if row.expires_at is None else row.expires_at.isoformat(),
    }
