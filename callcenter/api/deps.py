"""Annotated dependencies for the routes: the database, the acting user, role checks.

Who is acting. Logins come with the agent-desktop issue. Until then the acting user is named
by the ``X-User`` header and looked up in the users table; the HTTP service listens on loopback
only by default. Every route already declares the roles it allows (``require_roles``), so the
login issue replaces only :func:`current_principal`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy import select

from callcenter.crm.vocabulary import Role
from callcenter.persistence.crm import SqlCrm
from callcenter.persistence.db import Database
from callcenter.persistence.tables import User


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role
    branch_id: int | None


def get_db(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


DbDep = Annotated[Database, Depends(get_db)]


async def current_principal(db: DbDep, x_user: Annotated[str | None, Header()] = None) -> Principal:
    if not x_user:
        raise HTTPException(401, detail={"error": "not-authenticated", "message": "no user"})
    async with db.read() as session:
        user = await session.scalar(select(User).where(User.username == x_user, User.active))
        # Inside the unit of work: read() ends with a rollback, which expires loaded rows.
        principal = (
            None
            if user is None
            else Principal(user.id, user.username, Role(user.role), user.branch_id)
        )
    if principal is None:
        raise HTTPException(401, detail={"error": "not-authenticated", "message": "unknown user"})
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets only ``roles`` through (403 otherwise)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                403, detail={"error": "forbidden", "message": f"{principal.role} may not do this"}
            )
        return principal

    return check


ANY_STAFF = (Role.AGENT, Role.ADVISOR, Role.SUPERVISOR, Role.ADMIN)
Staff = Annotated[Principal, Depends(require_roles(*ANY_STAFF))]
Managers = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
# The people who serve clients; admins run the system and do not change client data.
ClientFacing = Annotated[
    Principal, Depends(require_roles(Role.AGENT, Role.ADVISOR, Role.SUPERVISOR))
]


def get_crm(db: DbDep) -> SqlCrm:
    return SqlCrm(db)


# The CRM services' units of work (clients, interactions, follow-ups) over the app's database.
CrmDep = Annotated[SqlCrm, Depends(get_crm)]
