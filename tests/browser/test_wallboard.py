"""The supervisors' wallboard in a real browser against the running service and the real
Asterisk (issue 7, "Show it works").

A supervisor logs in at the desk and lands on the wallboard. During a live sipp call answered
by agent01's test phone, the board shows the call (masked caller, client tier, queue, agent)
and agent01 on a call, while supervisor01's test phone listens to it through ChanSpy. When
the call ends it leaves the board, and the queue's figures on the board are the report's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from callcenter.persistence.tables import Client
from tests.browser.conftest import VIEWPORT, ServedDesk
from tests.integration.test_call_control_real_asterisk import answered_call, bearer, leg
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.ami import next_event
from tests.support.hotline import Hotline
from tests.support.logins import DEMO_PASSWORD

WALLBOARD = Path(__file__).resolve().parents[2] / "agent_ui" / "wallboard"
pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(240)]


async def open_wallboard(desk: ServedDesk, browser: Browser, username: str) -> Page:
    """Log in at the desk as a manager: the desk sends them on to the wallboard."""
    context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN")  # type: ignore[arg-type]
    page = desk.watch(await context.new_page())
    await page.goto(f"{desk.base_url}/desk/")
    await expect(page.locator("#login-view")).to_be_visible()
    await page.fill("#login-username", username)
    await page.fill("#login-password", DEMO_PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(re.compile(r"/desk/wallboard/$"))
    await expect(page.locator("#board")).to_be_visible()
    await expect(page.locator("#ws-status")).to_have_attribute("data-status", "open")
    return page


async def tier_of(line: Hotline) -> str:
    async with line.db.read() as session:
        tier = await session.scalar(select(Client.tier).where(Client.id == line.client.id))
    assert tier is not None
    return tier.value


def tier_label(tier: str) -> str:
    """The tier as the zh-CN wallboard names it."""
    words = json.loads((WALLBOARD / "i18n" / "zh-CN.json").read_text(encoding="utf-8"))
    label: str = words[f"tier.{tier}"]
    return label


@pytest.mark.parametrize("served_desk", ["sqlite", "postgresql"], indirect=True)
async def test_the_wallboard_shows_a_live_call_the_supervisor_listens_to(
    served_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    line = served_desk.line
    tier = await tier_of(line)
    page = await open_wallboard(served_desk, browser, "supervisor01")
    password = line.settings.agent_phone_password.get_secret_value()
    with line.runtime.ami.subscribe({"chanspystart"}) as spying:
        async with (
            AgentPhone(
                line.settings.sip_port, "1901", password=password, behaviour=Answer(0.2)
            ) as supervisor_phone,
            answered_call(line) as desk,
        ):
            # The board shows the call being talked, within a snapshot or two.
            call_row = page.locator("#calls tr")
            await expect(call_row).to_have_count(1, timeout=5_000)
            caller = line.client.phone
            await expect(call_row.locator("td").nth(0)).to_have_text(
                "*" * (len(caller) - 4) + caller[-4:]
            )
            await expect(call_row.locator("td").nth(1)).to_have_text(tier_label(tier))
            await expect(call_row.locator("td").nth(2)).to_have_text("general")
            agent_row = page.locator(f"#agents tr[data-agent='{desk.agent_id}']")
            await expect(agent_row.locator("td").nth(1)).to_have_class("state-on_call")
            general = page.locator("#queues tr[data-queue='general']")
            await expect(general.locator("[data-testid=wb-waiting]")).to_have_text("0")
            # The supervisor's phone listens to the agent's leg meanwhile.
            agent_leg = leg(line, "1001")
            assert agent_leg is not None
            supervisor, _ = await bearer(line, "supervisor01")
            response = await line.http.post(
                "/api/supervision/monitor",
                json={"agent_id": desk.agent_id, "mode": "listen"},
                headers=supervisor,
            )
            assert response.status_code == 201, response.text
            await supervisor_phone.wait_answered(timeout=15)
            await next_event(spying, "ChanSpyStart", SpyeeChannel=agent_leg.name)
            await page.screenshot(path=str(artifacts / "wallboard.png"))
            await desk.agent_phone.hang_up()
            await supervisor_phone.wait_ended(timeout=15)
        # The call leaves the board; agent01 goes to wrap-up, then ready again.
        await expect(call_row).to_have_count(0, timeout=5_000)
        await expect(agent_row.locator("td").nth(1)).not_to_have_class("state-on_call")
    # The board's figures are the report's for today, on the same records.
    day = dt.datetime.now(ZoneInfo(line.settings.business_timezone)).date().isoformat()
    report = await line.http.get(
        f"/api/reports/calls?from={day}&to={day}&interval=day&by=queue", headers=supervisor
    )
    assert report.status_code == 200, report.text
    (row,) = [q for q in report.json()["rows"] if q["queue"] == "general"]
    await asyncio.sleep(1.5)  # one more snapshot: nothing moves any more
    offered = await general.locator("td").nth(6).inner_text()
    answered = await general.locator("td").nth(7).inner_text()
    assert (int(offered), int(answered)) == (row["offered"], row["answered"]) == (1, 1)
    assert served_desk.csp_violations() == []
    assert not [line for line in served_desk.console if line.startswith("pageerror")]
