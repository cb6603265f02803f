"""REST routes: the audit log, for compliance (issue 15, point 4). docs/operations.md,
"Exporting the audit log".

=======  ======================  ==========  ============
method   path                    roles       audit action
=======  ======================  ==========  ============
GET      /api/audit              compliance  audit.query
GET      /api/audit/export.csv   compliance  audit.export
=======  ======================  ==========  ============

Compliance only: the log is the record of who looked at which client and why, admins
included; those it watches do not read it. Reading it is audited too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from callcenter.api.deps import DbDep, Principal, require_roles
from callcenter.api.schemas.audit import (
    AuditFilterParams,
    AuditPageOut,
    AuditQueryParams,
    audit_csv,
)
from callcenter.api.schemas.common import errors
from callcenter.crm.data_rights import AUDIT_EXPORT
from callcenter.crm.vocabulary import Role
from callcenter.persistence.audit import iter_audit, query_audit, record_audit_export

router = APIRouter(prefix="/audit", tags=["audit"])

Compliance = Annotated[Principal, Depends(require_roles(Role.COMPLIANCE))]
AUDIT_QUERY = "audit.query"


@router.get("", responses=errors(403, 422))
async def list_audit(
    params: Annotated[AuditQueryParams, Query()], db: DbDep, principal: Compliance
) -> AuditPageOut:
    """A page of the audit log, oldest first, filtered by time (from <= at < to), actor,
    action and client. Each query is itself an entry (audit.query)."""
    where = params.to_filter()
    await record_audit_export(db, principal.user_id, where, via="api", action=AUDIT_QUERY)
    async with db.read() as session:
        page = await query_audit(session, where, params.limit, params.offset)
    return AuditPageOut.of(page)


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={**errors(403, 422), 200: {"content": {"text/csv": {}}}},
)
async def export_audit_csv(
    params: Annotated[AuditFilterParams, Query()], db: DbDep, principal: Compliance
) -> StreamingResponse:
    """Every entry the filters match as CSV, streamed (no page limit). The export is
    audited (audit.export) before its first line leaves."""
    where = params.to_filter()
    await record_audit_export(db, principal.user_id, where, via="api", action=AUDIT_EXPORT)
    return StreamingResponse(
        audit_csv(iter_audit(db, where)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": 'attachment; filename="audit-log.csv"',
        },
    )
