"""REST routes: interactions (one record per contact, written by the system as the call goes).

=======  =====================================  =============================================
method   path                                   roles
=======  =====================================  =============================================
GET      /api/interactions                      all but admin, in scope (audited)
GET      /api/interactions/{id}                 all but admin, in scope (audited)
PATCH    /api/interactions/{id}                 the call's agent: phase wrapped_up only
PUT      /api/interactions/{id}/disposition     the call's agent
POST     /api/interactions/{id}/amendments      supervisor (audited)
POST     /api/interactions                      nobody: 403 ``interaction-written-by-system``
=======  =====================================  =============================================

Call records are written by the system (the IVR, the ACD, call control). Staff never create
one nor change its facts (times, queue, agent, caller): an agent sets only the wrap-up of
their own call (disposition, notes; PATCH with phase ``wrapped_up``, or PUT disposition when
the wrap-up timer ran out), else 403 ``interaction-not-yours`` or
``interaction-written-by-system``. A supervisor corrects a record with an amendment: the
record takes the new values, the amendment keeps the old ones with who, when and why.

Reads are within the reader's data scope (callcenter/crm/scopes.py): a record out of it is
404 ``interaction-not-found``. The caller's full number is shown to supervisors, compliance
and the call's own agent; lists of other people's calls show no notes.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from callcenter.api.deps import (
    ClientFacing,
    ClientReaders,
    CrmDep,
    DbDep,
    Principal,
    Staff,
    require_roles,
    scope_of,
)
from callcenter.api.schemas.common import Id, errors
from callcenter.api.schemas.interactions import (
    AmendmentIn,
    DispositionIn,
    InteractionListParams,
    InteractionOut,
    InteractionPageOut,
    PhaseIn,
)
from callcenter.crm import interactions
from callcenter.crm.vocabulary import Role
from callcenter.persistence import service_codes
from callcenter.persistence.db import Database
from callcenter.persistence.service_codes import CodeKind

router = APIRouter(prefix="/interactions", tags=["interactions"])

InteractionId = Id
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR))]


async def check_disposition(db: Database, disposition: str | None) -> None:
    """A disposition set through the API is one of the active codes (the admin console's
    list); 422 ``unknown-disposition`` otherwise. The system's own writes are not checked."""
    if disposition is None:
        return
    async with db.read() as session:
        codes = await service_codes.list_codes(session, CodeKind.DISPOSITION, active_only=True)
    interactions.check_disposition(disposition, frozenset(code.code for code in codes))


@router.post("", status_code=403, responses=errors(403))
async def create_interaction(_principal: Staff) -> None:
    """Refused for everyone: call records are written by the system."""
    raise interactions.WrittenBySystem(
        "call records are written by the system as calls go; staff never create one"
    )


@router.get("")
async def list_interactions(
    params: Annotated[InteractionListParams, Query()], crm: CrmDep, principal: ClientReaders
) -> InteractionPageOut:
    """Newest first, within your scope. The list shown is audited."""
    page = await interactions.list_interactions(crm, scope_of(principal), params.to_query())
    return InteractionPageOut.of(page)


@router.get("/{interaction_id}", responses=errors(404))
async def get_interaction(
    interaction_id: InteractionId, crm: CrmDep, principal: ClientReaders
) -> InteractionOut:
    """One record with its amendments. Audited."""
    view = await interactions.get_interaction(crm, scope_of(principal), interaction_id)
    return InteractionOut.of(view.record, view.amendments)


@router.patch("/{interaction_id}", responses=errors(403, 404, 409, 422))
async def finish_wrap_up(
    interaction_id: InteractionId,
    body: PhaseIn,
    crm: CrmDep,
    db: DbDep,
    principal: ClientFacing,
) -> InteractionOut:
    """The agent's own wrap-up: phase ``wrapped_up`` with the disposition and notes. Any
    other phase or fact is the system's to write (403 ``interaction-written-by-system``)."""
    await check_disposition(db, body.disposition)
    record = await interactions.finish_wrap_up(
        crm, scope_of(principal), interaction_id, body.to_update()
    )
    return InteractionOut.of(record)


@router.put("/{interaction_id}/disposition", responses=errors(403, 404, 422))
async def set_disposition(
    interaction_id: InteractionId,
    body: DispositionIn,
    crm: CrmDep,
    db: DbDep,
    principal: ClientFacing,
) -> InteractionOut:
    """The disposition and notes of your own call, whatever phase it is in."""
    await check_disposition(db, body.disposition)
    record = await interactions.record_disposition(
        crm,
        interaction_id,
        scope=scope_of(principal),
        disposition=body.disposition,
        notes=body.notes,
    )
    return InteractionOut.of(record)


@router.post("/{interaction_id}/amendments", status_code=201, responses=errors(404, 422))
async def amend_interaction(
    interaction_id: InteractionId,
    body: AmendmentIn,
    crm: CrmDep,
    db: DbDep,
    principal: Supervisor,
) -> InteractionOut:
    """Correct a record's facts (client, queue, agent, disposition, notes) with a reason.
    The record keeps the old values in its amendments; the change is audited."""
    await check_disposition(db, body.disposition)
    view = await interactions.amend_interaction(
        crm,
        scope_of(principal),
        interaction_id,
        body.changes(),
        body.reason,
        now=dt.datetime.now(dt.UTC),
    )
    return InteractionOut.of(view.record, view.amendments)
