"""The desk's browser phone (issue 19, "Show it works") in Debian's Chromium with fake media
devices, against the running service and the real Asterisk (its WSS listener, the agent's own
``1001-web`` endpoint, DTLS-SRTP and ICE):

* agent01 logs in on the page: the browser phone registers and the top bar says so; the shift
  starts (ready) with no other phone;
* a sipp caller from a demo client's number goes through the IVR (Mandarin, then an agent);
  the page shows the pop, then rings; the agent answers in the page; sound flows both ways
  (the page's WebRTC statistics count packets sent and received, and Asterisk counts the
  browser's RTP on its channel); a keypad digit reaches Asterisk as DTMF; mute silences the
  microphone's track; the agent hangs up from the page and wraps the call up: the
  interaction is complete;
* with the microphone denied the page says so, the phone does not register, and "Start
  shift" is refused with why;
* closing the page unregisters the phone, and the ready agent is taken out of ready.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from callcenter.asterisk.client import open_ami
from callcenter.persistence.tables import Interaction
from tests.browser.conftest import VIEWPORT, ServedDesk, set_queue
from tests.browser.test_agent_desktop import client_row, log_in_on_page, user_id
from tests.browser.test_desk_phone import state_of
from tests.support.ami import config_for, next_event
from tests.support.dtmf import ExpectHangup, KeypadCaller, Keys, Wait
from tests.support.hotline import GAP, HOTLINE

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(240)]

# Chromium's fake microphone (a beep) and camera, taken without asking.
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]

# Runs in the page before its scripts (over CDP: the page's CSP does not apply): keeps every
# RTCPeerConnection the page makes, for its statistics, and notes when the pop showed and
# when the browser phone began to ring (one clock: the page's).
WATCH_PHONE = """
(() => {
  const pcs = [];
  window.__pcs = pcs;
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); pcs.push(this); }
  };
  const seen = {};
  window.__phoneTimes = seen;
  new MutationObserver(() => {
    const pop = document.getElementById("pop");
    if (pop && !pop.hidden && seen.pop === undefined) seen.pop = performance.now();
    const phone = document.getElementById("softphone");
    if (phone && phone.dataset.call === "ringing" && seen.ring === undefined) {
      seen.ring = performance.now();
    }
  }).observe(document, {subtree: true, childList: true, attributes: true});
})();
"""
# The audio the page's call sent and received, from its WebRTC statistics.
AUDIO_STATS = """
async () => {
  const totals = {sent: 0, received: 0};
  for (const pc of window.__pcs) {
    (await pc.getStats()).forEach((report) => {
      if (report.kind !== "audio") return;
      if (report.type === "outbound-rtp") totals.sent += report.packetsSent ?? 0;
      if (report.type === "inbound-rtp") totals.received += report.packetsReceived ?? 0;
    });
  }
  return totals;
}
"""
MICROPHONE_ENABLED = """
() => window.__pcs.at(-1).getSenders().find((s) => s.track?.kind === "audio").track.enabled
"""

SENDING_FROM = """
(label) => window.__pcs.at(-1).getSenders().find((s) => s.track?.kind === "audio").track.label
  === label
