"""Annotated dependencies for the routes: the database, the clock, the acting user, role checks.

Who is acting: the holder of a session (callcenter/api/auth.py), named by its token in the
``cc_session`` cookie (the agent desktop) or in ``Authorization: Bearer <token>`` (scripts,
tools). No token, or one whose session is unknown, expired, idle or revoked: 401
``not-authenticated``. A change (POST, PUT, PATCH, DELETE) sent with the cookie must carry an
``Origin`` among the configured ones, else 403 ``bad-origin`` (cross-site request forgery);
a bearer request needs none. Every route declares the roles it allows (``require_roles``): a
role not allowed is 403 ``forbidden``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request

from callcenter.api.auth import (
    SESSION_COOKIE,
    Principal,
    check_mfa,
    check_origin,
    principal_for_token,
    utc_now,
)
from callcenter.crm.scopes import CLIENT_DATA_ROLES, DataScope
from callcenter.crm.vocabulary import Role
from callcenter.errors import Forbidden, NotAuthenticated
from callcenter.persistence.crm import SqlCrm
from callcenter.persistence.db import Database
from callcenter.runtime import Runtime
from callcenter.settings import Settings

__all__ = ["Principal"]  # re-exported: routes import it from here

# Methods that change something: sent with the cookie, they must come from our own pages.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_db(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


DbDep = Annotated[Database, Depends(get_db)]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]

Clock = Callable[[], dt.datetime]


def get_clock() -> Clock:
    """The time sessions and the login rate limit are judged by (tests override it)."""
    return utc_now


ClockDep = Annotated[Clock, Depends(get_clock)]


def session_token(request: Request, settings: Settings) -> str:
    """The session token the request carries: a bearer header first, else the cookie (whose
    unsafe requests must come from an allowed Origin)."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
        return token.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotAuthenticated(
            "log in first: POST /api/auth/login, then send the session cookie or "
            "'Authorization: Bearer <token>'"
        )
    if request.method in UNSAFE_METHODS:
        check_origin(settings, request.headers.get("origin"))
    return cookie


async def session_principal(
    request: Request, db: DbDep, settings: SettingsDep, clock: ClockDep
) -> Principal:
    """The session's user, before the MFA rule: for enrolling, ``me`` and logout only."""
    token = session_token(request, settings)
    principal = await principal_for_token(db, token, now=clock())
    if principal is None:
        raise NotAuthenticated("the session has expired or ended: log in again")
    return principal


SessionPrincipalDep = Annotated[Principal, Depends(session_principal)]


async def current_principal(principal: SessionPrincipalDep) -> Principal:
    """The acting user; a role that requires MFA needs a session that proved it (403
    ``mfa-required`` / ``mfa-enrolment-required``, callcenter/api/auth.py check_mfa)."""
    check_mfa(principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets only ``roles`` through (403 otherwise)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"{principal.role} may not do this", role=principal.role.value)
        return principal

    return check


ANY_STAFF = tuple(Role)
Staff = Annotated[Principal, Depends(require_roles(*ANY_STAFF))]
Managers = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
# Who may read client data at all, each within their scope (callcenter/crm/scopes.py):
# everyone but admins, who run the system.
ClientReaders = Annotated[Principal, Depends(require_roles(*CLIENT_DATA_ROLES))]
# The people who serve clients and change what they hold (compliance reads only).
CLIENT_FACING = (Role.AGENT, Role.ADVISOR, Role.BRANCH, Role.SUPERVISOR)
ClientFacing = Annotated[Principal, Depends(require_roles(*CLIENT_FACING))]


def scope_of(principal: Principal, reason: str | None = None) -> DataScope:
    """What ``principal`` may see; ``reason``: an agent's stated reason to reach a client
    beyond their calls (audited with the read)."""
    return DataScope.of(principal.role, principal.user_id, principal.branch_id, reason)


def get_crm(db: DbDep) -> SqlCrm:
    return SqlCrm(db)


# The CRM services' units of work (clients, interactions, follow-ups) over the app's database.
CrmDep = Annotated[SqlCrm, Depends(get_crm)]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


# Everything the running service holds (the PBX link, the ACD, the hub...).
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
