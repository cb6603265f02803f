"""The supervisors' report pages (agent_ui/reports/) in Chromium against the running service.

The demo data plus the golden day of the call figures (tests/support/callstats_golden.py:
calls, agents' states, the trading queue at 20 s) and a few complaints and follow-ups on it.
Every figure a page shows is compared with what the API answers for the same query, formatted
the way the page formats it (agent_ui/reports/js/figures.js); the golden hour 09:00 is also
checked against the hand-computed figures (the demo data has one more call that day, at
10:23). The charts have one bar group per interval (or decile), the CSV links download the
API's CSV, no page breaks the CSP, and screenshots go to test-artifacts/.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from callcenter.acd.model import QueueConfig
from callcenter.api.desk import AGENT_UI_DIR
from callcenter.crm.vocabulary import (
    Channel,
    ComplaintStatus,
    Direction,
    FollowUpKind,
    FollowUpStatus,
)
from callcenter.persistence import queues
from callcenter.persistence.agents import apply_event
from callcenter.persistence.db import Database
from callcenter.persistence.tables import Branch, Complaint, FollowUp, User
from tests.browser.conftest import VIEWPORT, ServedDesk
from tests.support import callstats_golden as golden
from tests.support.crm_data import add_client
from tests.support.logins import DEMO_PASSWORD, demo_codes, log_in, next_step

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(240)]

DICTIONARY = json.loads((AGENT_UI_DIR / "reports" / "i18n" / "zh-CN.json").read_text())
DASH = "\u2013"  # the en dash the pages show for "no figure"
GOLDEN_DAY = {"from": "2026-03-02", "to": "2026-03-02"}
MONTH = "2026-10"  # the demo data's account summaries cover it


# --- the data ---------------------------------------------------------------------------------


async def store_golden_day(db: Database, agents: Mapping[str, int]) -> dict[str, int]:
    """The golden day's calls and agents' states in the demo database (which has the queue
    general at 10 s already; trading is added at 20 s). Returns the client ids."""
    async with db.read() as session:
        branch = await session.scalar(select(Branch.id).order_by(Branch.id).limit(1))
    assert branch is not None
    clients = {
        "C1": await add_client(db, branch, account_no="1001000101", id_number="1" * 18,
                               phones=("+8613800000101",)),
        "C2": await add_client(db, branch, account_no="1001000102", id_number="2" * 18,
                               phones=("+8613800000102",), name="李娜", name_latin="Li Na"),
    }  # fmt: skip
    async with db.write() as session:
        await queues.put_queue(session, QueueConfig("trading", service_level_seconds=20.0), None)
        for fact in golden.calls(clients, agents):
            session.add(golden._interaction(fact, Channel.VOICE, Direction.INBOUND))
    for move in golden.MOVES:
        async with db.write() as session:
            await apply_event(
                session, agents[move.agent], move.event, at=move.at, reason=move.reason
            )
    return clients


async def store_cases(db: Database, clients: Mapping[str, int]) -> None:
    """Complaints opened and follow-ups due on the golden day."""
    opened = golden.at("10:00:00")
    day = dt.timedelta(days=1)
    async with db.write() as session:
        for category, closed_after, responded_after in [
            ("service.waiting", day, dt.timedelta(hours=2)),
            ("service.waiting", 3 * day, 3 * day),
            ("service.waiting", None, None),
            ("account.opening", dt.timedelta(hours=5), dt.timedelta(hours=1)),
        ]:
            session.add(
                Complaint(
                    client_id=clients["C1"], category_code=category,
                    status=ComplaintStatus.CLOSED if closed_after else ComplaintStatus.OPEN,
                    summary="s", description="d", created_at=opened,
                    response_due_at=opened + 2 * day,
                    responded_at=opened + responded_after if responded_after else None,
                    closed_at=opened + closed_after if closed_after else None,
                )
            )  # fmt: skip
        for kind, status, done_at in [
            (FollowUpKind.RETURN_VISIT, FollowUpStatus.DONE, golden.at("11:00:00")),
            (FollowUpKind.RETURN_VISIT, FollowUpStatus.DONE, golden.at("09:00:00", golden.MAR3)),
            (FollowUpKind.RETURN_VISIT, FollowUpStatus.OPEN, None),
            (FollowUpKind.RETURN_VISIT, FollowUpStatus.CANCELLED, None),
            (FollowUpKind.CARE_CALL, FollowUpStatus.DONE, golden.at("15:00:00")),
        ]:
            session.add(
                FollowUp(
                    client_id=clients["C2"], kind=kind, status=status, due_on=golden.DAY,
                    done_at=done_at,
                )
            )  # fmt: skip


async def user_ids(db: Database) -> dict[str, int]:
    async with db.read() as session:
        return {u.username: u.id for u in await session.scalars(select(User))}


@pytest.fixture
async def reports_desk(served_desk: ServedDesk) -> ServedDesk:
    line = served_desk.line
    ids = await user_ids(line.db)
    clients = await store_golden_day(line.db, {"A1": ids["agent01"], "A2": ids["agent02"]})
    await store_cases(line.db, clients)
    return served_desk


# --- the page's formats (agent_ui/reports/js/figures.js) --------------------------------------


def js_round(value: float) -> int:
    return math.floor(value + 0.5)  # Math.round: halves go up


def unit(key: str, number: str) -> str:
    return str(DICTIONARY[f"rep.unit.{key}"]).replace("{n}", number)


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def seconds(value: float | None) -> str:
    return DASH if value is None else unit("seconds", f"{value:.1f}")


def minutes(value: float | None) -> str:
    if value is None:
        return DASH
    whole = js_round(value)
    return f"{whole // 60}:{whole % 60:02d}"


def hours(value: float | None) -> str:
    if value is None:
        return DASH
    whole = js_round(value / 60)
    return f"{whole // 60}:{whole % 60:02d}"


def duration(value: float | None) -> str:
    if value is None:
        return DASH
    h = value / 3600
    return unit("hours", f"{h:.1f}") if h < 48 else unit("days", f"{h / 24:.1f}")


def points(value: float) -> str:
    return f"{value:.1f}"


Formats = Mapping[str, Callable[[Any], str]]
CALL_FORMATS: Formats = {
    **dict.fromkeys(
        ("offered", "answered", "abandoned", "short_abandoned", "to_ivr", "overflowed_out",
         "handled", "missed"),
        count,
    ),
    **dict.fromkeys(
        ("service_level", "abandon_rate", "occupancy", "ivr_containment", "fcr_rate"), percent
    ),
    "asa_seconds": seconds,
    **dict.fromkeys(
        ("aht_seconds", "average_talk_seconds", "average_hold_seconds",
         "average_wrapup_seconds"),
        minutes,
    ),
    "logged_in_seconds": hours,
    "queue": str,
    "agent_name": str,
}  # fmt: skip


# --- the browser --------------------------------------------------------------------------------


async def logged_in(
    desk: ServedDesk, browser: Browser, username: str, **options: Any
) -> BrowserContext:
    """A browser context with a session of ``username`` (logged in as the desk does: the
    HttpOnly cookie the login answer sets); ``options`` of the context (a time zone, say)."""
    context = await browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        **{"locale": "zh-CN", "accept_downloads": True, **options},
    )
    response = await context.request.post(
        f"{desk.base_url}/api/auth/login", data={"username": username, "password": DEMO_PASSWORD}
    )
    assert response.ok, await response.text()
    body = await response.json()
    if body["step"] == "mfa":  # the demo's managers: the demo secret's code
        for code in [*demo_codes(), None]:
            if code is None:  # this step's codes were used by earlier logins
                await next_step()
                code = demo_codes()[0]
            response = await context.request.post(
                f"{desk.base_url}/api/auth/mfa",
                data={"mfa_token": body["mfa_token"], "code": code},
            )
            if response.ok:
                break
        assert response.ok, await response.text()
    return context


async def open_report(desk: ServedDesk, context: BrowserContext, hash_: str) -> Page:
    page = desk.watch(await context.new_page())
    await page.goto(f"{desk.base_url}/desk/reports/#{hash_}")
    return page


async def shown(page: Page, section: str, **query: str) -> None:
    """Wait until ``section`` shows the answer to ``query``."""
    node = page.locator(f"#page-{section}")
    await expect(node).to_have_attribute("data-state", "ready")
    for key, value in query.items():
        await expect(node).to_have_attribute("data-query", _contains(f"{key}={value}"))


def _contains(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text))


async def cells(page: Page, table: str) -> dict[str, dict[str, str]]:
    """The body rows of a table by their data-key: field -> the text shown."""
    # Pairs, not a JS object: an object would list integer-like keys (owner ids) in order.
    pairs: list[tuple[str, dict[str, str]]] = await page.eval_on_selector(
        f"#{table}",
        """(table) => [...table.querySelectorAll("tbody tr[data-key], tfoot tr")].map((tr) => [
            tr.dataset.key ?? "total",
            Object.fromEntries([...tr.querySelectorAll("td")]
              .map((td) => [td.dataset.field, td.textContent.trim()])),
          ])""",
    )
    return dict(pairs)


def shows(field: str, row: Mapping[str, Any], formats: Formats) -> str:
    """What the page shows of ``field``: occupancy where no agent was logged in at all says
    there is no agent-state data (issue 16), not a dash that reads like a figure."""
    if field == "occupancy" and row[field] is None and not row.get("logged_in_seconds", 1):
        return str(DICTIONARY["rep.no_state_data"])
    return formats[field](row[field])


def assert_row_shows(shown: Mapping[str, str], row: Mapping[str, Any], formats: Formats) -> None:
    checked = {f: (shown[f], shows(f, row, formats)) for f in shown if f in formats and f in row}
    wrong = {f: pair for f, pair in checked.items() if pair[0] != pair[1]}
    assert checked, shown
    assert not wrong, wrong


async def api(desk: ServedDesk, path: str, **params: str) -> Any:
    headers = await log_in(desk.line.http, "supervisor01")
    response = await desk.line.http.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


def slots(intervals: list[dict[str, Any]], minutes_: int) -> list[str]:
    """Every interval start from the first listed to the last, as the chart shows them."""
    first = dt.datetime.fromisoformat(intervals[0]["interval_start"][:16])
    last = dt.datetime.fromisoformat(intervals[-1]["interval_start"][:16])
    step = dt.timedelta(minutes=minutes_)
    return [(first + i * step).isoformat()[:16] for i in range(int((last - first) / step) + 1)]


async def download(page: Page, link: str) -> bytes:
    async with page.expect_download() as info:
        await page.click(link)
    path = await (await info.value).path()
    return await asyncio.to_thread(Path(path).read_bytes)


# --- the tests ----------------------------------------------------------------------------------


async def test_the_call_figures_page_shows_the_apis_figures_chart_and_csv(
    reports_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    desk = reports_desk
    context = await logged_in(desk, browser, "supervisor01")
    page = await open_report(desk, context, "calls?from=2026-03-02&to=2026-03-02&interval=60")
    await shown(page, "calls", **{"from": "2026-03-02", "interval": "60", "by": "queue"})
    body = (await api(desk, "/api/reports/calls", **GOLDEN_DAY, interval="60")).json()

    # The totals, each as the API has it.
    tiles = await page.eval_on_selector_all(
        "#calls-tiles .tile",
        "(ts) => Object.fromEntries(ts.map((t) => [t.dataset.field,"
        " t.querySelector('.tile-value').textContent]))",
    )
    assert set(tiles) == {
        "offered", "answered", "abandoned", "short_abandoned", "service_level", "abandon_rate",
        "asa_seconds", "aht_seconds", "occupancy", "ivr_containment", "fcr_rate",
    }  # fmt: skip
    assert_row_shows(tiles, body["total"], CALL_FORMATS)

    # The whole center per interval, and the total line.
    center = await cells(page, "calls-intervals")
    assert list(center) == [r["interval_start"][:16] for r in body["intervals"]] + ["total"]
    for row in body["intervals"]:
        assert_row_shows(center[row["interval_start"][:16]], row, CALL_FORMATS)
        assert center[row["interval_start"][:16]]["interval_start"] == row["interval_start"][11:16]
    assert_row_shows(center["total"], body["total"], CALL_FORMATS)

    # By queue; the golden hour as computed by hand (service level 1/3 at 10 s in general).
    by_queue = await cells(page, "calls-rows")
    assert len(by_queue) == len(body["rows"]) > 0
    for row in body["rows"]:
        assert_row_shows(
            by_queue[f"{row['interval_start'][:16]} {row['queue']}"], row, CALL_FORMATS
        )
    nine = by_queue["2026-03-02T09:00 general"]
    assert (nine["offered"], nine["service_level"], nine["asa_seconds"], nine["aht_seconds"]) == (
        "4",
        "33.3%",
        seconds(11.5),
        "4:00",
    )
    assert by_queue["2026-03-02T09:00 trading"]["service_level"] == "100.0%"  # 15 s <= 20 s

    # The chart: one bar group per hour from the first listed to the last, with the API's
    # counts (quiet hours empty), and the service level as a line against its target.
    hours_ = slots(body["intervals"], 60)
    groups = await page.eval_on_selector_all(
        "#calls-chart g.bar-group",
        "(gs) => gs.map((g) => [g.dataset.key, Object.fromEntries([...g.querySelectorAll('rect')]"
        ".map((r) => [r.dataset.series, Number(r.dataset.value)]))])",
    )
    assert [key for key, _ in groups] == hours_
    assert len(hours_) > len(body["intervals"])  # the gaps are in the chart
    listed = {r["interval_start"][:16]: r for r in body["intervals"]}
    for key, bars in groups:
        row = listed.get(key, {"offered": 0, "answered": 0, "abandoned": 0})
        assert bars == {s: row[s] for s in ("offered", "answered", "abandoned")}, key
    sl_points = await page.locator('#calls-chart g[data-line="service_level"] circle').count()
    assert sl_points == sum(r["service_level"] is not None for r in body["intervals"])
    target = await page.locator("#calls-chart .target-label").text_content()
    assert target is not None
    assert "80.0%" in target
    assert "trading" in target  # judged at 20 s, the others at 10 s

    # The CSV link downloads the API's CSV of the same query.
    csv_bytes = await download(page, "#calls-csv")
    api_csv = await api(desk, "/api/reports/calls", **GOLDEN_DAY, interval="60", format="csv")
    assert csv_bytes == api_csv.content
    assert csv_bytes.decode("utf-8-sig").startswith("interval_start,interval_end,queue,")
    await page.screenshot(path=str(artifacts / "reports-calls.png"), full_page=True)

    # By agent, chosen on the form: the rows follow.
    await page.select_option("#calls-form select[name=by]", "agent")
    await page.click("#calls-form button[type=submit]")
    await shown(page, "calls", by="agent")
    by_agent = (
        await api(desk, "/api/reports/calls", **GOLDEN_DAY, interval="60", by="agent")
    ).json()
    rows = await cells(page, "calls-rows")
    assert len(rows) == len(by_agent["rows"]) > 0
    for row in by_agent["rows"]:
        assert_row_shows(rows[f"{row['interval_start'][:16]} {row['agent_id']}"], row, CALL_FORMATS)
    await page.screenshot(path=str(artifacts / "reports-calls-by-agent.png"), full_page=True)
    assert desk.csp_violations() == []
    assert [line for line in desk.console if line.startswith(("error", "pageerror"))] == []


async def test_complaints_return_visits_kpis_deciles_and_staffing_pages(
    reports_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    desk = reports_desk
    context = await logged_in(desk, browser, "supervisor01")

    # Complaints by category with their time to close; follow-ups with their completion.
    page = await open_report(desk, context, "cases?from=2026-03-02&to=2026-03-02")
    await shown(page, "cases", **{"from": "2026-03-02"})
    complaints = (await api(desk, "/api/reports/complaints", **GOLDEN_DAY)).json()
    shown_complaints = await cells(page, "complaints")
    complaint_formats: Formats = {
        **dict.fromkeys(("opened", "closed", "open", "responded_on_time"), count),
        "responded_on_time_rate": percent,
        "mean_seconds_to_close": duration,
        "median_seconds_to_close": duration,
    }
    assert list(shown_complaints) == [c["category_code"] for c in complaints["categories"]] + [
        "total"
    ]
    for row in complaints["categories"]:
        assert_row_shows(shown_complaints[row["category_code"]], row, complaint_formats)
    assert_row_shows(shown_complaints["total"], complaints["total"], complaint_formats)
    assert shown_complaints["service.waiting"]["median_seconds_to_close"] == duration(2 * 86_400)
    follow_ups = (await api(desk, "/api/reports/follow-ups", **GOLDEN_DAY)).json()
    shown_follow_ups = await cells(page, "follow-ups")
    follow_up_formats: Formats = {
        **dict.fromkeys(("due", "done", "done_on_time", "cancelled", "open", "overdue"), count),
        "completion_rate": percent,
        "on_time_rate": percent,
    }
    for row in follow_ups["kinds"]:
        assert_row_shows(shown_follow_ups[row["kind"]], row, follow_up_formats)
    assert shown_follow_ups["return_visit"]["completion_rate"] == "66.7%"  # 2 of 4, 1 cancelled
    csv_bytes = await download(page, "#complaints-csv")
    api_csv = await api(desk, "/api/reports/complaints", **GOLDEN_DAY, format="csv")
    assert csv_bytes == api_csv.content
    await page.screenshot(path=str(artifacts / "reports-complaints.png"), full_page=True)

    # The KPI scoreboard, best score first, the components' points visible.
    await page.goto(f"{desk.base_url}/desk/reports/#kpis?period={MONTH}&by=advisor")
    await shown(page, "kpis", period=MONTH, by="advisor")
    kpis = (await api(desk, "/api/reports/kpis", period=MONTH, by="advisor")).json()
    scoreboard = await cells(page, "kpis")
    assert list(scoreboard) == [str(r["owner_id"]) for r in kpis["rows"]]
    scores = [float(r["score"].split()[-1]) for r in scoreboard.values()]
    assert scores == sorted(scores, reverse=True)
    for row in kpis["rows"]:
        line = scoreboard[str(row["owner_id"])]
        assert line["owner_name"] == row["owner_name"]
        assert line["score"].endswith(points(row["score"]))
        assert line["retention"].endswith(points(row["retention_points"]))
        assert (
            line["new_clients"] == f"{count(row['new_clients'])}{points(row['new_clients_points'])}"
        )
    best = page.locator("#kpis tbody tr").first
    parts = await best.locator(".score-bar rect[data-part]").evaluate_all(
        "(rs) => rs.map((r) => Number(r.dataset.part))"
    )
    assert sum(parts) == pytest.approx(kpis["rows"][0]["score"], abs=0.05)
    await page.screenshot(path=str(artifacts / "reports-kpis.png"), full_page=True)

    # The client-value deciles: ten bar groups of profit and volume, the cumulative line.
    await page.goto(f"{desk.base_url}/desk/reports/#deciles?period={MONTH}")
    await shown(page, "deciles", period=MONTH)
    deciles = (await api(desk, "/api/reports/deciles", period=MONTH)).json()
    groups = await page.eval_on_selector_all(
        "#deciles-chart g.bar-group",
        "(gs) => gs.map((g) => [...g.querySelectorAll('rect')]"
        ".map((r) => Number(r.dataset.value)))",
    )
    assert groups == [[d["contribution_share"], d["turnover_share"]] for d in deciles["deciles"]]
    cumulative = await page.locator(
        '#deciles-chart g[data-line="cumulative_contribution_share"] circle'
    ).evaluate_all("(cs) => cs.map((c) => Number(c.dataset.value))")
    assert cumulative == [d["cumulative_contribution_share"] for d in deciles["deciles"]]
    headline = await page.locator("#deciles-headline").text_content()
    second = deciles["deciles"][1]
    assert headline is not None
    assert percent(second["cumulative_contribution_share"]) in headline
    table = await cells(page, "deciles")
    for d in deciles["deciles"]:
        assert table[str(d["decile"])]["contribution_share"] == percent(d["contribution_share"])
    csv_bytes = await download(page, "#deciles-csv")
    assert (
        csv_bytes == (await api(desk, "/api/reports/deciles", period=MONTH, format="csv")).content
    )
    await page.screenshot(path=str(artifacts / "reports-deciles.png"), full_page=True)

    # Erlang C: the check, 200 calls an hour at 180 s for 80% in 20 s -> 14 agents.
    await page.click('nav.tabs a[data-page="staffing"]')
    await shown(page, "staffing")
    form = page.locator("#staffing-form")
    for name, value in {
        "volume": "200",
        "interval_minutes": "60",
        "aht_seconds": "180",
        "target_service_level": "80",
        "target_seconds": "20",
    }.items():
        await form.locator(f"input[name={name}]").fill(value)
    await form.locator("button[type=submit]").click()
    await shown(page, "staffing", volume="200", target_seconds="20")
    result = (
        await api(
            desk, "/api/staffing/erlang-c", volume="200", aht_seconds="180",
            interval_minutes="60", target_service_level="0.8", target_seconds="20",
        )
    ).json()["intervals"][0]  # fmt: skip
    figures = await page.eval_on_selector_all(
        "#staffing-result .tile",
        "(ts) => Object.fromEntries(ts.map((t) => [t.dataset.field,"
        " t.querySelector('.tile-value').textContent]))",
    )
    assert (figures["agents"], figures["service_level"], figures["asa_seconds"]) == (
        "14",
        "88.8%",
        seconds(7.8),
    )
    assert figures["occupancy"] == percent(result["occupancy"])
    assert figures["service_level"] == percent(result["service_level"])
    await page.screenshot(path=str(artifacts / "reports-staffing.png"), full_page=True)

    assert desk.csp_violations() == []
    assert [line for line in desk.console if line.startswith(("error", "pageerror"))] == []


async def test_the_pages_are_for_managers_and_link_to_the_wallboard(
    served_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    desk = served_desk
    # No session: the login link.
    anonymous = await browser.new_context(viewport=VIEWPORT, locale="en")  # type: ignore[arg-type]
    page = await open_report(desk, anonymous, "calls")
    await expect(page.locator("#gate")).to_be_visible()
    await expect(page.locator("#gate-message")).to_have_text("Log in on the desk first.")
    await expect(page.locator("#app")).to_be_hidden()
    # An agent: a clear message, and no report was asked for.
    agent = await logged_in(desk, browser, "agent01")
    page = await open_report(desk, agent, "calls")
    await expect(page.locator("#gate-message")).to_have_text(DICTIONARY["rep.managers_only"])
    # A supervisor: reports <-> wallboard.
    supervisor = await logged_in(desk, browser, "supervisor01")
    page = await open_report(desk, supervisor, "staffing")
    await shown(page, "staffing")
    await page.click("a.toplink[href='../wallboard/']")
    await page.wait_for_url("**/desk/wallboard/")
    await page.click("a[href='../reports/']")
    await page.wait_for_url("**/desk/reports/")
    await expect(page.locator("#page-calls")).to_have_attribute("data-state", "ready")
    assert desk.csp_violations() == []
