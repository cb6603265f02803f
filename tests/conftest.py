"""Shared fixtures. The real Asterisk is started once per test session, as its own sandbox
instance on its own ports, so it never collides with a developer's running instance."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from callcenter.persistence import migrate
from callcenter.persistence.db import Database
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings, load_settings


@pytest.fixture(scope="session", autouse=True)
def _no_test_touches_the_developers_database(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """Settings built without a database URL default to var/callcenter.db, the database
    `scripts/start` serves. The service now writes every call it answers, so a test that
    starts it must never land there: the whole session defaults to a throwaway file."""
    folder = tmp_path_factory.mktemp("default-db")
    # The write journal too: on PostgreSQL it defaults to var/journal, the one `scripts/start`
    # replays at its next start.
    defaults = {
        "CALLCENTER_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'callcenter.db'}",
        "CALLCENTER_JOURNAL_DIR": str(folder / "journal"),
        # A full collection at each app start (callcenter/heap.py) costs about 0.2 s; the
        # suite starts the app thousands of times (tests/unit/test_heap.py tests it on).
        "CALLCENTER_HEAP_FREEZE": "false",
    }
    before = {key: os.environ.get(key) for key in defaults}
    os.environ.update(defaults)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the sandbox Asterisk is marked ``asterisk`` even if its module forgot:
    scripts/test runs the unmarked ones in parallel, and only one test may drive the sandbox."""
    for item in items:
        if "asterisk" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(
            "asterisk"
        ):
            item.add_marker(pytest.mark.asterisk)


def _test_settings() -> Settings:
    return load_settings(
        sandbox_instance=os.environ.get("CALLCENTER_TEST_INSTANCE", "pytest"),
        ami_port=int(os.environ.get("CALLCENTER_TEST_AMI_PORT", "15038")),
        sip_port=int(os.environ.get("CALLCENTER_TEST_SIP_PORT", "15060")),
        # WebSocket SIP over TLS: beside the SIP port, so that parallel instances never share it.
        sip_wss_port=int(
            os.environ.get(
                "CALLCENTER_TEST_WSS_PORT",
                str(int(os.environ.get("CALLCENTER_TEST_SIP_PORT", "15060")) + 29),
            )
        ),
        # A second checkout (or a helper) runs its own instance with its own ports.
        rtp_start=int(os.environ.get("CALLCENTER_TEST_RTP_START", "12000")),
        rtp_end=int(os.environ.get("CALLCENTER_TEST_RTP_START", "12000")) + 999,
        ami_username="callcenter-test",
        ami_secret=secrets.token_urlsafe(18),
        ami_ping_interval=5.0,
        # The shared sandbox's CEL holds the whole session's calls: a test imports its own.
        cel_import_seconds=0,
        # Agents go ready over REST with no desk open: the desk watch is tested on its own
        # (tests/unit/test_desk_watch.py, tests/integration/test_desk_watch_real_asterisk.py).
        agent_desk_grace_seconds=0,
    )


@pytest.fixture(scope="session")
def asterisk_settings() -> Settings:
    return _test_settings()


@pytest.fixture(scope="session")
def asterisk(asterisk_settings: Settings) -> Iterator[AsteriskInstance]:
    """A running, fully booted sandbox Asterisk for the whole session."""
    if os.geteuid() != 0:
        pytest.fail("the Asterisk sandbox needs root: run the suite with scripts/test as root")
    instance = AsteriskInstance(asterisk_settings)
    instance.down()
    instance.up()
    try:
        yield instance
    finally:
        instance.down()


# --- databases: every test that takes `database` runs on SQLite and on PostgreSQL -----------

PG_ADMIN_URL = os.environ.get(
    "CALLCENTER_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
# Reference data that migrations insert and tests must keep.
KEEP_TABLES = {"alembic_version", "complaint_categories"}
# Reference data that migrations insert and tests may change: put back as migrated.
RESTORE_TABLES = ("service_codes",)
# Their rows as migrated, by database URL (read at its first truncation).
_MIGRATED_ROWS: dict[str, dict[str, list[asyncpg.Record]]] = {}


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    name = f"cc_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = _asyncpg_dsn(PG_ADMIN_URL)

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(run(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL at {PG_ADMIN_URL} is not usable ({exc}); scripts/test starts one "
            "(scripts/ensure-postgres), or set CALLCENTER_TEST_PG_URL"
        )
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def truncate_postgres(url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        if url not in _MIGRATED_ROWS:  # the first truncation follows the migration
            _MIGRATED_ROWS[url] = {
                t: await conn.fetch(f'SELECT * FROM "{t}"') for t in RESTORE_TABLES
            }
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [r["tablename"] for r in rows if r["tablename"] not in KEEP_TABLES]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
        for table, records in _MIGRATED_ROWS[url].items():
            if records:
                columns = list(records[0].keys())
                names = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
                await conn.executemany(
                    f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                    [tuple(r) for r in records],
                )
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "callcenter.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(truncate_postgres(url))
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.dispose()
