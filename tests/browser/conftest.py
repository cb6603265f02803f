"""Browser tests of the agent desktop: the running service on a real TCP port, the real
Asterisk, and Debian's Chromium driven by Playwright.

The service is the feature tests' hotline (tests/integration/conftest.py, imported below),
served by uvicorn on a free loopback port so that Chromium can load ``/desk/`` and open the
websocket; its allowed origin is that port's. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.integration.conftest import demo_db, hotline_factory  # noqa: F401 - fixtures
from tests.support.hotline import Hotline
from tests.support.logins import log_in

CHROMIUM = os.environ.get("CALLCENTER_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT = {"width": 1366, "height": 768}  # the smallest screen the desktop is made for


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class ServedDesk:
    """The hotline served over TCP, and the page's console (CSP violations show there)."""

    line: Hotline
    base_url: str
    database: str  # sqlite or postgresql
    console: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        def keep(message: ConsoleMessage) -> None:
            self.console.append(f"{message.type}: {message.text}")

        page.on("console", keep)
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        return page

    def csp_violations(self) -> list[str]:
        return [line for line in self.console if "Content Security Policy" in line]


async def serve(line: Hotline, port: int) -> AsyncIterator[str]:
    """uvicorn on ``port`` in this event loop, on the app whose lifespan the hotline already
    runs (``lifespan="off"``: the service is not started twice)."""
    assert line.app is not None
    config = uvicorn.Config(
        line.app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=5,  # an open websocket must not hold the teardown
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(), name=f"uvicorn-{port}")

    async def started() -> None:
        while not server.started:  # uvicorn offers no event to wait on
            if task.done():
                task.result()  # raises why it stopped
            await asyncio.sleep(0.02)

    await asyncio.wait_for(started(), 10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def served_desk(
    request: pytest.FixtureRequest,
    hotline_factory: Callable[..., Any],  # noqa: F811
) -> AsyncIterator[ServedDesk]:
    """The hotline on SQLite, or on PostgreSQL when parametrized (indirect) with that name."""
    port = free_port()
    database = getattr(request, "param", "sqlite")
    on_postgres = database == "postgresql"
    # The allowed origin follows the HTTP port: the page at this port may open the websocket.
    line: Hotline = await hotline_factory(on_postgres=on_postgres, http_port=port)
    async for base_url in serve(line, port):
        yield ServedDesk(line, base_url, database)


@pytest.fixture
def chromium_path() -> str:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: scripts/setup installs Debian's chromium")
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # Debian's build: Playwright downloads no browser here. As root, Playwright's default
        # (no Chromium sandbox) is what lets it start.
        chromium = await playwright.chromium.launch(executable_path=chromium_path)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


async def set_queue(line: Hotline, name: str = "general", **settings: float) -> None:
    """Change a queue's settings as an admin does, and wait until the ACD runs with them."""
    admin = await log_in(line.http, "admin")
    current = (await line.http.get(f"/api/queues/{name}", headers=admin)).json()
    body = {k: v for k, v in current.items() if k not in {"name", "updated_at", "updated_by_id"}}
    body.update(settings)
    response = await line.http.put(f"/api/queues/{name}", json=body, headers=admin)
    assert response.status_code == 200, response.text
    acd = line.runtime.acd
    assert acd is not None

    async def applied() -> None:
        while True:
            config = acd.queue_config(name)
            if config is not None and all(getattr(config, k) == v for k, v in settings.items()):
                return
            await asyncio.sleep(0.02)

    await asyncio.wait_for(applied(), 10)
