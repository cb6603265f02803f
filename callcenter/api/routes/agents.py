"""REST routes: agents log in and out and say whether they are ready; managers see everyone.

=======  ==============================  =======================================
method   path                            roles
=======  ==============================  =======================================
GET      /api/agents/reasons             any staff
GET      /api/agents/me                  agent, advisor
POST     /api/agents/me/login            agent, advisor
POST     /api/agents/me/logout           agent, advisor
POST     /api/agents/me/state            agent, advisor
GET      /api/agents                     supervisor, admin
PUT      /api/agents/{id}/profile        admin
=======  ==============================  =======================================

Agents are the users of role agent or advisor: the people the ACD routes calls to. The state
machine is callcenter/acd/agents.py; a move it does not allow is 409 (``agent-not-logged-in``,
``agent-already-logged-in``, ``agent-illegal-transition``), a bad reason 422.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from callcenter.acd.agents import MISSED, reason_codes
from callcenter.acd.model import AgentState
from callcenter.api.agent_state import AGENT_ROLES, AgentStatesDep
from callcenter.api.deps import DbDep, Managers, Principal, Staff, require_roles
from callcenter.api.schemas.agents import AgentOut, AgentProfileIn, AgentStateIn, ReasonsOut
from callcenter.api.schemas.common import Id, errors
from callcenter.crm.vocabulary import Role
from callcenter.persistence import agents

router = APIRouter(prefix="/agents", tags=["agents"])

Agent = Annotated[Principal, Depends(require_roles(*AGENT_ROLES))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
AgentId = Id


def not_ready_reasons(request: Request) -> frozenset[str]:
    """The configured not-ready reasons (CALLCENTER_AGENT_NOT_READY_REASONS; "missed" is
    always one, set by the ACD on ring-no-answer)."""
    return reason_codes(request.app.state.runtime.settings.agent_not_ready_reasons)


ReasonsDep = Annotated[frozenset[str], Depends(not_ready_reasons)]


# Declared before /{agent_id}/... so that "reasons" and "me" are never read as ids.
@router.get("/reasons")
async def reasons(_principal: Staff, configured: ReasonsDep) -> ReasonsOut:
    """The reasons an agent may choose (``missed`` is set by the ACD only)."""
    return ReasonsOut(reasons=sorted(configured - {MISSED}))


@router.get("/me", responses=errors(404))
async def my_status(db: DbDep, principal: Agent) -> AgentOut:
    async with db.read() as session:
        return AgentOut.of(await agents.get_agent(session, principal.user_id))


@router.post("/me/login", responses=errors(404, 409))
async def login(principal: Agent, states: AgentStatesDep) -> AgentOut:
    """Log in, ready for calls. 409 ``agent-already-logged-in``; 409 ``agent-no-extension``
    for a user without a phone."""
    return AgentOut.of(await states.login(principal.user_id))


@router.post("/me/logout", responses=errors(404, 409))
async def logout(principal: Agent, states: AgentStatesDep) -> AgentOut:
    """Log out: from ready, not ready or wrap-up; never with a call ringing or on."""
    return AgentOut.of(await states.logout(principal.user_id))


@router.post("/me/state", responses=errors(404, 409, 422))
async def change_state(body: AgentStateIn, principal: Agent, states: AgentStatesDep) -> AgentOut:
    """Ready (in wrap-up: end it now) or not ready with a reason (the websocket's ``state``
    message runs the same use case)."""
    return AgentOut.of(await states.set_own(principal.user_id, body.state, body.reason))


@router.get("")
async def list_agents(
    db: DbDep, _principal: Managers, state: AgentState | None = None
) -> list[AgentOut]:
    """Every active agent and advisor with their state, reason and since when, by id."""
    async with db.read() as session:
        return [AgentOut.of(record) for record in await agents.list_agents(session, state=state)]


@router.put("/{agent_id}/profile", responses=errors(404, 422))
async def set_profile(
    agent_id: AgentId, body: AgentProfileIn, db: DbDep, _principal: Admin
) -> AgentOut:
    """Replace what the agent can take: skills (1..5), languages, queues."""
    async with db.write() as session:
        record = await agents.set_agent_profile(
            session,
            agent_id,
            skills=body.skills,
            languages=frozenset(body.languages),
            queues=frozenset(body.queues),
        )
        return AgentOut.of(record)
