"""The dialler over HTTP, on both databases: an agent's work, the preview, dialling (a dialler
we own stands in for the PBX: the real one in tests/integration), skipping, the outcome, and
every refusal named."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus, Role
from callcenter.outbound.model import CallingHours, DialRules
from callcenter.outbound.service import OutboundService
from callcenter.persistence.outbound import SqlOutboundStore
from callcenter.persistence.tables import AccountSummary, FollowUp
from tests.api.conftest import Api
from tests.support.crm_data import add_account_months, add_client
from tests.support.outbound import SHANGHAI, Clock, FakeDialler


@dataclass
class Desk:
    api: Api
    dialler: FakeDialler
    clock: Clock
    client_id: int
    item_id: int


@pytest.fixture
async def desk(api: Api) -> Desk:
    client_id = await add_client(api.db, api.branch.id)
    async with api.db.write() as session:
        row = FollowUp(
            client_id=client_id,
            kind=FollowUpKind.RETURN_VISIT,
            status=FollowUpStatus.OPEN,
            due_on=dt.date(2026, 12, 20),
            reason="account opened on 2026-12-01",
        )
        session.add(row)
        await session.flush()
        item_id = row.id
    clock = Clock()
    dialler = FakeDialler(api.db)
    api.app.state.runtime.outbound = OutboundService(
        SqlOutboundStore(api.db), dialler, DialRules(), clock=clock
    )
    return Desk(api, dialler, clock, client_id, item_id)


async def test_an_agent_previews_dials_and_completes_a_return_visit(desk: Desk) -> None:
    api, agent = desk.api, api_headers(desk, Role.AGENT)
    work = (await api.http.get("/api/outbound/my-work", headers=agent)).json()
    assert work == {"items": []}  # nobody's item: not in anyone's own list, but offered
    preview = (await api.http.post("/api/outbound/next", headers=agent)).json()["item"]
    assert preview["item"]["id"] == desk.item_id
    assert preview["item"]["number_masked"] == "+86138****8000"
    assert preview["item"]["reason"] == "account opened on 2026-12-01"
    assert preview["verdict"] == {"may_dial": True, "reason": None, "earliest": None}
    dialled = await api.http.post(f"/api/outbound/items/{desk.item_id}/dial", headers=agent)
    assert dialled.status_code == 201, dialled.text
    assert desk.dialler.calls == [(api.users[Role.AGENT].id, "+8613800138000", desk.client_id)]
    done = await api.http.post(
        f"/api/outbound/items/{desk.item_id}/outcome",
        json={"outcome": "completed", "note": "confirmed the risk disclosure"},
        headers=agent,
    )
    assert done.status_code == 200, done.text
    assert (done.json()["attempts"], done.json()["last_outcome"]) == (1, "completed")
    async with api.db.read() as session:
        row = await session.get(FollowUp, desk.item_id)
        assert row is not None
        assert (row.status, row.outcome) == (FollowUpStatus.DONE, "completed")


async def test_a_dial_outside_calling_hours_is_refused_with_the_rule_and_the_opening(
    desk: Desk,
) -> None:
    desk.clock.now = dt.datetime(2026, 12, 7, 22, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
    agent = api_headers(desk, Role.AGENT)
    refused = await desk.api.http.post(f"/api/outbound/items/{desk.item_id}/dial", headers=agent)
    assert refused.status_code == 409
    body = refused.json()
    assert body["error"] == "work-item-not-diallable"
    assert body["detail"]["reason"] == "outside-calling-hours"
    assert body["detail"]["earliest"] == "2026-12-08T01:00:00+00:00"
    assert desk.dialler.calls == []
    assert (await desk.api.http.post("/api/outbound/next", headers=agent)).json() == {"item": None}


async def test_an_item_held_by_one_agent_is_refused_to_another(desk: Desk) -> None:
    api = desk.api
    assert (
        await api.http.post("/api/outbound/next", headers=api_headers(desk, Role.AGENT))
    ).json()["item"]
    other = await api.http.post(
        f"/api/outbound/items/{desk.item_id}/dial", headers=api_headers(desk, Role.ADVISOR)
    )
    assert (other.status_code, other.json()["error"]) == (409, "work-item-taken")


async def test_skipping_needs_a_reason_and_an_outcome_needs_a_dial(desk: Desk) -> None:
    api, agent = desk.api, api_headers(desk, Role.AGENT)
    no_reason = await api.http.post(
        f"/api/outbound/items/{desk.item_id}/skip", json={"reason": ""}, headers=agent
    )
    assert no_reason.status_code == 422
    undialled = await api.http.post(
        f"/api/outbound/items/{desk.item_id}/outcome", json={"outcome": "completed"}, headers=agent
    )
    assert (undialled.status_code, undialled.json()["error"]) == (409, "no-dial-to-report")
    not_an_outcome = await api.http.post(
        f"/api/outbound/items/{desk.item_id}/outcome", json={"outcome": "busy"}, headers=agent
    )
    assert not_an_outcome.status_code == 422
    missing = await api.http.post("/api/outbound/items/999999/dial", headers=agent)
    assert (missing.status_code, missing.json()["error"]) == (404, "work-item-not-found")


@pytest.mark.parametrize(
    "role", [Role.SUPERVISOR, Role.ADMIN, Role.BRANCH, Role.COMPLIANCE, Role.QUALITY]
)
async def test_only_agents_and_advisors_dial_or_report(desk: Desk, role: Role) -> None:
    headers = api_headers(desk, role)
    for path, body in (
        (f"/api/outbound/items/{desk.item_id}/dial", None),
        (f"/api/outbound/items/{desk.item_id}/outcome", {"outcome": "completed"}),
    ):
        response = await desk.api.http.post(path, json=body, headers=headers)
        assert response.status_code == 403, (path, response.text)
    assert desk.dialler.calls == []


async def test_without_a_pbx_the_dial_is_refused_by_name(api: Api) -> None:
    client_id = await add_client(api.db, api.branch.id)
    async with api.db.write() as session:
        row = FollowUp(
            client_id=client_id,
            kind=FollowUpKind.CALLBACK,
            status=FollowUpStatus.OPEN,
            due_on=dt.date(2026, 12, 20),
        )
        session.add(row)
        await session.flush()
        item_id = row.id
    refused = await api.http.post(
        f"/api/outbound/items/{item_id}/dial", headers=api.as_(Role.AGENT)
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "no-dialler")


def api_headers(desk: Desk, role: Role) -> dict[str, str]:
    return desk.api.as_(role)


async def test_an_agent_turns_progressive_dialling_on_and_off(desk: Desk) -> None:
    api, agent = desk.api, api_headers(desk, Role.AGENT)
    assert (await api.http.get("/api/outbound/progressive", headers=agent)).json() == {
        "on": False,
        "dialling_item_id": None,
    }
    turned = await api.http.put("/api/outbound/progressive", json={"on": True}, headers=agent)
    assert turned.json() == {"on": True, "dialling_item_id": None}
    # Each agent's own: the advisor's is still off.
    advisor = api_headers(desk, Role.ADVISOR)
    assert (await api.http.get("/api/outbound/progressive", headers=advisor)).json()["on"] is False
    off = await api.http.put("/api/outbound/progressive", json={"on": False}, headers=agent)
    assert off.json()["on"] is False


async def test_the_previewed_items_client_is_in_the_agents_hands(desk: Desk) -> None:
    api, agent = desk.api, api_headers(desk, Role.AGENT)
    # The hold is judged by the real clock here (the client view's scope): calls all day.
    all_day = CallingHours(
        dt.time(0), dt.time(23, 59, 59, 999999), dt.time(0), dt.time(23, 59, 59, 999999)
    )
    api.app.state.runtime.outbound = OutboundService(
        SqlOutboundStore(api.db), desk.dialler, DialRules(hours=all_day)
    )
    path = f"/api/clients/{desk.client_id}"
    before = await api.http.get(path, headers=agent)
    assert before.status_code in (403, 404), before.text  # nobody's item: not theirs yet
    assert (await api.http.post("/api/outbound/next", headers=agent)).json()["item"]
    held = await api.http.get(path, headers=agent)
    assert held.status_code == 200, held.text  # the 360° view comes with the preview
    # The advisor, who holds nothing, still does not reach the client (not in their book).
    other = await api.http.get(path, headers=api_headers(desk, Role.ADVISOR))
    assert other.status_code in (403, 404)


async def test_a_supervisor_lists_care_calls_for_the_holders_of_a_security(api: Api) -> None:
    holder = await add_client(
        api.db, api.branch.id, account_no="1001000010", phones=("+8613800000010",)
    )
    sold = await add_client(
        api.db, api.branch.id, account_no="1001000011", phones=("+8613800000011",)
    )
    other = await add_client(
        api.db, api.branch.id, account_no="1001000012", phones=("+8613800000012",)
    )
    await add_account_months(api.db, holder, dt.date(2026, 10, 1), [1_000_000, 1_100_000])
    await add_account_months(api.db, sold, dt.date(2026, 10, 1), [1_000_000, 1_100_000])
    async with api.db.write() as session:  # sold it in November: the latest month holds none
        november = await session.scalar(
            select(AccountSummary).where(
                AccountSummary.client_id == sold, AccountSummary.period == dt.date(2026, 11, 1)
            )
        )
        assert november is not None
        november.positions = [{"symbol": "000001", "name": "平安银行", "quantity": 10}]
    body = {
        "kind": "market_alert",
        "reason": "limit-down of 600519 on 2026-12-07",
        "due_on": "2026-12-08",
        "holding_symbol": "600519",
    }
    supervisor = api.as_(Role.SUPERVISOR)
    made = await api.http.post("/api/outbound/care-lists", json=body, headers=supervisor)
    assert made.status_code == 201, made.text
    assert made.json() == {"created": 1, "already_open": 0, "skipped_closed": 0}
    again = await api.http.post("/api/outbound/care-lists", json=body, headers=supervisor)
    assert again.json() == {"created": 0, "already_open": 1, "skipped_closed": 0}
    async with api.db.read() as session:
        rows = (
            await session.execute(
                select(FollowUp.client_id, FollowUp.kind, FollowUp.reason, FollowUp.priority)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (holder, FollowUpKind.MARKET_ALERT, "limit-down of 600519 on 2026-12-07", 4)
    ]
    assert other not in [r[0] for r in rows]


async def test_a_care_list_names_its_clients_one_way_and_makes_only_care_calls(api: Api) -> None:
    supervisor = api.as_(Role.SUPERVISOR)
    base = {"reason": "new-share listing reminder", "due_on": "2026-12-08"}
    both = await api.http.post(
        "/api/outbound/care-lists",
        json={**base, "holding_symbol": "600519", "client_ids": [1]},
        headers=supervisor,
    )
    assert (both.status_code, both.json()["error"]) == (422, "care-list-invalid")
    not_care = await api.http.post(
        "/api/outbound/care-lists",
        json={**base, "kind": "return_visit", "client_ids": [1]},
        headers=supervisor,
    )
    assert not_care.status_code == 422
    agent = await api.http.post(
        "/api/outbound/care-lists", json={**base, "client_ids": [1]}, headers=api.as_(Role.AGENT)
    )
    assert agent.status_code == 403
