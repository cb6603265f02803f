"""REST routes: the dialler's work for agents and advisors (docs/outbound.md).

=======  ======================================  ==============
method   path                                    roles
=======  ======================================  ==============
GET      /api/outbound/my-work                   agent, advisor
POST     /api/outbound/next                      agent, advisor
POST     /api/outbound/items/{item_id}/dial      agent, advisor
POST     /api/outbound/items/{item_id}/skip      agent, advisor
POST     /api/outbound/items/{item_id}/outcome   agent, advisor
GET      /api/outbound/progressive               agent, advisor
PUT      /api/outbound/progressive               agent, advisor
POST     /api/outbound/care-lists                supervisor
=======  ======================================  ==============

404 ``work-item-not-found``; 409 ``work-item-taken``, ``work-item-not-diallable`` (the rule
in ``detail.reason``, and ``detail.earliest``), ``no-dial-to-report``, ``no-dialler``,
``agent-not-free-to-dial``, ``pbx-unavailable``; 422 ``not-an-agent-outcome``,
``care-list-invalid``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from callcenter.api.agent_state import AGENT_ROLES
from callcenter.api.deps import Principal, require_roles
from callcenter.api.schemas.common import Id, errors
from callcenter.api.schemas.outbound import (
    CareListIn,
    CareListOut,
    DialedOut,
    MyWorkOut,
    OutcomeIn,
    PreviewOut,
    ProgressiveIn,
    ProgressiveOut,
    SkipIn,
    WorkItemOut,
    WorkViewOut,
)
from callcenter.crm.vocabulary import FollowUpKind, Role
from callcenter.outbound.care_lists import CareList
from callcenter.outbound.model import AttemptOutcome
from callcenter.outbound.service import NoDialler, OutboundService
from callcenter.persistence.outbound import add_care_list

router = APIRouter(prefix="/outbound", tags=["outbound"])

Agent = Annotated[Principal, Depends(require_roles(*AGENT_ROLES))]


def outbound_service(request: Request) -> OutboundService:
    service: OutboundService | None = request.app.state.runtime.outbound
    if service is None:
        raise NoDialler("the dialler is not running")
    return service


Outbound = Annotated[OutboundService, Depends(outbound_service)]


@router.get("/my-work")
async def my_work(principal: Agent, outbound: Outbound) -> MyWorkOut:
    """The agent's own open items and their queues', in the order they are dialled, each
    with whether it may be dialled now and why not."""
    views = await outbound.my_work(principal.user_id)
    return MyWorkOut(items=[WorkViewOut.of(v) for v in views])


@router.post("/next")
async def preview_next(principal: Agent, outbound: Outbound) -> PreviewOut:
    """Preview: the next item the rules allow, held for the agent for a few minutes."""
    view = await outbound.preview_next(principal.user_id)
    return PreviewOut(item=WorkViewOut.of(view) if view is not None else None)


@router.post("/items/{item_id}/dial", status_code=201, responses=errors(404, 409, 422))
async def dial(item_id: Id, principal: Agent, outbound: Outbound) -> DialedOut:
    """The rules are checked again, then the agent's phone rings and the client is dialled
    with the hotline's number as caller ID."""
    return DialedOut.of(await outbound.dial(principal.user_id, item_id))


@router.post("/items/{item_id}/skip", responses=errors(404, 409, 422))
async def skip(item_id: Id, body: SkipIn, principal: Agent, outbound: Outbound) -> WorkItemOut:
    """Preview: pass the item on, with why; it comes back later."""
    return WorkItemOut.of(await outbound.skip(principal.user_id, item_id, body.reason))


@router.post("/items/{item_id}/outcome", responses=errors(404, 409, 422))
async def outcome(
    item_id: Id, body: OutcomeIn, principal: Agent, outbound: Outbound
) -> WorkItemOut:
    """How the call went: completed, reached (call again), refused, wrong number."""
    item = await outbound.report(
        principal.user_id,
        item_id,
        AttemptOutcome(body.outcome),
        body.note,
        body.call_again_at,
    )
    return WorkItemOut.of(item)


def _progressive(outbound: OutboundService, agent_id: int) -> ProgressiveOut:
    return ProgressiveOut(
        on=agent_id in outbound.progressive_agents,
        dialling_item_id=outbound.dialling_for(agent_id) or None,
    )


@router.get("/progressive")
async def progressive(principal: Agent, outbound: Outbound) -> ProgressiveOut:
    """Whether the dialler dials for the agent whenever they are ready and free."""
    return _progressive(outbound, principal.user_id)


@router.put("/progressive")
async def set_progressive(
    body: ProgressiveIn, principal: Agent, outbound: Outbound
) -> ProgressiveOut:
    """Progressive mode on or off: while on and ready with no call waiting for them, the
    dialler dials the next item's client and puts them through, the pop before the ring."""
    outbound.set_progressive(principal.user_id, body.on)
    return _progressive(outbound, principal.user_id)


Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR))]


@router.post("/care-lists", status_code=201, responses=errors(422))
async def care_list(body: CareListIn, principal: Supervisor, request: Request) -> CareListOut:
    """Care calls for many clients at once (e.g. the holders of a security after a
    limit-down): one work item each, none for a client who has such an item open already or
    whose account is closed. Audited."""
    care = CareList(
        kind=FollowUpKind(body.kind),
        reason=body.reason,
        due_on=body.due_on,
        priority=body.priority,
        holding_symbol=body.holding_symbol,
        client_ids=tuple(body.client_ids),
    )
    db = request.app.state.runtime.db
    async with db.write() as session:
        result = await add_care_list(session, care, principal.user_id, dt.datetime.now(dt.UTC))
    return CareListOut(
        created=result.created,
        already_open=result.already_open,
        skipped_closed=result.skipped_closed,
    )