"""
PLAYING_ON = """(id) => document.getElementById("softphone-audio").sinkId === id"""


def spki_pin(certificate: Path) -> str:
    """The certificate's public key as Chromium pins it: base64 of its SPKI's SHA-256."""
    cert = x509.load_pem_x509_certificate(certificate.read_bytes())
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def chromium_flags(desk: ServedDesk, *, microphone: bool) -> list[str]:
    """Chromium that trusts the sandbox's self-signed WSS certificate (that one only, by its
    key: what a person does once by accepting it), with the fake microphone given to the page
    or, ``microphone=False``, with the permission prompt left to headless Chromium, which
    refuses it."""
    cert, _ = desk.line.settings.effective_sip_tls_files
    flags = [f"--ignore-certificate-errors-spki-list={spki_pin(cert)}"]
    if microphone:
        flags += FAKE_MEDIA
    else:
        flags.append("--use-fake-device-for-media-stream")  # a microphone exists; not allowed
    return flags


@pytest.fixture
async def phone_browser(chromium_path: str, served_desk: ServedDesk) -> AsyncIterator[Browser]:
    flags = chromium_flags(served_desk, microphone=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path, args=flags)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def deaf_browser(chromium_path: str, served_desk: ServedDesk) -> AsyncIterator[Browser]:
    flags = chromium_flags(served_desk, microphone=False)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path, args=flags)
        try:
            yield browser
        finally:
            await browser.close()


async def open_desk(desk: ServedDesk, browser: Browser, locale: str = "zh-CN") -> Page:
    context: BrowserContext = await browser.new_context(viewport=VIEWPORT, locale=locale)  # type: ignore[arg-type]
    page = desk.watch(await context.new_page())
    await page.add_init_script(WATCH_PHONE)
    await page.goto(f"{desk.base_url}/")
    return page


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = check()
        if inspect.isawaitable(done):
            done = await done
        if done:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.2)


async def test_a_call_through_the_ivr_is_answered_and_hung_up_in_the_browser(
    served_desk: ServedDesk, phone_browser: Browser, artifacts: Path
) -> None:
    desk = served_desk
    line = desk.line
    await set_queue(line, ring_seconds=20, wrap_up_seconds=300)
    client = await client_row(line)
    agent_id = await user_id(line, "agent01")
    page = await open_desk(desk, phone_browser)
    softphone = page.locator("[data-testid=softphone]")
    status = page.locator("[data-testid=softphone-status]")

    # Logging in on the page registers the browser phone; with it, and no other phone, the
    # shift starts.
    await log_in_on_page(page, "agent01")
    await expect(status).to_have_attribute("data-state", "registered", timeout=15_000)
    await expect(status).to_contain_text("已注册")
    await expect(page.locator("[data-testid=agent-phone]")).to_have_attribute(
        "data-registered", "true"
    )
    assert "1001-web/" in line.asterisk.cli("pjsip show contacts")
    await page.click("#btn-shift-start")
    await expect(page.locator("#state-badge")).to_have_attribute("data-state", "ready")
    acd = line.runtime.acd
    assert acd is not None
    await until(lambda: acd.serves(agent_id), 10, "the ACD serves agent01")

    async with open_ami(config_for(line.settings)) as ami:
        with ami.subscribe({"DTMFEnd"}) as dtmf:
            script = [Wait(1.0), Keys("1"), Wait(GAP), Keys("0"), ExpectHangup(90)]
            caller = KeypadCaller(line.settings.sip_port, HOTLINE, script, caller=line.client.phone)
            await caller.start()
            # The pop, then the ring.
            await expect(page.locator("#pop-name")).to_contain_text(client.name, timeout=40_000)
            await expect(softphone).to_have_attribute("data-call", "ringing", timeout=20_000)
            await expect(page.locator("[data-testid=softphone-answer]")).to_be_visible()
            await page.screenshot(path=str(artifacts / "desk-softphone-ringing.png"))
            times = await page.evaluate("window.__phoneTimes")

            clicked = time.monotonic()
            await page.click("[data-testid=softphone-answer]")
            await expect(softphone).to_have_attribute("data-call", "talking", timeout=15_000)
            await expect(page.locator("#call-status")).to_have_attribute(
                "data-state", "talking", timeout=10_000
            )

            # Sound both ways: the page's own statistics, then Asterisk's count on its channel.
            async def flowing() -> bool:
                audio = await page.evaluate(AUDIO_STATS)
                return bool(audio["sent"] > 25 and audio["received"] > 25)

            await until(flowing, 15, "RTP both ways in the page")
            # From the click to 25 packets each way.
            answer_to_audio_ms = round((time.monotonic() - clicked) * 1000)
            audio = await page.evaluate(AUDIO_STATS)
            channel_stats = line.asterisk.cli("pjsip show channelstats")

            # The keypad: a digit reaches Asterisk as DTMF on the browser's channel.
            await page.click("[data-testid=softphone-keypad-toggle]")
            await page.click("[data-testid=softphone-keypad] button[data-digit='5']")
            pressed = await next_event(dtmf, "DTMFEnd", timeout=10, Digit="5")
            await expect(page.locator("[data-testid=softphone-dtmf-sent]")).to_have_text("5")

            # Mute silences the microphone's track; unmute gives it back.
            await page.click("[data-testid=softphone-mute]")
            await expect(status).to_contain_text("已静音")
            assert await page.evaluate(MICROPHONE_ENABLED) is False
            await page.click("[data-testid=softphone-mute]")
            await expect(status).not_to_contain_text("已静音")
            assert await page.evaluate(MICROPHONE_ENABLED) is True
            await page.screenshot(path=str(artifacts / "desk-softphone-talking.png"))

            # Another microphone mid-call: its track replaces the one the call sends; the
            # speaker: the call's sound goes to the chosen output. Both kept for next time.
            await page.click("[data-testid=softphone-devices-toggle]")
            await page.select_option("[data-testid=softphone-mic]", label="Fake Audio Input 2")
            await page.wait_for_function(SENDING_FROM, arg="Fake Audio Input 2", timeout=10_000)
            speaker = page.locator("[data-testid=softphone-speaker] option", has_text="Output 1")
            speaker_id = await speaker.get_attribute("value")
            await page.select_option("[data-testid=softphone-speaker]", speaker_id)
            await page.wait_for_function(PLAYING_ON, arg=speaker_id, timeout=10_000)
            kept = await page.evaluate("JSON.parse(localStorage.getItem('cc.desk.audio'))")
            assert kept["speaker"] == speaker_id
            assert kept["microphone"] not in ("", "default")

            # The agent hangs up from the page (the call control): the browser's call ends.
            await page.click("#btn-hangup")
            await expect(softphone).to_have_attribute("data-call", "none", timeout=10_000)
            result = await caller.wait()

    await expect(page.locator("#wrapup")).to_be_visible(timeout=15_000)
    await page.select_option("#wrapup-disposition", "resolved")
    await page.fill("#wrapup-notes", "answered in the browser")
    await page.click("#wrapup-save")
    await expect(page.locator("#wrapup-result")).to_have_text("已保存。")
    call = await line.ended_interaction()

    figures = {**times, "audio": audio, "answer_to_audio_ms": answer_to_audio_ms}
    (artifacts / "softphone-call.json").write_text(json.dumps(figures, indent=1))
    assert result.succeeded, result.output  # the caller heard the agent's side hang up
    assert times["pop"] <= times["ring"], times
    assert audio["sent"] > 25, audio
    assert audio["received"] > 25, audio
    row = next(r for r in channel_stats.splitlines() if "1001-web-" in r)
    assert int(row.split()[-9]) > 0, channel_stats  # Receive Count: the browser's RTP
    assert pressed["Channel"].startswith("PJSIP/1001-web-"), pressed
    assert pressed["Direction"] == "Received"
    async with line.db.read() as session:
        stored = await session.get(Interaction, call.id)
        assert stored is not None
        assert stored.agent_id == agent_id
        assert stored.client_id == client.id
        assert stored.answered_at is not None
        assert stored.ended_at is not None
        assert stored.disposition == "resolved"
        assert stored.wrapup_ended_at is not None
    assert desk.csp_violations() == []


async def test_a_denied_microphone_is_said_and_no_shift_starts_without_a_phone(
    served_desk: ServedDesk, deaf_browser: Browser, artifacts: Path
) -> None:
    desk = served_desk
    page = await open_desk(desk, deaf_browser, locale="en")
    status = page.locator("[data-testid=softphone-status]")
    message = page.locator("[data-testid=softphone-message]")
    await log_in_on_page(page, "agent01")
    await expect(status).to_have_attribute("data-state", "no_microphone", timeout=15_000)
    await expect(message).to_contain_text("The microphone is blocked for this page")
    await expect(page.locator("[data-testid=softphone-retry]")).to_be_visible()
    await expect(page.locator("[data-testid=agent-phone]")).to_have_attribute(
        "data-registered", "false"
    )
    assert "1001-web/" not in desk.line.asterisk.cli("pjsip show contacts")

    # No phone at all: "Start shift" is refused, and the page says why.
    await page.click("#btn-shift-start")
    toast = page.locator("#toast")
    await expect(toast).to_contain_text("1001")
    await expect(toast).to_contain_text("Browser phone: not registered: no microphone")
    await expect(page.locator("#state-badge")).to_have_attribute("data-state", "logged_out")
    await page.screenshot(path=str(artifacts / "desk-softphone-microphone-denied.png"))
    await page.select_option("[data-testid=lang-select]", "zh-CN")
    await expect(message).to_contain_text("此页面的麦克风已被阻止")
    assert await state_of(desk, "agent01") == ("logged_out", None)
    assert desk.csp_violations() == []


async def test_closing_the_page_takes_the_ready_agent_out_of_ready(
    served_desk: ServedDesk, phone_browser: Browser
) -> None:
    desk = served_desk
    page = await open_desk(desk, phone_browser)
    await log_in_on_page(page, "agent01")
    status = page.locator("[data-testid=softphone-status]")
    await expect(status).to_have_attribute("data-state", "registered", timeout=15_000)
    await page.click("#btn-shift-start")
    await expect(page.locator("#state-badge")).to_have_attribute("data-state", "ready")

    closed_at = time.monotonic()
    await page.close()  # pagehide: REGISTER with Expires: 0, and the WebSocket closes

    async def out_of_ready() -> bool:
        return await state_of(desk, "agent01") == ("not_ready", "no_phone")

    heartbeat = desk.line.settings.ws_heartbeat_seconds * 3  # the desk's own silence limit
    await until(out_of_ready, heartbeat, "agent01 out of ready after the page closed")
    assert "1001-web/" not in desk.line.asterisk.cli("pjsip show contacts")
    assert time.monotonic() - closed_at < heartbeat


async def test_after_a_network_drop_the_phone_registers_again_and_log_out_unregisters_it(
    served_desk: ServedDesk, phone_browser: Browser, artifacts: Path
) -> None:
    desk = served_desk
    wss_port = desk.line.settings.sip_wss_port
    page = await open_desk(desk, phone_browser, locale="en")
    await log_in_on_page(page, "agent01")
    status = page.locator("[data-testid=softphone-status]")
    await expect(status).to_have_attribute("data-state", "registered", timeout=15_000)
    await page.click("#btn-shift-start")
    await expect(page.locator("#state-badge")).to_have_attribute("data-state", "ready")

    # The drop: the browser's TCP connections to Asterisk's WSS port are killed under it
    # (ss -K, as a dead link or a restarted router would), with no WebSocket close.
    ss = await asyncio.create_subprocess_exec(
        *("ss", "-K", "state", "established", "dst", "127.0.0.1", "dport", "=", str(wss_port)),
        stdout=asyncio.subprocess.PIPE,
    )
    killed = (await ss.communicate())[0].decode()
    assert ss.returncode == 0
    assert f":{wss_port}" in killed, killed
    await expect(status).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    await expect(status).to_contain_text("connection lost: reconnecting")
    await page.screenshot(path=str(artifacts / "desk-softphone-reconnecting.png"))
    # JsSIP reconnects by itself (from 2 s) and registers again; the page says so.
    await expect(status).to_have_attribute("data-state", "registered", timeout=20_000)
    await expect(page.locator("[data-testid=agent-phone]")).to_have_attribute(
        "data-registered", "true"
    )
    assert "1001-web/" in desk.line.asterisk.cli("pjsip show contacts")
    # Whatever the drop did to the agent's state (a phone that went takes them out of
    # ready), they can be ready again on the phone that came back.
    if await state_of(desk, "agent01") != ("ready", None):
        await page.click("#btn-ready")
    await expect(page.locator("#state-badge")).to_have_attribute("data-state", "ready")
    assert await state_of(desk, "agent01") == ("ready", None)

    # Logging out of the page unregisters the phone (and ends the shift).
    await page.click("#btn-logout")
    await expect(page.locator("#login-view")).to_be_visible()
    contacts = desk.line.asterisk.cli
    await until(lambda: "1001-web/" not in contacts("pjsip show contacts"), 10, "unregistered")
    assert (await state_of(desk, "agent01"))[0] == "logged_out"
    assert desk.csp_violations() == []
