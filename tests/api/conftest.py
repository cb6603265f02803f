"""The app over HTTP (httpx, in process) on each database, with one user per role, each
holding a live session (its token sent as a bearer header by :meth:`Api.as_`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from callcenter.api.deps import get_clock
from callcenter.app import create_app
from callcenter.crm.vocabulary import Role
from callcenter.persistence.db import Database
from callcenter.persistence.sessions import open_session
from callcenter.persistence.tables import Branch, User
from callcenter.settings import Settings, load_settings
from tests.conftest import truncate_postgres


@dataclass
class Api:
    app: FastAPI
    http: httpx.AsyncClient
    db: Database
    users: dict[Role, User]
    branch: Branch
    tokens: dict[Role, str]

    def as_(self, role: Role) -> dict[str, str]:
        """Headers that make the request act as the test user of ``role``: the token of a
        session opened for them (tests/api/test_auth.py logs in for real)."""
        return bearer(self.tokens[role])


# The service's secret key in these tests (seals TOTP secrets, signs the MFA step).
TEST_SECRET_KEY = "test-only-secret-key-0123456789-abcdef"


class FakeClock:
    """The time the app judges sessions and the rate limit by; tests move it on."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(api: Api) -> FakeClock:
    fake = FakeClock()
    api.app.dependency_overrides[get_clock] = lambda: fake
    return fake


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def open_test_session(db: Database, user_id: int, *, mfa_verified: bool = True) -> str:
    """A session for ``user_id`` as a login opens it, without the password check; as if the
    login had proved a second factor too, unless ``mfa_verified`` is False (tests of the MFA
    rule, tests/api/test_mfa.py)."""
    async with db.write() as session:
        token, _row = await open_session(
            session,
            user_id,
            now=dt.datetime.now(dt.UTC),
            lifetime=dt.timedelta(hours=12),
            idle=dt.timedelta(hours=1),
            address="127.0.0.1",
            mfa_verified=mfa_verified,
        )
    return token


@pytest.fixture(scope="session")
def _api_sqlite_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-db") / "callcenter.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, _api_sqlite_path: Path) -> str:
    """As tests/conftest.py's, but the SQLite file is at one path for the whole session (a
    fresh copy of the migrated template for every test), so that the app built for it can
    serve every test (:func:`_app_for`)."""
    if request.param == "sqlite":
        for stale in (
            _api_sqlite_path,
            _api_sqlite_path.with_name(_api_sqlite_path.name + "-wal"),
            _api_sqlite_path.with_name(_api_sqlite_path.name + "-shm"),
        ):
            # Unlinked, not overwritten: an engine a test left open keeps its own old file.
            stale.unlink(missing_ok=True)
        shutil.copyfile(request.getfixturevalue("sqlite_template"), _api_sqlite_path)
        return f"sqlite+aiosqlite:///{_api_sqlite_path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(truncate_postgres(url))
    return url


# Building the app (FastAPI resolving every route's dependencies) took about a third of an
# API test's time. Its routes and middleware hold no state of a test: the lifespan builds the
# runtime afresh each time it is entered. So one app serves every test with the same settings,
# reset between tests (overrides cleared). Settings are the key, so a test that changed the
# environment before asking for `api` gets an app of its own.
_APPS: dict[str, FastAPI] = {}


def _app_for(settings: Settings) -> FastAPI:
    key = settings.model_dump_json()
    app = _APPS.get(key)
    if app is None:
        app = _APPS[key] = create_app(settings, call_handler=None)
    app.dependency_overrides.clear()
    return app


@pytest.fixture
async def api(database_url: str, database: Database) -> AsyncIterator[Api]:
    async with database.write() as session:
        branch = Branch(
            code="SH01", name="上海浦东营业部", name_en="Shanghai Pudong", city="Shanghai"
        )
        session.add(branch)
        await session.flush()
        users = {
            role: User(
                username=f"test-{role.value}",
                display_name=f"Test {role.value}",
                role=role,
                branch_id=branch.id,
                extension=str(1000 + index),
            )
            for index, role in enumerate(Role, start=1)
        }
        session.add_all(users.values())
    tokens = {role: await open_test_session(database, user.id) for role, user in users.items()}
    settings = load_settings(
        database_url=database_url,
        pbx_enabled=False,
        database_auto_migrate=False,
        secret_key=TEST_SECRET_KEY,
    )
    app = _app_for(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield Api(app, http, app.state.runtime.db, users, branch, tokens)
    finally:
        app.dependency_overrides.clear()
        for name in list(app.state):
            if name != "secret_box":  # built from the settings, which are the same
                del app.state[name]
