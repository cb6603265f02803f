"""Staff accounts as the admin console keeps them: list, create, change role, branch,
extension and whether the account is active, and set a new password.

Every change is audited in its own transaction (``admin.user.create``, ``admin.user.update``
with the fields changed from what to what, ``admin.user.password_reset``); a password or its
hash never reaches the audit log or a log line. Deactivating a user, and setting their
password, ends every session they hold (callcenter/persistence/sessions.py), so the change
takes effect at their next request. An admin cannot deactivate themselves or take away their
own admin role: the console must never be left without the person using it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.vocabulary import Role
from callcenter.errors import Conflict, InvalidInput, NotFound
from callcenter.persistence.audit import record_audit
from callcenter.persistence.sessions import revoke_user_sessions
from callcenter.persistence.tables import Branch, User, utcnow

log = logging.getLogger(__name__)

# Roles whose work is one branch's (营业部): they need a branch.
BRANCH_ROLES = frozenset({Role.BRANCH})


class UserNotFound(NotFound):
    error_id = "user-not-found"


class UsernameTaken(Conflict):
    error_id = "username-taken"


class ExtensionTaken(Conflict):
    error_id = "extension-taken"


class UnknownBranch(InvalidInput):
    error_id = "unknown-branch"


class BranchRequired(InvalidInput):
    error_id = "branch-required"


class SelfLockout(Conflict):
    error_id = "admin-self-lockout"


@dataclass(frozen=True)
class BranchRecord:
    branch_id: int
    code: str
    name: str
    name_en: str


@dataclass(frozen=True)
class UserRecord:
    user_id: int
    username: str
    display_name: str
    role: Role
    branch_id: int | None
    extension: str | None
    active: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    role: Role
    branch_id: int | None
    extension: str | None


# The fields a change may name (None values clear branch or extension).
CHANGEABLE = ("display_name", "role", "branch_id", "extension", "active")


def _record(user: User) -> UserRecord:
    return UserRecord(
        user.id,
        user.username,
        user.display_name,
        Role(user.role),
        user.branch_id,
        user.extension,
        user.active,
        user.created_at,
    )


async def list_branches(session: AsyncSession) -> list[BranchRecord]:
    rows = await session.scalars(select(Branch).order_by(Branch.code))
    return [BranchRecord(b.id, b.code, b.name, b.name_en) for b in rows]


async def list_users(
    session: AsyncSession, *, role: Role | None = None, active: bool | None = None
) -> list[UserRecord]:
    stmt = select(User).order_by(User.username)
    if role is not None:
        stmt = stmt.where(User.role == role.value)
    if active is not None:
        stmt = stmt.where(User.active == active)
    return [_record(user) for user in await session.scalars(stmt)]


async def get_user(session: AsyncSession, user_id: int) -> UserRecord:
    return _record(await _locked(session, user_id, lock=False))


async def _locked(session: AsyncSession, user_id: int, *, lock: bool = True) -> User:
    stmt = select(User).where(User.id == user_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    user = await session.scalar(stmt)
    if user is None:
        raise UserNotFound(f"no user {user_id}", user_id=user_id)
    return user


async def _check_fields(
    session: AsyncSession,
    *,
    user_id: int | None,
    username: str | None,
    role: Role,
    branch_id: int | None,
    extension: str | None,
) -> None:
    """The rules a user's fields keep, the schema aside: a known branch, one for branch
    staff, and a username and extension no one else has."""
    if branch_id is not None and await session.get(Branch, branch_id) is None:
        raise UnknownBranch(f"no branch {branch_id}", field="branch_id")
    if role in BRANCH_ROLES and branch_id is None:
        raise BranchRequired(f"a {role} user works for a branch: choose one", field="branch_id")
    if username is not None:
        taken = await session.scalar(select(User.id).where(User.username == username))
        if taken is not None:
            raise UsernameTaken(f"the username {username!r} is taken", field="username")
    if extension is not None:
        holder = await session.scalar(
            select(User.username).where(User.extension == extension, User.id != (user_id or 0))
        )
        if holder is not None:
            raise ExtensionTaken(
                f"extension {extension} is {holder}'s", field="extension", holder=holder
            )


async def create_user(
    session: AsyncSession,
    new: NewUser,
    password_hash: str,
    *,
    by_user_id: int,
    at: dt.datetime | None = None,
) -> UserRecord:
    await _check_fields(
        session,
        user_id=None,
        username=new.username,
        role=new.role,
        branch_id=new.branch_id,
        extension=new.extension,
    )
    user = User(
        username=new.username,
        display_name=new.display_name,
        role=new.role,
        branch_id=new.branch_id,
        extension=new.extension,
        password_hash=password_hash,
        active=True,
        created_at=at or utcnow(),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as clash:  # created by someone else since the check (PostgreSQL)
        raise UsernameTaken(
            f"the username {new.username!r} or extension was just taken", field="username"
        ) from clash
    await record_audit(
        session,
        by_user_id,
        "admin.user.create",
        detail={
            "user_id": user.id,
            "username": user.username,
            "role": new.role.value,
            "branch_id": new.branch_id,
            "extension": new.extension,
        },
    )
    log.info("user %s created (%s)", user.id, new.role)
    return _record(user)


async def change_user(
    session: AsyncSession,
    user_id: int,
    changes: Mapping[str, Any],
    *,
    by_user_id: int,
    now: dt.datetime | None = None,
) -> tuple[UserRecord, int]:
    """Apply ``changes`` (a subset of :data:`CHANGEABLE`); audited. Returns the user and how
    many sessions ended (deactivating ends them all)."""
    user = await _locked(session, user_id)
    before = {name: _value(getattr(user, name)) for name in CHANGEABLE}
    after = {**before, **{k: _value(v) for k, v in changes.items() if k in CHANGEABLE}}
    if user_id == by_user_id and (after["active"] is False or after["role"] != Role.ADMIN.value):
        raise SelfLockout(
            "you cannot deactivate yourself or give up your own admin role: ask another admin",
            field="active" if after["active"] is False else "role",
        )
    await _check_fields(
        session,
        user_id=user_id,
        username=None,
        role=Role(after["role"]),
        branch_id=after["branch_id"],
        extension=after["extension"] if after["extension"] != before["extension"] else None,
    )
    diff = {k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v}
    for name in diff:
        setattr(user, name, Role(after[name]) if name == "role" else after[name])
    try:
        await session.flush()
    except IntegrityError as clash:
        raise ExtensionTaken("that extension was just taken", field="extension") from clash
    ended = 0
    if diff.get("active", {}).get("to") is False:
        ended = await revoke_user_sessions(session, user_id, now=now or utcnow())
    if diff:
        await record_audit(
            session,
            by_user_id,
            "admin.user.update",
            detail={
                "user_id": user_id,
                "username": user.username,
                "changes": diff,
                "sessions_ended": ended,
            },
        )
        log.info("user %s changed: %s", user_id, ", ".join(sorted(diff)))
    return _record(user), ended


def _value(value: Any) -> Any:
    return value.value if isinstance(value, Role) else value


async def set_password(
    session: AsyncSession,
    user_id: int,
    password_hash: str,
    *,
    by_user_id: int,
    now: dt.datetime | None = None,
) -> int:
    """A new password set by an admin: every session of the user ends. Audited (never the
    password). Returns how many sessions ended."""
    user = await _locked(session, user_id)
    user.password_hash = password_hash
    await session.flush()
    ended = await revoke_user_sessions(session, user_id, now=now or utcnow())
    await record_audit(
        session,
        by_user_id,
        "admin.user.password_reset",
        detail={"user_id": user_id, "username": user.username, "sessions_ended": ended},
    )
    log.info("user %s: password set by an admin, %s sessions ended", user_id, ended)
    return ended
