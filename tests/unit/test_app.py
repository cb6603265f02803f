"""The app's lifespan: it starts and stops cleanly whatever state the PBX link is in.

The PBX side is a fake AMI server's port after the fake stopped: it refuses connections, as an
Asterisk that is down does.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from callcenter.app import Runtime, create_app
from callcenter.asterisk.client import ConnectionState
from callcenter.settings import load_settings
from tests.fakes.fake_ami import FakeAmiServer

SAFETY = 5.0  # seconds; a safety net for waits that end on events


@pytest.fixture
async def refused_port() -> int:
    server = FakeAmiServer()
    await server.start()
    await server.stop()
    return server.port


async def test_service_stopped_right_after_it_started_shuts_down_without_a_pbx(
    refused_port: int,
) -> None:
    app = create_app(load_settings(ami_port=refused_port))

    async with asyncio.timeout(SAFETY), app.router.lifespan_context(app):
        pass

    runtime: Runtime = app.state.runtime
    assert runtime.ami.state is ConnectionState.CLOSED


async def test_service_that_never_reached_the_pbx_reports_degraded_and_shuts_down(
    refused_port: int,
) -> None:
    app = create_app(load_settings(ami_port=refused_port))

    async with asyncio.timeout(SAFETY), app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        with runtime.ami.connection_changes() as changes:
            async for change in changes:
                if change.state is ConnectionState.DISCONNECTED:
                    break
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            health = (await http.get("/health")).json()
            channels = await http.get("/api/channels")

    assert health["status"] == "degraded"
    assert health["ami_generation"] == 0
    assert channels.status_code == 401  # callers' numbers are for logged-in supervisors
    assert runtime.tracker.channels == {}
    assert runtime.ami.state is ConnectionState.CLOSED
