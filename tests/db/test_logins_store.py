"""Logins in the database, on SQLite and PostgreSQL: the demo users' password from the seed,
`callcenter users set-password`, and the session checks the websocket shares with REST."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from callcenter.api.auth import origin_allowed, principal_for_token
from callcenter.cli import main
from callcenter.crm.vocabulary import Role
from callcenter.passwords import check_password
from callcenter.persistence import sessions
from callcenter.persistence.db import Database
from callcenter.persistence.seed import seed_demo
from callcenter.persistence.tables import AuditEntry, User, UserSession
from callcenter.settings import load_settings

AS_OF = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)


async def _users(url: str) -> list[tuple[str, str | None]]:
    db = Database(url)
    try:
        async with db.read() as session:
            rows = await session.execute(select(User.username, User.password_hash))
            return [(name, stored) for name, stored in rows]
    finally:
        await db.dispose()


async def test_demo_users_share_one_hash_of_the_demo_password(database_url: str) -> None:
    await seed_demo(
        database_url, clients=5, as_of=AS_OF, history=False, demo_password="demo-pass-123"
    )
    users = await _users(database_url)
    hashes = {stored for _name, stored in users}
    assert len(users) > 40
    assert len(hashes) == 1  # hashed once: seeding stays fast
    [stored] = hashes
    assert stored is not None
    assert check_password(stored, "demo-pass-123").ok
    assert not check_password(stored, "demo-only-2026").ok


async def test_without_a_demo_password_no_one_can_log_in(database_url: str) -> None:
    await seed_demo(database_url, clients=5, as_of=AS_OF, history=False)
    assert {stored for _name, stored in await _users(database_url)} == {None}


def test_the_seed_command_gives_the_demo_password_once(database_url: str) -> None:
    result = CliRunner().invoke(
        main,
        ["seed", "--clients", "5", "--as-of", "2026-11-25", "--minimal"],
        env={"CALLCENTER_DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("demo-only-2026") == 1
    assert "demo-only" in result.output
    stored = asyncio.run(_users(database_url))[0][1]
    assert stored is not None
    assert check_password(stored, "demo-only-2026").ok


def test_set_password_prompts_hashes_ends_sessions_and_audits(database_url: str) -> None:
    env = {"CALLCENTER_DATABASE_URL": database_url}
    runner = CliRunner()
    seeded = runner.invoke(main, ["seed", "--clients", "5", "--minimal"], env=env)
    assert seeded.exit_code == 0, seeded.output

    async def open_one() -> int:
        db = Database(database_url)
        try:
            async with db.write() as session:
                user_id = await session.scalar(select(User.id).where(User.username == "agent01"))
                assert user_id is not None
                await sessions.open_session(
                    session,
                    user_id,
                    now=dt.datetime.now(dt.UTC),
                    lifetime=dt.timedelta(hours=1),
                    idle=dt.timedelta(hours=1),
                    address=None,
                )
                return user_id
        finally:
            await db.dispose()

    user_id = asyncio.run(open_one())
    result = runner.invoke(
        main, ["users", "set-password", "agent01"], env=env, input="new passphrase 7\n" * 2
    )
    assert result.exit_code == 0, result.output
    assert "password set for agent01; 1 session(s) ended" in result.output
    assert "new passphrase 7" not in result.output  # prompted without echo

    async def check() -> None:
        db = Database(database_url)
        try:
            async with db.read() as session:
                stored = await session.scalar(select(User.password_hash).where(User.id == user_id))
                live = await session.scalar(
                    select(func.count())
                    .select_from(UserSession)
                    .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                )
                [entry] = await session.scalars(
                    select(AuditEntry).where(AuditEntry.action == "auth.password_set")
                )
                detail = entry.detail
            assert stored is not None
            assert check_password(stored, "new passphrase 7").ok
            assert live == 0
            assert detail == {"user_id": user_id, "username": "agent01", "via": "cli"}
        finally:
            await db.dispose()

    asyncio.run(check())


def test_set_password_refuses_unknown_users_and_short_passwords(database_url: str) -> None:
    env = {"CALLCENTER_DATABASE_URL": database_url}
    runner = CliRunner()
    assert runner.invoke(main, ["seed", "--clients", "5", "--minimal"], env=env).exit_code == 0
    unknown = runner.invoke(
        main, ["users", "set-password", "nobody"], env=env, input="long enough pass\n" * 2
    )
    assert unknown.exit_code == 1
    assert "unknown-user" in unknown.output
    short = runner.invoke(main, ["users", "set-password", "agent02"], env=env, input="short\n" * 2)
    assert short.exit_code == 1
    assert "at least 10 characters" in short.output


# --- the session check the websocket uses ------------------------------------------------------


@pytest.fixture
async def agent_id(database: Database) -> int:
    async with database.write() as session:
        user = User(username="ws-agent", display_name="WS Agent", role=Role.AGENT, active=True)
        session.add(user)
        await session.flush()
        return user.id


async def _open(database: Database, user_id: int) -> str:
    async with database.write() as session:
        token, _row = await sessions.open_session(
            session,
            user_id,
            now=NOW,
            lifetime=dt.timedelta(hours=12),
            idle=dt.timedelta(minutes=60),
            address="192.0.2.1",
        )
    return token


async def test_principal_for_token_judges_expiry_idleness_and_revocation(
    database: Database, agent_id: int
) -> None:
    token = await _open(database, agent_id)
    principal = await principal_for_token(database, token, now=NOW + dt.timedelta(minutes=59))
    assert principal is not None
    assert (principal.user_id, principal.username, principal.role) == (
        agent_id,
        "ws-agent",
        Role.AGENT,
    )
    assert principal.session_expires_at == NOW + dt.timedelta(hours=12)
    # Idle for an hour since the check above (which counted as activity): ended.
    assert await principal_for_token(database, token, now=NOW + dt.timedelta(minutes=119)) is None
    assert await principal_for_token(database, "", now=NOW) is None
    assert await principal_for_token(database, token + "x", now=NOW) is None

    other = await _open(database, agent_id)
    assert await principal_for_token(database, other, now=NOW + dt.timedelta(hours=12)) is None
    principal = await principal_for_token(database, other, now=NOW)
    assert principal is not None
    assert principal.session_id is not None
    async with database.write() as session:
        assert await sessions.revoke_session(session, principal.session_id, now=NOW)
        assert not await sessions.revoke_session(session, principal.session_id, now=NOW)
    assert await principal_for_token(database, other, now=NOW) is None


def test_origin_allowed_matches_the_configured_origins_exactly() -> None:
    default = load_settings(pbx_enabled=False, http_port=8080)
    assert origin_allowed(default, "http://127.0.0.1:8080")
    assert origin_allowed(default, "http://LOCALHOST:8080/")
    for bad in (None, "", "null", "http://127.0.0.1:8081", "https://127.0.0.1:8080",
                "http://127.0.0.1:8080.evil.example", "http://evil.example"):  # fmt: skip
        assert not origin_allowed(default, bad), bad
    moved = load_settings(pbx_enabled=False, http_port=9000)
    assert origin_allowed(moved, "http://localhost:9000")
    configured = load_settings(
        pbx_enabled=False, allowed_origins="https://cc.example.com, https://desk.example.com"
    )
    assert origin_allowed(configured, "https://desk.example.com")
    assert not origin_allowed(configured, "http://127.0.0.1:8080")


async def test_opening_a_session_prunes_those_ended_over_a_month_ago(
    database: Database, agent_id: int
) -> None:
    async def open_at(now: dt.datetime, lifetime: dt.timedelta = dt.timedelta(hours=12)) -> str:
        async with database.write() as session:
            token, _row = await sessions.open_session(
                session,
                agent_id,
                now=now,
                lifetime=lifetime,
                idle=dt.timedelta(minutes=60),
                address=None,
            )
        return token

    month = sessions.KEEP_ENDED_SESSIONS
    expired = await open_at(NOW - month - dt.timedelta(hours=13))  # ended a month + 1 h ago
    kept = await open_at(NOW - month + dt.timedelta(hours=1))  # ended within the month
    # Revoked a month and a day ago, though it would not have expired yet.
    revoked = await open_at(NOW - month - dt.timedelta(days=2), lifetime=2 * month)
    found = await principal_for_token(database, revoked, now=NOW - month - dt.timedelta(days=2))
    assert found is not None
    assert found.session_id is not None
    async with database.write() as session:
        await sessions.revoke_session(
            session, found.session_id, now=NOW - month - dt.timedelta(days=1)
        )
    latest = await open_at(NOW)
    async with database.read() as session:
        hashes = set(await session.scalars(select(UserSession.token_hash)))
    assert hashes == {sessions.token_hash(kept), sessions.token_hash(latest)}
    assert sessions.token_hash(expired) not in hashes
    assert sessions.token_hash(revoked) not in hashes
