"""REST routes: follow-ups (return visits, care calls, reminders).

=======  ================================  ========================================
method   path                              roles
=======  ================================  ========================================
POST     /api/follow-ups                   agent, advisor, branch, supervisor
GET      /api/follow-ups                   all but admin (audited)
GET      /api/follow-ups/{id}              all but admin (audited)
POST     /api/follow-ups/{id}/complete     agent, advisor, branch, supervisor
POST     /api/follow-ups/{id}/cancel       supervisor
=======  ================================  ========================================

Completing is the work of whoever calls the client. Cancelling drops a task that regulation
may require (the return visit of a new account), so it is a supervisor's decision. Every
route works within the caller's data scope (callcenter/crm/scopes.py): a follow-up out of it
is 404 ``follow-up-not-found``; one for a client out of it, 422 ``unknown-client``.

A follow-up always has an owner: created without ``assigned_to_id``, it is the creator's. One
agreed in a call (the desk's wrap-up) names it (``interaction_id``): the creator's own call
with that client, else 422 ``follow-up-call-not-yours``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from callcenter.api.deps import (
    ClientFacing,
    ClientReaders,
    CrmDep,
    Principal,
    require_roles,
    scope_of,
)
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
from callcenter.crm.vocabulary import Role

router = APIRouter(prefix="/follow-ups", tags=["follow-ups"])

FollowUpId = Id
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR))]


@router.post("", status_code=201, responses=errors(422))
async def create_follow_up(body: FollowUpIn, crm: CrmDep, principal: ClientFacing) -> FollowUpOut:
    """Owned by ``assigned_to_id``, else by you; ``interaction_id``: your call it came from."""
    record = await follow_ups.create_follow_up(crm, scope_of(principal), body.to_new())
    return FollowUpOut.of(record)


@router.get("")
async def list_follow_ups(
    params: Annotated[FollowUpListParams, Query()], crm: CrmDep, principal: ClientReaders
) -> FollowUpPageOut:
    """Soonest due first, within your scope. Audited."""
    page = await follow_ups.list_follow_ups(crm, scope_of(principal), params.to_query())
    return FollowUpPageOut.of(page)


@router.get("/{follow_up_id}", responses=errors(404))
async def get_follow_up(
    follow_up_id: FollowUpId, crm: CrmDep, principal: ClientReaders
) -> FollowUpOut:
    """Audited."""
    return FollowUpOut.of(await follow_ups.get_follow_up(crm, scope_of(principal), follow_up_id))


@router.post("/{follow_up_id}/complete", responses=errors(404, 409, 422))
async def complete_follow_up(
    follow_up_id: FollowUpId, body: FollowUpCompleteIn, crm: CrmDep, principal: ClientFacing
) -> FollowUpOut:
    """Done, with its outcome. A follow-up already done or cancelled gets 409
    ``follow-up-closed``."""
    record = await follow_ups.complete_follow_up(
        crm, scope_of(principal), follow_up_id, body.outcome, body.interaction_id
    )
    return FollowUpOut.of(record)


@router.post("/{follow_up_id}/cancel", responses=errors(404, 409, 422))
async def cancel_follow_up(
    follow_up_id: FollowUpId, body: FollowUpCancelIn, crm: CrmDep, principal: Supervisor
) -> FollowUpOut:
    record = await follow_ups.cancel_follow_up(crm, scope_of(principal), follow_up_id, body.reason)
    return FollowUpOut.of(record)
