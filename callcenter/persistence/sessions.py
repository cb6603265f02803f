"""Login sessions and login attempts (tables ``user_sessions`` and ``login_attempts``).

A session is named by a random token (``secrets.token_urlsafe(32)``: 256 bits) that only its
holder has: the table keeps the token's SHA-256, never the token, and nothing here logs either.
A plain hash suffices (no salt, no slow hash): the token is random and long, so there is
nothing to guess, and the lookup stays one indexed read.

A session ends at the first of: its absolute expiry (a shift), its idle timeout (no request
for that long), its revocation (logout, a password change, an MFA reset), or its user's
deactivation. It records whether its login proved a second factor (``mfa_verified_at``).

Login attempts feed the throttle (:class:`LoginLimits`): back-offs that double, never a lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.vocabulary import Role
from callcenter.errors import NotFound
from callcenter.passwords import hash_password_async
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.tables import LoginAttempt, User, UserMfa, UserSession

# last_seen_at is written at most this often per session: a busy desktop's requests stay
# reads. So a session may be judged idle up to this much early; with idle timeouts of many
# minutes that is immaterial.
TOUCH_EVERY = dt.timedelta(minutes=1)

# Login attempts older than this are deleted (the audit log keeps the logins themselves);
# far longer than any rate-limit window.
KEEP_ATTEMPTS = dt.timedelta(days=1)

# Sessions ended (expired or revoked) longer ago than this are deleted when a new one opens:
# the table holds the live ones and a month of history, not every login since the start.
KEEP_ENDED_SESSIONS = dt.timedelta(days=30)

# An attacker may retry as fast as the server answers; a bound on the rows read per check.
_MAX_ROWS = 200


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class UserInfo:
    """A user as a logged-in person sees themselves."""

    user_id: int
    username: str
    display_name: str
    role: Role
    branch_id: int | None
    extension: str | None

    @classmethod
    def of(cls, user: User) -> UserInfo:
        return cls(
            user.id,
            user.username,
            user.display_name,
            Role(user.role),
            user.branch_id,
            user.extension,
        )


@dataclass(frozen=True)
class SessionUser:
    """A live session and the user who holds it."""

    session_id: int
    expires_at: dt.datetime
    user: UserInfo
    # The login proved a second factor (or the session enrolled one).
    mfa_verified: bool = False
    # The user has a confirmed second factor.
    mfa_enrolled: bool = False


@dataclass(frozen=True)
class LoginUser:
    """What a login needs to know about a username."""

    info: UserInfo
    password_hash: str | None
    active: bool

    @property
    def user_id(self) -> int:
        return self.info.user_id


async def user_for_login(session: AsyncSession, username: str) -> LoginUser | None:
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        return None
    return LoginUser(UserInfo.of(user), user.password_hash, user.active)


async def user_info(session: AsyncSession, user_id: int) -> UserInfo | None:
    user = await session.get(User, user_id)
    return None if user is None else UserInfo.of(user)


async def set_password_hash(session: AsyncSession, user_id: int, password_hash: str) -> bool:
    result = await session.execute(
        update(User).where(User.id == user_id).values(password_hash=password_hash)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


class UnknownUser(NotFound):
    error_id = "unknown-user"


async def set_password(url: str, username: str, password: str) -> int:
    """Give ``username`` a new password (``callcenter users set-password``) and end their
    sessions, so a leaked password stops working at once. Audited. Returns how many sessions
    were ended. Raises :class:`callcenter.passwords.WeakPassword` or :class:`UnknownUser`."""
    password_hash = await hash_password_async(password)
    now = dt.datetime.now(dt.UTC)
    db = Database(url)
    try:
        async with db.write() as session:
            user = await user_for_login(session, username)
            if user is None:
                raise UnknownUser(f"no user is named {username!r}", username=username)
            await set_password_hash(session, user.user_id, password_hash)
            ended = await revoke_user_sessions(session, user.user_id, now=now)
            await record_audit(
                session,
                None,
                "auth.password_set",
                detail={"user_id": user.user_id, "username": username, "via": "cli"},
            )
    finally:
        await db.dispose()
    return ended


async def open_session(
    session: AsyncSession,
    user_id: int,
    *,
    now: dt.datetime,
    lifetime: dt.timedelta,
    idle: dt.timedelta,
    address: str | None,
    mfa_verified: bool = False,
) -> tuple[str, UserSession]:
    """A new session for ``user_id``: its token (for the holder only) and its row, which
    records whether the login proved a second factor. Prunes sessions that ended over
    :data:`KEEP_ENDED_SESSIONS` ago (the audit log keeps logins)."""
    ended_before = now - KEEP_ENDED_SESSIONS
    await session.execute(
        delete(UserSession).where(
            or_(UserSession.expires_at < ended_before, UserSession.revoked_at < ended_before)
        )
    )
    token = new_token()
    row = UserSession(
        user_id=user_id,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + lifetime,
        idle_seconds=int(idle.total_seconds()),
        last_seen_at=now,
        revoked_at=None,
        client_address=address,
        mfa_verified_at=now if mfa_verified else None,
    )
    session.add(row)
    await session.flush()
    return token, row


async def find_session(db: Database, token: str, *, now: dt.datetime) -> SessionUser | None:
    """The live session named by ``token``, or None (unknown, expired, idle, revoked, or its
    user deactivated). Touches ``last_seen_at`` at most once per :data:`TOUCH_EVERY`."""
    statement = (
        select(UserSession, User, UserMfa.confirmed_at)
        .join(User, User.id == UserSession.user_id)
        .outerjoin(UserMfa, UserMfa.user_id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash(token))
    )
    async with db.read() as session:
        row = (await session.execute(statement)).one_or_none()
        if row is None:
            return None
        found, user, mfa_confirmed_at = row
        # Copied inside the unit of work: read() ends with a rollback, which expires rows.
        last_seen, idle = found.last_seen_at, dt.timedelta(seconds=found.idle_seconds)
        live = (
            found.revoked_at is None
            and now < found.expires_at
            and now - last_seen < idle
            and user.active
        )
        result = SessionUser(
            found.id,
            found.expires_at,
            UserInfo.of(user),
            mfa_verified=found.mfa_verified_at is not None,
            mfa_enrolled=mfa_confirmed_at is not None,
        )
    if not live:
        return None
    if now - last_seen >= TOUCH_EVERY:
        async with db.write() as session:
            # Conditional: of several workers seeing the same stale time, one writes.
            await session.execute(
                update(UserSession)
                .where(
                    UserSession.id == result.session_id,
                    UserSession.last_seen_at < now - TOUCH_EVERY,
                )
                .values(last_seen_at=now)
            )
    return result


async def mark_mfa_verified(session: AsyncSession, session_id: int, *, now: dt.datetime) -> None:
    """The session proved a second factor (it confirmed an enrolment)."""
    await session.execute(
        update(UserSession).where(UserSession.id == session_id).values(mfa_verified_at=now)
    )


async def revoke_session(session: AsyncSession, session_id: int, *, now: dt.datetime) -> bool:
    """End one session; False if it had ended already."""
    result = await session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_user_sessions(session: AsyncSession, user_id: int, *, now: dt.datetime) -> int:
    """End every session of a user (after a password change); how many were live."""
    result = await session.execute(
        update(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
        .values(revoked_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- login throttling -------------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """After ``free`` failures, each further attempt waits ``base`` doubled per failure past
    ``free``, at most ``cap``, counted from the latest failure."""

    free: int
    base: dt.timedelta = dt.timedelta(seconds=1)
    cap: dt.timedelta = dt.timedelta(minutes=15)

    def wait(self, failures: int) -> dt.timedelta | None:
        if failures < self.free:
            return None
        doublings: int = min(failures - self.free, 30)  # 2**30 s is past any cap
        return min(self.cap, self.base * (1 << doublings))


@dataclass(frozen=True)
class LoginLimits:
    """Three back-offs over the failures of the last ``window``, none of them a hard lock:

    * ``per_pair``: one account from one address (a guesser in one place); a success of
      that account from there clears it;
    * ``per_address``: every account from one address (password spraying); successes do not
      clear it, or a guesser with an account of their own could clear it at will;
    * ``per_account``: one account from everywhere (a guesser with many addresses), with a
      higher threshold; a success clears it, and a known device (one that logged in to
      this account before) is never held back by it, so a stranger failing elsewhere cannot
      keep the user out.
    """

    window: dt.timedelta = dt.timedelta(hours=1)
    per_pair: Backoff = Backoff(free=5)
    per_address: Backoff = Backoff(free=20)
    per_account: Backoff = Backoff(free=10)


async def _failures(
    session: AsyncSession, since: dt.datetime, *where: ColumnElement[bool], reset_by_success: bool
) -> list[dt.datetime]:
    """The times of the recent failures matching ``where``, newest first (those before the
    latest success only, with ``reset_by_success``)."""
    recent = await session.execute(
        select(LoginAttempt.at, LoginAttempt.ok)
        .where(LoginAttempt.at > since, *where)
        .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc())
        .limit(_MAX_ROWS)
    )
    failures: list[dt.datetime] = []
    for at, ok in recent:
        if ok:
            if reset_by_success:
                break
            continue
        failures.append(at)
    return failures


def _wait(failures: list[dt.datetime], backoff: Backoff, now: dt.datetime) -> dt.timedelta:
    wait = backoff.wait(len(failures))
    if wait is None or not failures:
        return dt.timedelta(0)
    return failures[0] + wait - now


async def login_retry_after(
    session: AsyncSession,
    username: str,
    address: str | None,
    *,
    now: dt.datetime,
    limits: LoginLimits,
    known_device: bool = False,
) -> dt.timedelta | None:
    """How long until a login for ``username`` from ``address`` may be tried; None: now."""
    since = now - limits.window
    waits = [
        _wait(
            await _failures(
                session,
                since,
                LoginAttempt.username == username,
                reset_by_success=True,
            ),
            limits.per_account,
            now,
        )
        if not known_device
        else dt.timedelta(0)
    ]
    if address is not None:
        pair = await _failures(
            session,
            since,
            LoginAttempt.username == username,
            LoginAttempt.address == address,
            reset_by_success=True,
        )
        waits.append(_wait(pair, limits.per_pair, now))
        spray = await _failures(
            session, since, LoginAttempt.address == address, reset_by_success=False
        )
        waits.append(_wait(spray, limits.per_address, now))
    longest = max(waits)
    return longest if longest > dt.timedelta(0) else None


async def has_logged_in_from(
    session: AsyncSession, user_id: int, address: str | None, *, now: dt.datetime
) -> bool:
    """Whether ``user_id`` opened a session from ``address`` in the last
    :data:`KEEP_ENDED_SESSIONS` (the session history as a known device)."""
    if address is None:
        return False
    found = await session.scalar(
        select(UserSession.id)
        .where(
            UserSession.user_id == user_id,
            UserSession.client_address == address,
            UserSession.created_at > now - KEEP_ENDED_SESSIONS,
        )
        .limit(1)
    )
    return found is not None


async def record_attempt(
    session: AsyncSession, username: str, address: str | None, *, now: dt.datetime
) -> int:
    """Count an attempt as failed before its password is checked; :func:`mark_attempt_ok`
    clears it. So concurrent guesses are counted even while their hashes are being checked,
    and an attempt cut short (a crash, a cancelled request) still counts. Prunes old rows."""
    await session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP_ATTEMPTS))
    row = LoginAttempt(username=username, address=address, at=now, ok=False)
    session.add(row)
    await session.flush()
    return row.id


async def mark_attempt_ok(session: AsyncSession, attempt_id: int) -> None:
    await session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(ok=True))
