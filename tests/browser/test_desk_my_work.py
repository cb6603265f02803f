"""The desk's "My work" panel dialling a preview item from the browser (issue 18, points 3 and
6), against the running service, the real Asterisk, a registered test agent phone and a sipp
client behind the carrier trunk (tests/support/sip_client.py):

* a return visit is due for a demo client; the agent clicks Next: the item is held for them,
  its reason shows, and the client's 360-degree view opens (audited); Dial while ready is
  refused in words (an ACD call may come at any moment); not ready, Dial rings the
  agent's phone first (the Originate), then the client is dialled over the trunk with the
  hotline's number as caller ID; the client answers; the agent hangs up from the desk's call
  panel (the sipp client's own BYE has no Request-URI yet, which Asterisk drops); the desk asks
  how it went (and still does on the item's row after a reload), the agent reports
  "completed" with a note: the item is done in the database and its attempt row holds the
  call's interaction;
* outside calling hours (the settings' window put away from now): Next offers nothing, the
  item's verdict names the rule and the time it may go (center time), Dial is refused with
  the rule and that time on the page, and nothing is dialled; the agent skips it, with a
  reason.

The browser runs in Los Angeles time: a time shown in the PC's zone would be 16 hours off the
center's. The panel's layout is checked at 1366x768. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import func, select

from callcenter.api.desk import AGENT_UI_DIR
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus
from callcenter.outbound import compliance
from callcenter.outbound.model import AttemptOutcome, DialMode
from callcenter.outbound.return_visit import load_script
from callcenter.persistence.tables import (
    AuditEntry,
    Client,
    Complaint,
    FollowUp,
    FollowUpAttempt,
    Interaction,
    ReturnVisitAnswers,
    User,
)
from tests.browser.conftest import VIEWPORT, ServedDesk, free_port, serve
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.hotline import Hotline
from tests.support.logins import DEMO_PASSWORD
from tests.support.sip_client import SipClient
from tests.support.sipp import free_udp_port

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(300)]

CENTER = ZoneInfo("Asia/Shanghai")  # the settings' business_timezone
HOTLINE_NUMBER = "95777"  # not the default, so the client's caller ID is the setting's
REASON = "开户回访：确认本人开户及风险揭示 (account opened 2026-11-30)"  # noqa: RUF001
NOTE = "客户确认本人开户, 已理解风险等级。 Confirmed in person."
SKIP_REASON = "客户今天开会 in a meeting today"
CALLBACK_REASON = "客户在语音导航中预约回电 (asked in the IVR at 10:02)"
ALL_DAY = {  # calling hours that hold now, whatever the hour
    f"outbound_{days}_{end}": dt.time(0, 0) if end == "start" else dt.time(23, 59, 59)
    for days in ("weekday", "weekend")
    for end in ("start", "end")
}


# Runs in the page before its scripts (Playwright injects it, the page's CSP does not apply):
# when the pop became visible, on the clock of the phone's ``Invite.at`` (epoch seconds).
POP_CLOCK = """
new MutationObserver(() => {
  const pop = document.getElementById("pop");
  if (pop && !pop.hidden && window.__popShown === undefined) {
    window.__popShown = (performance.timeOrigin + performance.now()) / 1000;
  }
}).observe(document, {subtree: true, attributes: true, childList: true});
"""
# The script's answers (callcenter/outbound/return_visit_script.yaml): none shows a problem.
GOOD_ANSWERS = {
    "opened_by_self": "yes",
    "risk_disclosure": "understood",
    "risk_profile_known": "yes",
    "promised_returns": "no",
    "satisfied_with_opening": "yes",
}


def client_port() -> int:
    """The sipp client's port: the one this checkout's sandbox was given, else a free one."""
    given = os.environ.get("CALLCENTER_TEST_CLIENT_PORT")
    return int(given) if given else free_udp_port()


@contextlib.asynccontextmanager
async def served(
    hotline_factory: Callable[..., Any], **overrides: Any
) -> AsyncIterator[ServedDesk]:
    port = free_port()
    line: Hotline = await hotline_factory(http_port=port, **overrides)
    async for base_url in serve(line, port):
        yield ServedDesk(line, base_url, "sqlite")


async def user_id(line: Hotline, username: str) -> int:
    async with line.db.read() as session:
        found = await session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


async def seed_return_visit(
    line: Hotline,
    agent: int,
    kind: FollowUpKind = FollowUpKind.RETURN_VISIT,
    reason: str = REASON,
) -> int:
    """A return visit (or another kind of item) of the demo client, the agent's, overdue:
    first in the dialler's order (priority 1 before the demo's follow-ups and the automatic
    return visits)."""
    async with line.db.write() as session:
        row = FollowUp(
            client_id=line.client.id,
            kind=kind,
            status=FollowUpStatus.OPEN,
            due_on=dt.datetime.now(CENTER).date() - dt.timedelta(days=1),
            assigned_to_id=agent,
            priority=1,
            reason=reason,
        )
        session.add(row)
        await session.flush()
        return row.id


async def open_desk(desk: ServedDesk, browser: Browser) -> Page:
    context = await browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        locale="zh-CN",
        timezone_id="America/Los_Angeles",
    )
    page = desk.watch(await context.new_page())
    await page.add_init_script(POP_CLOCK)
    await page.goto(f"{desk.base_url}/")
    return page


async def log_in(page: Page, username: str) -> None:
    """Logged in, the shift not started."""
    await expect(page.locator("#login-view")).to_be_visible()
    await page.fill("#login-username", username)
    await page.fill("#login-password", DEMO_PASSWORD)
    await page.click("#login-submit")
    await expect(page.locator("#ws-status")).to_have_attribute("data-status", "open")


async def log_in_ready(page: Page, username: str) -> None:
    """Logged in and the shift started (the phone registered): ready."""
    await log_in(page, username)
    await page.click("#btn-shift-start")
    await expect(page.locator("#state-badge")).to_have_attribute("data-state", "ready")


async def go_not_ready(page: Page) -> None:
    """Not ready: no ACD call can come, so the agent is free to dial."""
    await page.click("#btn-not-ready")
    await expect(page.locator("#state-badge")).to_have_attribute("data-state", "not_ready")


async def attempts_of(line: Hotline, item_id: int) -> list[FollowUpAttempt]:
    async with line.db.read() as session:
        rows = list(
            await session.scalars(
                select(FollowUpAttempt)
                .where(FollowUpAttempt.follow_up_id == item_id)
                .order_by(FollowUpAttempt.id)
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


async def until_answered(line: Hotline, item_id: int, timeout: float = 10.0) -> None:
    """The dialler has applied the dialled call's end to the item's attempt: answered."""

    async def answered() -> bool:
        attempts = await attempts_of(line, item_id)
        return any(a.outcome == AttemptOutcome.ANSWERED for a in attempts)

    async def poll() -> None:
        # The database, which announces nothing to wait on; wait_for bounds it.
        while not await answered():  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


async def in_sight(page: Page, *selectors: str) -> None:
    for selector in selectors:
        await expect(page.locator(selector)).to_be_in_viewport(ratio=1)


async def test_an_agent_previews_dials_and_completes_a_callback_from_the_desk(
    hotline_factory: Callable[..., Any], browser: Browser, artifacts: Path
) -> None:
    port = client_port()
    async with served(
        hotline_factory,
        outbound_trunk=f"127.0.0.1:{port}",
        hotline_number=HOTLINE_NUMBER,
        **ALL_DAY,
    ) as desk:
        line = desk.line
        agent = await user_id(line, "agent01")
        # A callback: a return visit is completed by its script instead (the test below).
        item_id = await seed_return_visit(line, agent, FollowUpKind.CALLBACK, CALLBACK_REASON)
        password = line.phone_secrets
        page = await open_desk(desk, browser)
        async with (
            SipClient(port, "answer") as client,
            AgentPhone(
                line.settings.sip_port, "1001", password=password, behaviour=Answer(0.3)
            ) as phone,
        ):
            await log_in_ready(page, "agent01")
            row = page.locator(f"[data-testid=work-row][data-item-id='{item_id}']")
            await expect(row).to_contain_text("回电")
            await expect(row.locator("[data-testid=work-verdict]")).to_have_text("现在可以拨打")

            # Next: the item held for the agent, its reason, and the client's 360-degree view.
            await page.click("[data-testid=work-next]")
            current = page.locator("[data-testid=work-current]")
            await expect(current.locator(".work-item")).to_have_attribute(
                "data-item-id", str(item_id)
            )
            await expect(current.locator("[data-testid=work-reason]")).to_have_text(CALLBACK_REASON)
            await expect(current.locator("[data-testid=work-kind]")).to_have_text("回电")
            await expect(current).to_contain_text("已为您保留")
            async with line.db.read() as session:
                name = await session.scalar(select(Client.name).where(Client.id == line.client.id))
            assert name is not None
            await expect(page.locator("[data-testid=client-name]")).to_contain_text(name)
            await in_sight(page, "[data-testid=work-dial]", "[data-testid=work-skip]")
            await page.screenshot(path=str(artifacts / "desk-my-work-preview.png"))
            async with line.db.read() as session:
                held = await session.get(FollowUp, item_id)
                assert held is not None
                assert held.reserved_by_id == agent
                viewed = await session.scalar(
                    select(func.count(AuditEntry.id)).where(
                        AuditEntry.action == "client.view",
                        AuditEntry.client_id == line.client.id,
                        AuditEntry.actor_id == agent,
                    )
                )
            assert viewed, "the 360-degree view opened from the preview is audited"

            # Ready, the agent may get an ACD call at any moment: Dial is refused, and said so.
            message = page.locator("[data-testid=work-message]")
            await page.click("[data-testid=work-dial]")
            await expect(message).to_have_text("外呼前请先设为未就绪或处于话后状态。")
            assert phone.invites == []

            # Not ready, Dial: the agent's phone rings first and answers; then the client, over
            # the trunk. Nothing else is taken up until the agent has told how it went.
            await go_not_ready(page)
            await page.click("[data-testid=work-dial]")
            await expect(message).to_contain_text("正在拨打")
            await expect(page.locator("[data-testid=work-next]")).to_be_disabled()
            answered = await phone.wait_answered(timeout=15)
            invite = await client.wait_invite(timeout=15)
            await client.wait_logged("ANSWERED")
            await page.screenshot(path=str(artifacts / "desk-my-work-on-the-call.png"))
            # The agent hangs up from the desk: the call panel follows the dialled call.
            await expect(page.locator("#call-status")).to_have_attribute("data-state", "dialling")
            await page.click("#btn-hangup")
            await client.wait_logged("FAR-END-BYE", timeout=10)
            await phone.wait_ended(timeout=10)

            # The call is over: how did it go?
            form = page.locator("[data-testid=work-outcome]")
            await expect(form).to_be_visible(timeout=15_000)
            await expect(page.locator("[data-testid=work-next]")).to_be_disabled()

            # A page reloaded before telling keeps the answered call to tell about, on its row
            # (once the dialler has applied the call's end: answered, counted).
            await until_answered(line, item_id)
            await page.reload()
            await expect(row.locator("[data-testid=work-tell]")).to_have_text("填写结果")
            await row.locator("[data-testid=work-tell]").click()
            await expect(form).to_be_visible()
            await in_sight(page, "[data-testid=work-outcome-completed]", "#work-note")
            await in_sight(page, "[data-testid=work-report]")
            await page.check("[data-testid=work-outcome-completed]")
            await page.fill("#work-note", NOTE)
            await page.screenshot(path=str(artifacts / "desk-my-work-outcome.png"))
            await page.click("[data-testid=work-report]")
            saved = "已保存：已完成。"  # noqa: RUF001 - the page's Chinese colon
            await expect(message).to_have_text(saved)
            await expect(row).to_have_count(0)  # done: no longer in the agent's work
            await expect(current).to_be_hidden()
            await page.screenshot(path=str(artifacts / "desk-my-work-done.png"))
            assert len(client.invites) == 1  # the client's phone was called once

    assert (invite.dialled, invite.caller_id) == (line.client.phone, HOTLINE_NUMBER)
    assert answered.invite.from_user == line.client.phone  # the agent's phone shows the client
    async with line.db.read() as session:
        item = await session.get(FollowUp, item_id)
        assert item is not None
        assert (item.status, item.outcome, item.attempts) == (
            FollowUpStatus.DONE,
            AttemptOutcome.COMPLETED.value,
            1,
        )
    [attempt] = await attempts_of(line, item_id)
    assert (attempt.agent_id, attempt.mode, attempt.outcome, attempt.note) == (
        agent,
        DialMode.PREVIEW.value,
        AttemptOutcome.COMPLETED.value,
        NOTE,
    )
    assert attempt.interaction_id is not None
    async with line.db.read() as session:
        call = await session.get(Interaction, attempt.interaction_id)
        assert call is not None
        assert (call.direction, call.agent_id, call.client_id, call.called_number) == (
            "outbound",
            agent,
            line.client.id,
            line.client.phone,
        )
        assert call.answered_at is not None
        assert call.ended_at is not None
    assert desk.csp_violations() == []


async def client_facts(line: Hotline) -> tuple[str, str]:
    """The demo client's name, and their risk profile as the script says it in Mandarin."""
    async with line.db.read() as session:
        row = await session.get(Client, line.client.id)
        assert row is not None
        name, profile = row.name, row.risk_profile
    return name, load_script().risk_profiles[profile].zh


