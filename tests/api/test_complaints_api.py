"""Complaints over HTTP, on SQLite and PostgreSQL: classification, routing, the workflow, the
2-day deadline, optimistic concurrency and atomic changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.complaints import Actor
from callcenter.crm.vocabulary import Gender, IncomeBand, RiskProfile, Role, Tier, ValueClass
from callcenter.persistence import audit
from callcenter.persistence import complaints as complaint_store
from callcenter.persistence.tables import AuditEntry, Branch, Client, User
from tests.api.conftest import Api
from tests.support.crm_data import add_call_in_hand

URL = "/api/complaints"


async def add_client(api: Api, branch_id: int | None = None, account_no: str = "A0001") -> int:
    """A client who is on the test agent's call (the agent files complaints for them)."""
    client_id = await _add_client(api, branch_id, account_no)
    await add_call_in_hand(api.db, client_id, api.users[Role.AGENT].id)
    return client_id


async def _add_client(api: Api, branch_id: int | None, account_no: str) -> int:
    async with api.db.write() as session:
        client = Client(
            account_no=account_no,
            name="张伟",
            name_latin="Zhang Wei",
            id_type="resident_id",
            id_number="310101199001011234",
            gender=Gender.MALE,
            income_band=IncomeBand.FROM_100K_TO_300K,
            branch_id=branch_id or api.branch.id,
            opened_on=dt.date(2020, 5, 1),
            risk_profile=RiskProfile.BALANCED,
            tier=Tier.GOLD,
            value_class=ValueClass.ORDINARY,
        )
        session.add(client)
        await session.flush()
        return client.id


async def add_branch(api: Api, code: str = "BJ01") -> int:
    async with api.db.write() as session:
        branch = Branch(code=code, name="北京营业部", name_en="Beijing", city="Beijing")
        session.add(branch)
        await session.flush()
        return branch.id


async def file_complaint(
    api: Api, client_id: int, category: str = "trading.fees", role: Role = Role.AGENT
) -> dict[str, Any]:
    body = {
        "client_id": client_id,
        "category_code": category,
        "summary": "佣金收取过高",
        "description": "The client was charged 0.3% instead of the agreed 0.025%.",
    }
    response = await api.http.post(URL, json=body, headers=api.as_(role))
    assert response.status_code == 201, response.text
    complaint: dict[str, Any] = response.json()
    return complaint


async def move(
    api: Api,
    complaint: dict[str, Any],
    to: str,
    *,
    role: Role = Role.SUPERVISOR,
    note: str | None = None,
    resolution: str | None = None,
) -> httpx.Response:
    body = {"to": to, "version": complaint["version"], "note": note, "resolution": resolution}
    return await api.http.post(
        f"{URL}/{complaint['id']}/transitions", json=body, headers=api.as_(role)
    )


async def user_id(api: Api, role: Role) -> int:
    # Read back: the fixture's User objects are detached and expired.
    async with api.db.read() as session:
        found = await session.scalar(select(User.id).where(User.username == f"test-{role.value}"))
    assert found is not None
    return found


def parse(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp)


# --- create, classification and routing -------------------------------------------------------


async def test_a_new_complaint_is_open_routed_and_due_in_two_days(api: Api) -> None:
    client_id = await add_client(api)
    complaint = await file_complaint(api, client_id, "trading.fees")
    assert complaint["status"] == "open"
    assert complaint["owner_department"] == "finance"
    assert complaint["owner_branch_id"] is None
    assert complaint["created_by_id"] == await user_id(api, Role.AGENT)
    assert parse(complaint["response_due_at"]) - parse(complaint["created_at"]) == dt.timedelta(
        days=2
    )
    assert complaint["overdue"] is False
    assert complaint["version"] == 1
    [event] = complaint["history"]
    assert (event["from_status"], event["to_status"]) == (None, "open")


