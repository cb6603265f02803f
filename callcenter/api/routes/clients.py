"""REST routes: clients.

=======  ===============================  ===============================  ==================
method   path                             roles                            audit action
=======  ===============================  ===============================  ==================
GET      /api/clients                     all but admin                    client.search
GET      /api/clients/{id}                all but admin                    client.view
POST     /api/clients/{id}/reveal-id      agent, advisor, branch, supvr.   client.reveal_id
PATCH    /api/clients/{id}                agent, advisor, branch, supvr.   client.update
POST     /api/clients/{id}/notes          agent, advisor, branch, supvr.   client.note
POST     /api/clients/{id}/pin-unlock     agent, advisor, branch, supvr.   client.pin_unlock
=======  ===============================  ===============================  ==================

Every route reads within the caller's data scope (callcenter/crm/scopes.py): a client out of
it is 404 ``client-not-found``, as if it did not exist. An agent reaches a client beyond the
calls and tasks in their hands only by stating a ``reason`` (search and view), which the audit
log keeps; for an advisor or branch user a reason opens nothing (403
``scope-reason-not-allowed``). Admins run the system and read no client data (403).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from callcenter.api.deps import ClientFacing, ClientReaders, CrmDep, DbDep, scope_of
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
from callcenter.crm.vocabulary import Role
from callcenter.persistence import ivr

router = APIRouter(prefix="/clients", tags=["clients"])

ClientId = Id
Reason = Annotated[
    str | None,
    Query(
        min_length=8,
        max_length=200,
        description="agents: why you open a client that is not on your call or task "
        "(kept in the audit log)",
    ),
]


@router.get("")
async def search_clients(
    params: Annotated[ClientSearchParams, Query()],
    crm: CrmDep,
    principal: ClientReaders,
    reason: Reason = None,
) -> ClientPageOut:
    """Find clients in your scope by phone, name, ID number or account number. ID numbers
    and phones come masked; open a client (GET /api/clients/{id}) for the full record.
    Audited (which clients were listed)."""
    scope = scope_of(principal, reason)
    return ClientPageOut.of(await clients.search_clients(crm, scope, params.to_search()))


@router.get("/{client_id}", responses=errors(404, 422))
async def view_client(
    client_id: ClientId,
    crm: CrmDep,
    principal: ClientReaders,
    interaction_id: Annotated[
        Id | None, Query(description="the call this view is for (audited)")
    ] = None,
    reason: Reason = None,
) -> ClientViewOut:
    """The 360-degree view. Every read writes an audit entry (who, which client, when, and
    for which call or reason)."""
    view = await clients.view_client(crm, scope_of(principal, reason), client_id, interaction_id)
    return ClientViewOut.of(view)


@router.post("/{client_id}/reveal-id", responses=errors(404, 422))
async def reveal_id_number(
    client_id: ClientId, body: RevealIdIn, crm: CrmDep, principal: ClientFacing
) -> RevealIdOut:
    """The full ID number, with the reason recorded in the audit log. For an agent the
    reason also reaches a client who is not on their call (as a view with a reason does)."""
    reach = body.reason if principal.role is Role.AGENT else None
    number = await clients.reveal_id_number(
        crm, scope_of(principal, reach), client_id, body.reason, body.interaction_id
    )
    return RevealIdOut(client_id=client_id, id_number=number)


@router.patch("/{client_id}", responses=errors(404, 409, 422))
async def update_client(
    client_id: ClientId, body: ClientPatch, crm: CrmDep, principal: ClientFacing
) -> ClientProfileOut:
    """Change contact details, consent flags, notes or the risk profile. Send the version you
    read: if the client changed since, 409 ``stale-version``."""
    profile = await clients.update_client(crm, scope_of(principal), client_id, body.to_update())
    return ClientProfileOut.of(profile)


@router.post("/{client_id}/notes", responses=errors(404, 422))
async def add_client_note(
    client_id: ClientId, body: ClientNoteIn, crm: CrmDep, principal: ClientFacing
) -> ClientProfileOut:
    """Append a line to the service notes (no version needed: an append overwrites nothing)."""
    profile = await clients.append_client_note(
        crm, scope_of(principal), client_id, body.line, body.interaction_id
    )
    return ClientProfileOut.of(profile)


@router.post("/{client_id}/pin-unlock", status_code=204, responses=errors(404, 422))
async def unlock_client_pin(
    client_id: ClientId,
    db: DbDep,
    crm: CrmDep,
    principal: ClientFacing,
    interaction_id: Annotated[
        Id | None, Query(description="the call this unlock is for (audited)")
    ] = None,
) -> None:
    """Lift a telephone-PIN lockout (and the count of wrong PINs) once the client has proved
    who they are by other means. Audited; unlocking an account that is not locked is harmless."""
    await clients.require_in_scope(crm, scope_of(principal), client_id)
    await ivr.unlock_pin(db, client_id, by_user_id=principal.user_id, interaction_id=interaction_id)
