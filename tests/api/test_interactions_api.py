"""Interactions over HTTP: written by the system; an agent sets only the wrap-up of their own
call; a supervisor's correction is an amendment that keeps the original; every read is in
the reader's scope, audited, and masked where the reader does not need the detail."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from callcenter.crm.vocabulary import Role
from callcenter.persistence.tables import AuditEntry, Interaction
from tests.api.conftest import Api
from tests.support.crm_data import T0, add_call_in_hand, add_client, add_interaction


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def field_errors(response: Any) -> dict[tuple[Any, ...], str]:
    assert response.status_code == 422, response.text
    return {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}


async def audit_rows(api: Api, action: str) -> list[tuple[int | None, int | None, Any]]:
    async with api.db.read() as session:
        rows = await session.execute(
            select(AuditEntry.actor_id, AuditEntry.interaction_id, AuditEntry.detail)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def agents_call(api: Api, role: Role = Role.AGENT, **fields: Any) -> int:
    """A call of a fresh client in the hands of the test user of ``role``."""
    async with api.db.read() as session:
        clients = await session.scalar(select(func.count(Interaction.id)))
    account = f"20010000{clients or 0:02d}"
    client_id = await add_client(api.db, api.branch.id, account_no=account)
    return await add_call_in_hand(api.db, client_id, api.users[role].id, **fields)


async def wrap_up(api: Api, interaction_id: int, role: Role = Role.AGENT, **fields: Any) -> Any:
    body = {"phase": "wrapped_up", "at": now_iso(), "disposition": "resolved", **fields}
    return await api.http.patch(
        f"/api/interactions/{interaction_id}", json=body, headers=api.as_(role)
    )


async def test_no_one_creates_a_call_record_through_the_api(api: Api) -> None:
    body = {"channel": "voice", "direction": "inbound", "started_at": T0.isoformat()}
    for role in (Role.AGENT, Role.SUPERVISOR, Role.ADMIN):
        response = await api.http.post("/api/interactions", json=body, headers=api.as_(role))
        assert response.status_code == 403, (role, response.text)
        assert response.json()["error"] == "interaction-written-by-system"
    async with api.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Interaction)) == 0


async def test_the_agent_wraps_up_their_own_call(api: Api) -> None:
    call = await agents_call(api)
    done = await wrap_up(api, call, notes="explained margin call")
    assert done.status_code == 200, done.text
    result = done.json()
    assert (result["disposition"], result["notes"]) == ("resolved", "explained margin call")
    assert result["wrapup_ended_at"] is not None
    assert 55 <= result["wrapup_seconds"] <= 120  # the call ended a minute ago
    assert result["caller_number"] == "+8613800138000"  # their own call: in full

    again = await wrap_up(api, call)
    assert (again.status_code, again.json()["error"]) == (409, "interaction-phase-recorded")


@pytest.mark.parametrize(
    "body",
    [
        {"phase": "ended", "at": "NOW"},
        {"phase": "answered", "at": "NOW"},
        {"phase": "wrapped_up", "at": "NOW", "queue": "vip"},
        {"phase": "wrapped_up", "at": "NOW", "agent_id": 1},
        {"phase": "wrapped_up", "at": "NOW", "client_id": 1},
        {"phase": "wrapped_up", "at": "NOW", "hold_seconds": 0},
    ],
)
async def test_an_agent_never_writes_a_calls_facts(api: Api, body: dict[str, Any]) -> None:
    call = await agents_call(api, ended=False)
    body = {**body, "at": now_iso()}
    response = await api.http.patch(
        f"/api/interactions/{call}", json=body, headers=api.as_(Role.AGENT)
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "interaction-written-by-system"
    async with api.db.read() as session:
        row = await session.get_one(Interaction, call)
        assert (row.ended_at, row.queue, row.version) == (None, "general", 1)


async def test_another_agents_call_does_not_exist_for_an_agent(api: Api) -> None:
    theirs = await agents_call(api, Role.ADVISOR)  # taken by someone else
    url = f"/api/interactions/{theirs}"
    as_agent = api.as_(Role.AGENT)
    read = await api.http.get(url, headers=as_agent)
    wrapped = await wrap_up(api, theirs)
    disposed = await api.http.put(
        f"{url}/disposition", json={"disposition": "resolved"}, headers=as_agent
    )
    assert [r.status_code for r in (read, wrapped, disposed)] == [404, 404, 404]
    assert read.json()["error"] == "interaction-not-found"

    # A supervisor reads it, but the wrap-up is its agent's: they amend instead.
    assert (await api.http.get(url, headers=api.as_(Role.SUPERVISOR))).status_code == 200
    by_supervisor = await wrap_up(api, theirs, Role.SUPERVISOR)
    assert (by_supervisor.status_code, by_supervisor.json()["error"]) == (
        403,
        "interaction-not-yours",
    )


async def test_an_agent_lists_their_own_calls_only_a_supervisor_all(api: Api) -> None:
    mine = await agents_call(api)
    theirs = await agents_call(api, Role.ADVISOR)
    old = await add_interaction(api.db, None, T0)  # nobody's (an abandoned call)

    as_agent = await api.http.get("/api/interactions", headers=api.as_(Role.AGENT))
    assert [i["id"] for i in as_agent.json()["items"]] == [mine]
    everything = await api.http.get("/api/interactions", headers=api.as_(Role.SUPERVISOR))
    assert {i["id"] for i in everything.json()["items"]} == {mine, theirs, old}
    # An admin runs the system and reads no call records.
    admin = await api.http.get("/api/interactions", headers=api.as_(Role.ADMIN))
    assert admin.status_code == 403


async def test_list_by_client_and_since_newest_first(api: Api) -> None:
    client_id = await add_client(api.db, api.branch.id)
    other = await add_client(api.db, api.branch.id, account_no="1001000002")
    old = await add_interaction(api.db, client_id, T0)
    new = await add_interaction(api.db, client_id, T0 + dt.timedelta(days=2))
    newest = await add_interaction(api.db, client_id, T0 + dt.timedelta(days=3))
    await add_interaction(api.db, other, T0 + dt.timedelta(days=3))
    response = await api.http.get(
        "/api/interactions",
        params={"client_id": client_id, "since": (T0 + dt.timedelta(days=1)).isoformat()},
        headers=api.as_(Role.SUPERVISOR),
    )
    assert [i["id"] for i in response.json()["items"]] == [newest, new]
    first_two = await api.http.get(
        "/api/interactions",
        params={"client_id": client_id, "limit": 2},
        headers=api.as_(Role.SUPERVISOR),
    )
    assert first_two.json()["has_more"] is True
    assert old not in [i["id"] for i in first_two.json()["items"]]


async def test_list_refuses_a_limit_over_100_and_a_naive_since(api: Api) -> None:
    response = await api.http.get(
        "/api/interactions",
        params={"limit": 101, "since": "2026-03-01T00:00:00"},
        headers=api.as_(Role.SUPERVISOR),
    )
    assert {("query", "limit"), ("query", "since")} <= set(field_errors(response))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phase": "started", "at": T0.isoformat()}, ("body", "phase")),
        ({"phase": "wrapped_up"}, ("body", "at")),
        ({"phase": "wrapped_up", "at": T0.isoformat(), "mood": "happy"}, ("body", "mood")),
        ({"phase": "wrapped_up", "at": "2026-03-02T09:30:00"}, ("body", "at")),  # no zone
    ],
)
async def test_invalid_wrap_up_names_the_field(
    api: Api, body: dict[str, Any], field: tuple[str, ...]
) -> None:
    call = await agents_call(api)
    response = await api.http.patch(
        f"/api/interactions/{call}", json=body, headers=api.as_(Role.AGENT)
    )
    assert field in field_errors(response)


async def test_unknown_interaction_is_404(api: Api) -> None:
    fetched = await api.http.get("/api/interactions/999", headers=api.as_(Role.SUPERVISOR))
    patched = await wrap_up(api, 999)
    assert (fetched.status_code, patched.status_code) == (404, 404)
    assert fetched.json()["error"] == "interaction-not-found"


async def test_a_late_wrap_up_sets_the_disposition_on_the_agents_own_call(api: Api) -> None:
    call = await agents_call(api)
    assert (await wrap_up(api, call)).status_code == 200  # as the ACD's timer would
    url = f"/api/interactions/{call}/disposition"
    body = {"disposition": "complaint_filed", "notes": "explained the price limit"}

    late = await api.http.put(url, json=body, headers=api.as_(Role.AGENT))
    assert late.status_code == 200, late.text
    assert (late.json()["disposition"], late.json()["notes"]) == ("complaint_filed", body["notes"])
    kept = await api.http.put(url, json={"disposition": "resolved"}, headers=api.as_(Role.AGENT))
    assert kept.json()["notes"] == body["notes"]  # notes left out are kept

    by_supervisor = await api.http.put(url, json=body, headers=api.as_(Role.SUPERVISOR))
    assert (by_supervisor.status_code, by_supervisor.json()["error"]) == (
        403,
        "interaction-not-yours",
    )
    missing = await api.http.put(
        "/api/interactions/999999/disposition", json=body, headers=api.as_(Role.AGENT)
    )
    assert missing.status_code == 404
    empty = await api.http.put(url, json={"disposition": ""}, headers=api.as_(Role.AGENT))
    assert empty.status_code == 422


async def test_a_disposition_is_one_of_the_active_codes(api: Api) -> None:
    call = await agents_call(api)
    made_up = await wrap_up(api, call, disposition="sold_him_a_fund")
    assert (made_up.status_code, made_up.json()["error"]) == (422, "unknown-disposition")
    assert made_up.json()["detail"] == {"field": "disposition"}
    # A code the admin console has retired is refused too.
    retired = await api.http.delete(
        "/api/service-codes/disposition/other?version=1", headers=api.as_(Role.ADMIN)
    )
    assert retired.status_code in (200, 204), retired.text
    late = await api.http.put(
        f"/api/interactions/{call}/disposition",
        json={"disposition": "other"},
        headers=api.as_(Role.AGENT),
    )
    assert late.json()["error"] == "unknown-disposition"
    amended = await api.http.post(
        f"/api/interactions/{call}/amendments",
        json={"disposition": "sold_him_a_fund", "reason": "the agent picked the wrong one"},
        headers=api.as_(Role.SUPERVISOR),
    )
    assert amended.json()["error"] == "unknown-disposition"
    async with api.db.read() as session:
        assert (await session.get_one(Interaction, call)).disposition is None


async def test_a_supervisors_amendment_keeps_the_original_and_is_audited(api: Api) -> None:
    call = await agents_call(api)
    await wrap_up(api, call, notes="client asked about fees")
    amended = await api.http.post(
        f"/api/interactions/{call}/amendments",
        json={
            "queue": "vip",
            "disposition": "complaint_filed",
            "notes": "client asked about fees",  # unchanged: not an amendment of notes
            "reason": "the call was a VIP's, routed to general by a wrong tier",
        },
        headers=api.as_(Role.SUPERVISOR),
    )
    assert amended.status_code == 201, amended.text
    record = amended.json()
    assert (record["queue"], record["disposition"]) == ("vip", "complaint_filed")
    [amendment] = record["amendments"]
    assert amendment["changes"] == {
        "disposition": {"from": "resolved", "to": "complaint_filed"},
        "queue": {"from": "general", "to": "vip"},
    }
    assert amendment["by_user_id"] == api.users[Role.SUPERVISOR].id
    assert amendment["reason"].startswith("the call was a VIP's")

    # The agent reads their call with the correction and what it replaced.
    seen = await api.http.get(f"/api/interactions/{call}", headers=api.as_(Role.AGENT))
    assert seen.json()["amendments"] == record["amendments"]
    [(actor, interaction_id, detail)] = await audit_rows(api, "interaction.amend")
    assert (actor, interaction_id) == (api.users[Role.SUPERVISOR].id, call)
    assert detail["fields"] == ["disposition", "queue"]


async def test_an_amendment_must_change_something_known_with_a_reason(api: Api) -> None:
    call = await agents_call(api)
    url = f"/api/interactions/{call}/amendments"
    reason = {"reason": "wrong queue recorded"}
    as_supervisor = api.as_(Role.SUPERVISOR)

    nothing = await api.http.post(url, json={"queue": "general", **reason}, headers=as_supervisor)
    assert (nothing.status_code, nothing.json()["error"]) == (422, "amendment-invalid")
    times = await api.http.post(url, json={"ended_at": now_iso(), **reason}, headers=as_supervisor)
    assert ("body", "ended_at") in field_errors(times)
    no_reason = await api.http.post(url, json={"queue": "vip"}, headers=as_supervisor)
    assert ("body", "reason") in field_errors(no_reason)
    unknown_agent = await api.http.post(
        url, json={"agent_id": 999_999, **reason}, headers=as_supervisor
    )
    assert (unknown_agent.status_code, unknown_agent.json()["detail"]) == (
        422,
        {"field": "agent_id"},
    )
    for role in (Role.AGENT, Role.COMPLIANCE, Role.ADMIN):
        refused = await api.http.post(url, json={"queue": "vip", **reason}, headers=api.as_(role))
        assert refused.status_code == 403, role
    async with api.db.read() as session:
        assert (await session.get_one(Interaction, call)).queue == "general"


async def test_every_read_is_audited(api: Api) -> None:
    call = await agents_call(api)
    supervisor = api.users[Role.SUPERVISOR].id
    await api.http.get(f"/api/interactions/{call}", headers=api.as_(Role.SUPERVISOR))
    await api.http.get("/api/interactions", headers=api.as_(Role.SUPERVISOR))

    assert await audit_rows(api, "interaction.view") == [(supervisor, call, {})]
    [(actor, _none, listed)] = await audit_rows(api, "interaction.list")
    assert (actor, listed["interactions"]) == (supervisor, [call])


async def test_caller_numbers_and_notes_are_masked_where_not_needed(api: Api) -> None:
    advisor = api.users[Role.ADVISOR]
    client_id = await add_client(api.db, api.branch.id, advisor_id=advisor.id)
    call = await add_call_in_hand(api.db, client_id, api.users[Role.AGENT].id)
    await wrap_up(api, call, notes="wants to move assets")

    # The advisor sees their client's call, taken by an agent: number masked, and notes in
    # the record itself but not in a list.
    one = (await api.http.get(f"/api/interactions/{call}", headers=api.as_(Role.ADVISOR))).json()
    assert (one["caller_number"], one["notes"]) == ("+86138****8000", "wants to move assets")
    listed = await api.http.get("/api/interactions", headers=api.as_(Role.ADVISOR))
    [item] = listed.json()["items"]
    assert (item["caller_number"], item["notes"]) == ("+86138****8000", None)
    # Supervisors and the call's own agent see it whole.
    for role in (Role.SUPERVISOR, Role.AGENT):
        [whole] = (await api.http.get("/api/interactions", headers=api.as_(role))).json()["items"]
        assert (whole["caller_number"], whole["notes"]) == (
            "+8613800138000",
            "wants to move assets",
        )


async def test_a_record_closed_as_an_anomaly_says_why(api: Api) -> None:
    from callcenter.persistence.acd_backend import SqlAcdBackend

    call = await add_interaction(api.db, None, T0, call_id="1741000000.77")
    await SqlAcdBackend(api.db).close_as_anomaly(call, T0, "the call's end was refused")

    fetched = await api.http.get(f"/api/interactions/{call}", headers=api.as_(Role.SUPERVISOR))

    assert fetched.json()["anomaly"] == "the call's end was refused"
    assert fetched.json()["ended_at"] is not None
