"""REST routes: staff accounts (the admin console).

=======  =====================================  ==================
method   path                                   roles
=======  =====================================  ==================
GET      /api/admin/branches                    supervisor, admin
GET      /api/admin/users                       supervisor, admin
GET      /api/admin/users/{id}                  supervisor, admin
POST     /api/admin/users                       admin
PATCH    /api/admin/users/{id}                  admin
POST     /api/admin/users/{id}/password         admin
POST     /api/admin/users/{id}/mfa-reset        admin
=======  =====================================  ==================

Refusals: 409 ``username-taken``, ``extension-taken`` (both name the field), 422
``unknown-branch``, ``branch-required`` (role branch), ``weak-password`` (the policy of
callcenter/passwords.py), 409 ``admin-self-lockout`` (an admin deactivating themselves or
dropping their own admin role), 404 ``user-not-found``. An agent who is logged in is logged
out (as a supervisor would force it) before their account is deactivated or leaves the agent
roles; one on a call cannot be (409 ``agent-illegal-transition``): wait for the call's end.
Deactivating, a new password and an MFA reset end every session of the user. Audited:
``admin.user.create``, ``admin.user.update``, ``admin.user.password_reset``,
``auth.mfa_reset``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from callcenter.acd.agents import AGENT_ROLES
from callcenter.acd.model import AgentState
from callcenter.api.deps import DbDep, Managers, Principal, RuntimeDep, require_roles
from callcenter.api.schemas.admin_users import (
    BranchOut,
    PasswordIn,
    SessionsEndedOut,
    UserChangeIn,
    UserIn,
    UserOut,
)
from callcenter.api.schemas.common import Id, errors
from callcenter.crm.vocabulary import Role
from callcenter.errors import InvalidInput
from callcenter.passwords import WeakPassword, hash_password_async
from callcenter.persistence import admin_users, agents, mfa
from callcenter.persistence.admin_users import UserRecord
from callcenter.persistence.tables import utcnow

router = APIRouter(prefix="/admin", tags=["admin"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


class WeakPasswordRefused(InvalidInput):
    error_id = "weak-password"


async def _hash(password: str) -> str:
    try:
        return await hash_password_async(password)
    except WeakPassword as weak:
        raise WeakPasswordRefused(str(weak), field="password") from weak


@router.get("/branches")
async def list_branches(db: DbDep, _principal: Managers) -> list[BranchOut]:
    async with db.read() as session:
        return [BranchOut.of(b) for b in await admin_users.list_branches(session)]


@router.get("/users")
async def list_users(
    db: DbDep, _principal: Managers, role: Role | None = None, active: bool | None = None
) -> list[UserOut]:
    """Every account, by username."""
    async with db.read() as session:
        records = await admin_users.list_users(session, role=role, active=active)
    return [UserOut.of(r) for r in records]


@router.get("/users/{user_id}", responses=errors(404))
async def get_user(user_id: Id, db: DbDep, _principal: Managers) -> UserOut:
    async with db.read() as session:
        return UserOut.of(await admin_users.get_user(session, user_id))


@router.post("/users", status_code=201, responses=errors(409, 422))
async def create_user(body: UserIn, db: DbDep, principal: Admin) -> UserOut:
    password_hash = await _hash(body.password)  # the policy first: nothing stored on a refusal
    async with db.write() as session:
        record = await admin_users.create_user(
            session, body.new_user(), password_hash, by_user_id=principal.user_id
        )
    return UserOut.of(record)


@router.patch("/users/{user_id}", responses=errors(404, 409, 422))
async def change_user(
    user_id: Id, body: UserChangeIn, db: DbDep, runtime: RuntimeDep, principal: Admin
) -> SessionsEndedOut:
    changes = body.changes()
    async with db.read() as session:
        current = await admin_users.get_user(session, user_id)
    if _stops_taking_calls(current, changes) and user_id != principal.user_id:
        # Through the one owner of agents' states: the ACD must stop routing to them.
        async with db.read() as session:
            state = (await agents.get_agent(session, user_id)).status.state
        if state is not AgentState.LOGGED_OUT:
            await runtime.agent_states.force(principal.user_id, user_id, "logged_out", None)
    async with db.write() as session:
        record, ended = await admin_users.change_user(
            session, user_id, changes, by_user_id=principal.user_id
        )
    return SessionsEndedOut(user=UserOut.of(record), sessions_ended=ended)


def _stops_taking_calls(user: UserRecord, changes: dict[str, object]) -> bool:
    if user.role not in AGENT_ROLES or not user.active:
        return False
    return changes.get("active") is False or changes.get("role", user.role) not in AGENT_ROLES


@router.post("/users/{user_id}/password", responses=errors(404, 422))
async def set_password(
    user_id: Id, body: PasswordIn, db: DbDep, principal: Admin
) -> SessionsEndedOut:
    """A new password (a forgotten one): every session of the user ends."""
    password_hash = await _hash(body.password)
    async with db.write() as session:
        ended = await admin_users.set_password(
            session, user_id, password_hash, by_user_id=principal.user_id
        )
        record = await admin_users.get_user(session, user_id)
    return SessionsEndedOut(user=UserOut.of(record), sessions_ended=ended)


@router.post("/users/{user_id}/mfa-reset", responses=errors(404))
async def reset_mfa(user_id: Id, db: DbDep, principal: Admin) -> SessionsEndedOut:
    """Remove the user's second factor (a lost phone): their sessions end, and their next
    login enrols again."""
    async with db.write() as session:
        record = await admin_users.get_user(session, user_id)
        ended = await mfa.reset_user_mfa(
            session, user_id, actor_id=principal.user_id, via="admin-console", now=utcnow()
        )
    return SessionsEndedOut(user=UserOut.of(record), sessions_ended=ended)
