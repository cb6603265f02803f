"""The app's lifespan: it starts and stops cleanly whatever state the PBX link is in.

The PBX side is a fake AMI server's port after the fake stopped: it refuses connections, as an
Asterisk that is down does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

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


async def test_service_that_never_reached_the_pbx_reports_unavailable_and_shuts_down(
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
            reply = await http.get("/health")
            channels = await http.get("/api/channels")

    health = reply.json()
    assert reply.status_code == 503  # a load balancer sends no traffic to a service without PBX
    assert health["status"] == "unavailable"
    assert health["problems"] == ["the PBX link is disconnected"]
    assert health["ami_generation"] == 0
    assert channels.status_code == 401  # callers' numbers are for logged-in supervisors
    assert runtime.tracker.channels == {}
    assert runtime.ami.state is ConnectionState.CLOSED


async def test_a_task_that_fails_is_restarted_and_health_says_so_meanwhile(
    refused_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error inside the ACD's loop (as a tester caused) used to cancel every
    other task while HTTP kept answering: a service that took no calls and never exited."""
    from callcenter.acd.service import AcdService

    failures = 0
    real_run = AcdService.run

    async def failing_twice(self: AcdService) -> None:
        nonlocal failures
        if failures < 2:
            failures += 1
            raise RuntimeError("database is locked")
        await real_run(self)

    monkeypatch.setattr(AcdService, "run", failing_twice)
    app = create_app(load_settings(ami_port=refused_port))

    async with asyncio.timeout(SAFETY), app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await asyncio.sleep(0.05)
            during = (await http.get("/health")).json()
            assert runtime.acd is not None
            await runtime.acd.started.wait()  # restarted after 0.5 s, then 1 s
            after = (await http.get("/health")).json()
        link_health = runtime.tasks.health["pbx-link"]

    assert "task acd is restarting after: RuntimeError: database is locked" in during["problems"]
    assert not any("acd" in problem for problem in after["problems"])
    assert runtime.tasks.health["acd"].failures == 2
    assert link_health.failures == 0  # its siblings ran on


async def test_the_ami_task_failing_tells_the_caller_of_create_app_to_exit(
    refused_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callcenter.asterisk.client import AmiClient

    async def broken(self: AmiClient) -> None:
        raise RuntimeError("a bug in the AMI client")

    monkeypatch.setattr(AmiClient, "run", broken)
    told: list[str] = []
    fatal = asyncio.Event()

    def on_fatal(reason: str) -> None:
        told.append(reason)
        fatal.set()

    app = create_app(load_settings(ami_port=refused_port), on_fatal=on_fatal)

    async with asyncio.timeout(SAFETY), app.router.lifespan_context(app):
        await fatal.wait()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            reply = await http.get("/health")

    assert told == ["task ami failed: RuntimeError: a bug in the AMI client"]
    assert reply.status_code == 503
    assert "task ami failed: RuntimeError: a bug in the AMI client" in reply.json()["problems"]


async def test_health_is_unavailable_while_the_database_does_not_answer(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/x.db"
    app = create_app(load_settings(pbx_enabled=False, database_url=url))

    async with asyncio.timeout(SAFETY), app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            before = await http.get("/health")
            (tmp_path / "x.db").unlink()
            (tmp_path / "x.db").mkdir()  # SQLite cannot open it: an unreachable database
            runtime: Runtime = app.state.runtime
            await runtime.db.engine.dispose()  # no pooled connection to the old file
            during = await http.get("/health")

    assert before.status_code == 200
    journal = before.json()["journal"]
    assert (journal["pending"], journal["durable"]) == (0, True)
    assert during.status_code == 503
    assert during.json()["problems"] == ["the database is unreachable: OperationalError"]


@pytest.mark.parametrize("freeze", [True, False])
async def test_a_started_service_freezes_its_start_up_out_of_full_collections_when_set(
    refused_port: int, freeze: bool
) -> None:
    import gc

    app = create_app(load_settings(ami_port=refused_port, heap_freeze=freeze))
    async with asyncio.timeout(SAFETY), app.router.lifespan_context(app):
        assert (gc.get_freeze_count() > 0) is freeze  # callcenter/heap.py
    assert gc.get_freeze_count() == 0  # given back at the stop