async def test_a_branch_category_is_routed_to_the_clients_own_branch(api: Api) -> None:
    other_branch = await add_branch(api)  # not the agent's branch: routing follows the client
    client_id = await add_client(api, branch_id=other_branch)
    complaint = await file_complaint(api, client_id, "account.opening")
    assert complaint["owner_branch_id"] == other_branch
    assert complaint["owner_department"] is None


@pytest.mark.parametrize("code", ["trading", "no.such.category"], ids=["not-a-leaf", "unknown"])
async def test_a_complaint_must_be_filed_under_a_known_leaf(api: Api, code: str) -> None:
    client_id = await add_client(api)
    body = {"client_id": client_id, "category_code": code, "summary": "s", "description": "d"}
    response = await api.http.post(URL, json=body, headers=api.as_(Role.AGENT))
    assert response.status_code == 422
    assert response.json()["error"] == "complaint-category-invalid"
    assert response.json()["detail"]["field"] == "category_code"


async def test_a_complaint_for_an_unknown_client_is_refused(api: Api) -> None:
    body = {"client_id": 9999, "category_code": "trading.fees", "summary": "s", "description": "d"}
    response = await api.http.post(URL, json=body, headers=api.as_(Role.AGENT))
    assert response.status_code == 422
    assert response.json()["detail"]["field"] == "client_id"


async def test_a_blank_summary_gets_a_field_level_422(api: Api) -> None:
    client_id = await add_client(api)
    body = {"client_id": client_id, "category_code": "trading.fees", "summary": "  "}
    response = await api.http.post(URL, json=body, headers=api.as_(Role.AGENT))
    assert response.status_code == 422
    fields = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert fields == {("body", "summary"), ("body", "description")}


async def test_the_taxonomy_is_a_tree_in_both_languages(api: Api) -> None:
    response = await api.http.get(f"{URL}/categories", headers=api.as_(Role.AGENT))
    assert response.status_code == 200
    roots = {node["code"]: node for node in response.json()}
    fees = {c["code"]: c for c in roots["trading"]["children"]}["trading.fees"]
    assert (fees["name"], fees["name_en"], fees["owner"]) == (
        "佣金与费用",
        "Commission and fees",
        "finance",
    )
    assert fees["children"] == []


# --- the workflow -----------------------------------------------------------------------------


async def test_the_full_workflow_stamps_times_and_keeps_the_history_in_order(api: Api) -> None:
    complaint = await file_complaint(api, await add_client(api))
    steps = [
        ("acknowledged", "called the client back", None),
        ("investigating", None, None),
        ("resolved", None, "excess commission refunded"),
        ("closed", None, None),
    ]
    for to, note, resolution in steps:
        response = await move(api, complaint, to, note=note, resolution=resolution)
        assert response.status_code == 200, response.text
        complaint = response.json()
    assert complaint["status"] == "closed"
    assert complaint["version"] == 5
    assert complaint["resolution"] == "excess commission refunded"
    stamps = [complaint[k] for k in ("responded_at", "resolved_at", "closed_at")]
    assert all(stamps)
    assert stamps == sorted(stamps)
    moves = [(e["from_status"], e["to_status"]) for e in complaint["history"]]
    assert moves == [
        (None, "open"),
        ("open", "acknowledged"),
        ("acknowledged", "investigating"),
        ("investigating", "resolved"),
        ("resolved", "closed"),
    ]
    assert complaint["history"][1]["note"] == "called the client back"
    fetched = (await api.http.get(f"{URL}/{complaint['id']}", headers=api.as_(Role.AGENT))).json()
    assert fetched["history"] == complaint["history"]


async def test_an_unsatisfied_client_reopens_a_resolved_complaint(api: Api) -> None:
    complaint = await file_complaint(api, await add_client(api))
    complaint = (await move(api, complaint, "acknowledged")).json()
    complaint = (await move(api, complaint, "resolved", resolution="explained the fee")).json()
    response = await move(api, complaint, "investigating", note="client not satisfied")
    assert response.status_code == 200
    reopened = response.json()
    assert reopened["status"] == "investigating"
    assert reopened["resolved_at"] is None
    assert reopened["resolution"] is None
    assert reopened["history"][2]["note"] == "explained the fee"


