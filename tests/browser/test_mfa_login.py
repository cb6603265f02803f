"""A supervisor's TOTP login in the browser (issue 15): the password, then the code, then
the wallboard; a wrong code refused with a clear message; and a first enrolment (the secret
as text, a code from it, the recovery codes shown once) for a manager without a factor."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from callcenter import totp
from callcenter.persistence.mfa import DEMO_TOTP_SECRET, reset_user_mfa
from callcenter.persistence.tables import AuditEntry, User, UserSession
from tests.browser.conftest import VIEWPORT, ServedDesk
from tests.browser.mfa import pass_second_factor
from tests.support.logins import DEMO_PASSWORD

DESK_WORDS = Path(__file__).resolve().parents[2] / "agent_ui" / "i18n"
pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(180)]


def words(language: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((DESK_WORDS / f"{language}.json").read_text("utf-8"))
    return loaded


def a_wrong_code() -> str:
    """A well-formed code that is none of the three the window accepts now."""
    now = time.time()
    accepted = {totp.code_at(DEMO_TOTP_SECRET, now + 30 * k) for k in (-1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in accepted)


async def password_step(desk: ServedDesk, browser: Browser, username: str, locale: str) -> Page:
    context = await browser.new_context(viewport=VIEWPORT, locale=locale)  # type: ignore[arg-type]
    page = desk.watch(await context.new_page())
    await page.goto(f"{desk.base_url}/desk/")
    await expect(page.locator("#login-view")).to_be_visible()
    await page.fill("#login-username", username)
    await page.fill("#login-password", DEMO_PASSWORD)
    await page.click("#login-submit")
    return page


async def test_a_supervisor_logs_in_with_the_code_and_a_wrong_code_is_refused(
    served_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    page = await password_step(served_desk, browser, "supervisor01", "en-US")
    await expect(page.locator("#mfa-form")).to_be_visible()
    await expect(page.locator("#login-form")).to_be_hidden()
    # The password alone opened no session: the wallboard's data is still refused.
    floor = await page.request.get(f"{served_desk.base_url}/api/supervision/floor")
    assert floor.status == 401
    await page.fill("#mfa-code", a_wrong_code())
    await page.click("#mfa-submit")
    await expect(page.get_by_test_id("mfa-error")).to_have_text(words("en")["error.bad-mfa-code"])
    await page.screenshot(path=str(artifacts / "mfa-wrong-code.png"))
    await pass_second_factor(page)
    await expect(page.locator("#board")).to_be_visible()
    await expect(page.locator("#ws-status")).to_have_attribute("data-status", "open")
    async with served_desk.line.db.read() as session:
        verified = await session.scalar(
            select(UserSession.mfa_verified_at)
            .join(User, User.id == UserSession.user_id)
            .where(User.username == "supervisor01")
        )
        failed = await session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == "auth.mfa_failed")
        )
    assert verified is not None
    assert failed is not None
    assert served_desk.csp_violations() == []


async def test_a_manager_without_a_factor_enrols_then_reaches_the_wallboard(
    served_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    line = served_desk.line
    async with line.db.write() as session:
        user_id = await session.scalar(select(User.id).where(User.username == "manager.sh01"))
        assert user_id is not None
        await reset_user_mfa(
            session, user_id, actor_id=None, via="test", now=dt.datetime.now(dt.UTC)
        )
    page = await password_step(served_desk, browser, "manager.sh01", "zh-CN")
    await expect(page.get_by_test_id("enrol-view")).to_be_visible()
    zh = words("zh-CN")
    await expect(page.locator("#enrol-begin")).to_have_text(zh["enrol.begin"])
    await page.click("#enrol-begin")
    await expect(page.get_by_test_id("enrol-secret")).to_have_text(re.compile(r"^[A-Z2-7 ]{39}$"))
    secret = (await page.get_by_test_id("enrol-secret").inner_text()).replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert (await page.get_by_test_id("enrol-uri").inner_text()).startswith("otpauth://totp/")
    await page.fill("#enrol-code", a_wrong_code())
    await page.click("#enrol-confirm")
    await expect(page.get_by_test_id("enrol-error")).to_have_text(zh["error.bad-mfa-code"])
    await page.fill("#enrol-code", totp.code_at(secret, time.time()))
    await page.click("#enrol-confirm")
    codes = page.get_by_test_id("recovery-codes").locator("li")
    await expect(codes).to_have_count(10)
    assert re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", await codes.first.inner_text())
    await page.screenshot(path=str(artifacts / "mfa-recovery-codes.png"))
    await page.click("#enrol-done")
    await page.wait_for_url(re.compile(r"/desk/wallboard/$"))
    await expect(page.locator("#board")).to_be_visible()
    assert served_desk.csp_violations() == []