async def answer_script(page: Page, answers: dict[str, str]) -> None:
    for question, answer in answers.items():
        await page.check(f"[data-testid=work-q-{question}-{answer}]")


async def test_progressive_switch_dials_a_due_return_visit_once_the_agent_is_ready(
    hotline_factory: Callable[..., Any], browser: Browser, artifacts: Path
) -> None:
    """Progressive on from the desk: nothing is dialled until the agent is ready; then the
    dialler dials the return visit's client, the answered client comes as an ACD call (the
    pop before the phone rings, the call panel following it), and "My work" says what it
    dials. Hung up from the desk, the item is taken up for its script; saved, it is done."""
    port = client_port()
    async with served(
        hotline_factory,
        outbound_trunk=f"127.0.0.1:{port}",
        hotline_number=HOTLINE_NUMBER,
        **ALL_DAY,
    ) as desk:
        line = desk.line
        agent = await user_id(line, "agent01")
        item_id = await seed_return_visit(line, agent)
        name, risk = await client_facts(line)
        password = line.phone_secrets
        page = await open_desk(desk, browser)
        async with (
            SipClient(port, "answer") as client,
            AgentPhone(
                line.settings.sip_port, "1001", password=password, behaviour=Answer(1.0)
            ) as phone,
        ):
            await log_in(page, "agent01")  # the shift not started: not ready
            switch = page.locator("[data-testid=work-progressive-on]")
            status = page.locator("[data-testid=work-progressive-status]")
            await expect(status).to_have_attribute("data-state", "off")
            await expect(status).to_contain_text("您就绪时")
            await expect(switch).not_to_be_checked()
            await in_sight(page, "[data-testid=work-progressive-on]")
            await switch.check()
            await expect(status).to_have_attribute("data-state", "paused")
            await expect(status).to_have_text("已开启，但您未就绪：就绪后才会拨打。")  # noqa: RUF001
            await page.screenshot(path=str(artifacts / "desk-progressive-on.png"))
            assert client.invites == []  # not ready: nothing dialled
            assert await attempts_of(line, item_id) == []

            # Ready: the dialler dials the item's client; the desk says so, naming the item.
            await page.click("#btn-shift-start")
            await expect(page.locator("#state-badge")).to_have_attribute("data-state", "ready")
            invite = await client.wait_invite(timeout=20)
            await expect(status).to_contain_text(f"回访 #{item_id} · {REASON}")
            # The answered client reaches the agent as an ACD call: the pop, then the ring.
            ring = await phone.wait_invite(timeout=20)
            await expect(page.locator("#pop-name")).to_contain_text(name)
            await phone.wait_answered(timeout=10)
            await expect(page.locator("#call-status")).to_have_attribute("data-state", "talking")
            await expect(status).to_have_attribute("data-state", "connected")
            await expect(status).to_have_text(f"通话中：回访 #{item_id} · {REASON}")  # noqa: RUF001
            await expect(page.locator("[data-testid=client-name]")).to_contain_text(name)
            await page.screenshot(path=str(artifacts / "desk-progressive-call.png"))
            pop_shown = await page.evaluate("window.__popShown")

            # The agent hangs up from the desk, and turns progressive off.
            await page.click("#btn-hangup")
            await client.wait_logged("FAR-END-BYE", timeout=10)
            await phone.wait_ended(timeout=10)
            await switch.uncheck()
            await expect(status).to_have_attribute("data-state", "off", timeout=10_000)

            # The ended call's item is taken up for its script, the client's profile in it.
            visit = page.locator("[data-testid=work-visit]")
            await expect(visit).to_be_visible(timeout=15_000)
            await expect(page.locator("[data-testid=work-current] .work-item")).to_have_attribute(
                "data-item-id", str(item_id)
            )
            await expect(page.locator("[data-testid=work-visit-profile]")).to_contain_text(risk)
            await expect(visit.locator("[data-testid=work-question]").nth(2)).to_contain_text(risk)
            await expect(page.locator("[data-testid=work-outcome-completed]")).to_have_count(0)
            await answer_script(page, GOOD_ANSWERS)
            await in_sight(page, "[data-testid=work-visit-save]")
            await page.click("[data-testid=work-visit-save]")
            message = page.locator("[data-testid=work-message]")
            await expect(message).to_have_text("回访已保存，任务已完成。")  # noqa: RUF001
            await expect(message).to_have_attribute("data-kind", "ok")
            row = page.locator(f"[data-testid=work-row][data-item-id='{item_id}']")
            await expect(row).to_have_count(0)
            await page.screenshot(path=str(artifacts / "desk-progressive-visit-saved.png"))
            await page.select_option("[data-testid=lang-select]", "en")
            await expect(status).to_have_text(
                "Off. When on, the dialler calls your next due client whenever you are ready"
                " and puts them through to you."
            )
            await expect(page.locator("#work-progressive")).to_contain_text("Progressive dialling")
            assert len(client.invites) == 1  # off: the client was called once, nobody else

    assert (invite.dialled, invite.caller_id) == (line.client.phone, HOTLINE_NUMBER)
    assert ring.from_user == line.client.phone
    assert pop_shown is not None
    assert pop_shown < ring.at, "the desk showed the pop before the agent's phone rang"
    [attempt] = await attempts_of(line, item_id)
    assert (attempt.agent_id, attempt.mode, attempt.outcome) == (
        agent,
        DialMode.PROGRESSIVE.value,
        AttemptOutcome.ANSWERED.value,
    )
    async with line.db.read() as session:
        item = await session.get(FollowUp, item_id)
        assert item is not None
        assert (item.status, item.outcome) == (FollowUpStatus.DONE, "completed")
        visit_row = await session.scalar(
            select(ReturnVisitAnswers).where(ReturnVisitAnswers.follow_up_id == item_id)
        )
        assert visit_row is not None
        assert (visit_row.interaction_id, visit_row.answers, visit_row.problems) == (
            attempt.interaction_id,
            GOOD_ANSWERS,
            [],
        )
    assert desk.csp_violations() == []


