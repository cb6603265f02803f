"""REST routes: agents log in and out and say whether they are ready; managers see everyone.

=======  ==============================  =======================================
method   path                            roles
=======  ==============================  =======================================
GET      /api/agents/reasons             any staff
GET      /api/agents/dispositions        any staff
GET      /api/agents/me                  agent, advisor
POST     /api/agents/me/login            agent, advisor
POST     /api/agents/me/logout           agent, advisor
POST     /api/agents/me/state            agent, advisor
GET      /api/agents/me/phone            agent, advisor
GET      /api/agents/center              any staff
GET      /api/agents/me/wrap-up          agent, advisor
POST     /api/agents/me/wrap-up/extend   agent, advisor
GET      /api/agents/{id}/wrap-up        supervisor, admin
GET      /api/agents                     supervisor, admin
PUT      /api/agents/{id}/profile        admin
=======  ==============================  =======================================

Agents are the users of role agent or advisor: the people the ACD routes calls to. The state
machine is callcenter/acd/agents.py; a move it does not allow is 409 (``agent-not-logged-in``,
``agent-already-logged-in``, ``agent-illegal-transition``), a bad reason 422. Going ready (the
login, "ready") with the agent's phone not registered is 409 ``phone-not-registered``, and
while the PBX cannot be asked ``phone-state-unknown`` (callcenter/acd/phones.py).

An agent in wrap-up sees when it ends and extends it while writing notes, up to the call's
limit (409 ``agent-not-in-wrap-up``, ``wrap-up-limit-reached``; docs/acd.md, "Wrap-up");
supervisors see any agent's.

The reasons and dispositions the desk offers are the active service codes, with their labels
in both languages (admins change them: callcenter/api/routes/service_codes.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from callcenter.acd.agents import AgentRecord
from callcenter.acd.model import AgentState
from callcenter.acd.ports import PhoneRegistry
from callcenter.acd.service import AcdService
from callcenter.acd.wrap_up import NotInWrapUp
from callcenter.api.agent_state import AGENT_ROLES, AgentStatesDep
from callcenter.api.deps import DbDep, Managers, Principal, SettingsDep, Staff, require_roles
from callcenter.api.schemas.agents import (
    AgentOut,
    AgentProfileIn,
    AgentStateIn,
    CenterOut,
    DispositionsOut,
    ReasonsOut,
    WrapUpExtendIn,
    WrapUpOut,
)
from callcenter.api.schemas.common import Id, errors
from callcenter.api.schemas.phones import PhoneOut
from callcenter.api.schemas.service_codes import CodeLabelOut
from callcenter.crm.vocabulary import Role
from callcenter.persistence import agents, service_codes
from callcenter.persistence.audit import record_audit
from callcenter.persistence.service_codes import CodeKind

router = APIRouter(prefix="/agents", tags=["agents"])

Agent = Annotated[Principal, Depends(require_roles(*AGENT_ROLES))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
AgentId = Id


# Declared before /{agent_id}/... so that "reasons" and "me" are never read as ids.
@router.get("/reasons")
async def reasons(db: DbDep, _principal: Staff) -> ReasonsOut:
    """The reasons an agent may choose, in the order to offer them (``missed`` is set by the
    ACD only)."""
    async with db.read() as session:
        codes = await service_codes.list_codes(session, CodeKind.NOT_READY_REASON, active_only=True)
    return ReasonsOut(reasons=[c.code for c in codes], labels=[CodeLabelOut.of(c) for c in codes])


@router.get("/dispositions")
async def dispositions(db: DbDep, _principal: Staff) -> DispositionsOut:
    """The dispositions a wrap-up offers, in order."""
    async with db.read() as session:
        codes = await service_codes.list_codes(session, CodeKind.DISPOSITION, active_only=True)
    return DispositionsOut(
        dispositions=[c.code for c in codes], labels=[CodeLabelOut.of(c) for c in codes]
    )


@router.get("/center")
async def center(settings: SettingsDep, _principal: Staff) -> CenterOut:
    """The center's time zone: the desk shows call times in it, whatever the PC's zone."""
    return CenterOut(timezone=settings.business_timezone)


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


@router.get("/me/phone", responses=errors(404))
async def my_phone(db: DbDep, principal: Agent, request: Request) -> PhoneOut:
    """Your phone, and whether it is registered with the PBX now (None: cannot tell)."""
    async with db.read() as session:
        extension = (await agents.get_agent(session, principal.user_id)).extension
    phones: PhoneRegistry | None = request.app.state.runtime.phones
    registered = None
    if extension and phones is not None:
        registered = await phones.registered(extension)
    return PhoneOut(extension=extension, registered=registered)


# --- wrap-up: its deadline and its extension (callcenter/acd/wrap_up.py) ---------------------


def _acd(request: Request) -> AcdService:
    service: AcdService | None = request.app.state.runtime.acd
    if service is None:
        raise NotInWrapUp("the ACD is not running: no call, no wrap-up")
    return service


AcdDep = Annotated[AcdService, Depends(_acd)]


def _wrap_up_of(acd: AcdService, agent_id: int) -> WrapUpOut:
    wrap = acd.wrap_ups.of(agent_id)
    if wrap is None:
        raise NotInWrapUp("not in wrap-up", agent_id=agent_id)
    return WrapUpOut.of(wrap)


@router.get("/me/wrap-up", responses=errors(409))
async def my_wrap_up(principal: Agent, acd: AcdDep) -> WrapUpOut:
    """Your wrap-up: when it ends, and the latest an extension can reach."""
    return _wrap_up_of(acd, principal.user_id)


@router.post("/me/wrap-up/extend", responses=errors(409, 422))
async def extend_wrap_up(body: WrapUpExtendIn, principal: Agent, acd: AcdDep) -> WrapUpOut:
    """More time for your notes: ``seconds``, else the configured amount, never past the
    call's limit (409 ``wrap-up-limit-reached`` there: save the notes, they are kept after
    wrap-up ends). The desk hears the new deadline (``call.wrap_up``)."""
    return WrapUpOut.of(acd.extend_wrap_up(principal.user_id, body.seconds))


@router.get("/{agent_id}/wrap-up", responses=errors(409))
async def agent_wrap_up(agent_id: AgentId, _principal: Managers, acd: AcdDep) -> WrapUpOut:
    """An agent's wrap-up and how much they extended it."""
    return _wrap_up_of(acd, agent_id)


