"""REST routes: follow-ups (return visits, care calls, reminders).

=======  ================================  ===============================
method   path                              roles
=======  ================================  ===============================
POST     /api/follow-ups                   any staff
GET      /api/follow-ups                   any staff
GET      /api/follow-ups/{id}              any staff
POST     /api/follow-ups/{id}/complete     agent, advisor, supervisor
POST     /api/follow-ups/{id}/cancel       supervisor, admin
=======  ================================  ===============================

Completing is the work of whoever calls the client. Cancelling drops a task that regulation
may require (the return visit of a new account), so it is a manager's decision.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from callcenter.api.deps import ClientFacing, CrmDep, Managers, Staff
from callcenter.api.schemas.common import Id, errors
from callcenter.api.schemas.follow_ups import (
    FollowUpCancelIn,
    FollowUpCompleteIn,
    FollowUpIn,
    FollowUpListParams,
    FollowUpOut,
    FollowUpPageOut,
)
from callcenter.crm import follow_ups

router = APIRouter(prefix="/follow-ups", tags=["follow-ups"])

FollowUpId = Id


@router.post("", status_code=201, responses=errors(422))
async def create_follow_up(body: FollowUpIn, crm: CrmDep, principal: Staff) -> FollowUpOut:
    record = await follow_ups.create_follow_up(crm, principal.user_id, body.to_new())
    return FollowUpOut.of(record)


@router.get("")
async def list_follow_ups(
    params: Annotated[FollowUpListParams, Query()], crm: CrmDep, _principal: Staff
) -> FollowUpPageOut:
    """Soonest due first."""
    return FollowUpPageOut.of(await follow_ups.list_follow_ups(crm, params.to_query()))


@router.get("/{follow_up_id}", responses=errors(404))
async def get_follow_up(follow_up_id: FollowUpId, crm: CrmDep, _principal: Staff) -> FollowUpOut:
    return FollowUpOut.of(await follow_ups.get_follow_up(crm, follow_up_id))


@router.post("/{follow_up_id}/complete", responses=errors(404, 409, 422))
async def complete_follow_up(
    follow_up_id: FollowUpId, body: FollowUpCompleteIn, crm: CrmDep, principal: ClientFacing
) -> FollowUpOut:
    """Done, with its outcome. A follow-up already done or cancelled gets 409
    ``follow-up-closed``."""
    record = await follow_ups.complete_follow_up(
        crm, principal.user_id, follow_up_id, body.outcome, body.interaction_id
    )
    return FollowUpOut.of(record)


@router.post("/{follow_up_id}/cancel", responses=errors(404, 409, 422))
async def cancel_follow_up(
    follow_up_id: FollowUpId, body: FollowUpCancelIn, crm: CrmDep, principal: Managers
) -> FollowUpOut:
    record = await follow_ups.cancel_follow_up(crm, principal.user_id, follow_up_id, body.reason)
    return FollowUpOut.of(record)
