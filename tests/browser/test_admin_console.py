"""The admin console in a real browser against the running service (issue 15, point 6, "Show
it works"): the demo admin logs in at the desk (password, then the TOTP code: admins must use
a second factor) and lands on the console; there they create a queue, see a refusal shown in
words next to the form, and set agent01's skills, languages and queues. The result is read
back through the API by a supervisor, and the audit log holds the admin's two changes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from callcenter.persistence.tables import AuditEntry, User
from tests.browser.conftest import VIEWPORT, ServedDesk
from tests.support.logins import DEMO_PASSWORD, demo_codes, log_in

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(180)]

ADMIN_WORDS = Path(__file__).resolve().parents[2] / "agent_ui" / "admin" / "i18n"


async def open_console(desk: ServedDesk, browser: Browser, username: str = "admin") -> Page:
    """Log in at the desk as an admin and land on the console: the password, then the second
    factor's code (the demo secret's, as ``callcenter users totp-code`` prints it)."""
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US")  # type: ignore[arg-type]
    page = desk.watch(await context.new_page())
    await page.goto(f"{desk.base_url}/desk/")
    await expect(page.locator("#login-view")).to_be_visible()
    await page.fill("#login-username", username)
    await page.fill("#login-password", DEMO_PASSWORD)
    await page.click("#login-submit")
    await expect(page.locator("#mfa-form")).to_be_visible()
    for code in demo_codes():
        await page.fill("#mfa-code", code)
        await page.click("#mfa-submit")
        try:
            await page.wait_for_url(re.compile(r"/desk/admin/"), timeout=5000)
            break
        except PlaywrightTimeout:
            continue  # this step's code was used already: the next one
    else:
        raise AssertionError("the demo secret's codes were refused")
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.locator("#readonly-note")).to_be_hidden()
    return page


async def test_an_admin_creates_a_queue_and_sets_an_agents_skills_in_the_console(
    served_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    line = served_desk.line
    page = await open_console(served_desk, browser)

    # A new queue, with its skills, times and a priority.
    await page.click('nav.tabs a[data-page="queues"]')
    await expect(page.locator('#queues-table tr[data-queue="general"]')).to_be_visible()
    await page.click("#queues-new")
    form = page.locator("#queue-form")
    await form.locator('input[name="name"]').fill("wealth")
    await form.locator('input[name="required_skills"]').fill("funds")
    await form.locator('input[name="service_level_seconds"]').fill("15")
    await form.locator('input[name="ring_seconds"]').fill("18")
    await form.locator('input[name="max_wait_seconds"]').fill("90")
    await form.locator('input[name="tier:vip"]').fill("200")
    await form.locator('button[type="submit"]').click()
    await expect(form.locator(".form-ok")).to_contain_text("wealth")
    await expect(page.locator('#queues-table tr[data-queue="wealth"]')).to_be_visible()

    # A refusal is shown in words: a second queue of the same name.
    await page.click("#queues-new")
    await form.locator('input[name="name"]').fill("wealth")
    await form.locator('button[type="submit"]').click()
    await expect(form.locator(".form-error")).to_contain_text("A queue of this name exists")

    # agent01's skills, languages and queues.
    await page.click('nav.tabs a[data-page="agents"]')
    row = page.locator('#agents-table tr[data-username="agent01"]')
    await row.locator("button").click()
    agent_form = page.locator("#agent-form")
    await expect(agent_form).to_be_visible()
    await agent_form.locator('input[name="skills"]').fill("funds 9")
    await agent_form.locator('button[type="submit"]').click()
    await expect(agent_form.locator('.field-error[data-for="skills"]')).to_contain_text("1 to 5")
    await agent_form.locator('input[name="skills"]').fill("funds:4, trading:2")
    await agent_form.locator('input[name="languages"][value="en"]').check()
    await agent_form.locator('input[name="queues"][value="wealth"]').check()
    await agent_form.locator('button[type="submit"]').click()
    await expect(agent_form.locator(".form-ok")).to_be_visible()
    await expect(row.locator('[data-testid="skills"]')).to_have_text("funds:4, trading:2")
    await page.screenshot(path=str(artifacts / "admin-console-agents.png"), full_page=True)
    await page.click('nav.tabs a[data-page="queues"]')
    await page.locator('#queues-table tr[data-queue="wealth"] button').click()
    # docs/img/admin-console.png is this picture.
    await page.screenshot(path=str(artifacts / "admin-console.png"))

    # Read back through the API, as a supervisor.
    supervisor = await log_in(line.http, "supervisor01")
    queue = (await line.http.get("/api/queues/wealth", headers=supervisor)).json()
    assert queue["required_skills"] == ["funds"]
    assert (queue["service_level_seconds"], queue["ring_seconds"]) == (15, 18)
    assert queue["max_wait_seconds"] == 90
    # The tiers left empty beside VIP have no points; the value classes, left alone, the
    # API's defaults.
    assert queue["tier_priority"] == {"standard": 0, "silver": 0, "gold": 0, "vip": 200}
    assert queue["value_class_priority"] == {"top_profit": 1, "declining": 1}
    board = (await line.http.get("/api/agents", headers=supervisor)).json()
    agent01 = next(a for a in board if a["username"] == "agent01")
    assert agent01["skills"] == {"funds": 4, "trading": 2}
    assert "wealth" in agent01["queues"]
    assert set(agent01["languages"]) >= {"zh", "en"}

    async with line.db.read() as session:
        admin_id = await session.scalar(select(User.id).where(User.username == "admin"))
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.actor_id).where(
                AuditEntry.action.in_(["admin.queue.create", "admin.agent.profile"])
            )
        )
        audited = sorted(tuple(r) for r in rows)
    assert audited == [("admin.agent.profile", admin_id), ("admin.queue.create", admin_id)]
    assert served_desk.csp_violations() == []


async def test_users_codes_and_do_not_call_in_the_console_with_errors_by_the_field(
    served_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    """In Chinese: a user created (a short password refused next to its field first), a
    not-ready reason added that agents are then offered, a do-not-call entry (a number that
    is none refused next to its field)."""
    line = served_desk.line
    page = await open_console(served_desk, browser)
    await page.select_option("select.lang-select", "zh-CN")
    words = json.loads((ADMIN_WORDS / "zh-CN.json").read_text("utf-8"))

    # Users: the first password must follow the policy.
    form = page.locator("#user-form")
    await page.click("#users-new")
    await form.locator('input[name="username"]').fill("agent11")
    await form.locator('input[name="display_name"]').fill("王芳")
    await form.locator('select[name="role"]').select_option("agent")
    await form.locator('input[name="extension"]').fill("1011")
    await form.locator('input[name="password"]').fill("short")
    await form.locator('button[type="submit"]').click()
    password_error = form.locator('.field-error[data-for="password"]')
    await expect(password_error).to_have_text(words["adm.error.weak-password"])
    await form.locator('input[name="password"]').fill("a-long-first-password")
    await form.locator('button[type="submit"]').click()
    await expect(form.locator(".form-ok")).to_contain_text("agent11")
    await expect(page.locator('#users-table tr[data-username="agent11"]')).to_be_visible()

    # Reasons: a new one, offered to agents from now on.
    await page.click('nav.tabs a[data-page="codes"]')
    await page.click("#reasons-new")
    code_form = page.locator("#code-form")
    await code_form.locator('input[name="code"]').fill("coaching")
    await code_form.locator('input[name="label_zh"]').fill("辅导")
    await code_form.locator('button[type="submit"]').click()
    await expect(code_form.locator('.field-error[data-for="label_en"]')).not_to_be_empty()
    await code_form.locator('input[name="label_en"]').fill("Coaching")
    await code_form.locator('button[type="submit"]').click()
    await expect(page.locator('#reasons-table tr[data-code="coaching"]')).to_be_visible()

    # Do not call: the number is checked by the API.
    await page.click('nav.tabs a[data-page="dnc"]')
    await page.click("#dnc-new")
    dnc_form = page.locator("#dnc-form")
    await dnc_form.locator('input[name="number"]').fill("call me")
    await dnc_form.locator('select[name="scope"]').select_option("care")
    await dnc_form.locator('input[name="reason"]').fill("客户来电要求")
    await dnc_form.locator('button[type="submit"]').click()
    number_error = dnc_form.locator('.field-error[data-for="number"]')
    await expect(number_error).to_have_text(words["adm.error.invalid-phone-number"])
    await dnc_form.locator('input[name="number"]').fill("138 0013 8000")
    await dnc_form.locator('button[type="submit"]').click()
    await expect(page.locator('#dnc-table tr[data-number="+8613800138000"]')).to_be_visible()
    await page.screenshot(path=str(artifacts / "admin-console-dnc.png"), full_page=True)

    agent = await log_in(line.http, "agent11", "a-long-first-password")
    reasons = (await line.http.get("/api/agents/reasons", headers=agent)).json()
    assert "coaching" in reasons["reasons"]
    supervisor = await log_in(line.http, "supervisor01")
    entries = (await line.http.get("/api/dnc", headers=supervisor)).json()["items"]
    assert [(e["number"], e["scope"]) for e in entries] == [("+8613800138000", "care")]
    assert served_desk.csp_violations() == []
