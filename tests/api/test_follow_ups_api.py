"""Follow-ups over HTTP: created, listed by assignee and due date, completed or cancelled
exactly once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from callcenter.crm.vocabulary import Role
from tests.api.conftest import Api
from tests.support.crm_data import add_call_in_hand, add_client, add_follow_up, add_interaction


def field_errors(response: Any) -> dict[tuple[Any, ...], str]:
    assert response.status_code == 422, response.text
    return {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}


@pytest.fixture
async def client_id(api: Api) -> int:
    """A client whose call is in the test agent's hands (callcenter/crm/scopes.py)."""
    client_id = await add_client(api.db, api.branch.id)
    await add_call_in_hand(api.db, client_id, api.users[Role.AGENT].id)
    return client_id


async def test_create_records_who_created_it_and_starts_open(api: Api, client_id: int) -> None:
    advisor = api.users[Role.ADVISOR]
    response = await api.http.post(
        "/api/follow-ups",
        json={
            "client_id": client_id,
            "kind": "return_visit",
            "due_on": "2026-03-16",
            "assigned_to_id": advisor.id,
        },
        headers=api.as_(Role.AGENT),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["status"], created["due_on"], created["assigned_to_id"]) == (
        "open",
        "2026-03-16",
        advisor.id,
    )
    assert created["created_by_id"] == api.users[Role.AGENT].id
    fetched = await api.http.get(f"/api/follow-ups/{created['id']}", headers=api.as_(Role.AGENT))
    assert fetched.json() == created


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "gossip"}, ("body", "kind")),
        ({"due_on": "16/03/2026"}, ("body", "due_on")),
        ({"client_id": None}, ("body", "client_id")),
        ({"assigned_to_id": -3}, ("body", "assigned_to_id")),
    ],
)
async def test_invalid_create_names_the_field(
    api: Api, client_id: int, fields: dict[str, Any], field: tuple[str, ...]
) -> None:
    body = {"client_id": client_id, "kind": "care_call", "due_on": "2026-03-16", **fields}
    response = await api.http.post("/api/follow-ups", json=body, headers=api.as_(Role.AGENT))
    assert field in field_errors(response)


async def test_create_for_an_unknown_client_or_assignee_is_422(api: Api, client_id: int) -> None:
    for fields in ({"client_id": 999}, {"client_id": client_id, "assigned_to_id": 999}):
        body = {"kind": "care_call", "due_on": "2026-03-16", **fields}
        response = await api.http.post("/api/follow-ups", json=body, headers=api.as_(Role.AGENT))
        assert response.status_code == 422
        assert response.json()["error"] in {"unknown-client", "unknown-user"}


async def test_list_filters_by_assignee_due_date_and_status_soonest_first(
    api: Api, client_id: int
) -> None:
    advisor = api.users[Role.ADVISOR].id
    agent = api.users[Role.AGENT].id
    later = await add_follow_up(api.db, client_id, dt.date(2026, 3, 12), assigned_to_id=advisor)
    sooner = await add_follow_up(api.db, client_id, dt.date(2026, 3, 9), assigned_to_id=advisor)
    await add_follow_up(api.db, client_id, dt.date(2026, 3, 20), assigned_to_id=advisor)
    await add_follow_up(api.db, client_id, dt.date(2026, 3, 9), assigned_to_id=agent)
    done = await add_follow_up(api.db, client_id, dt.date(2026, 3, 8), assigned_to_id=advisor)
    await api.http.post(
        f"/api/follow-ups/{done}/complete", json={"outcome": "called"}, headers=api.as_(Role.AGENT)
    )
    response = await api.http.get(
        "/api/follow-ups",
        params={"assigned_to": advisor, "due_before": "2026-03-13", "status": "open"},
        headers=api.as_(Role.ADVISOR),
    )
    assert [f["id"] for f in response.json()["items"]] == [sooner, later]


