"""Who is acting: logins, sessions and the Origin check, for REST routes and the websocket.

A login (``POST /api/auth/login``) checks the throttle and the password (argon2id,
callcenter/passwords.py); a user with a second factor then sends a TOTP or recovery code
(``POST /api/auth/mfa``, callcenter/persistence/mfa.py) with the short-lived MFA step token
the password earned; then a session opens (callcenter/persistence/sessions.py), recording
whether the login proved a second factor. :func:`check_mfa` is the rule every route and the
websocket apply: supervisors, compliance and admins need that proof. The session's token
reaches the client twice: in the ``cc_session`` cookie (HttpOnly, SameSite=Strict: the agent
desktop) and in the body (scripts and tools send it as ``Authorization: Bearer <token>``).

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
from callcenter.passwords import PasswordWork
from callcenter.persistence import mfa, sessions
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.sessions import LoginLimits, LoginUser, SessionUser
from callcenter.secretbox import SecretBox
from callcenter.settings import Settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "cc_session"

# Login throttling: back-offs per account and address, per address, per account
# (callcenter/persistence/sessions.py LoginLimits).
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
    mfa_verified: bool = False  # the session's login proved a second factor
    mfa_enrolled: bool = False  # the user has a confirmed second factor


class BadCredentials(NotAuthenticated):
    """Wrong username or password, or an inactive user: one answer for all, so a caller
    cannot learn which usernames exist."""

    error_id = "bad-credentials"


class TooManyLogins(RateLimited):
    error_id = "too-many-logins"


class BadOrigin(Forbidden):
    error_id = "bad-origin"


class MfaRequired(Forbidden):
    """A role that requires a second factor, with a session whose login did not prove one."""

    error_id = "mfa-required"


class MfaEnrolmentRequired(MfaRequired):
    """The same, for a user who has no second factor yet: the session may only enrol."""

    error_id = "mfa-enrolment-required"


class MfaStepExpired(NotAuthenticated):
    """The MFA step's token is unknown, forged or older than :data:`MFA_STEP_SECONDS`."""

    error_id = "mfa-step-expired"


class BadMfaCode(NotAuthenticated):
    error_id = "bad-mfa-code"


