"""A user's second factor (tables ``user_mfa`` and ``mfa_recovery_codes``): TOTP enrolment,
its confirmation with ten single-use recovery codes, the check at login, and the reset.

The TOTP secret is sealed with the service's secret key (callcenter/secretbox.py), its row
id the associated data; recovery codes are kept as keyed hashes. Neither a secret, a code nor
a recovery code is logged or audited. Accepting a code is one conditional UPDATE (the step
must be later than the last one used; a recovery code must be unused), so of two logins
racing with the same code, one wins.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import totp
from callcenter.crm.vocabulary import Role
from callcenter.errors import Conflict, InvalidInput
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.sessions import UnknownUser, revoke_user_sessions, user_for_login
from callcenter.persistence.tables import MfaRecoveryCode, User, UserMfa
from callcenter.secretbox import SecretBox

# Roles that may not use the system without a second factor (issue 15); the others may
# enrol if they wish.
MFA_REQUIRED_ROLES = frozenset({Role.SUPERVISOR, Role.COMPLIANCE, Role.QUALITY, Role.ADMIN})

ISSUER = "Callcenter"
# The demo's managers share this published TOTP secret (callcenter seed; README): demo data
# only. ``callcenter users totp-code`` prints codes for it and for no other secret.
DEMO_TOTP_SECRET = "DEMOONLYCALLCENTERDEMOONLYSECRET"  # noqa: S105
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_PURPOSE = "mfa-recovery-code"


class MfaAlreadyEnrolled(Conflict):
    error_id = "mfa-already-enrolled"


class MfaNotEnrolling(Conflict):
    error_id = "mfa-not-enrolling"


class BadMfaCode(InvalidInput):
    error_id = "bad-mfa-code"


def role_requires_mfa(role: Role) -> bool:
    return role in MFA_REQUIRED_ROLES


def _context(user_id: int) -> str:
    return f"user_mfa:{user_id}"


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_recovery_code() -> str:
    chars = [secrets.choice(_RECOVERY_ALPHABET) for _ in range(10)]  # ~49 bits
    return "".join(chars[:5]) + "-" + "".join(chars[5:])


@dataclass(frozen=True)
class Enrolment:
    """What the user copies into an authenticator app, once."""

    secret: str
    otpauth_uri: str


async def is_enrolled(session: AsyncSession, user_id: int) -> bool:
    confirmed = await session.scalar(select(UserMfa.confirmed_at).where(UserMfa.user_id == user_id))
    return confirmed is not None


async def begin_enrolment(
    session: AsyncSession, box: SecretBox, user_id: int, username: str, *, now: dt.datetime
) -> Enrolment:
    """A new secret for ``user_id``, not yet in force (:func:`confirm_enrolment` puts it
    there). Replaces an enrolment begun earlier; refused once one is confirmed (an admin
    resets it first: ``callcenter users reset-mfa``)."""
    row = await session.get(UserMfa, user_id, with_for_update=True)
    if row is not None and row.confirmed_at is not None:
        raise MfaAlreadyEnrolled("this user has a second factor already; an admin can reset it")
    secret = totp.new_secret()
    sealed = box.seal(secret, context=_context(user_id))
    if row is None:
        session.add(UserMfa(user_id=user_id, secret_sealed=sealed, created_at=now))
    else:
        row.secret_sealed, row.created_at, row.last_used_step = sealed, now, None
    await session.flush()
    return Enrolment(secret, totp.otpauth_uri(secret, username, ISSUER))


async def confirm_enrolment(
    session: AsyncSession, box: SecretBox, user_id: int, code: str, *, now: dt.datetime
) -> list[str]:
    """Put the begun enrolment in force with a code from the app; the recovery codes, in
    clear for this once (only their keyed hashes are stored)."""
    row = await session.get(UserMfa, user_id, with_for_update=True)
    if row is None or row.confirmed_at is not None:
        raise MfaNotEnrolling("no enrolment is waiting for a code: begin one first")
    secret = box.open(row.secret_sealed, context=_context(user_id))
    step = totp.verify(secret, code, now.timestamp())
    if step is None:
        raise BadMfaCode("the code does not match: check the app's time and try the next code")
    row.confirmed_at, row.last_used_step = now, step
    return await _new_recovery_codes(session, box, user_id)


async def _new_recovery_codes(session: AsyncSession, box: SecretBox, user_id: int) -> list[str]:
    await session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(
        MfaRecoveryCode(
            user_id=user_id,
            code_hash=box.keyed_hash(_RECOVERY_PURPOSE, _normalise_recovery(code)),
        )
        for code in codes
    )
    await session.flush()
    return codes


async def enrol_with_secret(
    session: AsyncSession, box: SecretBox, user_id: int, secret: str, *, now: dt.datetime
) -> None:
    """Enrol ``user_id`` with a known secret, confirmed, no recovery codes: the demo's
    managers only (callcenter/persistence/seed.py)."""
    session.add(
        UserMfa(
            user_id=user_id,
            secret_sealed=box.seal(secret, context=_context(user_id)),
            created_at=now,
            confirmed_at=now,
        )
    )
    await session.flush()


async def check_second_factor(
    session: AsyncSession, box: SecretBox, user_id: int, code: str, *, now: dt.datetime
) -> str | None:
    """Accept ``code`` for ``user_id``'s confirmed second factor: "totp" or "recovery" for
    what it was, None if refused. Six digits are a TOTP code, anything else a recovery code.
    Either is used up by accepting it."""
    row = await session.get(UserMfa, user_id)
    if row is None or row.confirmed_at is None:
        return None
    code = code.strip()
    if code.replace(" ", "").isdigit():
        secret = box.open(row.secret_sealed, context=_context(user_id))
        step = totp.verify(secret, code, now.timestamp(), last_used_step=row.last_used_step)
        if step is None:
            return None
        result = await session.execute(
            update(UserMfa)
            .where(
                UserMfa.user_id == user_id,
                or_(UserMfa.last_used_step.is_(None), UserMfa.last_used_step < step),
            )
            .values(last_used_step=step)
        )
        return "totp" if result.rowcount else None  # type: ignore[attr-defined]
    code_hash = box.keyed_hash(_RECOVERY_PURPOSE, _normalise_recovery(code))
    result = await session.execute(
        update(MfaRecoveryCode)
        .where(
            MfaRecoveryCode.user_id == user_id,
            MfaRecoveryCode.code_hash == code_hash,
            MfaRecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return "recovery" if result.rowcount else None  # type: ignore[attr-defined]


async def recovery_codes_left(session: AsyncSession, user_id: int) -> int:
    rows = await session.scalars(
        select(MfaRecoveryCode.id).where(
            MfaRecoveryCode.user_id == user_id, MfaRecoveryCode.used_at.is_(None)
        )
    )
    return len(list(rows))


async def reset(session: AsyncSession, user_id: int) -> bool:
    """Remove ``user_id``'s second factor and recovery codes; False if there was none."""
    await session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id))
    result = await session.execute(delete(UserMfa).where(UserMfa.user_id == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def current_secret(session: AsyncSession, box: SecretBox, username: str) -> str | None:
    """The TOTP secret of ``username`` in clear, or None: for the demo's code printer only
    (``callcenter users totp-code``), which refuses any but the demo secret."""
    row = await session.scalar(
        select(UserMfa).join(User, User.id == UserMfa.user_id).where(User.username == username)
    )
    if row is None or row.confirmed_at is None:
        return None
    return box.open(row.secret_sealed, context=_context(row.user_id))


async def reset_user_mfa(
    session: AsyncSession, user_id: int, *, actor_id: int | None, via: str, now: dt.datetime
) -> int:
    """An admin's reset of ``user_id``'s second factor (a lost phone): the secret and the
    recovery codes go, and every session of the user ends, so the next login enrols again.
    Audited. Returns how many sessions ended. For the CLI and the admin console."""
    had = await reset(session, user_id)
    ended = await revoke_user_sessions(session, user_id, now=now)
    await record_audit(
        session,
        actor_id,
        "auth.mfa_reset",
        detail={"user_id": user_id, "had_mfa": had, "sessions_ended": ended, "via": via},
    )
    return ended


async def reset_mfa_by_username(url: str, username: str) -> int:
    """``callcenter users reset-mfa``: :func:`reset_user_mfa` by username. Raises
    :class:`callcenter.persistence.sessions.UnknownUser`."""
    db = Database(url)
    try:
        async with db.write() as session:
            user = await user_for_login(session, username)
            if user is None:
                raise UnknownUser(f"no user is named {username!r}", username=username)
            return await reset_user_mfa(
                session, user.user_id, actor_id=None, via="cli", now=dt.datetime.now(dt.UTC)
            )
    finally:
        await db.dispose()
