"""REST routes: logging in (password, then a second factor), enrolling one, logging out, and
who is logged in.

=======  ==============================  ==================================================
method   path                            roles
=======  ==============================  ==================================================
POST     /api/auth/login                 anyone (username and password)
POST     /api/auth/mfa                   anyone holding the MFA step's token (and a code)
POST     /api/auth/mfa/enrol             any logged-in user, also before the second factor
POST     /api/auth/mfa/confirm           any logged-in user, also before the second factor
POST     /api/auth/logout                any logged-in user
GET      /api/auth/me                    any logged-in user
=======  ==============================  ==================================================

Logging out an agent or advisor also logs their agent state out (from ready, not ready or
wrap-up), so that a closed desk is never left ready for calls; one with a call ringing or on
keeps it (the call decides, callcenter/acd/agents.py) and the session ends all the same.

A login answers 200 with ``step: "session"`` (the user, the session's end and its token; the
``cc_session`` cookie is set), or, for a user with a second factor, ``step: "mfa"`` with a
short-lived token for ``POST /api/auth/mfa`` and no session. Supervisors, compliance and
admins without a second factor get a session with ``mfa_enrolment_required``: every other route
answers it 403 ``mfa-enrolment-required`` until it enrols (callcenter/api/auth.py check_mfa).
A wrong username or password, or an inactive user: 401 ``bad-credentials``, the same for all.
Too many failures (per account and address, per address, per account from unknown devices):
429 ``too-many-logins`` with ``Retry-After``, a wait that doubles with each further failure,
never a lockout (callcenter/persistence/sessions.py LoginLimits). A login from a browser page
of another origin: 403 ``bad-origin``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from callcenter.api import auth
from callcenter.api.agent_state import AGENT_ROLES, AgentStatesDep
from callcenter.api.client_address import request_address
from callcenter.api.deps import ClockDep, DbDep, SessionPrincipalDep, SettingsDep
from callcenter.api.schemas.auth import (
    EnrolmentOut,
    LoginIn,
    LoginOut,
    MeOut,
    MfaConfirmIn,
    MfaIn,
    MfaStepOut,
    RecoveryCodesOut,
    UserOut,
)
from callcenter.api.schemas.common import errors
from callcenter.errors import Conflict, NotAuthenticated, NotFound
from callcenter.persistence import sessions
from callcenter.persistence.mfa import role_requires_mfa
from callcenter.secretbox import SecretBox, box_for
from callcenter.settings import Settings

log = logging.getLogger(__name__)


class NoEchoRoute(APIRoute):
    """A 422 names the bad fields but never echoes their values: FastAPI's answer would
    otherwise carry the password back (and into any log or trace of answers)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def no_echo(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
                raise RequestValidationError(errors) from None

        return no_echo


router = APIRouter(prefix="/auth", tags=["auth"], route_class=NoEchoRoute)


def _set_cookie(response: Response, settings: Settings, token: str, max_age: int) -> None:
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,  # page scripts never see the token
        samesite="strict",  # never sent with a request started by another site
        secure=settings.session_cookie_secure,
    )


def get_secret_box(request: Request) -> SecretBox:
    """The service's secret box, built once per app (reading the key file at most once)."""
    state = request.app.state
    box: SecretBox | None = getattr(state, "secret_box", None)
    if box is None:
        box = box_for(request.app.state.runtime.settings)
        state.secret_box = box
    return box


BoxDep = Annotated[SecretBox, Depends(get_secret_box)]


def _context(request: Request, settings: Settings) -> auth.LoginContext:
    return auth.LoginContext(
        request_address(settings, request), request.cookies.get(auth.DEVICE_COOKIE)
    )


def _session_out(
    response: Response, settings: Settings, logged_in: auth.LoggedIn, now: dt.datetime
) -> LoginOut:
    expires_at = logged_in.session.expires_at
    _set_cookie(response, settings, logged_in.token, int((expires_at - now).total_seconds()))
    response.set_cookie(
        auth.DEVICE_COOKIE,
        logged_in.device_token,
        max_age=auth.DEVICE_DAYS * 86400,
        path="/api/auth",  # only the login reads it
        httponly=True,
        samesite="strict",
        secure=settings.session_cookie_secure,
    )
    return LoginOut(
        user=UserOut.of(logged_in.session.user),
        expires_at=expires_at,
        token=logged_in.token,
        mfa_enrolment_required=logged_in.enrolment_required,
    )


