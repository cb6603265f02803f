"""Transfers ring a colleague's browser line (issue 19): agent01 (desk phone 1001) talks to a
sipp caller; agent02 has only their browser line (``1002-web``) registered, over WebSocket SIP
on TLS (tests/support/ws_sip.py). A blind transfer and a consult to 1002 both ring
``1002-web``, not the unregistered desk phone: the INVITE arrives on the browser line with a
WebRTC offer. (The browser itself answering is tests/browser/test_desk_softphone.py's.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

import pytest

from callcenter.pbx.registrations import PhoneRegistrations
from tests.integration.test_acd_real_asterisk import until
from tests.integration.test_call_control_real_asterisk import (
    CALLER_STAYS,
    bearer,
    bridged,
    controlled_call,
)
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline
from tests.support.ws_sip import WsSipClient

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(150)]


@pytest.mark.parametrize("mode", ["blind", "consult"])
async def test_a_transfer_rings_the_colleagues_browser_line(
    hotline_factory: Callable[..., Any], mode: Literal["blind", "consult"]
) -> None:
    line: Hotline = await hotline_factory()
    phones = line.runtime.phones
    assert isinstance(phones, PhoneRegistrations)
    admin, _ = await bearer(line, "admin")
    current = (await line.http.get("/api/queues/general", headers=admin)).json()
    body = {k: v for k, v in current.items() if k not in {"name", "updated_at", "updated_by_id"}}
    body.update({"ring_seconds": 5, "wrap_up_seconds": 1})
    assert (await line.http.put("/api/queues/general", json=body, headers=admin)).status_code == 200
    colleague, _ = await bearer(line, "agent02")
    web = (await line.http.get("/api/me/phone", headers=colleague)).json()["web"]
    cert, _ = line.settings.effective_sip_tls_files
    async with (
        WsSipClient(web["ws_url"], web["authorization_user"], cafile=cert) as browser,
        AgentPhone(
            line.settings.sip_port, "1001", password=line.phone_secrets, behaviour=Answer(0.3)
        ) as agent_phone,
    ):
        assert (await browser.register(web["password"]))[1].status == 200
        await until(lambda: phones.line_for("1002") == "1002-web")
        agent, agent_id = await bearer(line, "agent01")
        assert (await line.http.post("/api/agents/me/login", headers=agent)).status_code == 200
        acd = line.runtime.acd
        assert acd is not None
        await until(lambda: acd.serves(agent_id))
        script = [Wait(1.0), Keys("1"), Wait(GAP), Keys("0"), Wait(CALLER_STAYS), Hangup()]
        caller = KeypadCaller(line.settings.sip_port, HOTLINE, script, caller=line.client.phone)
        await caller.start()
        try:
            await agent_phone.wait_answered(timeout=30)
            await until(lambda: bridged(line, "1001"))
            await controlled_call(line, agent)
            response = await line.http.post(
                "/api/calls/me/transfer", json={"to": "1002", "mode": mode}, headers=agent
            )
            assert response.status_code == 200, response.text
            invite = await browser.wait_invite(timeout=15)
            assert invite.first_line.startswith("INVITE sip:1002-web@"), invite.first_line
            assert "UDP/TLS/RTP/SAVPF" in invite.body.decode()  # a WebRTC offer
            await browser.reply(invite, 486, "Busy Here")
        finally:
            if agent_phone.current is not None:
                await agent_phone.hang_up()
            await caller.kill()
            await asyncio.sleep(0.5)
        await browser.unregister(web["password"])
