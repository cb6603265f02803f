"""REST routes: clients.

=======  ===============================  ===============================  ==================
method   path                             roles                            audit action
=======  ===============================  ===============================  ==================
GET      /api/clients                     any staff                        (masked list)
GET      /api/clients/{id}                any staff                        client.view
POST     /api/clients/{id}/reveal-id      agent, advisor, supervisor       client.reveal_id
PATCH    /api/clients/{id}                agent, advisor, supervisor       client.update
POST     /api/clients/{id}/notes          agent, advisor, supervisor       client.note
POST     /api/clients/{id}/pin-unlock     agent, advisor, supervisor       client.pin_unlock
=======  ===============================  ===============================  ==================

Admins run the system, not client service: they may look a client up (support, data fixes are
audited reads) but neither change client data nor see a full ID number.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from callcenter.api.deps import ClientFacing, CrmDep, DbDep, Staff
from callcenter.api.schemas.clients import (
    ClientNoteIn,
    ClientPageOut,
    ClientPatch,
    ClientProfileOut,
    ClientSearchParams,
    ClientViewOut,
    RevealIdIn,
    RevealIdOut,
)
from callcenter.api.schemas.common import Id, errors
from callcenter.crm import clients
from callcenter.persistence import ivr

router = APIRouter(prefix="/clients", tags=["clients"])

ClientId = Id


@router.get("")
async def search_clients(
    params: Annotated[ClientSearchParams, Query()], crm: CrmDep, _principal: Staff
) -> ClientPageOut:
    """Find clients by phone, name, ID number or account number. ID numbers and phones come
    masked; open a client (GET /api/clients/{id}) for the full record."""
    return ClientPageOut.of(await clients.search_clients(crm, params.to_search()))


@router.get("/{client_id}", responses=errors(404, 422))
async def view_client(
    client_id: ClientId,
    crm: CrmDep,
    principal: Staff,
    interaction_id: Annotated[
        Id | None, Query(description="the call this view is for (audited)")
    ] = None,
) -> ClientViewOut:
    """The 360-degree view. Every read writes an audit entry (who, which client, when, and
    for which call)."""
    view = await clients.view_client(crm, principal.user_id, client_id, interaction_id)
    return ClientViewOut.of(view)


@router.post("/{client_id}/reveal-id", responses=errors(404, 422))
async def reveal_id_number(
    client_id: ClientId, body: RevealIdIn, crm: CrmDep, principal: ClientFacing
) -> RevealIdOut:
    """The full ID number, with the reason recorded in the audit log."""
    number = await clients.reveal_id_number(
        crm, principal.user_id, client_id, body.reason, body.interaction_id
    )
    return RevealIdOut(client_id=client_id, id_number=number)


@router.patch("/{client_id}", responses=errors(404, 409, 422))
async def update_client(
    client_id: ClientId, body: ClientPatch, crm: CrmDep, principal: ClientFacing
) -> ClientProfileOut:
    """Change contact details, consent flags, notes or the risk profile. Send the version you
    read: if the client changed since, 409 ``stale-version``."""
    profile = await clients.update_client(crm, principal.user_id, client_id, body.to_update())
    return ClientProfileOut.of(profile)


@router.post("/{client_id}/notes", responses=errors(404, 422))
async def add_client_note(
    client_id: ClientId, body: ClientNoteIn, crm: CrmDep, principal: ClientFacing
) -> ClientProfileOut:
    """Append a line to the service notes (no version needed: an append overwrites nothing)."""
    profile = await clients.append_client_note(
        crm, principal.user_id, client_id, body.line, body.interaction_id
    )
    return ClientProfileOut.of(profile)


@router.post("/{client_id}/pin-unlock", status_code=204, responses=errors(404, 422))
async def unlock_client_pin(
    client_id: ClientId,
    db: DbDep,
    principal: ClientFacing,
    interaction_id: Annotated[
        Id | None, Query(description="the call this unlock is for (audited)")
    ] = None,
) -> None:
    """Lift a telephone-PIN lockout (and the count of wrong PINs) once the client has proved
    who they are by other means. Audited; unlocking an account that is not locked is harmless."""
    await ivr.unlock_pin(db, client_id, by_user_id=principal.user_id, interaction_id=interaction_id)
