"""Who is acting: logins, sessions and the Origin check, for REST routes and the websocket.

A login (``POST /api/auth/login``) checks the password (argon2id, callcenter/passwords.py)
and opens a session (callcenter/persistence/sessions.py). Its token reaches the client twice:
in the ``cc_session`` cookie (HttpOnly, SameSite=Strict: the agent desktop) and in the body
(scripts and tools send it as ``Authorization: Bearer <token>``).

Cross-site request forgery: a browser attaches the cookie by itself, so a change sent with
the cookie must come from a page of ours, which its ``Origin`` header tells
(:func:`origin_allowed`). A bearer token is never attached by a browser, so it needs no
Origin. SameSite=Strict already keeps the cookie off cross-site requests in current
browsers; the Origin check does not depend on that.

The websocket endpoint uses :data:`SESSION_COOKIE`, :func:`principal_for_token` and
:func:`origin_allowed` at its handshake.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass

from callcenter.crm.vocabulary import Role
from callcenter.errors import Forbidden, NotAuthenticated, RateLimited
from callcenter.passwords import check_password_async
from callcenter.persistence import sessions
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.sessions import LoginLimits, LoginUser, SessionUser
from callcenter.settings import Settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "cc_session"

# The login rate limit: 5 failures per username, 20 per client address, in 5 minutes.
LOGIN_LIMITS = LoginLimits()


@dataclass(frozen=True)
class Principal:
    """The acting user, as every route and websocket message sees them."""

    user_id: int
    username: str
    role: Role
    branch_id: int | None
    session_id: int | None = None
    session_expires_at: dt.datetime | None = None


class BadCredentials(NotAuthenticated):
    """Wrong username or password, or an inactive user: one answer for all, so a caller
    cannot learn which usernames exist."""

    error_id = "bad-credentials"


class TooManyLogins(RateLimited):
    error_id = "too-many-logins"


class BadOrigin(Forbidden):
    error_id = "bad-origin"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def principal_of(found: SessionUser) -> Principal:
    user = found.user
    return Principal(
        user.user_id, user.username, user.role, user.branch_id, found.session_id, found.expires_at
    )


async def principal_for_token(
    db: Database, token: str, *, now: dt.datetime | None = None
) -> Principal | None:
    """The user holding the session ``token``; None if the token is unknown, or its session
    expired (absolute or idle), was revoked, or its user was deactivated.

    Touches the session's ``last_seen_at`` (at most once a minute), so a websocket that
    checks its token now and then keeps its session alive like any request does.
    """
    if not token:
        return None
    found = await sessions.find_session(db, token, now=now or utc_now())
    return None if found is None else principal_of(found)


def normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(settings: Settings, origin: str | None) -> bool:
    """Whether a request from a page at ``origin`` may act with the user's cookie.

    A missing Origin, or ``null`` (sandboxed frames, some redirects), is refused."""
    if not origin or origin.strip().lower() == "null":
        return False
    return normalise_origin(origin) in settings.effective_allowed_origins


def check_origin(settings: Settings, origin: str | None) -> None:
    if not origin_allowed(settings, origin):
        raise BadOrigin(
            "a change sent with the session cookie must come from one of the configured "
            "origins (CALLCENTER_ALLOWED_ORIGINS); send the token as a bearer header instead "
            "from scripts",
            origin=origin,
        )


# --- logging in and out ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedIn:
    token: str  # for the client only: never stored, never logged
    session: SessionUser


async def log_in(
    db: Database,
    settings: Settings,
    username: str,
    password: str,
    *,
    address: str | None,
    now: dt.datetime,
) -> LoggedIn:
    """Check the rate limit, then the password; open a session. Audited either way."""
    attempt_id, user = await _admit(db, username, address, now)
    # Unknown and inactive users are checked against a dummy hash: same time, same answer.
    stored_hash = user.password_hash if user is not None and user.active else None
    verdict = await check_password_async(stored_hash, password)
    if user is None or not verdict.ok:
        async with db.write() as session:
            await record_audit(session, None, "auth.login_failed", detail={"username": username})
        log.info("login failed for a username (see the audit log)")
        raise BadCredentials("wrong username or password")
    # Open the session; upgrade a hash made with older parameters while we know the password.
    async with db.write() as session:
        await sessions.mark_attempt_ok(session, attempt_id)
        if verdict.new_hash is not None:
            await sessions.set_password_hash(session, user.user_id, verdict.new_hash)
        token, row = await sessions.open_session(
            session,
            user.user_id,
            now=now,
            lifetime=dt.timedelta(hours=settings.session_hours),
            idle=dt.timedelta(minutes=settings.session_idle_minutes),
            address=address,
        )
        opened = SessionUser(row.id, row.expires_at, user.info)
        await record_audit(
            session,
            user.user_id,
            "auth.login",
            detail={"session_id": row.id, "address": address, "rehashed": bool(verdict.new_hash)},
        )
    log.info("user %d logged in (session %d)", user.user_id, opened.session_id)
    return LoggedIn(token, opened)


async def _admit(
    db: Database, username: str, address: str | None, now: dt.datetime
) -> tuple[int, LoginUser | None]:
    """Check the rate limit and count this attempt as failed, in one short transaction,
    before the (slow) hash is checked outside any transaction. Returns the attempt's id and
    the user named, if any."""
    async with db.write() as session:
        wait = await sessions.login_retry_after(
            session, username, address, now=now, limits=LOGIN_LIMITS
        )
        if wait is None:
            attempt_id = await sessions.record_attempt(session, username, address, now=now)
            return attempt_id, await sessions.user_for_login(session, username)
        await record_audit(session, None, "auth.login_blocked", detail={"username": username})
    seconds = max(1, math.ceil(wait.total_seconds()))
    log.warning("login refused: too many failures (retry in %d s)", seconds)
    raise TooManyLogins(
        f"too many failed logins: try again in {seconds} seconds", retry_after_seconds=seconds
    )


async def log_out(db: Database, principal: Principal, *, now: dt.datetime) -> None:
    """End the session the request came with."""
    if principal.session_id is None:
        return
    async with db.write() as session:
        if await sessions.revoke_session(session, principal.session_id, now=now):
            await record_audit(
                session,
                principal.user_id,
                "auth.logout",
                detail={"session_id": principal.session_id},
            )
    log.info("user %d logged out (session %d)", principal.user_id, principal.session_id)
