"""The service (``callcenter serve``) against the real Asterisk: health, live channels, and a
hotline call answered through Async AGI."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr

from callcenter.app import Runtime, create_app
from callcenter.crm.vocabulary import Role
from callcenter.persistence.tables import User
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings
from tests.api.conftest import open_test_session
from tests.support.sipp import SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]


async def _until(predicate: object, timeout: float = 15.0) -> None:
    async def poll() -> None:
        while not predicate():  # type: ignore[operator]  # noqa: ASYNC110 - polls a condition, bounded by the timeout
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def _supervisor_session(runtime: Runtime) -> dict[str, str]:
    async with runtime.db.write() as session:
        user = User(username="sup-live", display_name="Supervisor", role=Role.SUPERVISOR)
        session.add(user)
        await session.flush()
        user_id = user.id
    return {"Authorization": f"Bearer {await open_test_session(runtime.db, user_id)}"}


async def test_service_answers_a_hotline_call_and_reports_it_live(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    app = create_app(asterisk_settings)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await _until(lambda: runtime.link.resynced.is_set())
            health = (await http.get("/health")).json()
            assert health["status"] == "ok"
            assert health["ami"] == "connected"
            assert health["ami_generation"] == 1

            caller = SippCaller(
                asterisk_settings.sip_port,
                "4008888888",
                caller="+8613812345678",
                caller_name="Zhang Wei",
                hold_ms=20_000,
            )
            await caller.start()
            await _until(lambda: runtime.tracker.channels)
            assert (await http.get("/api/channels")).status_code == 401
            supervisor = await _supervisor_session(runtime)
            live = (await http.get("/api/channels", headers=supervisor)).json()
            result = await caller.wait()

    assert [c["caller_number"] for c in live] == ["+8613812345678"]
    assert live[0]["exten"] == "4008888888"
    assert live[0]["context"] == "from-carrier"
    # The service answered (the IVR's language menu); sipp saw 200 OK and hung up itself.
    assert result.succeeded, result.output
    assert runtime.link.calls_handled == 1


async def test_service_with_a_wrong_ami_secret_keeps_serving_and_says_why(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    settings = asterisk_settings.model_copy(update={"ami_secret": SecretStr("wrong")})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        await _until(lambda: runtime.ami_error is not None)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await asyncio.sleep(1.0)  # a task that would restart after the refusal has done so
            reply = await http.get("/health")
    health = reply.json()
    assert reply.status_code == 503  # no calls without the PBX: the load balancer must know
    assert health["status"] == "unavailable"
    assert health["problems"] == [
        f"the PBX refused the service's login: {health['ami_error']}"
    ]  # and no task restarting over and over
    assert health["ami"] == "closed"
    assert "refused" in health["ami_error"]
    assert "wrong" not in health["ami_error"]