def check_mfa(principal: Principal) -> None:
    """The rule every route and the websocket apply (issue 15): supervisors, compliance and
    admins act only with a session whose login proved a second factor. Without one the
    session can enrol (``/api/auth/mfa/enrol``, ``confirm``), say who it is and log out."""
    if principal.mfa_verified or not mfa.role_requires_mfa(principal.role):
        return
    if not principal.mfa_enrolled:
        raise MfaEnrolmentRequired(
            "this role needs a second factor: enrol one (POST /api/auth/mfa/enrol) first",
            role=principal.role.value,
        )
    raise MfaRequired(
        "this role needs a login with a second factor: log in again with your code",
        role=principal.role.value,
    )


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def principal_of(found: SessionUser) -> Principal:
    user = found.user
    return Principal(
        user.user_id,
        user.username,
        user.role,
        user.branch_id,
        found.session_id,
        found.expires_at,
        mfa_verified=found.mfa_verified,
        mfa_enrolled=found.mfa_enrolled,
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

# How long the MFA step's token lets its holder send a code after the password.
MFA_STEP_SECONDS = 300
MFA_STEP_PURPOSE = "login-mfa-step"
# The known-device cookie: signed with the user's id at each full login, for this long.
DEVICE_COOKIE = "cc_device"
DEVICE_PURPOSE = "known-device"
DEVICE_DAYS = 90


@dataclass(frozen=True)
class LoggedIn:
    token: str  # for the client only: never stored, never logged
    session: SessionUser
    device_token: str  # the known-device cookie's value for this user
    # A role that requires MFA, without a second factor yet: the session may only enrol.
    enrolment_required: bool = False


@dataclass(frozen=True)
class MfaStep:
    """The password was right and the user has a second factor: the code comes next."""

    token: str  # single purpose: names the user to POST /api/auth/mfa, nothing else
    expires_at: dt.datetime


@dataclass(frozen=True)
class LoginContext:
    """Where a login comes from: the client's address (callcenter/api/client_address.py)
    and the known-device cookie it sent, if any."""

    address: str | None
    device_token: str | None = None


def _device_user(box: SecretBox, device_token: str | None, now: dt.datetime) -> int | None:
    if not device_token:
        return None
    payload = box.verify(DEVICE_PURPOSE, device_token, now=now.timestamp())
    uid = None if payload is None else payload.get("uid")
    return uid if isinstance(uid, int) else None


async def log_in(
    db: Database,
    settings: Settings,
    box: SecretBox,
    username: str,
    password: str,
    *,
    context: LoginContext,
    now: dt.datetime,
    passwords: PasswordWork,
) -> LoggedIn | MfaStep:
    """Check the throttle, then the password. A user with a second factor gets the MFA
    step; anyone else a session (a role that requires MFA: one that may only enrol).
    Audited either way."""
    attempt_id, user = await _admit(db, username, context, box, now)
    # Unknown and inactive users are checked against a dummy hash: same time, same answer.
    stored_hash = user.password_hash if user is not None and user.active else None
    verdict = await passwords.check(stored_hash, password)
    if user is None or not verdict.ok:
        async with db.write() as session:
            await record_audit(session, None, "auth.login_failed", detail={"username": username})
        log.info("login failed for a username (see the audit log)")
        raise BadCredentials("wrong username or password")
    async with db.write() as session:
        if verdict.new_hash is not None:
            await sessions.set_password_hash(session, user.user_id, verdict.new_hash)
        enrolled = await mfa.is_enrolled(session, user.user_id)
        if enrolled:
            # The attempt stays a failure until the code is right: re-entering the password
            # must not clear the counters between guesses at the code.
            await record_audit(
                session,
                user.user_id,
                "auth.password_ok",
                detail={"address": context.address, "next": "mfa"},
            )
    if enrolled:
        expires = now + dt.timedelta(seconds=MFA_STEP_SECONDS)
        token = box.sign(
            MFA_STEP_PURPOSE, {"uid": user.user_id, "u": username}, expires=expires.timestamp()
        )
        log.info("user %d gave the password; the second factor is next", user.user_id)
        return MfaStep(token, expires)
    return await _open(
        db,
        settings,
        box,
        user,
        attempt_id,
        context,
        now,
        method="password",
        rehashed=verdict.new_hash is not None,
    )


async def complete_mfa(
    db: Database,
    settings: Settings,
    box: SecretBox,
    step_token: str,
    code: str,
    *,
    context: LoginContext,
    now: dt.datetime,
) -> LoggedIn:
    """The login's second step: the MFA step's token and a TOTP or recovery code. Each try
    counts against the same throttle as a password."""
    payload = box.verify(MFA_STEP_PURPOSE, step_token, now=now.timestamp())
    uid, username = (None, None) if payload is None else (payload.get("uid"), payload.get("u"))
    if not isinstance(uid, int) or not isinstance(username, str):
        raise MfaStepExpired("the login took too long: enter the password again")
    attempt_id, user = await _admit(db, username, context, box, now)
    if user is None or user.user_id != uid or not user.active:
        raise MfaStepExpired("the login took too long: enter the password again")
    async with db.write() as session:
        method = await mfa.check_second_factor(session, box, uid, code, now=now)
        if method is None:
            await record_audit(session, uid, "auth.mfa_failed", detail={"address": context.address})
    if method is None:
        log.info("user %d: a wrong second-factor code", uid)
        raise BadMfaCode("the code is wrong or was used already: wait for the next one")
    return await _open(db, settings, box, user, attempt_id, context, now, method=method)


async def _open(
    db: Database,
    settings: Settings,
    box: SecretBox,
    user: LoginUser,
    attempt_id: int,
    context: LoginContext,
    now: dt.datetime,
    *,
    method: str,
    rehashed: bool = False,
) -> LoggedIn:
    verified = method in ("totp", "recovery")
    async with db.write() as session:
        await sessions.mark_attempt_ok(session, attempt_id)
        token, row = await sessions.open_session(
            session,
            user.user_id,
            now=now,
            lifetime=dt.timedelta(hours=settings.session_hours),
            idle=dt.timedelta(minutes=settings.session_idle_minutes),
            address=context.address,
            mfa_verified=verified,
        )
        opened = SessionUser(
            row.id, row.expires_at, user.info, mfa_verified=verified, mfa_enrolled=verified
        )
        detail = {
            "session_id": row.id,
            "address": context.address,
            "method": method,
            "rehashed": rehashed,
        }
        if method == "recovery":
            detail["recovery_codes_left"] = await mfa.recovery_codes_left(session, user.user_id)
        await record_audit(session, user.user_id, "auth.login", detail=detail)
    log.info("user %d logged in (session %d, %s)", user.user_id, opened.session_id, method)
    device = box.sign(
        DEVICE_PURPOSE,
        {"uid": user.user_id},
        expires=(now + dt.timedelta(days=DEVICE_DAYS)).timestamp(),
    )
    enrol = not verified and mfa.role_requires_mfa(user.info.role)
    return LoggedIn(token, opened, device, enrolment_required=enrol)


async def _admit(
    db: Database, username: str, context: LoginContext, box: SecretBox, now: dt.datetime
) -> tuple[int, LoginUser | None]:
    """Check the throttle and count this attempt as failed, in one short transaction,
    before the (slow) hash or the code is checked outside any transaction. Returns the
    attempt's id and the user named, if any."""
    address = context.address
    async with db.write() as session:
        user = await sessions.user_for_login(session, username)
        known = user is not None and (
            _device_user(box, context.device_token, now) == user.user_id
            or await sessions.has_logged_in_from(session, user.user_id, address, now=now)
        )
        wait = await sessions.login_retry_after(
            session, username, address, now=now, limits=LOGIN_LIMITS, known_device=known
        )
        if wait is None:
            attempt_id = await sessions.record_attempt(session, username, address, now=now)
            return attempt_id, user
        await record_audit(
            session,
            None,
            "auth.login_blocked",
            detail={"username": username, "address": address},
        )
    seconds = max(1, math.ceil(wait.total_seconds()))
    log.warning("login refused: too many failures (retry in %d s)", seconds)
    raise TooManyLogins(
        f"too many failed logins: try again in {seconds} seconds", retry_after_seconds=seconds
    )


# --- enrolling a second factor ----------------------------------------------------------------


async def begin_enrolment(
    db: Database, box: SecretBox, principal: Principal, *, now: dt.datetime
) -> mfa.Enrolment:
    async with db.write() as session:
        enrolment = await mfa.begin_enrolment(
            session, box, principal.user_id, principal.username, now=now
        )
        await record_audit(session, principal.user_id, "auth.mfa_enrolment_begun", detail={})
    return enrolment


async def confirm_enrolment(
    db: Database, box: SecretBox, principal: Principal, code: str, *, now: dt.datetime
) -> list[str]:
    """The code proves the enrolment: it is in force, and this session counts as verified."""
    async with db.write() as session:
        codes = await mfa.confirm_enrolment(session, box, principal.user_id, code, now=now)
        if principal.session_id is not None:
            await sessions.mark_mfa_verified(session, principal.session_id, now=now)
        await record_audit(
            session,
            principal.user_id,
            "auth.mfa_enrolled",
            detail={"session_id": principal.session_id, "recovery_codes": len(codes)},
        )
    log.info("user %d enrolled a second factor", principal.user_id)
    return codes


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