async def test_a_return_visit_answered_not_opened_by_the_client_opens_a_complaint(
    hotline_factory: Callable[..., Any], browser: Browser, artifacts: Path
) -> None:
    """After an answered preview call of a return visit the agent answers the script: "did
    not open the account myself" opens a complaint in the call, the page names it, and the
    follow-up is done (problem found) without an outcome of its own."""
    port = client_port()
    async with served(
        hotline_factory,
        outbound_trunk=f"127.0.0.1:{port}",
        hotline_number=HOTLINE_NUMBER,
        **ALL_DAY,
    ) as desk:
        line = desk.line
        agent = await user_id(line, "agent01")
        item_id = await seed_return_visit(line, agent)
        _name, risk = await client_facts(line)
        password = line.phone_secrets
        page = await open_desk(desk, browser)
        async with (
            SipClient(port, "answer") as client,
            AgentPhone(
                line.settings.sip_port, "1001", password=password, behaviour=Answer(0.3)
            ) as phone,
        ):
            await log_in_ready(page, "agent01")
            await go_not_ready(page)
            await page.click("[data-testid=work-next]")
            current = page.locator("[data-testid=work-current] .work-item")
            await expect(current).to_have_attribute("data-item-id", str(item_id))
            await page.click("[data-testid=work-dial]")
            await phone.wait_answered(timeout=15)
            await client.wait_logged("ANSWERED")
            await expect(page.locator("#call-status")).to_have_attribute("data-state", "dialling")
            await page.click("#btn-hangup")
            await client.wait_logged("FAR-END-BYE", timeout=10)

            # The call is over: the script, in the page's language, the client's profile in it;
            # "completed" is not offered (the script completes a visit), the rest are.
            visit = page.locator("[data-testid=work-visit]")
            await expect(visit).to_be_visible(timeout=15_000)
            questions = visit.locator("[data-testid=work-question]")
            await expect(questions).to_have_count(5)
            await expect(questions.first).to_contain_text("是否由您本人亲自办理开立")
            await expect(questions.nth(2)).to_contain_text(f"“{risk}”")
            await expect(page.locator("[data-testid=work-outcome-completed]")).to_have_count(0)
            await expect(page.locator("[data-testid=work-outcome-refused]")).to_have_count(1)

            # Not every question answered: nothing is sent, the page points at the first one.
            await page.check("[data-testid=work-q-opened_by_self-no]")
            await page.click("[data-testid=work-visit-save]")
            await expect(visit).to_be_visible()
            async with line.db.read() as session:
                none_yet = select(func.count(ReturnVisitAnswers.id))
                assert await session.scalar(none_yet) == 0

            # The answers stay through a change of language; the questions follow it.
            await page.select_option("[data-testid=lang-select]", "en")
            await expect(questions.first).to_contain_text(
                "Did you open your securities account with us yourself?"
            )
            await expect(page.locator("[data-testid=work-q-opened_by_self-no]")).to_be_checked()
            await page.screenshot(path=str(artifacts / "desk-return-visit-script-en.png"))
            await page.select_option("[data-testid=lang-select]", "zh-CN")
            answers = {**GOOD_ANSWERS, "opened_by_self": "no"}
            await answer_script(page, answers)
            await in_sight(page, "[data-testid=work-visit-save]")
            await page.screenshot(path=str(artifacts / "desk-return-visit-script.png"))
            await page.click("[data-testid=work-visit-save]")

            # Saved: the complaint opened is named; the item is done and leaves the list.
            message = page.locator("[data-testid=work-message]")
            opened = message.locator("[data-testid=work-visit-complaint]")
            await expect(message).to_contain_text("回访已保存，发现问题")  # noqa: RUF001
            await expect(opened).to_contain_text("问题 1：已开立投诉 #")  # noqa: RUF001
            await expect(message).to_have_attribute("data-kind", "warn")
            complaint_id = int(await opened.get_attribute("data-complaint-id") or 0)
            await expect(page.locator("[data-testid=work-current]")).to_be_hidden()
            row = page.locator(f"[data-testid=work-row][data-item-id='{item_id}']")
            await expect(row).to_have_count(0)
            # The client's 360-degree view is read again: the complaint is among the open ones.
            complaints = page.locator("[data-testid=client-complaints]")
            await expect(complaints).to_contain_text("未结投诉（1）")  # noqa: RUF001
            await page.screenshot(path=str(artifacts / "desk-return-visit-complaint.png"))
            await phone.wait_ended(timeout=10)

    [attempt] = await attempts_of(line, item_id)
    assert attempt.interaction_id is not None
    async with line.db.read() as session:
        complaint = await session.get(Complaint, complaint_id)
        assert complaint is not None, "the complaint the page names is in the database"
        assert (
            complaint.client_id,
            complaint.category_code,
            complaint.interaction_id,
            complaint.created_by_id,
        ) == (line.client.id, "account.opening", attempt.interaction_id, agent)
        item = await session.get(FollowUp, item_id)
        assert item is not None
        assert (item.status, item.outcome) == (FollowUpStatus.DONE, "problem_found: opened_by_self")
        visit_row = await session.scalar(
            select(ReturnVisitAnswers).where(ReturnVisitAnswers.follow_up_id == item_id)
        )
        assert visit_row is not None
        assert (visit_row.answers, visit_row.complaint_ids, visit_row.interaction_id) == (
            answers,
            [complaint_id],
            attempt.interaction_id,
        )
    # Told by the script alone: no outcome of the agent's on the attempt (POST /outcome).
    assert attempt.outcome == AttemptOutcome.ANSWERED.value
    assert desk.csp_violations() == []