@router.get("")
async def list_agents(
    db: DbDep, _principal: Managers, state: AgentState | None = None
) -> list[AgentOut]:
    """Every active agent and advisor with their state, reason and since when, by id."""
    async with db.read() as session:
        return [AgentOut.of(record) for record in await agents.list_agents(session, state=state)]


@router.put("/{agent_id}/profile", responses=errors(404, 422))
async def set_profile(
    agent_id: AgentId, body: AgentProfileIn, db: DbDep, principal: Admin
) -> AgentOut:
    """Replace what the agent can take: skills (1..5), languages, queues. Audited
    (``admin.agent.profile``, with the profile before and after)."""
    async with db.write() as session:
        before = await agents.get_agent(session, agent_id)
        record = await agents.set_agent_profile(
            session,
            agent_id,
            skills=body.skills,
            languages=frozenset(body.languages),
            queues=frozenset(body.queues),
        )
        await record_audit(
            session,
            principal.user_id,
            "admin.agent.profile",
            detail={"agent_id": agent_id, "from": _profile(before), "to": _profile(record)},
        )
        return AgentOut.of(record)


def _profile(record: AgentRecord) -> dict[str, object]:
    return {
        "skills": dict(sorted(record.skills.items())),
        "languages": sorted(record.languages),
        "queues": sorted(record.queues),
    }
