"""The report pages' default day is the center's (Asia/Shanghai), told by the server, not the
browser's calendar (issue 16): a supervisor in Los Angeles on the evening of 30 November,
which is already 1 December in Beijing, sees 1 December's figures and November's KPIs; a day
without agents' states says so where the occupancy would be."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.async_api import Browser, expect

from callcenter.api.deps import get_clock
from tests.browser.conftest import ServedDesk
from tests.browser.test_reports_pages import DICTIONARY, logged_in, open_report, shown

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(240)]

# 20:00 on 30 November in Los Angeles; 12:00 on 1 December in Beijing.
NOW = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)


async def test_the_default_day_and_month_are_the_centers_in_a_browser_a_day_behind(
    served_desk: ServedDesk, browser: Browser
) -> None:
    desk = served_desk
    assert desk.line.app is not None
    context = await logged_in(desk, browser, "supervisor01", timezone_id="America/Los_Angeles")
    # Both clocks at NOW (after the login: its second factor's code is of the real time).
    desk.line.app.dependency_overrides[get_clock] = lambda: lambda: NOW
    await context.clock.set_fixed_time(NOW)
    try:
        page = await open_report(desk, context, "calls")
        browser_day = await page.evaluate(
            "() => [new Date().getFullYear(), new Date().getMonth() + 1, new Date().getDate()]"
        )
        assert browser_day == [2026, 11, 30]  # the browser's own calendar is a day behind

        await shown(page, "calls", **{"from": "2026-12-01", "to": "2026-12-01"})
        form = page.locator("#calls-form")
        await expect(form.locator("input[name=from]")).to_have_value("2026-12-01")
        await expect(form.locator("input[name=to]")).to_have_value("2026-12-01")
        # The demo's history ends on 20 November: no agent was logged in that day, and the
        # occupancy says so rather than showing a dash.
        occupancy = page.locator("#calls-tiles .tile[data-field=occupancy] .tile-value")
        await expect(occupancy).to_have_text(DICTIONARY["rep.no_state_data"])

        await page.goto(f"{desk.base_url}/desk/reports/#kpis")
        await shown(page, "kpis", period="2026-11")  # the last whole month of the center's
        await expect(page.locator("#kpis-form input[name=period]")).to_have_value("2026-11")
    finally:
        await context.close()
        desk.line.app.dependency_overrides.pop(get_clock, None)
