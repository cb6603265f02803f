"""The outbound figures in Chromium against the running service (issue 18, points 6 and 7).

The demo data plus a few accounts opened on Feb 20, 2026 (one visited in time, one late, one
never) and a callback dialled twice on Mar 2. The reports' Outbound section shows what
GET /api/reports/outbound answers for the same query, formatted as the page formats it
(agent_ui/reports/js/figures.js), its CSV link downloads the API's CSV, and it reads in both
languages; the wallboard's outbound card shows what GET /api/supervision/floor answers. No
page breaks the CSP; screenshots go to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from callcenter.api.desk import AGENT_UI_DIR
from callcenter.crm.vocabulary import CallbackStatus, FollowUpKind, FollowUpStatus, Role
from callcenter.persistence.db import Database
from callcenter.persistence.tables import (
    Branch,
    CallbackRequest,
    Client,
    FollowUp,
    FollowUpAttempt,
    User,
)
from tests.browser.conftest import ServedDesk
from tests.browser.test_reports_pages import (
    Formats,
    api,
    assert_row_shows,
    cells,
    count,
    download,
    duration,
    logged_in,
    open_report,
    percent,
    shown,
)
from tests.browser.test_wallboard import open_wallboard
from tests.support.crm_data import add_client

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(240)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = {"from": "2026-03-01", "to": "2026-03-31", "by": "branch"}
EN = json.loads((AGENT_UI_DIR / "reports" / "i18n" / "en.json").read_text())


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


def ratio(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.2f}"


async def store_outbound(db: Database) -> None:
    async with db.read() as session:
        branch = await session.scalar(select(Branch.id).order_by(Branch.id).limit(1))
        advisor = await session.scalar(select(User.id).where(User.role == Role.ADVISOR).limit(1))
        agent = await session.scalar(select(User.id).where(User.role == Role.AGENT).limit(1))
    assert branch is not None
    assert agent is not None
    clients = [
        await add_client(
            db,
            branch,
            account_no=f"10090000{n:02d}",
            id_number=f"3101011990020{n:05d}",
            phones=(f"+86138009000{n:02d}",),
            advisor_id=advisor,
        )
        for n in range(3)
    ]
    now = dt.datetime.now(dt.UTC)
    async with db.write() as session:
        for client, done_at in zip(clients, [local(5, 10), local(12, 10), None], strict=True):
            row = await session.get(Client, client)
            assert row is not None
            row.opened_on = dt.date(2026, 2, 20)
            session.add(
                FollowUp(
                    client_id=client,
                    kind=FollowUpKind.RETURN_VISIT,
                    status=FollowUpStatus.DONE if done_at else FollowUpStatus.OPEN,
                    due_on=dt.date(2026, 3, 6),
                    done_at=done_at,
                )
            )
        request = CallbackRequest(
            requested_at=local(2, 9),
            client_id=clients[0],
            number="+8613800900000",
            language="zh",
            status=CallbackStatus.DONE,
        )
        session.add(request)
        await session.flush()
        callback = FollowUp(
            client_id=clients[0],
            kind=FollowUpKind.CALLBACK,
            status=FollowUpStatus.DONE,
            due_on=dt.date(2026, 3, 3),
            callback_request_id=request.id,
            created_at=local(2, 9),
            done_at=local(2, 11, 30),
        )
        # Today's work for the wallboard: a callback due now, dialled once already.
        today = FollowUp(
            client_id=clients[1],
            kind=FollowUpKind.CALLBACK,
            status=FollowUpStatus.OPEN,
            due_on=now.date(),
            priority=2,
        )
        session.add_all([callback, today])
        await session.flush()
        for follow_up, started, outcome in [
            (callback.id, local(2, 10), "busy"),
            (callback.id, local(2, 11, 30), "completed"),
            (today.id, now, "no_answer"),
        ]:
            session.add(
                FollowUpAttempt(
                    follow_up_id=follow_up,
                    agent_id=agent,
                    mode="preview",
                    started_at=started,
                    ended_at=started,
                    outcome=outcome,
                )
            )


RETURN_VISIT_FORMATS: Formats = {
    **dict.fromkeys(("due_14_days", "done_14_days", "due_month", "done_month"), count),
    "rate_14_days": percent,
    "rate_month": percent,
}
KIND_FORMATS: Formats = {
    **dict.fromkeys(("attempts", "dials", "reached_items"), count),
    "attempts_per_reached": ratio,
}


async def test_the_outbound_report_and_the_wallboards_outbound_card(
    served_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    desk = served_desk
    await store_outbound(desk.line.db)
    context = await logged_in(desk, browser, "supervisor01")
    page = await open_report(desk, context, "outbound?from=2026-03-01&to=2026-03-31&by=branch")
    await shown(page, "outbound", **{"from": "2026-03-01", "by": "branch"})
    report: dict[str, Any] = (await api(desk, "/api/reports/outbound", **MARCH)).json()

    return_visits = await cells(page, "outbound-return-visits")
    assert list(return_visits) == [str(r["group_id"]) for r in report["return_visits"]] + ["total"]
    chinese = str(await page.evaluate("document.documentElement.lang")).startswith("zh")
    for row in report["return_visits"]:
        assert_row_shows(return_visits[str(row["group_id"])], row, RETURN_VISIT_FORMATS)
        # A branch by its name in the page's language.
        named = row["group_name"] if chinese else row["group_name_en"]
        assert return_visits[str(row["group_id"])]["group"] == named
    assert_row_shows(return_visits["total"], report["return_visits_total"], RETURN_VISIT_FORMATS)
    assert report["return_visits_total"]["due_14_days"] >= 3  # ours, and the demo's if any

    kinds = await cells(page, "outbound-kinds")
    assert list(kinds) == [k["kind"] for k in report["kinds"]] + ["total"]
    for row in report["kinds"]:
        assert_row_shows(kinds[row["kind"]], row, KIND_FORMATS)
        assert kinds[row["kind"]]["busy"] == count(row["outcomes"]["busy"])
    tile = page.locator("#outbound-tiles [data-field=median_delay] .tile-value")
    await expect(tile).to_have_text(duration(report["callbacks"]["median_seconds"]))
    csv_bytes = await download(page, "#outbound-csv")
    api_csv = await api(desk, "/api/reports/outbound", **MARCH, format="csv")
    assert csv_bytes == api_csv.content
    await page.screenshot(path=str(artifacts / "reports-outbound-zh-CN.png"), full_page=True)

    await page.locator(".lang-select").select_option("en")
    await expect(page.locator("nav.tabs a[data-page=outbound]")).to_have_text(
        EN["rep.nav.outbound"]
    )
    await expect(page.locator("#outbound-kinds thead")).to_contain_text(EN["rep.ob.dials"])
    await page.screenshot(path=str(artifacts / "reports-outbound-en.png"), full_page=True)

    # The wallboard: the floor's outbound card, read by the service every 10 s.
    board = await open_wallboard(desk, browser, "supervisor01")
    callbacks = board.locator("[data-testid=wb-campaigns] tr[data-kind=callback]")
    await expect(callbacks).to_be_visible(timeout=15_000)
    await expect(callbacks.locator("[data-testid=wb-campaign-dials]")).not_to_have_text("0")
    floor = (await api(desk, "/api/supervision/floor")).json()
    for row in floor["campaigns"]:
        shown_row = board.locator(f"[data-testid=wb-campaigns] tr[data-kind={row['kind']}]")
        await expect(shown_row.locator("[data-testid=wb-campaign-open]")).to_have_text(
            str(row["open"])
        )
        await expect(shown_row.locator("[data-testid=wb-campaign-due]")).to_have_text(
            str(row["due_now"])
        )
        await expect(shown_row.locator("[data-testid=wb-campaign-dials]")).to_have_text(
            str(row["attempts_today"])
        )
    await board.screenshot(path=str(artifacts / "wallboard-outbound.png"), full_page=True)
    assert desk.csp_violations() == []
