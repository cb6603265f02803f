"""Fixtures of the feature tests against the real Asterisk: the service on demo data."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from callcenter.app import Runtime, create_app
from callcenter.asterisk.protocol import Message
from callcenter.persistence.seed import seed_demo
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings
from tests.conftest import truncate_postgres
from tests.support.hotline import AS_OF, DEMO_CLIENTS, Hotline, pick_client
from tests.support.logins import DEMO_PASSWORD, TEST_SECRET_KEY, secret_box_for_tests
from tests.support.phone_secrets import sandbox_phone_secrets, service_phone_secrets


@pytest.fixture
async def sandbox_phones(asterisk: AsteriskInstance, asterisk_settings: Settings) -> dict[str, str]:
    """Each sandbox phone's own secret, for tests of the bare sandbox (no service): written
    into pjsip_phones.conf and reloaded the way the service does (callcenter/pbx/
    phone_config.py), with fresh secrets; by extension (``AgentPhone(password=...)``)."""
    return await sandbox_phone_secrets(asterisk, asterisk_settings)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ivr-demo") / "demo.db"
    asyncio.run(
        seed_demo(
            f"sqlite+aiosqlite:///{path}",
            clients=DEMO_CLIENTS,
            as_of=AS_OF,
            demo_password=DEMO_PASSWORD,
            demo_mfa=secret_box_for_tests(),
        )
    )
    return path


@pytest.fixture
async def hotline_factory(
    asterisk: AsteriskInstance,
    asterisk_settings: Settings,
    demo_db: Path,
    postgres_url: str,
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Any]]:
    """Starts the service on a copy of the demo database (SQLite), or on the same demo data
    seeded into PostgreSQL; ``**overrides`` change settings."""
    lines: list[Hotline] = []

    async def start(
        *, on_postgres: bool = False, restart: Hotline | None = None, **overrides: Any
    ) -> Hotline:
        if restart is not None:  # the same service again, on the same database
            await restart.stop()
            url = restart.settings.database_url
        elif on_postgres:
            await truncate_postgres(postgres_url)
            await seed_demo(
                postgres_url,
                clients=DEMO_CLIENTS,
                as_of=AS_OF,
                demo_password=DEMO_PASSWORD,
                demo_mfa=secret_box_for_tests(),
            )
            url = postgres_url
        else:
            db_file = tmp_path / "hotline.db"
            shutil.copyfile(demo_db, db_file)
            url = f"sqlite+aiosqlite:///{db_file}"
        settings = asterisk_settings.model_copy(
            update={
                "database_url": url,
                "journal_dir": tmp_path / "journal",
                # The shared sandbox's CEL holds the whole session's calls: no import here
                # (tests/integration/test_fallback_real_asterisk.py imports its own).
                "cel_import_seconds": 0,
                "business_weekdays": [1, 2, 3, 4, 5, 6, 7],
                "business_opens": dt.time(0, 0),
                "business_closes": dt.time(23, 59, 59),
                # The key the demo's TOTP secret was sealed with (tests/support/logins.py).
                "secret_key": SecretStr(TEST_SECRET_KEY),
                **overrides,
            }
        )
        app = create_app(settings)
        stack: list[Any] = []
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        stack.append(lifespan)
        runtime: Runtime = app.state.runtime
        await asyncio.wait_for(runtime.link.resynced.wait(), 15)
        # Asterisk has everyone's own phone secret (issue 19) once the first reload is done.
        secrets = await service_phone_secrets(runtime)
        assert runtime.sounds.error is None, runtime.sounds.error
        commands: list[Message] = []
        events = runtime.ami.subscribe({"agiexecstart"})
        stack.append(events)

        async def collect() -> None:
            while True:
                try:
                    commands.append(await events.get())
                except StopAsyncIteration:
                    return

        stack.append(asyncio.get_running_loop().create_task(collect()))
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        stack.append(http)

        async def stop() -> None:
            while stack:
                item = stack.pop()
                if isinstance(item, asyncio.Task):
                    item.cancel()
                elif isinstance(item, httpx.AsyncClient):
                    await item.aclose()
                elif hasattr(item, "__aexit__"):
                    await item.__aexit__(None, None, None)
                else:
                    item.close()

        client = await pick_client(runtime.db)
        flow = runtime.flows.current.flows["hotline"]
        line = Hotline(
            runtime,
            runtime.db,
            settings,
            asterisk,
            flow,
            client,
            http,
            commands,
            stop,
            app=app,
            phone_secrets=secrets,
        )
        lines.append(line)
        return line

    yield start
    for line in reversed(lines):
        await line.stop()