async def test_list_refuses_bad_filters(api: Api) -> None:
    response = await api.http.get(
        "/api/follow-ups",
        params={"status": "pending", "limit": 500, "due_before": "soon"},
        headers=api.as_(Role.AGENT),
    )
    assert {("query", "status"), ("query", "limit"), ("query", "due_before")} <= set(
        field_errors(response)
    )


async def test_complete_records_the_outcome_and_the_call(api: Api, client_id: int) -> None:
    # The advisor's own task (a return visit assigned to them): in their scope.
    follow_up = await add_follow_up(api.db, client_id, assigned_to_id=api.users[Role.ADVISOR].id)
    interaction = await add_interaction(api.db, client_id)
    response = await api.http.post(
        f"/api/follow-ups/{follow_up}/complete",
        json={"outcome": "client satisfied with account opening", "interaction_id": interaction},
        headers=api.as_(Role.ADVISOR),
    )
    done = response.json()
    assert (done["status"], done["outcome"], done["interaction_id"]) == (
        "done",
        "client satisfied with account opening",
        interaction,
    )
    assert done["done_at"] is not None
    assert done["version"] == 2


async def test_completing_twice_is_409_and_keeps_the_first_outcome(
    api: Api, client_id: int
) -> None:
    follow_up = await add_follow_up(api.db, client_id)
    url = f"/api/follow-ups/{follow_up}/complete"
    await api.http.post(url, json={"outcome": "first"}, headers=api.as_(Role.AGENT))
    again = await api.http.post(url, json={"outcome": "second"}, headers=api.as_(Role.AGENT))
    assert again.status_code == 409
    assert again.json()["error"] == "follow-up-closed"
    current = await api.http.get(f"/api/follow-ups/{follow_up}", headers=api.as_(Role.AGENT))
    assert current.json()["outcome"] == "first"


async def test_cancel_records_the_reason_and_then_completion_is_409(
    api: Api, client_id: int
) -> None:
    follow_up = await add_follow_up(api.db, client_id)
    cancelled = await api.http.post(
        f"/api/follow-ups/{follow_up}/cancel",
        json={"reason": "account closed before the visit"},
        headers=api.as_(Role.SUPERVISOR),
    )
    assert (cancelled.json()["status"], cancelled.json()["outcome"]) == (
        "cancelled",
        "account closed before the visit",
    )
    complete = await api.http.post(
        f"/api/follow-ups/{follow_up}/complete", json={"outcome": "x"}, headers=api.as_(Role.AGENT)
    )
    assert complete.status_code == 409


async def test_complete_needs_an_outcome_and_a_known_interaction(api: Api, client_id: int) -> None:
    follow_up = await add_follow_up(api.db, client_id)
    url = f"/api/follow-ups/{follow_up}/complete"
    missing = await api.http.post(url, json={"outcome": " "}, headers=api.as_(Role.AGENT))
    unknown = await api.http.post(
        url, json={"outcome": "called", "interaction_id": 999}, headers=api.as_(Role.AGENT)
    )
    assert ("body", "outcome") in field_errors(missing)
    assert unknown.status_code == 422
    assert unknown.json()["error"] == "unknown-interaction"
    still = await api.http.get(f"/api/follow-ups/{follow_up}", headers=api.as_(Role.AGENT))
    assert still.json()["status"] == "open"


async def test_unknown_follow_up_is_404(api: Api) -> None:
    fetched = await api.http.get("/api/follow-ups/999", headers=api.as_(Role.AGENT))
    completed = await api.http.post(
        "/api/follow-ups/999/complete", json={"outcome": "x"}, headers=api.as_(Role.AGENT)
    )
    cancelled = await api.http.post(
        "/api/follow-ups/999/cancel", json={"reason": "gone"}, headers=api.as_(Role.SUPERVISOR)
    )
    assert [r.status_code for r in (fetched, completed, cancelled)] == [404, 404, 404]
    assert fetched.json()["error"] == "follow-up-not-found"
