"""The CSV export of the complaint, follow-up, KPI and decile reports (format=csv), on SQLite
and PostgreSQL: each line is a row of the JSON answer, the same columns in the same order, in
UTF-8 with a byte-order mark; complaints and follow-ups end with their total line. The call
figures' own CSV is tested in test_call_reports_api.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from callcenter.api.deps import get_clock
from callcenter.crm.vocabulary import ComplaintStatus, FollowUpKind, FollowUpStatus, Role
from callcenter.persistence.tables import Complaint, FollowUp
from tests.api.conftest import Api
from tests.api.test_call_reports_api import as_json_value, parse_csv
from tests.support import callstats_golden as golden
from tests.support.crm_data import add_account_months, add_client

DAY = {"from": "2026-03-02", "to": "2026-03-02"}
MARCH = {"period": "2026-03"}
ONE_DAY = dt.timedelta(days=1)


async def get(api: Api, path: str, role: Role = Role.SUPERVISOR, **params: str) -> Any:
    return await api.http.get(path, params=params, headers=api.as_(role))


def assert_csv_holds(content: bytes, json_rows: list[dict[str, Any]]) -> None:
    lines = parse_csv(content)
    assert len(lines) == len(json_rows) > 0
    for line, row in zip(lines, json_rows, strict=True):
        assert list(line) == list(row)  # the same columns in the same order
        assert {k: as_json_value(v, row[k]) for k, v in line.items()} == row


def assert_csv_download(response: Any, filename: str) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'


@pytest.fixture
async def cases(api: Api) -> None:
    """On the golden day: three complaints (two categories, one still open) and four
    follow-ups (two return visits done, one cancelled, a care call open)."""
    client = await add_client(api.db, api.branch.id)
    opened = golden.at("10:00:00")
    async with api.db.write() as session:
        for category, closed_after, responded_after in [
            ("service.waiting", ONE_DAY, dt.timedelta(hours=2)),
            ("service.waiting", None, None),
            ("account.opening", 3 * ONE_DAY, 3 * ONE_DAY),
        ]:
            session.add(
                Complaint(
                    client_id=client, category_code=category, status=ComplaintStatus.OPEN,
                    summary="s", description="d", created_at=opened,
                    response_due_at=opened + 2 * ONE_DAY,
                    responded_at=opened + responded_after if responded_after else None,
                    closed_at=opened + closed_after if closed_after else None,
                )
            )  # fmt: skip
        for kind, status, done_at in [
            (FollowUpKind.RETURN_VISIT, FollowUpStatus.DONE, golden.at("11:00:00")),
            (FollowUpKind.RETURN_VISIT, FollowUpStatus.DONE, golden.at("09:00:00", golden.MAR3)),
            (FollowUpKind.RETURN_VISIT, FollowUpStatus.CANCELLED, None),
            (FollowUpKind.CARE_CALL, FollowUpStatus.OPEN, None),
        ]:
            session.add(
                FollowUp(
                    client_id=client, kind=kind, status=status, due_on=golden.DAY, done_at=done_at
                )
            )
    api.app.dependency_overrides[get_clock] = lambda: lambda: golden.NOW


@pytest.fixture
async def book(api: Api) -> None:
    """Three clients with March 2026 figures, two looked after by the test advisor."""
    advisor = api.users[Role.ADVISOR].id
    for index, assets in enumerate((400_000_000, 40_000_000, 8_000_000)):
        client = await add_client(
            api.db,
            api.branch.id,
            account_no=f"100200000{index}",
            id_number=f"31010119900101{index:04d}",
            phones=(f"+861380000020{index}",),
            advisor_id=advisor if index < 2 else None,
        )
        await add_account_months(api.db, client, dt.date(2026, 3, 1), [assets])


async def test_the_complaint_csv_holds_the_categories_then_the_total(api: Api, cases: None) -> None:
    body = (await get(api, "/api/reports/complaints", **DAY)).json()
    response = await get(api, "/api/reports/complaints", **DAY, format="csv")
    assert_csv_download(response, "complaints-2026-03-02-2026-03-02.csv")
    assert len(body["categories"]) == 2
    assert_csv_holds(response.content, [*body["categories"], body["total"]])
    total = parse_csv(response.content)[-1]
    assert (total["category_code"], total["opened"], total["closed"]) == ("*", "3", "2")


async def test_the_follow_up_csv_holds_every_kind_then_the_total(api: Api, cases: None) -> None:
    body = (await get(api, "/api/reports/follow-ups", **DAY)).json()
    response = await get(api, "/api/reports/follow-ups", **DAY, format="csv")
    assert_csv_download(response, "follow-ups-2026-03-02-2026-03-02.csv")
    assert_csv_holds(response.content, [*body["kinds"], body["total"]])
    visits = parse_csv(response.content)[0]
    assert (visits["kind"], visits["due"], visits["done"], visits["completion_rate"]) == (
        "return_visit",
        "3",
        "2",
        "1.0",  # 2 done of 3 due, one cancelled
    )


@pytest.mark.parametrize("by", ["advisor", "branch", "agent"])
async def test_the_kpi_csv_holds_the_scoreboard_rows(api: Api, book: None, by: str) -> None:
    body = (await get(api, "/api/reports/kpis", **MARCH, by=by)).json()
    response = await get(api, "/api/reports/kpis", **MARCH, by=by, format="csv")
    assert_csv_download(response, f"kpis-by-{by}-2026-03-2026-03.csv")
    assert_csv_holds(response.content, body["rows"])


async def test_an_advisors_kpi_csv_holds_only_their_own_row(api: Api, book: None) -> None:
    advisor = api.users[Role.ADVISOR]
    response = await get(
        api, "/api/reports/kpis", Role.ADVISOR, **MARCH, by="advisor", format="csv"
    )
    assert_csv_download(response, "kpis-by-advisor-2026-03-2026-03.csv")
    [line] = parse_csv(response.content)
    assert (int(line["owner_id"]), line["owner_name"]) == (advisor.id, advisor.display_name)
    assert float(line["score"]) > 0


async def test_the_decile_csv_holds_ten_deciles(api: Api, book: None) -> None:
    body = (await get(api, "/api/reports/deciles", period="2026-03", to="2026-03")).json()
    response = await get(api, "/api/reports/deciles", period="2026-03", format="csv")
    assert_csv_download(response, "deciles-2026-03-2026-03.csv")
    assert len(body["deciles"]) == 10
    assert_csv_holds(response.content, body["deciles"])
    assert float(parse_csv(response.content)[0]["contribution_share"]) == pytest.approx(
        100_000 / 112_000  # commission = assets / 4000
    )


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/reports/complaints", DAY),
        ("/api/reports/follow-ups", DAY),
        ("/api/reports/kpis", {**MARCH, "by": "branch"}),
        ("/api/reports/deciles", MARCH),
    ],
)
async def test_an_unknown_format_gets_422_naming_it(
    api: Api, path: str, params: dict[str, str]
) -> None:
    response = await get(api, path, **params, format="xls")
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["query", "format"], "literal_error")


@pytest.mark.parametrize("path", ["/api/reports/complaints", "/api/reports/follow-ups"])
async def test_staff_may_not_download_the_case_figures(api: Api, path: str) -> None:
    response = await get(api, path, Role.AGENT, **DAY, format="csv")
    assert response.status_code == 403
