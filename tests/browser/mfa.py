"""The login page's second step, as a demo manager passes it in a browser."""

from __future__ import annotations

from playwright.async_api import Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.support.logins import demo_codes, next_step


async def pass_second_factor(page: Page) -> None:
    """After the password: type the demo secret's code (the next one if this step's code
    was used already), as a person reading ``callcenter users totp-code`` would."""
    form = page.locator("#mfa-form")
    await expect(form).to_be_visible()
    for attempt in range(2):
        if attempt:
            await next_step()  # this step's codes were used by earlier logins
        for code in demo_codes():
            await page.fill("#mfa-code", code)
            await page.click("#mfa-submit")
            try:
                await page.wait_for_url("**/desk/wallboard/", timeout=5000)
            except PlaywrightTimeout:
                continue
            return
    raise AssertionError("the demo secret's codes were refused")
