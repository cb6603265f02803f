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


async def test_a_follow_up_from_a_wrap_up_is_linked_to_the_call_and_owned_by_its_agent(
    api: Api,
) -> None:
    # What the desk's wrap-up sends: the client, the kind, the day and the call, no owner.
    agent = api.users[Role.AGENT]
    client_id = await add_client(api.db, api.branch.id)
    call = await add_call_in_hand(api.db, client_id, agent.id)
    response = await api.http.post(
        "/api/follow-ups",
        json={
            "client_id": client_id,
            "kind": "care_call",
            "due_on": "2026-03-16",
            "interaction_id": call,
        },
        headers=api.as_(Role.AGENT),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["interaction_id"], created["assigned_to_id"], created["created_by_id"]) == (
        call,
        agent.id,
        agent.id,
    )
    # The agent's own task: in their list of tasks by owner.
    mine = await api.http.get(
        f"/api/follow-ups?assigned_to={agent.id}&client_id={client_id}",
        headers=api.as_(Role.AGENT),
    )
    assert [f["id"] for f in mine.json()["items"]] == [created["id"]]
    # Completed later without naming a contact: the call it was agreed in stays named.
    done = await api.http.post(
        f"/api/follow-ups/{created['id']}/complete",
        json={"outcome": "called back, all fine"},
        headers=api.as_(Role.AGENT),
    )
    assert done.status_code == 200, done.text
    assert done.json()["interaction_id"] == call


async def test_a_named_owner_is_kept(api: Api, client_id: int) -> None:
    advisor = api.users[Role.ADVISOR]
    response = await api.http.post(
        "/api/follow-ups",
        json={
            "client_id": client_id,
            "kind": "care_call",
            "due_on": "2026-03-16",
            "assigned_to_id": advisor.id,
        },
        headers=api.as_(Role.AGENT),
    )
    assert response.status_code == 201, response.text
    assert response.json()["assigned_to_id"] == advisor.id


async def test_a_follow_up_links_only_the_creators_own_call_with_that_client(
    api: Api, client_id: int
) -> None:
    agent = api.users[Role.AGENT]
    someone_elses = await add_call_in_hand(api.db, client_id, api.users[Role.ADVISOR].id)
    other_client = await add_client(
        api.db, api.branch.id, account_no="1001000002", phones=("+8613900139000",)
    )
    with_another_client = await add_call_in_hand(api.db, other_client, agent.id)
    for interaction_id in (someone_elses, with_another_client, 987_654):
        response = await api.http.post(
            "/api/follow-ups",
            json={
                "client_id": client_id,
                "kind": "care_call",
                "due_on": "2026-03-16",
                "interaction_id": interaction_id,
            },
            headers=api.as_(Role.AGENT),
        )
        assert response.status_code == 422, response.text
        body = response.json()
        assert (body["error"], body["detail"]["field"]) == (
            "follow-up-call-not-yours",
            "interaction_id",
        )
    listed = await api.http.get(
        f"/api/follow-ups?client_id={client_id}", headers=api.as_(Role.SUPERVISOR)
    )
    assert listed.json()["items"] == []