async def test_resolving_without_a_resolution_is_a_422_naming_the_field(api: Api) -> None:
    complaint = await file_complaint(api, await add_client(api))
    complaint = (await move(api, complaint, "acknowledged")).json()
    response = await move(api, complaint, "resolved")
    assert response.status_code == 422
    assert response.json()["error"] == "complaint-resolution-required"
    assert response.json()["detail"]["field"] == "resolution"


@pytest.mark.parametrize("to", ["investigating", "resolved", "closed", "open"])
async def test_an_illegal_move_is_a_409_naming_from_and_to(api: Api, to: str) -> None:
    complaint = await file_complaint(api, await add_client(api))
    response = await move(api, complaint, to, resolution="x" if to == "resolved" else None)
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "complaint-illegal-transition"
    assert (body["detail"]["from"], body["detail"]["to"]) == ("open", to)


async def test_a_closed_complaint_cannot_move_again(api: Api) -> None:
    complaint = await file_complaint(api, await add_client(api))
    for to, resolution in [("acknowledged", None), ("resolved", "ok"), ("closed", None)]:
        complaint = (await move(api, complaint, to, resolution=resolution)).json()
    response = await move(api, complaint, "investigating")
    assert response.status_code == 409
    assert response.json()["error"] == "complaint-illegal-transition"


async def test_a_stale_version_is_a_409_and_changes_nothing(api: Api) -> None:
    complaint = await file_complaint(api, await add_client(api))
    assert (await move(api, complaint, "acknowledged")).status_code == 200
    response = await move(api, complaint, "investigating")  # still holds version 1
    assert response.status_code == 409
    assert response.json()["error"] == "stale-version"
    assert response.json()["detail"] == {"version": 1, "current_version": 2}
    fetched = (await api.http.get(f"{URL}/{complaint['id']}", headers=api.as_(Role.AGENT))).json()
    assert fetched["status"] == "acknowledged"
    assert len(fetched["history"]) == 2


async def test_an_unknown_complaint_is_a_404(api: Api) -> None:
    response = await api.http.get(f"{URL}/4242", headers=api.as_(Role.AGENT))
    assert response.status_code == 404
    assert response.json()["error"] == "complaint-not-found"


# --- roles ------------------------------------------------------------------------------------


async def test_agents_may_not_move_a_complaint(api: Api) -> None:
    complaint = await file_complaint(api, await add_client(api))
    response = await move(api, complaint, "acknowledged", role=Role.AGENT)
    assert response.status_code == 403


async def test_an_advisor_works_on_the_own_branchs_complaints_only(api: Api) -> None:
    client_id = await add_client(api)  # in the advisor's branch, and in their book:
    async with api.db.write() as session:
        client = await session.get_one(Client, client_id)
        client.advisor_id = await user_id(api, Role.ADVISOR)
    branch_complaint = await file_complaint(api, client_id, "account.information")
    department_complaint = await file_complaint(api, client_id, "trading.fees")
    allowed = await move(api, branch_complaint, "acknowledged", role=Role.ADVISOR)
    refused = await move(api, department_complaint, "acknowledged", role=Role.ADVISOR)
    assert allowed.status_code == 200
    assert refused.status_code == 403
    assert refused.json()["error"] == "complaint-not-your-branch"


# --- notes and assignment ---------------------------------------------------------------------


async def test_any_staff_member_adds_a_note_without_changing_the_status(api: Api) -> None:
    complaint = await file_complaint(api, await add_client(api))
    response = await api.http.post(
        f"{URL}/{complaint['id']}/notes",
        json={"note": "client called again, upset"},
        headers=api.as_(Role.AGENT),
    )
    assert response.status_code == 201
    noted = response.json()
    assert noted["status"] == "open"
    assert noted["version"] == 2
    last = noted["history"][-1]
    assert (last["from_status"], last["to_status"], last["note"]) == (
        "open",
        "open",
        "client called again, upset",
    )
    assert last["by_user_id"] == await user_id(api, Role.AGENT)


