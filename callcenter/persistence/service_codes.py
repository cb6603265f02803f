"""Service codes in the database: the not-ready reasons and dispositions staff choose from,
with their labels in both languages (table ``service_codes``, migration 0011).

The desk lists the active codes of each kind in their sort order (``GET /api/agents/reasons``,
``GET /api/agents/dispositions``); an agent's not-ready reason is checked against the active
reasons in the transaction that stores it (persistence/agent_states.py). ``missed`` is the
ACD's own reason (callcenter/acd/agents.py): it is never a row, and no one may create it.

Each change is versioned (a stale version is 409 ``stale-version``) and audited in its own
transaction (``admin.service_code.create``, ``.update``, ``.delete``, ``.deactivate``). A code
that records use (a state change, an agent's status, a call's disposition) is deactivated
when an admin removes it, never deleted: the records keep their label.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.acd.agents import MISSED
from callcenter.errors import Conflict, InvalidInput, NotFound, StaleVersion
from callcenter.persistence.audit import record_audit
from callcenter.persistence.tables import (
    AgentStateChange,
    AgentStatusRow,
    Interaction,
    ServiceCode,
    utcnow,
)

log = logging.getLogger(__name__)


class CodeKind(StrEnum):
    NOT_READY_REASON = "not_ready_reason"
    DISPOSITION = "disposition"


# Codes no one may create: the ACD sets "missed" on a ring with no answer.
RESERVED = {CodeKind.NOT_READY_REASON: frozenset({MISSED}), CodeKind.DISPOSITION: frozenset()}


class ServiceCodeNotFound(NotFound):
    error_id = "service-code-not-found"


class ServiceCodeExists(Conflict):
    error_id = "service-code-exists"


class ServiceCodeReserved(InvalidInput):
    error_id = "service-code-reserved"


@dataclass(frozen=True)
class ServiceCodeRecord:
    kind: CodeKind
    code: str
    label_zh: str
    label_en: str
    active: bool
    sort_order: int
    version: int
    updated_at: dt.datetime
    updated_by_id: int | None


@dataclass(frozen=True)
class CodeFields:
    """What an admin sets on a code; None keeps what the code has (a new one is active and
    goes after the last of its kind)."""

    label_zh: str
    label_en: str
    active: bool | None = None
    sort_order: int | None = None


def _record(row: ServiceCode) -> ServiceCodeRecord:
    return ServiceCodeRecord(
        CodeKind(row.kind),
        row.code,
        row.label_zh,
        row.label_en,
        row.active,
        row.sort_order,
        row.version,
        row.updated_at,
        row.updated_by_id,
    )


async def list_codes(
    session: AsyncSession, kind: CodeKind | None = None, *, active_only: bool = False
) -> list[ServiceCodeRecord]:
    """Codes by kind, then sort order, then code."""
    stmt = select(ServiceCode).order_by(ServiceCode.kind, ServiceCode.sort_order, ServiceCode.code)
    if kind is not None:
        stmt = stmt.where(ServiceCode.kind == kind.value)
    if active_only:
        stmt = stmt.where(ServiceCode.active)
    return [_record(row) for row in await session.scalars(stmt)]


async def active_reasons(session: AsyncSession) -> frozenset[str]:
    """The not-ready reasons an agent may choose now, and ``missed`` (the ACD's)."""
    codes = await session.scalars(
        select(ServiceCode.code).where(
            ServiceCode.kind == CodeKind.NOT_READY_REASON.value, ServiceCode.active
        )
    )
    return frozenset(codes) | {MISSED}


async def _locked(session: AsyncSession, kind: CodeKind, code: str) -> ServiceCode | None:
    return await session.scalar(
        select(ServiceCode)
        .where(ServiceCode.kind == kind.value, ServiceCode.code == code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _check_version(kind: CodeKind, code: str, row: ServiceCode, version: int) -> None:
    if row.version != version:
        raise StaleVersion(
            f"{kind} {code!r} has changed (version {row.version}, not {version}): reload it",
            version=version,
            current_version=row.version,
        )


async def put_code(
    session: AsyncSession,
    kind: CodeKind,
    code: str,
    fields: CodeFields,
    version: int | None,
    *,
    by_user_id: int,
    at: dt.datetime | None = None,
) -> tuple[ServiceCodeRecord, bool]:
    """Create the code (``version`` None) or change the ``version`` of it read; audited.
    Returns the stored code and whether it was created."""
    if code in RESERVED[kind]:
        raise ServiceCodeReserved(
            f"{code!r} is set by the ACD only and cannot be a {kind}", field="code"
        )
    row = await _locked(session, kind, code)
    if row is None and version is not None:
        raise ServiceCodeNotFound(f"no {kind} {code!r} to change", kind=kind.value, code=code)
    if row is not None and version is None:
        raise ServiceCodeExists(
            f"{kind} {code!r} exists: send its version to change it", kind=kind.value, code=code
        )
    before: dict[str, object] = {}
    if row is not None:
        assert version is not None
        _check_version(kind, code, row, version)
        before = _fields(row)
    created = row is None
    if row is None:
        last = await session.scalar(
            select(func.max(ServiceCode.sort_order)).where(ServiceCode.kind == kind.value)
        )
        row = ServiceCode(
            kind=kind.value, code=code, version=0, active=True, sort_order=(last or 0) + 10
        )
        session.add(row)
    row.label_zh, row.label_en = fields.label_zh, fields.label_en
    if fields.active is not None:
        row.active = fields.active
    if fields.sort_order is not None:
        row.sort_order = fields.sort_order
    row.version += 1
    row.updated_at = at or utcnow()
    row.updated_by_id = by_user_id
    await session.flush()
    after = _fields(row)
    changes = {k: {"from": before.get(k), "to": v} for k, v in after.items() if before.get(k) != v}
    await record_audit(
        session,
        by_user_id,
        "admin.service_code.create" if created else "admin.service_code.update",
        detail={"kind": kind.value, "code": code, "changes": changes},
        at=row.updated_at,
    )
    log.info("%s %s %s (version %s)", kind, code, "created" if created else "changed", row.version)
    return _record(row), created


def _fields(row: ServiceCode) -> dict[str, object]:
    return {
        "label_zh": row.label_zh,
        "label_en": row.label_en,
        "active": row.active,
        "sort_order": row.sort_order,
    }


async def in_use(session: AsyncSession, kind: CodeKind, code: str) -> bool:
    """Whether any record names the code (then it is deactivated, never deleted)."""
    if kind is CodeKind.NOT_READY_REASON:
        used = or_(
            exists().where(AgentStateChange.reason == code),
            exists().where(AgentStatusRow.reason == code),
        )
    else:
        used = exists().where(Interaction.disposition == code)
    return bool(await session.scalar(select(used)))


async def remove_code(
    session: AsyncSession,
    kind: CodeKind,
    code: str,
    version: int,
    *,
    by_user_id: int,
    at: dt.datetime | None = None,
) -> ServiceCodeRecord | None:
    """Delete the code, or deactivate it if records use it; audited. Returns the deactivated
    code, or None when it was deleted."""
    row = await _locked(session, kind, code)
    if row is None:
        raise ServiceCodeNotFound(f"no {kind} {code!r}", kind=kind.value, code=code)
    _check_version(kind, code, row, version)
    when = at or utcnow()
    detail = {"kind": kind.value, "code": code, "label_zh": row.label_zh, "label_en": row.label_en}
    if await in_use(session, kind, code):
        row.active = False
        row.version += 1
        row.updated_at = when
        row.updated_by_id = by_user_id
        await session.flush()
        await record_audit(
            session, by_user_id, "admin.service_code.deactivate", detail=detail, at=when
        )
        log.info("%s %s is in use: deactivated (version %s)", kind, code, row.version)
        return _record(row)
    await session.execute(
        delete(ServiceCode).where(ServiceCode.kind == kind.value, ServiceCode.code == code)
    )
    await record_audit(session, by_user_id, "admin.service_code.delete", detail=detail, at=when)
    log.info("%s %s deleted", kind, code)
    return None
