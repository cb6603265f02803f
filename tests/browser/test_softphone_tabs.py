"""Two desk tabs in one browser (issue 19): only one of them registers the agent's browser
line; the other says the phone is in another tab and takes over when that tab closes. (Two
tabs registering the same line would take the registration from each other at every renewal,
and a call would ring whichever renewed last.) Debian's Chromium with fake media, against the
running service and the real Asterisk."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import VIEWPORT, ServedDesk
from tests.browser.test_agent_desktop import log_in_on_page
from tests.browser.test_desk_softphone import WATCH_PHONE, phone_browser, until

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(180)]

__all__ = ["phone_browser"]  # the fixture, used by name


def contacts_of(desk: ServedDesk, line: str) -> int:
    return desk.line.asterisk.cli("pjsip show contacts").count(f"{line}/")


async def test_a_second_tab_waits_for_the_phone_and_takes_it_over_when_the_first_closes(
    served_desk: ServedDesk, phone_browser: Browser
) -> None:
    desk = served_desk
    context = await phone_browser.new_context(viewport=VIEWPORT, locale="en")  # type: ignore[arg-type]
    first = desk.watch(await context.new_page())
    await first.add_init_script(WATCH_PHONE)
    await first.goto(f"{desk.base_url}/")
    await log_in_on_page(first, "agent01")
    first_status = first.locator("[data-testid=softphone-status]")
    await expect(first_status).to_have_attribute("data-state", "registered", timeout=15_000)

    # The same session in a second tab: its phone waits for the first tab's.
    second = desk.watch(await context.new_page())
    await second.add_init_script(WATCH_PHONE)
    await second.goto(f"{desk.base_url}/")
    second_status = second.locator("[data-testid=softphone-status]")
    await expect(second_status).to_have_attribute("data-state", "other_tab", timeout=15_000)
    await expect(second_status).to_contain_text("another tab")
    assert contacts_of(desk, "1001-web") == 1
    await expect(first_status).to_have_attribute("data-state", "registered")

    # The first tab closes: the second registers the line.
    await first.close()
    await expect(second_status).to_have_attribute("data-state", "registered", timeout=15_000)
    await until(lambda: contacts_of(desk, "1001-web") == 1, 10, "one contact, the second tab's")
    await context.close()
