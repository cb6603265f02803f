"""The desk and the agent's phone at 1366x768, against the running service and the real
Asterisk (issue 16, point 2), in Chinese then English:
* with nothing registered as 1001, "start shift" is refused and the toast names the phone;
  the top bar says the phone is not registered;
* once a test phone registers as 1001 the shift starts (ready), the top bar says registered;
* when the phone unregisters, the agent is set not ready, "no phone", on screen at once;
* the page's log out takes the agent out of their shift (the server logs the state out).
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from callcenter.persistence import agents
from callcenter.persistence.tables import User
from tests.browser.conftest import VIEWPORT, ServedDesk
from tests.browser.test_desk_wrap_up import log_in
from tests.support.agent_phone import AgentPhone, Answer

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(180)]


async def state_of(desk: ServedDesk, username: str) -> tuple[str, str | None]:
    async with desk.line.db.read() as session:
        user_id = await session.scalar(select(User.id).where(User.username == username))
        assert user_id is not None
        record = await agents.get_agent(session, user_id)
    return record.status.state.value, record.status.reason


async def test_no_shift_without_a_phone_and_none_left_ready_after_logging_out(
    served_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    desk = served_desk
    line = desk.line
    context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN")  # type: ignore[arg-type]
    page = desk.watch(await context.new_page())
    await page.goto(f"{desk.base_url}/")
    await log_in(page, "agent01")
    toast = page.locator("#toast")
    badge = page.locator("#state-badge")
    phone_state = page.locator("[data-testid=agent-phone]")

    # Nothing registered as 1001: refused, and the page says which phone.
    await expect(phone_state).to_have_attribute("data-registered", "false")
    await expect(phone_state).to_contain_text("话机未注册")
    await page.click("#btn-shift-start")
    await expect(toast).to_be_visible()
    await expect(toast).to_contain_text("1001")
    await expect(toast).to_contain_text("未注册")
    await expect(badge).to_have_attribute("data-state", "logged_out")
    await page.screenshot(path=str(artifacts / "desk-ready-refused-no-phone.png"))
    assert await state_of(desk, "agent01") == ("logged_out", None)

    password = line.phone_secrets
    phone = AgentPhone(line.settings.sip_port, "1001", password=password, behaviour=Answer())
    await phone.start()
    try:
        await page.click("#btn-shift-start")
        await expect(badge).to_have_attribute("data-state", "ready")
        await expect(phone_state).to_have_attribute("data-registered", "true")
        await expect(phone_state).to_contain_text("话机已注册")
        await page.screenshot(path=str(artifacts / "desk-ready-with-phone.png"))
        await page.select_option("[data-testid=lang-select]", "en")
        await expect(phone_state).to_contain_text("phone registered")
    finally:
        await phone.stop()  # unregisters: the service takes the agent out of ready

    await expect(badge).to_have_attribute("data-state", "not_ready", timeout=10_000)
    await expect(badge).to_contain_text("No phone")
    await expect(phone_state).to_have_attribute("data-registered", "false")
    await page.screenshot(path=str(artifacts / "desk-phone-gone-not-ready.png"))
    assert await state_of(desk, "agent01") == ("not_ready", "no_phone")

    # In English, the refusal names the phone too.
    await page.click("#btn-ready")
    await expect(toast).to_contain_text("Your phone (1001) is not registered")
    await expect(badge).to_have_attribute("data-state", "not_ready")

    # The page's log out ends the shift: no desk is left in the ACD after it.
    await page.click("#btn-logout")
    await expect(page.locator("#login-view")).to_be_visible()
    assert await state_of(desk, "agent01") == ("logged_out", None)
    assert desk.csp_violations() == []
    await context.close()
