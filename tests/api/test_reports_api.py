"""The report routes over HTTP: deciles, KPIs, the segmentation run; roles and 422s.

The dataset (March 2024, money in fen), in the api fixture's branch:

    client  advisor        agent       opened      closed      March: commission  turnover  assets
    1       test-advisor   test-agent  2023-01-01  -           3,000    100,000   6,000,000 CNY
    2       test-advisor   test-agent  2024-03-05  -           1,000    300,000   0
    3       other-advisor  -           2023-01-01  2024-03-20  -        -         -
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from callcenter.crm.vocabulary import Gender, IncomeBand, RiskProfile, Role, Tier, ValueClass
from callcenter.persistence.tables import AccountSummary, Client, User
from tests.api.conftest import Api

MARCH = dt.date(2024, 3, 1)


def client(cid: int, api: Api, advisor_id: int, opened: dt.date, **extra: Any) -> Client:
    return Client(
        id=cid,
        account_no=f"A{cid:06d}",
        name=f"客户{cid}",
        name_latin=f"Client {cid}",
        id_type="resident_id",
        id_number=f"11010119800101{cid:04d}",
        gender=Gender.UNSPECIFIED,
        income_band=IncomeBand.UNDISCLOSED,
        branch_id=api.branch.id,
        advisor_id=advisor_id,
        opened_on=opened,
        risk_profile=RiskProfile.BALANCED,
        tier=Tier.STANDARD,
        value_class=ValueClass.ORDINARY,
        **extra,
    )


def march(cid: int, commission: int, turnover: int, assets: int) -> AccountSummary:
    return AccountSummary(
        client_id=cid,
        period=MARCH,
        total_assets_fen=assets,
        turnover_fen=turnover,
        commission_fen=commission,
        positions=[],
    )


@pytest.fixture
async def book(api: Api) -> int:
    """Loads the dataset; returns the id of the other advisor."""
    advisor = api.users[Role.ADVISOR].id
    agent = api.users[Role.AGENT].id
    async with api.db.write() as session:
        other = User(
            username="other-advisor",
            display_name="Other advisor",
            role=Role.ADVISOR,
            branch_id=api.branch.id,
        )
        session.add(other)
        await session.flush()
        session.add_all(
            [
                client(1, api, advisor, dt.date(2023, 1, 1), acquired_by_id=agent),
                client(2, api, advisor, dt.date(2024, 3, 5), acquired_by_id=agent),
                client(3, api, other.id, dt.date(2023, 1, 1), closed_on=dt.date(2024, 3, 20)),
            ]
        )
        await session.flush()
        session.add_all([march(1, 3_000, 100_000, 600_000_000), march(2, 1_000, 300_000, 0)])
    return other.id


# --- deciles ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
async def test_managers_read_the_decile_report(api: Api, book: int, role: Role) -> None:
    response = await api.http.get(
        "/api/reports/deciles", params={"period": "2024-03"}, headers=api.as_(role)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {"first": "2024-03", "last": "2024-03", "months": 1}
    assert (body["clients"], body["contribution_fen"], body["turnover_fen"]) == (
        2,
        4_000,
        400_000,
    )
    first, second, *rest = body["deciles"]
    # Two clients: one each in deciles 1 and 2. Client 1: 3,000 of 4,000 = 75% of profit,
    # 100,000 of 400,000 = 25% of volume; client 2 the rest.
    assert (first["decile"], first["clients"]) == (1, 1)
    assert (first["contribution_share"], first["turnover_share"]) == (0.75, 0.25)
    assert (second["cumulative_contribution_share"], second["cumulative_client_share"]) == (1, 1)
    assert [d["clients"] for d in rest] == [0] * 8


async def test_the_decile_report_covers_a_range_of_months(api: Api, book: int) -> None:
    response = await api.http.get(
        "/api/reports/deciles",
        params={"period": "2024-01", "to": "2024-03"},
        headers=api.as_(Role.SUPERVISOR),
    )
    assert response.status_code == 200
    assert response.json()["period"] == {"first": "2024-01", "last": "2024-03", "months": 3}
    assert response.json()["contribution_fen"] == 4_000


@pytest.mark.parametrize(
    ("params", "field", "error_type"),
    [
        ({"period": "2024-13"}, "period", "string_pattern_mismatch"),
        ({"period": "March"}, "period", "string_pattern_mismatch"),
        ({}, "period", "missing"),
        ({"period": "2024-03", "to": "2024-3"}, "to", "string_pattern_mismatch"),
        ({"period": "2024-03", "to": "2024-02"}, "to", "value_error"),
    ],
)
async def test_a_bad_period_gets_422_naming_the_field(
    api: Api, params: dict[str, str], field: str, error_type: str
) -> None:
    response = await api.http.get(
        "/api/reports/deciles", params=params, headers=api.as_(Role.SUPERVISOR)
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["query", field], error_type)
    assert error["msg"]


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADVISOR])
async def test_staff_may_not_read_the_decile_report(api: Api, role: Role) -> None:
    response = await api.http.get(
        "/api/reports/deciles", params={"period": "2024-03"}, headers=api.as_(role)
    )
    assert response.status_code == 403


async def test_reports_need_a_known_user(api: Api) -> None:
    response = await api.http.get("/api/reports/deciles", params={"period": "2024-03"})
    assert response.status_code == 401


# --- KPIs ---------------------------------------------------------------------------------


async def kpis(api: Api, role: Role, by: str) -> Any:
    return await api.http.get(
        "/api/reports/kpis", params={"period": "2024-03", "by": by}, headers=api.as_(role)
    )


async def test_a_supervisor_reads_every_advisors_kpis(api: Api, book: int) -> None:
    response = await kpis(api, Role.SUPERVISOR, "advisor")
    assert response.status_code == 200
    body = response.json()
    assert body["by"] == "advisor"
    assert body["weights"] == {
        "new_clients": 20,
        "retention": 30,
        "upgrades": 30,
        "profitability": 20,
    }
    rows = {row["owner_id"]: row for row in body["rows"]}
    mine, other = rows[api.users[Role.ADVISOR].id], rows[book]
    # Test advisor: 1 new (client 2), 1 at the start and none lost (retention 1), no upgrade,
    # (3,000 + 1,000) / 2 = 2,000 fen per client. The other: client 3 lost (retention 0),
    # no figures. Points: new 100, retention 100, upgrades 0 (no peer has any), profit 100.
    assert (mine["new_clients"], mine["retention_rate"], mine["average_contribution_fen"]) == (
        1,
        1.0,
        2_000.0,
    )
    assert mine["score"] == pytest.approx(0.2 * 100 + 0.3 * 100 + 0.3 * 0 + 0.2 * 100)
    assert (other["churn_rate"], other["average_contribution_fen"], other["score"]) == (1, None, 0)
    assert [row["owner_id"] for row in body["rows"]] == [mine["owner_id"], book]  # best first


async def test_an_advisor_reads_only_their_own_kpis(api: Api, book: int) -> None:
    everyone = (await kpis(api, Role.ADMIN, "advisor")).json()["rows"]
    response = await kpis(api, Role.ADVISOR, "advisor")
    assert response.status_code == 200
    [row] = response.json()["rows"]
    assert row["owner_id"] == api.users[Role.ADVISOR].id
    assert row == next(r for r in everyone if r["owner_id"] == row["owner_id"])


async def test_an_agent_reads_only_their_own_agent_kpis(api: Api, book: int) -> None:
    response = await kpis(api, Role.AGENT, "agent")
    assert response.status_code == 200
    [row] = response.json()["rows"]
    # Clients 1 and 2 were won by the test agent; client 2 is new in March.
    assert (row["owner_id"], row["new_clients"], row["clients_with_figures"]) == (
        api.users[Role.AGENT].id,
        1,
        2,
    )


@pytest.mark.parametrize(
    ("role", "by"),
    [
        (Role.ADVISOR, "branch"),
        (Role.ADVISOR, "agent"),
        (Role.AGENT, "advisor"),
        (Role.AGENT, "branch"),
    ],
)
async def test_staff_may_not_read_other_kpi_reports(api: Api, role: Role, by: str) -> None:
    response = await kpis(api, role, by)
    assert response.status_code == 403
    assert response.json()["error"] == "kpi-not-visible"


async def test_branch_kpis_for_an_admin(api: Api, book: int) -> None:
    response = await kpis(api, Role.ADMIN, "branch")
    assert response.status_code == 200
    [row] = response.json()["rows"]
    # Clients 1 and 3 open at the start, 3 lost: retention 1/2; client 2 new.
    assert (row["owner_id"], row["clients_at_start"], row["lost_clients"]) == (api.branch.id, 2, 1)
    assert (row["retention_rate"], row["new_clients"]) == (0.5, 1)


async def test_an_unknown_kpi_scope_gets_422(api: Api) -> None:
    response = await kpis(api, Role.ADMIN, "desk")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "by"]


# --- the segmentation run -----------------------------------------------------------------


async def test_a_supervisor_recomputes_segmentation_and_a_rerun_changes_nothing(
    api: Api, book: int
) -> None:
    headers = api.as_(Role.SUPERVISOR)
    first = await api.http.post("/api/reports/segmentation/2024-03", headers=headers)
    assert first.status_code == 200
    body = first.json()
    # Two clients with figures: client 1 is the top decile (top_profit); the volume head is
    # client 2 (300,000 of 400,000 = 75% >= 45%): core_volume. Client 1 goes up to VIP
    # (6,000,000 CNY); client 2 stays standard (no assets).
    assert body["value_classes"] == {
        "top_profit": 1,
        "core_volume": 1,
        "declining": 0,
        "ordinary": 0,
    }
    assert (body["classified_clients"], body["value_class_changes"]) == (2, 2)
    assert (body["tier_assessed_clients"], body["tier_changes"], body["upgrades"]) == (2, 1, 1)
    again = (await api.http.post("/api/reports/segmentation/2024-03", headers=headers)).json()
    assert (again["value_class_changes"], again["tier_changes"]) == (0, 0)


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADVISOR])
async def test_staff_may_not_run_the_segmentation(api: Api, role: Role) -> None:
    response = await api.http.post("/api/reports/segmentation/2024-03", headers=api.as_(role))
    assert response.status_code == 403


async def test_a_bad_segmentation_period_gets_422(api: Api) -> None:
    response = await api.http.post("/api/reports/segmentation/2024-3", headers=api.as_(Role.ADMIN))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "period"]


async def test_the_report_routes_are_in_the_openapi_document(api: Api) -> None:
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    assert {"/api/reports/deciles", "/api/reports/kpis"} <= set(paths)
    assert "/api/reports/segmentation/{period}" in paths


async def test_profitability_report_lists_every_tier_and_refuses_a_bad_period(api: Api) -> None:
    ok = await api.http.get(
        "/api/reports/profitability", params={"period": "2026-10"}, headers=api.as_(Role.SUPERVISOR)
    )
    assert ok.status_code == 200
    assert [t["tier"] for t in ok.json()["tiers"]] == ["vip", "gold", "silver", "standard"]
    bad = await api.http.get(
        "/api/reports/profitability", params={"period": "2026-13"}, headers=api.as_(Role.SUPERVISOR)
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "period"]
