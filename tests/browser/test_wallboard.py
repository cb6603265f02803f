"""The supervisors' wallboard in a real browser against the running service and the real
Asterisk (issue 7, "Show it works").

A supervisor logs in at the desk and lands on the wallboard. During a live sipp call answered
by agent01's test phone, the board shows the call (masked caller, client tier, queue, agent)
and agent01 on a call; "Listen" on agent01's row rings supervisor01's test phone, which
listens through ChanSpy, and the bar's "Hang up" ends it. When the call ends it leaves the
board, and the queue's figures on the board are the report's. From the board a supervisor
also sets an agent not ready with a reason and ready again, and moves a waiting call to
another queue, where that agent answers it.
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

from callcenter.persistence.tables import AuditEntry, Client
from tests.browser.conftest import VIEWPORT, ServedDesk
from tests.browser.mfa import pass_second_factor
from tests.integration.test_acd_real_asterisk import log_in, short_queue, to_an_agent
from tests.integration.test_call_control_real_asterisk import answered_call, bearer, leg
from tests.integration.test_supervision_real_asterisk import serve_only_complaints, waiting_call
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.ami import next_event
from tests.support.dtmf import KeypadCaller
from tests.support.hotline import HOTLINE, Hotline
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
    await pass_second_factor(page)
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
    return zh_label(f"tier.{tier}")


def zh_label(key: str) -> str:
    """A label as the zh-CN wallboard shows it."""
    words = json.loads((WALLBOARD / "i18n" / "zh-CN.json").read_text(encoding="utf-8"))
    label: str = words[key]
    return label


def desk_queue_label(queue: str) -> str:
    """A queue as the zh-CN desk names it, which the wallboard shows too (one source)."""
    words = json.loads((WALLBOARD.parent / "i18n" / "zh-CN.json").read_text(encoding="utf-8"))
    label: str = words[f"queue.{queue}"]
    return label


@pytest.mark.parametrize("served_desk", ["sqlite", "postgresql"], indirect=True)
async def test_the_wallboard_shows_a_live_call_the_supervisor_listens_to(
    served_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    line = served_desk.line
    tier = await tier_of(line)
    page = await open_wallboard(served_desk, browser, "supervisor01")
    password = line.phone_secrets
    supervisor, _ = await bearer(line, "supervisor01")
    with line.runtime.ami.subscribe({"chanspystart", "chanspystop"}) as spying:
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
            await expect(call_row.locator("td").nth(2)).to_have_text(desk_queue_label("general"))
            agent_row = page.locator(f"#agents tr[data-agent='{desk.agent_id}']")
            await expect(agent_row.locator("td").nth(1)).to_have_class("state-on_call")
            general = page.locator("#queues tr[data-queue='general']")
            await expect(general.locator("[data-testid=wb-waiting]")).to_have_text("0")
            await expect(general.locator("[data-testid=wb-queue-name]")).to_have_text(
                desk_queue_label("general")
            )
            # A branch manager has no phone to ring: the board says so in words.
            manager = await open_wallboard(served_desk, browser, "manager.bj01")
            listen = manager.locator(
                f"#agents tr[data-agent='{desk.agent_id}'] [data-testid=wb-listen]"
            )
            await listen.click()
            await expect(manager.locator("#error-bar")).to_contain_text(
                zh_label("error.no-supervisor-phone")
            )
            await expect(listen).to_be_enabled()
            await expect(manager.locator("#monitor-bar")).to_be_hidden()
            await manager.context.close()
            # "Listen" on agent01's row rings the supervisor's phone, which listens to the
            # agent's leg; the bar says so, also after a reload of the page.
            agent_leg = leg(line, "1001")
            assert agent_leg is not None
            await agent_row.locator("[data-testid=wb-listen]").click()
            await supervisor_phone.wait_answered(timeout=15)
            await next_event(spying, "ChanSpyStart", SpyeeChannel=agent_leg.name)
            bar = page.locator("#monitor-bar")
            await expect(bar).to_be_visible()
            await expect(bar).to_have_attribute("data-mode", "listen")
            await expect(page.locator("#monitor-text")).to_contain_text(
                await agent_row.locator("td").nth(0).inner_text()
            )
            await page.reload()
            await expect(bar).to_be_visible()
            await expect(page.locator("#error-bar")).to_be_hidden()
            await page.screenshot(path=str(artifacts / "wallboard.png"))
            # "Hang up" on the bar ends the supervisor's call; the agent's call goes on.
            await page.locator("#monitor-stop").click()
            await supervisor_phone.wait_ended(timeout=15)
            await next_event(spying, "ChanSpyStop", SpyeeChannel=agent_leg.name)
            await expect(bar).to_be_hidden()
            assert desk.agent_phone.current is not None
            await desk.agent_phone.hang_up()
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


@pytest.mark.parametrize("served_desk", ["sqlite", "postgresql"], indirect=True)
async def test_a_supervisor_sets_an_agents_state_and_moves_a_waiting_call_from_the_board(
    served_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    """agent01 serves only complaints. The supervisor sets them not ready (a break), then
    ready, from their row; a caller waiting in general is moved to complaints from the
    waiting calls card, and agent01's phone answers it."""
    line = served_desk.line
    await short_queue(line, "general", ring_seconds=10)
    await short_queue(line, "complaints", ring_seconds=10)
    supervisor, _ = await bearer(line, "supervisor01")
    _, agent_id = await bearer(line, "agent01")
    await serve_only_complaints(line, agent_id)
    password = line.phone_secrets
    async with AgentPhone(
        line.settings.sip_port, "1001", password=password, behaviour=Answer(0.2)
    ) as phone:
        await log_in(line, "agent01")
        page = await open_wallboard(served_desk, browser, "supervisor01")
        row = page.locator(f"#agents tr[data-agent='{agent_id}']")
        state = row.locator("td").nth(1)
        await expect(state).to_have_class("state-ready")

        # Not ready, on a break: the board and the ACD's record agree.
        await row.locator("[data-testid=wb-state-select]").select_option("not_ready:break")
        await row.locator("[data-testid=wb-state-apply]").click()
        await expect(state).to_have_class("state-not_ready", timeout=5_000)
        await expect(row.locator("td").nth(2)).to_have_text(zh_label("reason.break"))
        listed = await line.http.get("/api/agents", headers=supervisor)
        (agent,) = [a for a in listed.json() if a["agent_id"] == agent_id]
        assert (agent["state"], agent["reason"]) == ("not_ready", "break")
        # Ready again, so that the call moved below reaches them.
        await row.locator("[data-testid=wb-state-select]").select_option("ready")
        await row.locator("[data-testid=wb-state-apply]").click()
        await expect(state).to_have_class("state-ready", timeout=5_000)
        await expect(page.locator("#error-bar")).to_be_hidden()

        caller = KeypadCaller(
            line.settings.sip_port, HOTLINE, to_an_agent(20.0), caller=line.client.phone
        )
        await caller.start()
        call_id = await waiting_call(line)
        waiting = page.locator(f"#waiting tr[data-call='{call_id}']")
        await expect(waiting.locator("td").nth(2)).to_have_text(
            desk_queue_label("general"), timeout=5_000
        )
        assert phone.invites == []  # agent01 does not serve general
        await waiting.locator("[data-testid=wb-move-select]").select_option("queue:complaints")
        await page.screenshot(path=str(artifacts / "wallboard-actions.png"))
        await waiting.locator("[data-testid=wb-move-apply]").click()
        await phone.wait_answered(timeout=15)
        await expect(waiting).to_have_count(0, timeout=5_000)
        await expect(page.locator("#error-bar")).to_be_hidden()
        await phone.hang_up()
        await caller.wait()
    call = await line.ended_interaction()
    assert (call.queue, call.agent_id) == ("complaints", agent_id)
    async with line.db.read() as session:
        actions = set(await session.scalars(select(AuditEntry.action)))
    assert {"agent.state_forced", "call.moved"} <= actions
    assert served_desk.csp_violations() == []
    assert not [line for line in served_desk.console if line.startswith("pageerror")]
