"""REST routes: logging in and out, and who is logged in.

=======  ==============================  =======================================
method   path                            roles
=======  ==============================  =======================================
POST     /api/auth/login                 anyone (username and password)
POST     /api/auth/logout                any logged-in user
GET      /api/auth/me                    any logged-in user
=======  ==============================  =======================================

A login answers 200 with the user, the session's end and its token, and sets the
``cc_session`` cookie. A wrong username or password, or an inactive user: 401
``bad-credentials``, the same for all. Five failures for one username, or twenty from one
address, within five minutes: 429 ``too-many-logins`` with ``Retry-After``, even for the right
password. A login from a browser page of another origin: 403 ``bad-origin``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from callcenter.api import auth
from callcenter.api.deps import ClockDep, DbDep, PrincipalDep, SettingsDep
from callcenter.api.schemas.auth import LoginIn, LoginOut, UserOut
from callcenter.api.schemas.common import errors
from callcenter.errors import NotAuthenticated
from callcenter.persistence import sessions
from callcenter.settings import Settings


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


@router.post("/login", responses=errors(401, 403, 429))
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    db: DbDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> LoginOut:
    origin = request.headers.get("origin")
    if origin is not None:  # a browser page: only ours may log a user in (login CSRF)
        auth.check_origin(settings, origin)
    now = clock()
    logged_in = await auth.log_in(
        db,
        settings,
        body.username,
        body.password.get_secret_value(),
        address=request.client.host if request.client else None,
        now=now,
    )
    expires_at = logged_in.session.expires_at
    _set_cookie(response, settings, logged_in.token, int((expires_at - now).total_seconds()))
    return LoginOut(
        user=UserOut.of(logged_in.session.user), expires_at=expires_at, token=logged_in.token
    )


@router.post("/logout", status_code=204, responses=errors(401, 403))
async def logout(principal: PrincipalDep, db: DbDep, clock: ClockDep) -> Response:
    """End the session the request came with (cookie or bearer) and clear the cookie."""
    await auth.log_out(db, principal, now=clock())
    response = Response(status_code=204)
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/me", responses=errors(401))
async def me(principal: PrincipalDep, db: DbDep) -> UserOut:
    """The logged-in user."""
    async with db.read() as session:
        user = await sessions.user_info(session, principal.user_id)
    if user is None:  # deleted in the instant since the session was checked
        raise NotAuthenticated("the session's user no longer exists")
    return UserOut.of(user)