def away_from_now(zone: ZoneInfo) -> tuple[dt.time, dt.time]:
    """An hour's window that does not hold now in ``zone`` and does not cross midnight."""
    now = dt.datetime.now(zone)
    for start in (now + dt.timedelta(hours=2), now - dt.timedelta(hours=3)):
        end = start + dt.timedelta(hours=1)
        if start.date() == end.date():
            return start.time().replace(second=0, microsecond=0), end.time().replace(
                second=0, microsecond=0
            )
    raise AssertionError("unreachable: one of the two windows stays within its day")


def next_opening(start: dt.time, zone: ZoneInfo) -> dt.datetime:
    """When a window starting at ``start`` every day next opens, after now."""
    now = dt.datetime.now(zone)
    opens = dt.datetime.combine(now.date(), start, zone)
    return opens if opens > now else opens + dt.timedelta(days=1)


async def test_outside_calling_hours_dial_is_refused_with_the_rule_and_nothing_is_dialled(
    hotline_factory: Callable[..., Any], browser: Browser, artifacts: Path
) -> None:
    start, end = away_from_now(CENTER)  # the demo client has no zone of their own: the center's
    hours = {
        f"outbound_{days}_{edge}": value
        for days in ("weekday", "weekend")
        for edge, value in (("start", start), ("end", end))
    }
    async with served(hotline_factory, **hours) as desk:
        line = desk.line
        async with line.db.read() as session:
            assert await session.scalar(
                select(Client.time_zone).where(Client.id == line.client.id)
            ) in (None, str(CENTER))
        agent = await user_id(line, "agent01")
        item_id = await seed_return_visit(line, agent)
        opens = f"{next_opening(start, CENTER):%H:%M}"
        password = line.phone_secrets
        page = await open_desk(desk, browser)
        async with AgentPhone(
            line.settings.sip_port, "1001", password=password, behaviour=Answer(0.3)
        ) as phone:
            await log_in_ready(page, "agent01")
            await go_not_ready(page)
            row = page.locator(f"[data-testid=work-row][data-item-id='{item_id}']")
            verdict = row.locator("[data-testid=work-verdict]")
            await expect(verdict).to_have_attribute("data-reason", compliance.OUTSIDE_HOURS)
            await expect(verdict).to_contain_text("不在可外呼时段")
            await expect(verdict).to_contain_text(f"{opens} 起可拨打")

            # Next: nothing may be dialled now.
            await page.click("[data-testid=work-next]")
            message = page.locator("[data-testid=work-message]")
            await expect(message).to_have_text("现在没有可拨打的任务。")

            # The agent opens the item and dials anyway: the dialler refuses, the rule named.
            await row.locator("[data-testid=work-open]").click()
            await expect(page.locator("[data-testid=work-reason]")).to_have_text(REASON)
            await page.click("[data-testid=work-dial]")
            await expect(message).to_have_attribute("data-kind", "error")
            await expect(message).to_contain_text("未拨打。不在可外呼时段")
            await expect(message).to_contain_text(f"{opens} 起可拨打")
            await page.screenshot(path=str(artifacts / "desk-my-work-outside-hours.png"))

            # In English too.
            await page.select_option("[data-testid=lang-select]", "en")
            await expect(message).to_contain_text("Not dialled. Outside calling hours")
            await expect(message).to_contain_text(opens)
            await expect(verdict).to_contain_text("Outside calling hours: may be dialled from")
            await page.screenshot(path=str(artifacts / "desk-my-work-outside-hours-en.png"))
            assert phone.invites == []  # the agent's phone never rang

            # Skipped instead, with a reason (none: the page asks for one): it comes back later.
            await page.click("[data-testid=work-skip]")
            await page.click("[data-testid=work-skip-confirm]")
            reason = page.locator("[data-testid=work-skip-reason]")
            assert await reason.evaluate("(input) => !input.validity.valid")
            await reason.fill(SKIP_REASON)
            await page.click("[data-testid=work-skip-confirm]")
            await expect(message).to_have_text("Skipped: the Return visit comes back later.")
            await expect(page.locator("[data-testid=work-current]")).to_be_hidden()
            await expect(row).to_contain_text("Dialled 0 time(s) · Skipped")  # a skip counts none

    # Nothing was dialled: the skip is the one attempt, with no call, and there is no outbound
    # call record (click-to-dial writes one before its Originate).
    [skipped] = await attempts_of(line, item_id)
    assert (skipped.outcome, skipped.note, skipped.interaction_id) == (
        AttemptOutcome.SKIPPED.value,
        SKIP_REASON,
        None,
    )
    async with line.db.read() as session:
        outbound = await session.scalar(
            select(func.count(Interaction.id)).where(
                Interaction.direction == "outbound", Interaction.agent_id == agent
            )
        )
        assert outbound == 0
    assert desk.csp_violations() == []


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_every_rule_the_dialler_names_is_worded_in_both_languages(language: str) -> None:
    """A verdict's reason shows as words on the desk, never as its id."""
    words = json.loads((AGENT_UI_DIR / "i18n" / f"{language}.json").read_text(encoding="utf-8"))
    reasons = {
        value
        for name, value in vars(compliance).items()
        if name.isupper() and isinstance(value, str)
    }
    assert compliance.OUTSIDE_HOURS in reasons
    assert sorted(r for r in reasons if f"verdict.{r}" not in words) == []
    outcomes = [o.value for o in AttemptOutcome]
    assert sorted(o for o in outcomes if f"attempt_outcome.{o}" not in words) == []