@router.post("/login", responses=errors(401, 403, 429))
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    db: DbDep,
    settings: SettingsDep,
    clock: ClockDep,
    box: BoxDep,
) -> LoginOut | MfaStepOut:
    """The password. A user with a second factor gets the MFA step (``step: "mfa"``, no
    session yet); anyone else a session (``step: "session"``)."""
    origin = request.headers.get("origin")
    if origin is not None:  # a browser page: only ours may log a user in (login CSRF)
        auth.check_origin(settings, origin)
    now = clock()
    result = await auth.log_in(
        db,
        settings,
        box,
        body.username,
        body.password.get_secret_value(),
        context=_context(request, settings),
        now=now,
        passwords=request.app.state.runtime.passwords,
    )
    if isinstance(result, auth.MfaStep):
        return MfaStepOut(mfa_token=result.token, expires_at=result.expires_at)
    return _session_out(response, settings, result, now)


@router.post("/mfa", responses=errors(401, 403, 429))
async def login_mfa(
    body: MfaIn,
    request: Request,
    response: Response,
    db: DbDep,
    settings: SettingsDep,
    clock: ClockDep,
    box: BoxDep,
) -> LoginOut:
    """The login's second step: the MFA step's token and a TOTP code or a recovery code.
    A wrong or reused code: 401 ``bad-mfa-code``; the step's token too old: 401
    ``mfa-step-expired`` (enter the password again); throttled like the password."""
    origin = request.headers.get("origin")
    if origin is not None:
        auth.check_origin(settings, origin)
    now = clock()
    logged_in = await auth.complete_mfa(
        db,
        settings,
        box,
        body.mfa_token,
        body.code.get_secret_value(),
        context=_context(request, settings),
        now=now,
    )
    return _session_out(response, settings, logged_in, now)


@router.post("/mfa/enrol", responses=errors(401, 403, 409))
async def mfa_enrol(
    principal: SessionPrincipalDep, db: DbDep, clock: ClockDep, box: BoxDep
) -> EnrolmentOut:
    """Begin enrolling a second factor: a new TOTP secret, shown this once. It is in force
    once a code from the app confirms it. A user with one already: 409
    ``mfa-already-enrolled`` (an admin resets it: ``callcenter users reset-mfa``)."""
    enrolment = await auth.begin_enrolment(db, box, principal, now=clock())
    return EnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


@router.post("/mfa/confirm", responses=errors(401, 403, 409, 422))
async def mfa_confirm(
    body: MfaConfirmIn, principal: SessionPrincipalDep, db: DbDep, clock: ClockDep, box: BoxDep
) -> RecoveryCodesOut:
    """A code from the app confirms the enrolment; answers the ten recovery codes, once.
    A wrong code: 422 ``bad-mfa-code``; nothing begun: 409 ``mfa-not-enrolling``."""
    codes = await auth.confirm_enrolment(
        db, box, principal, body.code.get_secret_value(), now=clock()
    )
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/logout", status_code=204, responses=errors(401, 403))
async def logout(
    principal: SessionPrincipalDep, db: DbDep, clock: ClockDep, states: AgentStatesDep
) -> Response:
    """End the session the request came with (cookie or bearer) and clear the cookie; an
    agent's or advisor's agent state is logged out first (``agent.state``)."""
    if principal.role in AGENT_ROLES:
        try:
            await states.logout(principal.user_id)
        except (Conflict, NotFound) as exc:  # logged out already, or a call in hand
            log.info("agent %s: session ends, agent state kept: %s", principal.user_id, exc)
    await auth.log_out(db, principal, now=clock())
    response = Response(status_code=204)
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/me", responses=errors(401))
async def me(principal: SessionPrincipalDep, db: DbDep) -> MeOut:
    """The logged-in user, and where their session stands with the second factor."""
    async with db.read() as session:
        user = await sessions.user_info(session, principal.user_id)
    if user is None:  # deleted in the instant since the session was checked
        raise NotAuthenticated("the session's user no longer exists")
    return MeOut(
        **UserOut.of(user).model_dump(),
        mfa_required=role_requires_mfa(user.role),
        mfa_enrolled=principal.mfa_enrolled,
        mfa_verified=principal.mfa_verified,
    )
