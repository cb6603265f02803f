"""Interactions over HTTP: created once per contact, written phase by phase, forward only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from callcenter.crm.vocabulary import Role
from tests.api.conftest import Api
from tests.support.crm_data import T0, add_client, add_interaction


def iso(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).isoformat()


def field_errors(response: Any) -> dict[tuple[Any, ...], str]:
    assert response.status_code == 422, response.text
    return {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}


async def create(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"channel": "voice", "direction": "inbound", "started_at": iso(0), **fields}
    response = await api.http.post("/api/interactions", json=body, headers=api.as_(Role.AGENT))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def phase(api: Api, interaction_id: int, name: str, seconds: float, **fields: Any) -> Any:
    return await api.http.patch(
        f"/api/interactions/{interaction_id}",
        json={"phase": name, "at": iso(seconds), **fields},
        headers=api.as_(Role.AGENT),
    )


async def test_create_records_the_contact_with_numbers_in_e164(api: Api) -> None:
    client_id = await add_client(api.db, api.branch.id)
    created = await create(
        api,
        caller_number="13800138000",
        called_number="anonymous",
        client_id=client_id,
        call_id="1741000000.42",
        asterisk_linkedid="1741000000.42",
    )
    fetched = await api.http.get(f"/api/interactions/{created['id']}", headers=api.as_(Role.AGENT))
    assert fetched.json() == created
    assert (created["caller_number"], created["called_number"]) == ("+8613800138000", "anonymous")
    assert created["client_id"] == client_id
    assert dt.datetime.fromisoformat(created["started_at"]) == T0


async def test_a_retried_create_with_the_same_call_id_is_409_naming_the_first(api: Api) -> None:
    first = await create(api, call_id="1741000000.42")
    response = await api.http.post(
        "/api/interactions",
        json={
            "channel": "voice",
            "direction": "inbound",
            "started_at": iso(1),
            "call_id": "1741000000.42",
        },
        headers=api.as_(Role.AGENT),
    )
    assert response.status_code == 409
    assert response.json()["error"] == "interaction-exists"
    assert response.json()["detail"] == {"interaction_id": first["id"]}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"started_at": "2026-03-02T09:30:00"}, ("body", "started_at")),  # no time zone
        ({"channel": "fax"}, ("body", "channel")),
        ({"direction": None}, ("body", "direction")),
        ({"client_id": 0}, ("body", "client_id")),
        ({"caller_number": "9" * 40}, ("body", "caller_number")),
    ],
)
async def test_invalid_create_names_the_field(
    api: Api, fields: dict[str, Any], field: tuple[str, ...]
) -> None:
    body = {"channel": "voice", "direction": "inbound", "started_at": iso(0), **fields}
    response = await api.http.post("/api/interactions", json=body, headers=api.as_(Role.AGENT))
    assert field in field_errors(response)


async def test_create_for_an_unknown_client_or_agent_is_422(api: Api) -> None:
    for field in ("client_id", "agent_id"):
        body = {"channel": "voice", "direction": "inbound", "started_at": iso(0), field: 999}
        response = await api.http.post("/api/interactions", json=body, headers=api.as_(Role.AGENT))
        assert response.status_code == 422
        assert response.json()["detail"] == {"field": field}


async def test_phases_give_wait_talk_and_wrap_up_seconds(api: Api) -> None:
    agent = api.users[Role.AGENT]
    call = await create(api)
    await phase(
        api, call["id"], "ivr_ended", 12, ivr_path=["main", "balance"], ivr_outcome="queued"
    )
    await phase(api, call["id"], "queued", 12, queue="vip")
    await phase(api, call["id"], "offered", 17, agent_id=agent.id)
    await phase(api, call["id"], "answered", 20)
    await phase(api, call["id"], "ended", 200, hold_seconds=40, disposition="resolved")
    done = await phase(api, call["id"], "wrapped_up", 230, notes="explained margin call")
    result = done.json()
    assert (result["wait_seconds"], result["talk_seconds"], result["hold_seconds"]) == (8, 140, 40)
    assert result["wrapup_seconds"] == 30
    assert (result["queue"], result["agent_id"], result["ivr_path"]) == (
        "vip",
        agent.id,
        ["main", "balance"],
    )
    assert (result["disposition"], result["notes"]) == ("resolved", "explained margin call")
    assert result["version"] == 7


async def test_a_phase_earlier_than_the_previous_one_is_409_and_changes_nothing(api: Api) -> None:
    call = await create(api)
    await phase(api, call["id"], "answered", 30)
    early = await phase(api, call["id"], "ended", 29)
    assert early.status_code == 409
    assert early.json()["error"] == "interaction-phase-out-of-order"
    current = await api.http.get(f"/api/interactions/{call['id']}", headers=api.as_(Role.AGENT))
    assert current.json()["ended_at"] is None


async def test_a_phase_before_the_start_is_409(api: Api) -> None:
    call = await create(api)
    response = await phase(api, call["id"], "queued", -1)
    assert response.json()["error"] == "interaction-phase-out-of-order"


async def test_going_back_to_an_earlier_phase_is_409(api: Api) -> None:
    call = await create(api)
    await phase(api, call["id"], "answered", 30)
    response = await phase(api, call["id"], "queued", 40)
    assert response.status_code == 409
    assert response.json()["error"] == "interaction-phase-out-of-order"


async def test_recording_a_phase_twice_is_409(api: Api) -> None:
    call = await create(api)
    await phase(api, call["id"], "ended", 30)
    response = await phase(api, call["id"], "ended", 31)
    assert response.status_code == 409
    assert response.json()["error"] == "interaction-phase-recorded"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phase": "started", "at": iso(1)}, ("body", "phase")),
        ({"phase": "answered"}, ("body", "at")),
        ({"phase": "ended", "at": iso(1), "hold_seconds": -1}, ("body", "hold_seconds")),
        ({"phase": "ended", "at": iso(1), "mood": "happy"}, ("body", "mood")),
    ],
)
async def test_invalid_phase_names_the_field(
    api: Api, body: dict[str, Any], field: tuple[str, ...]
) -> None:
    call = await create(api)
    response = await api.http.patch(
        f"/api/interactions/{call['id']}", json=body, headers=api.as_(Role.AGENT)
    )
    assert field in field_errors(response)


async def test_unknown_interaction_is_404(api: Api) -> None:
    fetched = await api.http.get("/api/interactions/999", headers=api.as_(Role.AGENT))
    patched = await phase(api, 999, "ended", 1)
    assert (fetched.status_code, patched.status_code) == (404, 404)
    assert fetched.json()["error"] == "interaction-not-found"


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
        headers=api.as_(Role.AGENT),
    )
    assert [i["id"] for i in response.json()["items"]] == [newest, new]
    everything = await api.http.get(
        "/api/interactions",
        params={"client_id": client_id, "limit": 2},
        headers=api.as_(Role.AGENT),
    )
    assert everything.json()["has_more"] is True
    assert old not in [i["id"] for i in everything.json()["items"]]


async def test_list_refuses_a_limit_over_100_and_a_naive_since(api: Api) -> None:
    response = await api.http.get(
        "/api/interactions",
        params={"limit": 101, "since": "2026-03-01T00:00:00"},
        headers=api.as_(Role.AGENT),
    )
    assert {("query", "limit"), ("query", "since")} <= set(field_errors(response))


async def test_a_late_wrap_up_sets_the_disposition_on_the_agents_own_call(api: Api) -> None:
    agent, other = api.users[Role.AGENT], api.users[Role.ADVISOR]
    call = await create(api)
    await phase(api, call["id"], "ivr_ended", 12)
    await phase(api, call["id"], "queued", 12, queue="general")
    await phase(api, call["id"], "offered", 17, agent_id=agent.id)
    await phase(api, call["id"], "answered", 20)
    await phase(api, call["id"], "ended", 200)
    await phase(api, call["id"], "wrapped_up", 230)  # the ACD's wrap-up timer ran out
    url = f"/api/interactions/{call['id']}/disposition"
    body = {"disposition": "resolved", "notes": "explained the price limit"}

    late = await api.http.put(url, json=body, headers=api.as_(Role.AGENT))
    assert late.status_code == 200, late.text
    assert (late.json()["disposition"], late.json()["notes"]) == ("resolved", body["notes"])
    assert late.json()["wrapup_seconds"] == 30  # the phases are untouched

    not_theirs = await api.http.put(url, json=body, headers=api.as_(Role.ADVISOR))
    assert (not_theirs.status_code, not_theirs.json()["error"]) == (403, "interaction-not-yours")
    assert other.id != agent.id
    corrected = await api.http.put(
        url, json={"disposition": "escalated"}, headers=api.as_(Role.SUPERVISOR)
    )
    assert corrected.status_code == 200
    assert (corrected.json()["disposition"], corrected.json()["notes"]) == (
        "escalated",
        body["notes"],  # notes left out are kept
    )
    missing = await api.http.put(
        "/api/interactions/999999/disposition", json=body, headers=api.as_(Role.AGENT)
    )
    assert missing.status_code == 404
    empty = await api.http.put(url, json={"disposition": ""}, headers=api.as_(Role.AGENT))
    assert empty.status_code == 422


async def test_a_record_closed_as_an_anomaly_says_why(api: Api) -> None:
    from callcenter.persistence.acd_backend import SqlAcdBackend

    call = await create(api, call_id="1741000000.77")
    assert call["anomaly"] is None
    await SqlAcdBackend(api.db).close_as_anomaly(call["id"], T0, "the call's end was refused")

    fetched = await api.http.get(f"/api/interactions/{call['id']}", headers=api.as_(Role.AGENT))

    assert fetched.json()["anomaly"] == "the call's end was refused"
    assert fetched.json()["ended_at"] is not None
