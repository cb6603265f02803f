"""The second factor in the database, on SQLite and PostgreSQL: the demo's managers enrolled
by the seed, `callcenter users totp-code` (demo secret only) and `callcenter users reset-mfa`."""

from __future__ import annotations

import asyncio
import time

from click.testing import CliRunner
from sqlalchemy import select

from callcenter import totp
from callcenter.cli import main
from callcenter.persistence.db import Database
from callcenter.persistence.mfa import DEMO_TOTP_SECRET
from callcenter.persistence.tables import AuditEntry, User, UserMfa

SECRET_KEY = "db-test-secret-key-0123456789-abcdefgh"


def _cli(database_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        list(args),
        env={"CALLCENTER_DATABASE_URL": database_url, "CALLCENTER_SECRET_KEY": SECRET_KEY},
    )
    return result.exit_code, result.output


async def _enrolled(url: str) -> dict[str, str]:
    db = Database(url)
    try:
        async with db.read() as session:
            rows = await session.execute(
                select(User.username, User.role, UserMfa.secret_sealed).join(
                    UserMfa, UserMfa.user_id == User.id
                )
            )
            return {name: str(role) for name, role, sealed in rows if sealed}
    finally:
        await db.dispose()


async def _resets(url: str) -> list[dict[str, object]]:
    db = Database(url)
    try:
        async with db.read() as session:
            query = select(AuditEntry.detail).where(AuditEntry.action == "auth.mfa_reset")
            return list(await session.scalars(query))
    finally:
        await db.dispose()


def test_the_demo_managers_get_a_demo_factor_whose_code_the_cli_prints(
    database_url: str,
) -> None:
    code, output = _cli(
        database_url, "seed", "--clients", "5", "--as-of", "2026-11-25", "--minimal"
    )
    assert code == 0, output
    assert "totp-code" in output
    enrolled = asyncio.run(_enrolled(database_url))
    assert "admin" in enrolled
    assert "supervisor01" in enrolled
    assert set(enrolled.values()) <= {"supervisor", "admin", "compliance", "quality"}
    assert not any(name.startswith(("agent", "advisor")) for name in enrolled)

    before = time.time()
    code, output = _cli(database_url, "users", "totp-code", "supervisor01")
    assert code == 0, output
    printed = output.split()[0]
    expected = {totp.code_at(DEMO_TOTP_SECRET, t) for t in (before, time.time())}
    assert printed in expected
    # Nobody without the demo secret: an agent has no factor at all.
    code, output = _cli(database_url, "users", "totp-code", "agent01")
    assert code == 1
    assert "not-demo-mfa" in output


def test_reset_mfa_removes_the_factor_and_is_audited(database_url: str) -> None:
    code, output = _cli(
        database_url, "seed", "--clients", "5", "--as-of", "2026-11-25", "--minimal"
    )
    assert code == 0, output
    code, output = _cli(database_url, "users", "reset-mfa", "supervisor02")
    assert code == 0, output
    assert "second factor reset for supervisor02" in output
    assert "supervisor02" not in asyncio.run(_enrolled(database_url))
    assert "supervisor01" in asyncio.run(_enrolled(database_url))
    [detail] = asyncio.run(_resets(database_url))
    assert detail["via"] == "cli"
    assert detail["had_mfa"] is True
    code, output = _cli(database_url, "users", "totp-code", "supervisor02")
    assert code == 1
    code, output = _cli(database_url, "users", "reset-mfa", "nobody")
    assert code == 1
    assert "unknown-user" in output


def test_a_secret_sealed_under_another_key_is_not_printed(database_url: str) -> None:
    code, output = _cli(
        database_url, "seed", "--clients", "5", "--as-of", "2026-11-25", "--minimal"
    )
    assert code == 0, output
    result = CliRunner().invoke(
        main,
        ["users", "totp-code", "admin"],
        env={
            "CALLCENTER_DATABASE_URL": database_url,
            "CALLCENTER_SECRET_KEY": "another-key-entirely-0123456789-xyz",
        },
    )
    assert result.exit_code == 1
    assert "secret-key" in result.output
    assert totp.code_at(DEMO_TOTP_SECRET, time.time()) not in result.output
