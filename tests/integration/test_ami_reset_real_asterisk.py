"""AMI connection resets with calls live, on the real Asterisk: the service's AMI link goes
through a proxy the test cuts while one caller waits in the queue and another is in the IVR's
menu. Before issue 14 the IVR caller was left in dead air, and the waiting caller was never
offered to the agent once they were ready; both records stayed open for good."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from callcenter.acd.model import AgentState
from callcenter.asterisk.client import ConnectionState
from callcenter.crm.vocabulary import Tier
from callcenter.persistence.tables import Client, Interaction
from callcenter.settings import Settings
from tests.integration.test_acd_real_asterisk import log_in, other_clients, short_queue, until
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline
from tests.support.logins import log_in as log_in_as
from tests.support.proxy import FaultProxy

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]


@pytest.fixture
async def ami_proxy(asterisk_settings: Settings) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(asterisk_settings.ami_host, asterisk_settings.ami_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def reset(line: Hotline, proxy: FaultProxy) -> None:
    """Cut the service's AMI connection; return once it has a new session."""
    generation = line.runtime.ami.generation
    proxy.cut()
    await until(
        lambda: (
            line.runtime.ami.state is ConnectionState.CONNECTED
            and line.runtime.ami.generation > generation
        ),
        timeout=15,
    )


async def test_callers_in_the_menu_and_in_the_queue_go_on_after_ami_resets(
    hotline_factory: Callable[..., Any], ami_proxy: FaultProxy
) -> None:
    line: Hotline = await hotline_factory(ami_port=ami_proxy.port)
    await short_queue(line)
    (waiting_client, waiting_phone), (menu_client, menu_phone) = await other_clients(line, 2)
    async with line.db.write() as session:  # both for anyone: no advisor to wait for
        await session.execute(
            update(Client)
            .where(Client.id.in_([waiting_client, menu_client]))
            .values(tier=Tier.STANDARD, value_class="ordinary", advisor_id=None)
        )
    port = line.settings.sip_port
    password = line.phone_secrets
    agent_headers = await log_in_as(line.http, "agent01")
    behaviour = Answer(0.3, hang_up_after=1.0)
    async with AgentPhone(port, "1001", password=password, behaviour=behaviour) as phone:
        agent = await log_in(line, "agent01")
        busy = {"state": "not_ready", "reason": "break"}
        response = await line.http.post("/api/agents/me/state", json=busy, headers=agent_headers)
        assert response.status_code == 200, response.text
        acd = line.runtime.acd
        assert acd is not None
        # One caller waits in the queue (the agent is on a break)...
        waiting = KeypadCaller(
            port,
            HOTLINE,
            [Wait(1.0), Keys("1"), Wait(GAP), Keys("0"), Wait(40.0), Hangup()],
            caller=waiting_phone,
        )
        await waiting.start()
        await until(lambda: len(acd.live("general")) == 1, timeout=15)
        # ... the other is in the main menu when the link is cut, three times. The key it
        # presses comes once a menu replayed after the resets is playing (a key typed during
        # the outage goes to the command whose answer was lost).
        in_menu = KeypadCaller(
            port,
            HOTLINE,
            [Wait(1.0), Keys("1"), Wait(16.0), Keys("0"), Wait(40.0), Hangup()],
            caller=menu_phone,
        )
        await in_menu.start()
        await asyncio.sleep(2.5)  # past the language choice: in the main menu
        for _ in range(3):
            await reset(line, ami_proxy)
            await asyncio.sleep(0.5)
        ready = {"state": "ready"}
        response = await line.http.post("/api/agents/me/state", json=ready, headers=agent_headers)
        assert response.status_code == 200, response.text
        await phone.wait_until(lambda: len(phone.answered) == 2, 45, "both callers answered")
        await until(lambda: acd.router.agent_state(agent) is AgentState.READY, timeout=15)
        results = [await waiting.wait(), await in_menu.wait()]

    assert all(result.succeeded for result in results), [r.output for r in results]
    assert [invite.from_user for invite in phone.invites] == [waiting_phone, menu_phone]
    async with line.db.read() as session:
        records = (await session.scalars(select(Interaction).order_by(Interaction.id))).all()
        calls = {r.client_id: r for r in records if r.client_id in (waiting_client, menu_client)}
        assert set(calls) == {waiting_client, menu_client}
        for record in calls.values():
            assert record.answered_at is not None, record.ivr_path
            assert record.ended_at is not None
            assert record.agent_id == agent
            assert record.anomaly is None
        # The waiting caller kept their place and their wait across the resets.
        waited = calls[waiting_client].wait_seconds
        assert waited is not None
        assert waited >= 5
