"""GET /api/reports/outbound on SQLite and PostgreSQL: return visits against their deadlines
by branch and by advisor, callback delay from the caller's request, attempts per reached
client and outcomes by kind, each from stored records in the center's time zone; the CSV
holds the return-visit rows and their total."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from callcenter.crm.vocabulary import CallbackStatus, FollowUpKind, FollowUpStatus, Role
from callcenter.persistence.tables import (
    Branch,
    CallbackRequest,
    Client,
    FollowUp,
    FollowUpAttempt,
)
from tests.api.conftest import Api
from tests.api.test_call_reports_api import parse_csv
from tests.support.crm_data import add_client

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def local(day: int, hour: int, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=SHANGHAI).astimezone(dt.UTC)


async def get(api: Api, role: Role = Role.SUPERVISOR, **params: str) -> Any:
    return await api.http.get("/api/reports/outbound", params=params, headers=api.as_(role))


async def opened_account(
    api: Api, n: int, branch_id: int, advisor_id: int | None, opened_on: dt.date
) -> int:
    client = await add_client(
        api.db,
        branch_id,
        account_no=f"10030000{n:02d}",
        id_number=f"3101011990010{n:05d}",
        phones=(f"+86138000300{n:02d}",),
        advisor_id=advisor_id,
    )
    async with api.db.write() as session:
        row = await session.get(Client, client)
        assert row is not None
        row.opened_on = opened_on
    return client


def return_visit(client: int, done_at: dt.datetime | None) -> FollowUp:
    return FollowUp(
        client_id=client,
        kind=FollowUpKind.RETURN_VISIT,
        status=FollowUpStatus.DONE if done_at else FollowUpStatus.OPEN,
        due_on=dt.date(2026, 3, 6),
        done_at=done_at,
    )


@pytest.fixture
async def outbound(api: Api) -> dict[str, int]:
    """Three accounts opened on Feb 20 (14-day deadline Mar 6, month deadline Mar 20): one
    visited on Mar 7 at 01:00 in Shanghai (late: the center's day decides, though it is still
    Mar 6 in UTC), one on Mar 5, one never; a callback requested at 09:00 on Mar 2 and
    reached at 11:30 after a busy dial, with a skip between."""
    advisor = api.users[Role.ADVISOR].id
    async with api.db.write() as session:
        other = Branch(code="SH02", name="上海第二营业部", name_en="Shanghai 2", city="上海")
        session.add(other)
        await session.flush()
        other_id = other.id
    feb20 = dt.date(2026, 2, 20)
    a = await opened_account(api, 1, api.branch.id, advisor, feb20)
    b = await opened_account(api, 2, api.branch.id, advisor, feb20)
    c = await opened_account(api, 3, other_id, None, feb20)
    async with api.db.write() as session:
        session.add_all(
            [
                return_visit(a, local(7, 1)),  # Mar 6 17:00 in UTC: late all the same
                return_visit(b, local(5, 10)),
                return_visit(c, None),
            ]
        )
        request = CallbackRequest(
            requested_at=local(2, 9),
            client_id=a,
            number="+8613800030001",
            language="zh",
            status=CallbackStatus.DONE,
        )
        session.add(request)
        await session.flush()
        callback = FollowUp(
            client_id=a,
            kind=FollowUpKind.CALLBACK,
            status=FollowUpStatus.DONE,
            due_on=dt.date(2026, 3, 3),
            callback_request_id=request.id,
            created_at=local(2, 9),
            done_at=local(2, 11, 3),
        )
        session.add(callback)
        await session.flush()
        for started, outcome in [
            (local(2, 10), "busy"),
            (local(2, 10) + dt.timedelta(minutes=40), "skipped"),
            (local(2, 11) + dt.timedelta(minutes=30), "completed"),
        ]:
            session.add(
                FollowUpAttempt(
                    follow_up_id=callback.id,
                    agent_id=api.users[Role.AGENT].id,
                    mode="preview",
                    started_at=started,
                    ended_at=started,
                    outcome=outcome,
                )
            )
    return {"other_branch": other_id, "advisor": advisor}


async def test_return_visits_by_branch_against_both_deadlines(
    api: Api, outbound: dict[str, int]
) -> None:
    response = await get(api, **MARCH, by="branch")
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {r["group_id"]: r for r in body["return_visits"]}
    mine = rows[api.branch.id]
    assert mine["group_name"] == api.branch.name
    assert mine["group_name_en"] == api.branch.name_en  # the English page's
    assert (mine["due_14_days"], mine["done_14_days"], mine["rate_14_days"]) == (2, 1, 0.5)
    assert (mine["due_month"], mine["done_month"], mine["rate_month"]) == (2, 2, 1.0)
    other = rows[outbound["other_branch"]]
    assert (other["due_14_days"], other["done_14_days"], other["done_month"]) == (1, 0, 0)
    total = body["return_visits_total"]
    assert (total["group_id"], total["due_14_days"], total["done_14_days"]) == (None, 3, 1)


async def test_return_visits_by_advisor_put_accounts_without_one_last(
    api: Api, outbound: dict[str, int]
) -> None:
    body = (await get(api, **MARCH, by="advisor")).json()
    assert [r["group_id"] for r in body["return_visits"]] == [outbound["advisor"], None]
    advisor = api.users[Role.ADVISOR].display_name
    assert (body["return_visits"][0]["group_name"], body["return_visits"][0]["group_name_en"]) == (
        advisor,
        advisor,
    )


async def test_callback_delay_and_attempts_per_reached_client(
    api: Api, outbound: dict[str, int]
) -> None:
    body = (await get(api, **MARCH)).json()
    assert body["callbacks"] == {
        "requested": 1,
        "reached": 1,
        "median_seconds": 2.5 * 3600,
        "p90_seconds": 2.5 * 3600,
    }
    (callbacks,) = body["kinds"]
    assert callbacks["kind"] == "callback"
    assert (callbacks["attempts"], callbacks["dials"]) == (3, 2)  # the skip dialled no one
    assert callbacks["outcomes"]["busy"] == callbacks["outcomes"]["completed"] == 1
    assert callbacks["outcomes"]["skipped"] == 1
    assert callbacks["outcomes"]["no_answer"] == 0
    assert (callbacks["reached_items"], callbacks["attempts_per_reached"]) == (1, 2.0)
    assert body["kinds_total"]["dials"] == 2


async def test_a_range_before_any_deadline_is_empty_not_an_error(
    api: Api, outbound: dict[str, int]
) -> None:
    body = (await get(api, **{"from": "2026-01-01", "to": "2026-01-31"})).json()
    assert body["return_visits"] == []
    assert body["kinds"] == []
    assert body["return_visits_total"]["rate_14_days"] is None
    assert body["callbacks"]["median_seconds"] is None


async def test_the_csv_holds_the_return_visit_rows_then_the_total(
    api: Api, outbound: dict[str, int]
) -> None:
    response = await get(api, **MARCH, by="branch", format="csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        'attachment; filename="return-visits-by-branch-2026-03-01-2026-03-31.csv"'
    )
    lines = parse_csv(response.content)
    assert [line["group_id"] for line in lines] == [
        str(api.branch.id),
        str(outbound["other_branch"]),
        "",
    ]
    assert lines[-1]["done_14_days"] == "1"


async def test_an_agent_may_not_read_the_outbound_report(api: Api) -> None:
    assert (await get(api, Role.AGENT, **MARCH)).status_code == 403
