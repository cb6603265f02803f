"""REST routes: the return visit (回访) of a new account (docs/return-visits.md).

=======  =====================================  ==================================
method   path                                   roles
=======  =====================================  ==================================
GET      /api/return-visits/script              agent, advisor, supervisor
POST     /api/follow-ups/{id}/return-visit      agent, advisor, supervisor
=======  =====================================  ==================================

The script in both languages; with ``?follow_up_id=`` (a return visit in your scope), with
its client's risk profile in the question that shows it (a read of the client's record:
audited). Recording the answers completes the follow-up: ``completed``, or ``problem_found:
<question ids>`` with a complaint opened for each problem that goes to one and a task for
the client's branch for the others; 201 with what was stored and opened.

The work of whoever calls the client: agents and advisors, within the follow-ups' scope
(callcenter/crm/scopes.py: a follow-up out of it is 404 ``follow-up-not-found``), and
supervisors. Branch staff do not: the visit checks the branch's own work (the opening).
Errors: 422 ``follow-up-not-a-return-visit``, ``return-visit-answer-missing``,
``return-visit-unknown-question``, ``return-visit-answer-not-allowed``,
``follow-up-call-not-yours``; 409 ``return-visit-already-recorded``, ``follow-up-closed``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from callcenter.api.deps import ClockDep, DbDep, Principal, require_roles, scope_of
from callcenter.api.schemas.common import Id, errors
from callcenter.api.schemas.return_visits import (
    ReturnVisitIn,
    ReturnVisitOut,
    ReturnVisitScriptOut,
)
from callcenter.crm.complaints import Actor
from callcenter.crm.vocabulary import Role
from callcenter.outbound.return_visit import load_script
from callcenter.outbound.return_visit_service import ReturnVisitService
from callcenter.persistence.return_visits import SqlReturnVisits

router = APIRouter(tags=["return-visits"])

ReturnVisitors = Annotated[
    Principal, Depends(require_roles(Role.AGENT, Role.ADVISOR, Role.SUPERVISOR))
]


def get_return_visits(db: DbDep, clock: ClockDep) -> ReturnVisitService:
    # The script is read for each request: a small file, a few visits a minute, and no state
    # to hold between requests (the packaged file is checked by tests/unit).
    return ReturnVisitService(SqlReturnVisits(db), load_script(), clock)


ReturnVisitsDep = Annotated[ReturnVisitService, Depends(get_return_visits)]


@router.get("/return-visits/script", responses=errors(404, 422))
async def return_visit_script(
    service: ReturnVisitsDep,
    principal: ReturnVisitors,
    follow_up_id: Annotated[
        Id | None, Query(description="a return visit: shows its client's risk profile")
    ] = None,
) -> ReturnVisitScriptOut:
    """Audited when a follow-up is named."""
    view = await service.script_for(scope_of(principal), follow_up_id)
    return ReturnVisitScriptOut.of(view)


@router.post(
    "/follow-ups/{follow_up_id}/return-visit", status_code=201, responses=errors(404, 409, 422)
)
async def record_return_visit(
    follow_up_id: Id, body: ReturnVisitIn, service: ReturnVisitsDep, principal: ReturnVisitors
) -> ReturnVisitOut:
    """Every question answered, once: complaints and the branch's task opened for the
    problems, the follow-up completed. Audited."""
    actor = Actor(principal.user_id, principal.role, principal.branch_id)
    record = await service.record(actor, follow_up_id, body.to_answers())
    return ReturnVisitOut.of(record)
