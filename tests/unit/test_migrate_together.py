"""Two instances of a cluster starting together both upgrade the schema at their start
(``database_auto_migrate``): on PostgreSQL the upgrades take turns, and each ends at head."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import Iterator

import asyncpg
import pytest

from callcenter.persistence import migrate
from tests.conftest import PG_ADMIN_URL, _asyncpg_dsn


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    name = f"cc_migrate_{secrets.token_hex(4)}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_two_upgrades_at_once_on_an_empty_postgres_both_end_at_head(
    empty_postgres: str,
) -> None:
    # Processes, as instances are: Alembic keeps its running migration in module state.
    upgrades = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; from callcenter.persistence import migrate; migrate.upgrade(sys.argv[1])",
            empty_postgres,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for upgrade in upgrades:
        _, err = await asyncio.wait_for(upgrade.communicate(), 120)
        assert upgrade.returncode == 0, err.decode()[-2000:]
    conn = await asyncpg.connect(_asyncpg_dsn(empty_postgres))
    try:
        versions = await conn.fetch("SELECT version_num FROM alembic_version")
    finally:
        await conn.close()
    assert [row["version_num"] for row in versions] == [migrate_head()]


def migrate_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
