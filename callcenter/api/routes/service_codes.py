"""REST routes: service codes (the not-ready reasons and dispositions staff choose from).

=======  ====================================  ==================
method   path                                  roles
=======  ====================================  ==================
GET      /api/service-codes                    supervisor, admin
PUT      /api/service-codes/{kind}/{code}      admin
DELETE   /api/service-codes/{kind}/{code}      admin
=======  ====================================  ==================

``kind`` is ``not_ready_reason`` or ``disposition``; a code is a slug (``[a-z][a-z0-9_]*``,
at most 24 characters). PUT creates a code (``version`` null: 201; 409
``service-code-exists`` if it does) or changes the version you read (409 ``stale-version``,
404 ``service-code-not-found``); both labels are required. ``missed`` is the ACD's own
reason: 422 ``service-code-reserved``. DELETE (``?version=``) deletes a code no record uses
and deactivates one that records use (the answer says which). The desk reads the active
codes from ``GET /api/agents/reasons`` and ``GET /api/agents/dispositions``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from callcenter.api.deps import DbDep, Managers, Principal, require_roles
from callcenter.api.schemas.common import errors
from callcenter.api.schemas.service_codes import (
    RemovedCodeOut,
    ServiceCodeIn,
    ServiceCodeOut,
)
from callcenter.crm.vocabulary import Role
from callcenter.persistence import service_codes
from callcenter.persistence.service_codes import CodeKind

router = APIRouter(prefix="/service-codes", tags=["admin"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Code = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,23}$")]


@router.get("")
async def list_codes(
    db: DbDep, _principal: Managers, kind: CodeKind | None = None
) -> list[ServiceCodeOut]:
    """Every code, active or not, by kind and sort order."""
    async with db.read() as session:
        return [ServiceCodeOut.of(r) for r in await service_codes.list_codes(session, kind)]


@router.put("/{kind}/{code}", responses=errors(404, 409, 422))
async def put_code(
    kind: CodeKind,
    code: Code,
    body: ServiceCodeIn,
    response: Response,
    db: DbDep,
    principal: Admin,
) -> ServiceCodeOut:
    async with db.write() as session:
        record, created = await service_codes.put_code(
            session, kind, code, body.fields(), body.version, by_user_id=principal.user_id
        )
    if created:
        response.status_code = 201
    return ServiceCodeOut.of(record)


@router.delete("/{kind}/{code}", responses=errors(404, 409))
async def remove_code(
    kind: CodeKind,
    code: Code,
    version: Annotated[int, Query(ge=1, le=2**31 - 1)],
    db: DbDep,
    principal: Admin,
) -> RemovedCodeOut:
    async with db.write() as session:
        record = await service_codes.remove_code(
            session, kind, code, version, by_user_id=principal.user_id
        )
    return RemovedCodeOut(
        deleted=record is None, code=None if record is None else ServiceCodeOut.of(record)
    )
