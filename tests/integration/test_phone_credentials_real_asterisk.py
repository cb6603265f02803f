"""Each person's own SIP credentials on the real Asterisk (issue 19): a desk phone registers
with the secret GET /api/me/phone hands its person, and is refused with another person's;
after a rotation the old secret is refused at once and the new one works, on both lines; the
browser's line speaks SIP over a TLS WebSocket (subprotocol "sip", the certificate checked),
is challenged and then accepted; an agent whose only registered line is the browser's may go
ready, and the ACD rings that line."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from callcenter.pbx.registrations import PhoneRegistrations
from tests.integration.test_acd_real_asterisk import short_queue, to_an_agent, until
from tests.support.agent_phone import AgentPhone, PhoneRegistrationFailed
from tests.support.dtmf import KeypadCaller
from tests.support.hotline import HOTLINE, Hotline
from tests.support.logins import log_in
from tests.support.ws_sip import WsSipClient

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]


async def credentials(line: Hotline, headers: dict[str, str]) -> Any:
    response = await line.http.get("/api/me/phone", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def ws_client(line: Hotline, body: Any) -> WsSipClient:
    cert, _ = line.settings.effective_sip_tls_files
    return WsSipClient(body["web"]["ws_url"], body["web"]["authorization_user"], cafile=cert)


async def test_a_desk_phone_registers_with_its_persons_secret_and_not_anothers(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    mine = await credentials(line, await log_in(line.http, "agent01"))
    theirs = await credentials(line, await log_in(line.http, "agent02"))
    assert (mine["extension"], theirs["extension"]) == ("1001", "1002")
    assert mine["desk"]["server"] == f"127.0.0.1:{line.settings.sip_port}"

    async with AgentPhone(line.settings.sip_port, "1001", password=mine["desk"]["password"]):
        assert "1001/sip:1001@127.0.0.1" in line.asterisk.cli("pjsip show aor 1001")
    with pytest.raises(PhoneRegistrationFailed, match="401"):
        # agent01's secret for agent02's phone: refused (a fresh challenge)
        await AgentPhone(line.settings.sip_port, "1002", password=mine["desk"]["password"]).start()
    assert "1002/sip:" not in line.asterisk.cli("pjsip show aor 1002")


async def test_the_browser_line_registers_over_a_tls_websocket(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    body = await credentials(line, await log_in(line.http, "agent01"))
    web = body["web"]
    assert web["ws_url"] == f"wss://127.0.0.1:{line.settings.sip_wss_port}/ws"
    async with ws_client(line, body) as client:
        assert client.subprotocol == "sip"
        first, final = await client.register("not-the-secret")
        assert (first.status, final.status) == (401, 401)
        assert f'realm="{web["realm"]}"' in first.get("www-authenticate")
        first, final = await client.register(web["password"])
        assert (first.status, final.status) == (401, 200)
        assert "transport=ws" in line.asterisk.cli("pjsip show aor 1001-web")
        assert (await client.unregister(web["password"])).status == 200


async def test_after_a_rotation_the_old_secret_is_refused_on_both_lines(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    agent = await log_in(line.http, "agent01")
    old = await credentials(line, agent)
    started = time.monotonic()
    rotated = await line.http.post("/api/me/phone/rotate", headers=agent)
    took = time.monotonic() - started
    assert rotated.status_code == 204, rotated.text
    new = await credentials(line, agent)
    assert new["desk"]["password"] != old["desk"]["password"]
    print(f"rotation in force after {took * 1000:.0f} ms")

    with pytest.raises(PhoneRegistrationFailed, match="401"):
        await AgentPhone(line.settings.sip_port, "1001", password=old["desk"]["password"]).start()
    async with AgentPhone(line.settings.sip_port, "1001", password=new["desk"]["password"]):
        pass
    async with ws_client(line, new) as client:
        assert (await client.register(old["web"]["password"]))[1].status == 401
        assert (await client.register(new["web"]["password"]))[1].status == 200
        await client.unregister(new["web"]["password"])

    # A supervisor rotates it again: the agent's secret from a moment ago stops too.
    supervisor = await log_in(line.http, "supervisor01")
    agent_id = (await line.http.get("/api/auth/me", headers=agent)).json()["id"]
    again = await line.http.post(f"/api/users/{agent_id}/phone/rotate", headers=supervisor)
    assert again.status_code == 204, again.text
    with pytest.raises(PhoneRegistrationFailed, match="401"):
        await AgentPhone(line.settings.sip_port, "1001", password=new["desk"]["password"]).start()


async def test_ready_with_only_the_browser_line_and_the_acd_rings_it(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    phones = line.runtime.phones
    assert isinstance(phones, PhoneRegistrations)
    await short_queue(line, ring_seconds=10)
    agent = await log_in(line.http, "agent01")
    body = await credentials(line, agent)
    async with ws_client(line, body) as client:
        assert (await client.register(body["web"]["password"]))[1].status == 200
        await until(lambda: phones.registered_now("1001") is True)
        assert phones.line_for("1001") == "1001-web"
        seen = (await line.http.get("/api/agents/me/phone", headers=agent)).json()
        assert seen == {"extension": "1001", "registered": True}
        login = await line.http.post("/api/agents/me/login", headers=agent)
        assert (login.status_code, login.json()["state"]) == (200, "ready")

        caller = KeypadCaller(
            line.settings.sip_port, HOTLINE, to_an_agent(15.0), caller=line.client.phone
        )
        await caller.start()
        try:
            invite = await client.wait_invite(timeout=20)
            # The browser's line rings, with the SDP of a WebRTC offer (DTLS-SRTP over ICE).
            assert invite.first_line.startswith("INVITE sip:1001-web@")
            sdp = invite.body.decode()
            assert "UDP/TLS/RTP/SAVPF" in sdp
            assert "a=fingerprint:" in sdp
            assert "a=ice-ufrag:" in sdp
            # Its ICE candidates name the address RTP listens on (loopback), never the LAN
            # address Asterisk would gather by itself (asterisk_conf/rtp.conf).
            candidates = [c.split()[4] for c in sdp.splitlines() if c.startswith("a=candidate:")]
            assert candidates, sdp
            assert set(candidates) == {line.settings.sip_bind}, sdp
            await client.reply(invite, 486, "Busy Here")
        finally:
            await caller.wait(timeout=caller.longest + 30)
        await client.unregister(body["web"]["password"])


async def test_a_browser_line_whose_socket_drops_takes_the_agent_out_of_ready(
    hotline_factory: Callable[..., Any],
) -> None:
    # A closed or crashed page never unregisters: Asterisk drops the contact with its
    # WebSocket, and the service hears the line go (callcenter/acd/phones.py).
    line: Hotline = await hotline_factory()
    phones = line.runtime.phones
    assert isinstance(phones, PhoneRegistrations)
    agent = await log_in(line.http, "agent01")
    body = await credentials(line, agent)
    client = ws_client(line, body)
    await client.__aenter__()
    try:
        assert (await client.register(body["web"]["password"]))[1].status == 200
        await until(lambda: phones.registered_now("1001") is True)
        login = await line.http.post("/api/agents/me/login", headers=agent)
        assert (login.status_code, login.json()["state"]) == (200, "ready")
    finally:
        await client.drop()
    started = time.monotonic()

    async def taken_out() -> bool:
        me = (await line.http.get("/api/agents/me", headers=agent)).json()
        return bool((me["state"], me["reason"]) == ("not_ready", "no_phone"))

    while not await taken_out():
        assert time.monotonic() - started < 10, "still ready 10 s after the socket dropped"
        await asyncio.sleep(0.05)
    print(f"out of ready {(time.monotonic() - started) * 1000:.0f} ms after the socket dropped")
