"""No "ready" without a registered phone, against the real Asterisk (issue 16): agent01 is
refused while nothing is registered as 1001, goes ready once a test phone registers, and is
taken out of ready (not ready, ``no_phone``) when the phone unregisters; monitoring with
the supervisor's phone unregistered is refused at once and rings nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from callcenter.pbx.registrations import PhoneRegistrations
from tests.integration.test_acd_real_asterisk import until
from tests.integration.test_call_control_real_asterisk import answered_call, bearer, leg
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.hotline import Hotline

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]


async def state(line: Hotline, headers: dict[str, str]) -> tuple[str, str | None]:
    me = (await line.http.get("/api/agents/me", headers=headers)).json()
    return me["state"], me["reason"]


async def test_ready_waits_for_the_phone_and_ends_when_it_unregisters(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    phones = line.runtime.phones
    assert isinstance(phones, PhoneRegistrations)
    agent, _ = await bearer(line, "agent01")

    refused = await line.http.post("/api/agents/me/login", headers=agent)
    assert (refused.status_code, refused.json()["error"]) == (409, "phone-not-registered")
    assert refused.json()["detail"] == {"extension": "1001"}
    assert await state(line, agent) == ("logged_out", None)
    seen = await line.http.get("/api/agents/me/phone", headers=agent)
    assert seen.json() == {"extension": "1001", "registered": False}

    password = line.phone_secrets
    phone = AgentPhone(line.settings.sip_port, "1001", password=password, behaviour=Answer())
    await phone.start()
    try:
        # Asterisk's DeviceStateChange (NOT_INUSE) follows the 200 to the REGISTER.
        await until(lambda: phones.registered_now("1001") is True)
        accepted = await line.http.post("/api/agents/me/login", headers=agent)
        assert (accepted.status_code, accepted.json()["state"]) == (200, "ready")
        seen = await line.http.get("/api/agents/me/phone", headers=agent)
        assert seen.json() == {"extension": "1001", "registered": True}
    finally:
        await phone.stop()  # REGISTER with Expires: 0

    # The service hears UNAVAILABLE and takes the agent out, as a change of its own.
    async with asyncio.timeout(10):
        while await state(line, agent) != ("not_ready", "no_phone"):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    again = await line.http.post("/api/agents/me/state", json={"state": "ready"}, headers=agent)
    assert (again.status_code, again.json()["error"]) == (409, "phone-not-registered")


async def test_monitoring_with_the_supervisors_phone_unregistered_rings_nothing(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    async with answered_call(line) as desk:
        supervisor, _ = await bearer(line, "supervisor01")  # nothing registered as 1901
        response = await line.http.post(
            "/api/supervision/monitor",
            json={"agent_id": desk.agent_id, "mode": "listen"},
            headers=supervisor,
        )
        assert (response.status_code, response.json()["error"]) == (
            409,
            "supervisor-phone-not-registered",
        )
        assert response.json()["detail"] == {"extension": "1901"}
        assert leg(line, "1901") is None  # no Originate: nothing rings
        assert desk.agent_phone.current is not None  # the agent's call goes on
        await desk.agent_phone.hang_up()