async def test_a_supervisor_assigns_a_complaint_with_the_current_version(api: Api) -> None:
    complaint = await file_complaint(api, await add_client(api))
    advisor_id = await user_id(api, Role.ADVISOR)
    url = f"{URL}/{complaint['id']}/assign"
    headers = api.as_(Role.SUPERVISOR)
    response = await api.http.patch(
        url, json={"assigned_to_id": advisor_id, "version": 1}, headers=headers
    )
    assert response.status_code == 200
    assert (response.json()["assigned_to_id"], response.json()["version"]) == (advisor_id, 2)
    stale = await api.http.patch(url, json={"assigned_to_id": None, "version": 1}, headers=headers)
    assert stale.status_code == 409
    assert stale.json()["error"] == "stale-version"
    unknown = await api.http.patch(
        url, json={"assigned_to_id": 9999, "version": 2}, headers=headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"]["field"] == "assigned_to_id"


# --- lists and the deadline -------------------------------------------------------------------


async def test_the_overdue_filter_lists_unanswered_complaints_past_the_deadline(api: Api) -> None:
    client_id = await add_client(api)
    three_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    new = complaint_store.NewComplaint(client_id, "trading.fees", "old", "lodged 3 days ago")
    actor = Actor(await user_id(api, Role.AGENT), Role.AGENT, None)
    async with api.db.write() as session:
        late = await complaint_store.create_complaint(session, actor, new, at=three_days_ago)
        late_id = late.complaint.id
    fresh = await file_complaint(api, client_id)
    headers = api.as_(Role.SUPERVISOR)

    overdue = (await api.http.get(URL, params={"overdue": "true"}, headers=headers)).json()
    on_time = (await api.http.get(URL, params={"overdue": "false"}, headers=headers)).json()
    assert [c["id"] for c in overdue] == [late_id]
    assert overdue[0]["overdue"] is True
    assert [c["id"] for c in on_time] == [fresh["id"]]

    await move(api, {"id": late_id, "version": 1}, "acknowledged")  # a late response is still one
    overdue = (await api.http.get(URL, params={"overdue": "true"}, headers=headers)).json()
    assert overdue == []


async def test_lists_filter_by_status_client_and_owner(api: Api) -> None:
    other_branch = await add_branch(api)
    first = await add_client(api)
    second = await add_client(api, branch_id=other_branch, account_no="A0002")
    fees = await file_complaint(api, first, "trading.fees")
    opening = await file_complaint(api, second, "account.opening")
    await move(api, fees, "acknowledged")
    headers = api.as_(Role.AGENT)

    async def ids(**params: Any) -> list[int]:
        response = await api.http.get(URL, params=params, headers=headers)
        assert response.status_code == 200
        return [c["id"] for c in response.json()]

    assert await ids() == [opening["id"], fees["id"]]  # newest first
    assert await ids(status="acknowledged") == [fees["id"]]
    assert await ids(client_id=second) == [opening["id"]]
    assert await ids(owner_department="finance") == [fees["id"]]
    assert await ids(owner_branch_id=other_branch) == [opening["id"]]


# --- atomicity --------------------------------------------------------------------------------


async def test_a_transition_that_fails_midway_changes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    complaint = await file_complaint(api, await add_client(api))

    async def audit_log_down(session: AsyncSession, *_args: Any, **_kw: Any) -> None:
        await session.flush()  # the complaint update and its event reach the database first
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "record_audit", audit_log_down)
    with pytest.raises(RuntimeError, match="audit log unavailable"):
        await move(api, complaint, "acknowledged", note="called back")
    monkeypatch.undo()

    fetched = (await api.http.get(f"{URL}/{complaint['id']}", headers=api.as_(Role.AGENT))).json()
    assert (fetched["status"], fetched["version"], fetched["responded_at"]) == ("open", 1, None)
    assert len(fetched["history"]) == 1
    async with api.db.read() as session:
        audits = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action.not_in(("complaint.create", "complaint.view")))
        )
    assert audits == 0
