"""REST routes: the do-not-call list.

=======  ======================  ==================
method   path                    roles
=======  ======================  ==================
GET      /api/dnc                supervisor, admin
POST     /api/dnc                admin
GET      /api/dnc/{id}           supervisor, admin
PUT      /api/dnc/{id}           admin
DELETE   /api/dnc/{id}           admin
=======  ======================  ==================

A number may be written in any form a caller ID takes; it is stored in E.164 (422
``invalid-phone-number`` naming ``number`` if it is none). One entry per number: a second is
409 ``dnc-exists``. Changes name the version read (409 ``stale-version``). Every change is
audited (``admin.dnc.create``, ``.update``, ``.delete``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from callcenter.api.deps import DbDep, Managers, Principal, require_roles
from callcenter.api.schemas.common import Id, Limit, Offset, errors
from callcenter.api.schemas.dnc import DncIn, DncOut, DncPageOut, DncUpdateIn
from callcenter.crm.phones import InvalidPhoneNumber, to_e164
from callcenter.crm.vocabulary import Role
from callcenter.errors import InvalidInput
from callcenter.persistence import dnc

router = APIRouter(prefix="/dnc", tags=["admin"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


class InvalidDncNumber(InvalidInput):
    error_id = "invalid-phone-number"


def e164_of(raw: str) -> str:
    try:
        return to_e164(raw)
    except InvalidPhoneNumber as bad:
        raise InvalidDncNumber("not a phone number", field="number") from bad


@router.get("", responses=errors(422))
async def list_entries(
    db: DbDep,
    _principal: Managers,
    number: Annotated[str | None, Query(max_length=32, description="the start of a number")] = None,
    include_expired: bool = True,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DncPageOut:
    """Entries newest first; ``number`` finds the entries whose E.164 starts with it."""
    prefix = None
    if number and number.strip():
        digits = "".join(ch for ch in number if ch.isdigit())
        prefix = "+" + digits if digits else None
    async with db.read() as session:
        items, total = await dnc.list_entries(
            session,
            number_prefix=prefix,
            include_expired=include_expired,
            limit=limit,
            offset=offset,
        )
    return DncPageOut(items=[DncOut.of(i) for i in items], total=total, limit=limit, offset=offset)


@router.post("", status_code=201, responses=errors(409, 422))
async def add_entry(body: DncIn, db: DbDep, principal: Admin) -> DncOut:
    e164 = e164_of(body.number)
    async with db.write() as session:
        record = await dnc.add_entry(session, e164, body.fields(), by_user_id=principal.user_id)
    return DncOut.of(record)


@router.get("/{entry_id}", responses=errors(404))
async def get_entry(entry_id: Id, db: DbDep, _principal: Managers) -> DncOut:
    async with db.read() as session:
        return DncOut.of(await dnc.get_entry(session, entry_id))


@router.put("/{entry_id}", responses=errors(404, 409, 422))
async def change_entry(entry_id: Id, body: DncUpdateIn, db: DbDep, principal: Admin) -> DncOut:
    async with db.write() as session:
        record = await dnc.change_entry(
            session, entry_id, body.fields(), body.version, by_user_id=principal.user_id
        )
    return DncOut.of(record)


@router.delete("/{entry_id}", status_code=204, responses=errors(404, 409))
async def remove_entry(
    entry_id: Id,
    version: Annotated[int, Query(ge=1, le=2**31 - 1)],
    db: DbDep,
    principal: Admin,
) -> Response:
    async with db.write() as session:
        await dnc.remove_entry(session, entry_id, version, by_user_id=principal.user_id)
    return Response(status_code=204)
