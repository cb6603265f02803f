"""REST routes: interactions (one record per contact, written phase by phase).

=======  ==============================  =========
method   path                            roles
=======  ==============================  =========
POST     /api/interactions               any staff
GET      /api/interactions               any staff
GET      /api/interactions/{id}          any staff
PATCH    /api/interactions/{id}          any staff
PUT      /api/interactions/{id}/disposition  agent, advisor (their own call), supervisor
=======  ==============================  =========

A phase earlier (in order or in time) than one already recorded gets 409
``interaction-phase-out-of-order``; a phase recorded twice gets 409
``interaction-phase-recorded``. The disposition and notes can also be set on their own, at
any time (an agent whose wrap-up timer ran out before they saved): 403
``interaction-not-yours`` for another agent's call.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from callcenter.api.deps import ClientFacing, CrmDep, Staff
from callcenter.api.schemas.common import Id, errors
from callcenter.api.schemas.interactions import (
    DispositionIn,
    InteractionIn,
    InteractionListParams,
    InteractionOut,
    InteractionPageOut,
    PhaseIn,
)
from callcenter.crm import interactions
from callcenter.crm.vocabulary import Role

router = APIRouter(prefix="/interactions", tags=["interactions"])

InteractionId = Id


@router.post("", status_code=201, responses=errors(409, 422))
async def create_interaction(body: InteractionIn, crm: CrmDep, _principal: Staff) -> InteractionOut:
    """Record a new contact. A call id already recorded gets 409
    ``interaction-exists`` (with its id), so a retried create is harmless."""
    return InteractionOut.of(await interactions.create_interaction(crm, body.to_new()))


@router.get("")
async def list_interactions(
    params: Annotated[InteractionListParams, Query()], crm: CrmDep, _principal: Staff
) -> InteractionPageOut:
    """Newest first."""
    return InteractionPageOut.of(await interactions.list_interactions(crm, params.to_query()))


@router.get("/{interaction_id}", responses=errors(404))
async def get_interaction(
    interaction_id: InteractionId, crm: CrmDep, _principal: Staff
) -> InteractionOut:
    return InteractionOut.of(await interactions.get_interaction(crm, interaction_id))


@router.patch("/{interaction_id}", responses=errors(404, 409, 422))
async def record_phase(
    interaction_id: InteractionId, body: PhaseIn, crm: CrmDep, _principal: Staff
) -> InteractionOut:
    """Record that the contact reached a phase; wait, talk and wrap-up seconds follow from
    the phase times."""
    record = await interactions.record_phase(crm, interaction_id, body.to_update())
    return InteractionOut.of(record)


@router.put("/{interaction_id}/disposition", responses=errors(403, 404, 422))
async def set_disposition(
    interaction_id: InteractionId, body: DispositionIn, crm: CrmDep, principal: ClientFacing
) -> InteractionOut:
    """The disposition and notes, whatever phase the contact is in."""
    record = await interactions.record_disposition(
        crm,
        interaction_id,
        actor_id=principal.user_id,
        disposition=body.disposition,
        notes=body.notes,
        for_anyone=principal.role is Role.SUPERVISOR,
    )
    return InteractionOut.of(record)
