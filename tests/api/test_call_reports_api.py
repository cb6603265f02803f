"""The call-center reports and the staffing calculator over HTTP, on SQLite and PostgreSQL:
the golden day (tests/support/callstats_golden.py) gives the hand-computed figures in JSON and
in the CSV export; bad ranges get 422s naming the parameter."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from callcenter.api.deps import get_clock
from callcenter.crm.vocabulary import Role
from callcenter.persistence.tables import User
from tests.api.conftest import Api
from tests.support import callstats_golden as golden
from tests.support.callstats_golden import same

DAY = {"from": "2026-03-02", "to": "2026-03-02"}


@pytest.fixture
async def golden_day(api: Api) -> dict[str, int]:
    """The golden day stored, A1 = the test agent, A2 = the test advisor; the clock at NOW."""
    agents = {"A1": api.users[Role.AGENT].id, "A2": api.users[Role.ADVISOR].id}
    await golden.load_into(api.db, api.branch.id, agents)
    api.app.dependency_overrides[get_clock] = lambda: lambda: golden.NOW
    return agents


async def get(api: Api, path: str, role: Role = Role.SUPERVISOR, **params: str) -> Any:
    return await api.http.get(path, params=params, headers=api.as_(role))


def assert_row(row: dict[str, Any], expected: dict[str, Any]) -> None:
    wrong = {k: (row[k], v) for k, v in expected.items() if not same(row[k], v)}
    assert not wrong, wrong


async def test_queue_figures_of_the_golden_day(api: Api, golden_day: dict[str, int]) -> None:
    response = await get(api, "/api/reports/calls", **DAY, interval="60", by="queue")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["first"], body["last"], body["timezone"], body["interval"]) == (
        "2026-03-02",
        "2026-03-02",
        "Asia/Shanghai",
        "60",
    )
    assert body["fcr_final"] is True
    rows = {(r["interval_start"], r["queue"]): r for r in body["rows"]}
    assert set(rows) == set(golden.QUEUE_ROWS)
    for key, expected in golden.QUEUE_ROWS.items():
        assert_row(rows[key], expected)
    intervals = {r["interval_start"]: r for r in body["intervals"]}
    assert list(intervals) == list(golden.INTERVALS)
    for key, expected in golden.INTERVALS.items():
        assert_row(intervals[key], expected)
    assert_row(body["total"], golden.TOTAL)
    assert rows[(golden.hour("09:00:00"), "general")]["interval_end"] == golden.hour("10:00:00")


async def test_agent_figures_of_the_golden_day(api: Api, golden_day: dict[str, int]) -> None:
    response = await get(api, "/api/reports/calls", **DAY, interval="60", by="agent")
    assert response.status_code == 200, response.text
    names = {v: k for k, v in golden_day.items()}
    rows = {(r["interval_start"], names[r["agent_id"]]): r for r in response.json()["rows"]}
    assert set(rows) == set(golden.AGENT_ROWS)
    for key, expected in golden.AGENT_ROWS.items():
        assert_row(rows[key], expected)
    assert rows[(golden.hour("09:00:00"), "A1")]["agent_name"] == "Test agent"


async def test_one_day_interval_holds_the_whole_day(api: Api, golden_day: dict[str, int]) -> None:
    body = (await get(api, "/api/reports/calls", **DAY, interval="day")).json()
    [interval] = body["intervals"]
    assert (interval["interval_start"], interval["interval_end"]) == (
        "2026-03-02T00:00:00+08:00",
        "2026-03-03T00:00:00+08:00",
    )
    assert_row(interval, golden.TOTAL)


def parse_csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith("\ufeff".encode())  # Excel needs the BOM for Chinese names
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def as_json_value(text: str, like: Any) -> Any:
    if text == "":
        return None
    if isinstance(like, bool):
        return text == "True"
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        return float(text)
    return text


@pytest.mark.parametrize("by", ["queue", "agent"])
async def test_the_csv_export_holds_the_json_rows(
    api: Api, golden_day: dict[str, int], by: str
) -> None:
    json_rows = (await get(api, "/api/reports/calls", **DAY, interval="15", by=by)).json()["rows"]
    response = await get(api, "/api/reports/calls", **DAY, interval="15", by=by, format="csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="calls-by-{by}-2026-03-02-2026-03-02-15.csv"'
    )
    csv_rows = parse_csv(response.content)
    assert len(csv_rows) == len(json_rows) > 0
    for line, row in zip(csv_rows, json_rows, strict=True):
        assert list(line) == list(row)  # the same columns in the same order
        assert {k: as_json_value(v, row[k]) for k, v in line.items()} == row


async def test_the_csv_keeps_chinese_agent_names(api: Api, golden_day: dict[str, int]) -> None:
    async with api.db.write() as session:
        user = await session.get(User, golden_day["A1"])
        assert user is not None
        user.display_name = "王芳"
    response = await get(api, "/api/reports/calls", **DAY, by="agent", format="csv")
    names = {line["agent_name"] for line in parse_csv(response.content)}
    assert "王芳" in names


@pytest.mark.parametrize(
    ("params", "field", "error_type"),
    [
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to", "value_error"),
        ({"from": "2026-01-01", "to": "2026-04-04"}, "to", "value_error"),  # 94 days
        ({"from": "2026-03-02", "to": "2026-03-02", "interval": "45"}, "interval", "enum"),
        ({"from": "2026-03-02", "to": "2026-03-02", "by": "desk"}, "by", "enum"),
        ({"from": "2026-03-02", "to": "2026-03-02", "format": "xls"}, "format", "literal_error"),
        ({"to": "2026-03-02"}, "from", "missing"),
        ({"from": "2026-02-30", "to": "2026-03-02"}, "from", "date_from_datetime_parsing"),
    ],
)
async def test_a_bad_request_gets_422_naming_the_parameter(
    api: Api, params: dict[str, str], field: str, error_type: str
) -> None:
    response = await get(api, "/api/reports/calls", **params)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", field]
    assert error["type"] == error_type, error
    assert error["msg"]


async def test_ninety_three_days_are_allowed(api: Api) -> None:
    response = await get(api, "/api/reports/calls", **{"from": "2026-01-01", "to": "2026-04-03"})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == []


@pytest.mark.parametrize("path", ["/api/reports/complaints", "/api/reports/follow-ups"])
async def test_the_other_figures_refuse_a_backward_range(api: Api, path: str) -> None:
    response = await get(api, path, **{"from": "2026-03-02", "to": "2026-03-01"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "to"]


async def test_follow_up_figures_list_every_kind(api: Api) -> None:
    response = await get(api, "/api/reports/follow-ups", **DAY)
    assert response.status_code == 200
    body = response.json()
    assert body["kinds"][0]["kind"] == "return_visit"
    assert body["total"] == {
        "kind": None,
        "due": 0,
        "done": 0,
        "done_on_time": 0,
        "cancelled": 0,
        "open": 0,
        "overdue": 0,
        "completion_rate": None,
        "on_time_rate": None,
    }


async def test_complaint_figures_of_an_empty_range(api: Api) -> None:
    body = (await get(api, "/api/reports/complaints", **DAY)).json()
    assert body["categories"] == []
    assert (body["total"]["opened"], body["total"]["mean_seconds_to_close"]) == (0, None)


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADVISOR])
async def test_staff_may_not_read_the_call_figures(api: Api, role: Role) -> None:
    response = await get(api, "/api/reports/calls", role, **DAY)
    assert response.status_code == 403


# --- staffing -------------------------------------------------------------------------------


async def test_erlang_c_for_one_interval_by_query(api: Api) -> None:
    response = await get(
        api,
        "/api/staffing/erlang-c",
        volume="200",
        aht_seconds="180",
        target_service_level="0.8",
        target_seconds="20",
        interval_minutes="60",
    )
    assert response.status_code == 200, response.text
    [row] = response.json()["intervals"]
    assert (row["traffic_erlangs"], row["agents"]) == (10.0, 14)
    assert row["service_level"] == pytest.approx(0.888, abs=0.0005)
    assert row["asa_seconds"] == pytest.approx(7.84, abs=0.01)
    assert response.json()["total_agent_hours"] == 14.0


async def test_erlang_c_for_a_day_of_intervals(api: Api) -> None:
    intervals = [
        {"label": "09:00", "volume": 100, "aht_seconds": 180, "target_seconds": 20},
        {"label": "09:30", "volume": 0, "aht_seconds": 180},
        {"label": "10:00", "volume": 100, "aht_seconds": 180, "target_seconds": 20,
         "max_occupancy": 0.6},
    ]  # fmt: skip
    response = await api.http.post(
        "/api/staffing/erlang-c",
        json={"intervals": intervals},
        headers=api.as_(Role.ADMIN),
    )
    assert response.status_code == 200, response.text
    rows = response.json()["intervals"]
    # 100 calls in 30 minutes at 180 s = 10 Erlangs: 14 agents; none for no calls; 17 when
    # no agent may be busier than 60%.
    assert [(r["label"], r["agents"]) for r in rows] == [("09:00", 14), ("09:30", 0), ("10:00", 17)]
    assert rows[1]["occupancy"] is None
    assert response.json()["total_agent_hours"] == (14 + 0 + 17) / 2


@pytest.mark.parametrize(
    ("interval", "field"),
    [
        ({"volume": 10, "aht_seconds": 180, "target_service_level": 1}, "target_service_level"),
        ({"volume": -1, "aht_seconds": 180}, "volume"),
        ({"volume": 10, "aht_seconds": 0}, "aht_seconds"),
        ({"volume": 10, "aht_seconds": 180, "agents": 3}, "agents"),
    ],
)
async def test_bad_staffing_input_gets_422_naming_the_field(
    api: Api, interval: dict[str, float], field: str
) -> None:
    response = await api.http.post(
        "/api/staffing/erlang-c", json={"intervals": [interval]}, headers=api.as_(Role.ADMIN)
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "intervals", 0, field]


async def test_an_impossible_staffing_target_gets_a_named_error(api: Api) -> None:
    interval = {"volume": 1_000_000, "aht_seconds": 3600, "interval_minutes": 15}
    response = await api.http.post(
        "/api/staffing/erlang-c", json={"intervals": [interval]}, headers=api.as_(Role.ADMIN)
    )
    assert response.status_code == 422
    assert response.json()["error"] == "staffing-target-unreachable"
