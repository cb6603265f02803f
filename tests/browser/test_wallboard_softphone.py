"""The supervisor's browser phone on the wallboard (issue 19, point 5: "Supervisors' listen,
whisper and barge ring the supervisor's browser too"; "Show it works": "A supervisor's browser
listens to that call"), in Debian's Chromium with fake media devices against the running
service and the real Asterisk:

* supervisor01 opens the wallboard: the board's browser phone (the desk's module) registers
  ``1901-web`` over WSS, with no desk phone of theirs registered at all;
* agent01's test phone (UDP) takes a sipp caller's call through the IVR; "Listen" on agent01's
  row rings the browser's line (Asterisk's ChanSpy runs on ``PJSIP/1901-web-...``), the call
  the click asked for answers itself, and the page receives the call's sound (its WebRTC
  statistics count packets received);
* "Hang up" on the monitoring bar ends the browser's call and the spying; the agent's call
  goes on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import VIEWPORT, ServedDesk
from tests.browser.mfa import pass_second_factor
from tests.browser.test_desk_softphone import (  # noqa: F401 - phone_browser is a fixture
    AUDIO_STATS,
    WATCH_PHONE,
    phone_browser,
    until,
)
from tests.integration.test_call_control_real_asterisk import answered_call, leg
from tests.support.ami import next_event
from tests.support.logins import DEMO_PASSWORD

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(240)]

SUPERVISOR_EXTENSION = "1901"  # supervisor01's, in the demo


async def open_board_with_phone(desk: ServedDesk, browser: Browser) -> Page:
    """supervisor01 logs in at the desk and lands on the wallboard, whose RTCPeerConnections
    are kept for their statistics (WATCH_PHONE runs before the page's scripts)."""
    context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN")  # type: ignore[arg-type]
    page = desk.watch(await context.new_page())
    await page.add_init_script(WATCH_PHONE)
    await page.goto(f"{desk.base_url}/desk/")
    await page.fill("#login-username", "supervisor01")
    await page.fill("#login-password", DEMO_PASSWORD)
    await page.click("#login-submit")
    await pass_second_factor(page)
    await page.wait_for_url(re.compile(r"/desk/wallboard/$"))
    await expect(page.locator("#board")).to_be_visible()
    return page


async def test_listen_on_the_wallboard_rings_the_supervisors_browser_which_hears_the_call(
    served_desk: ServedDesk,
    phone_browser: Browser,  # noqa: F811 - the fixture imported above
    artifacts: Path,
) -> None:
    line = served_desk.line
    page = await open_board_with_phone(served_desk, phone_browser)
    softphone = page.locator("[data-testid=softphone]")
    status = page.locator("[data-testid=softphone-status]")

    # The board registers the supervisor's browser line; no desk phone of theirs is there.
    await expect(status).to_have_attribute("data-state", "registered", timeout=15_000)
    await expect(status).to_contain_text(f"{SUPERVISOR_EXTENSION} · 已注册")
    contacts = line.asterisk.cli("pjsip show contacts")
    assert f"{SUPERVISOR_EXTENSION}-web/" in contacts, contacts
    assert f" {SUPERVISOR_EXTENSION}/" not in contacts, contacts

    with line.runtime.ami.subscribe({"chanspystart", "chanspystop"}) as spying:
        async with answered_call(line) as desk:
            agent_leg = leg(line, "1001")
            assert agent_leg is not None
            agent_row = page.locator(f"#agents tr[data-agent='{desk.agent_id}']")
            await expect(agent_row.locator("td").nth(1)).to_have_class(
                "state-on_call", timeout=5_000
            )

            # "Listen": the service rings the browser's line; the call answers itself (the
            # click asked for it) and ChanSpy runs on the browser's channel.
            await agent_row.locator("[data-testid=wb-listen]").click()
            started = await next_event(spying, "ChanSpyStart", SpyeeChannel=agent_leg.name)
            assert started["SpyerChannel"].startswith(f"PJSIP/{SUPERVISOR_EXTENSION}-web-"), started
            await expect(softphone).to_have_attribute("data-call", "talking", timeout=10_000)
            bar = page.locator("#monitor-bar")
            await expect(bar).to_be_visible()
            await expect(bar).to_have_attribute("data-mode", "listen")
            # The monitoring bar hangs up a monitoring: the phone shows no second button.
            await expect(page.locator("[data-testid=softphone-hangup]")).to_be_hidden()

            # The supervisor hears the call: the page's call receives RTP.
            async def hearing() -> bool:
                audio = await page.evaluate(AUDIO_STATS)
                return bool(audio["received"] > 25)

            await until(hearing, 15, "RTP from Asterisk in the supervisor's page")
            audio = await page.evaluate(AUDIO_STATS)
            await page.screenshot(path=str(artifacts / "wallboard-softphone-listening.png"))

            # "Hang up" on the bar: the browser's call and the spying end; the agent's goes on.
            await page.locator("#monitor-stop").click()
            stopped = await next_event(spying, "ChanSpyStop", SpyeeChannel=agent_leg.name)
            await expect(softphone).to_have_attribute("data-call", "none", timeout=10_000)
            await expect(bar).to_be_hidden()
            assert desk.agent_phone.current is not None
            await desk.agent_phone.hang_up()

    (artifacts / "wallboard-softphone.json").write_text(json.dumps({"audio": audio}, indent=1))
    assert audio["received"] > 25, audio
    assert stopped["SpyerChannel"].startswith(f"PJSIP/{SUPERVISOR_EXTENSION}-web-"), stopped
    await expect(status).to_have_attribute("data-state", "registered")
    assert served_desk.csp_violations() == []
    assert not [entry for entry in served_desk.console if entry.startswith("pageerror")]
