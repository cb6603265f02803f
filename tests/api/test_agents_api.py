"""Agents and queues over HTTP, on SQLite and PostgreSQL: login, state changes and their error
ids, the supervisors' board, profiles, and versioned queue configuration."""

from __future__ import annotations

import datetime as dt
from typing import Any

from callcenter.acd.agents import AgentEvent
from callcenter.crm.vocabulary import Role
from callcenter.persistence import agents, queues
from callcenter.persistence.tables import User
from tests.api.conftest import Api


async def post(api: Api, path: str, role: Role = Role.AGENT, body: Any = None) -> Any:
    return await api.http.post(f"/api/agents/me/{path}", json=body, headers=api.as_(role))


async def me(api: Api, role: Role = Role.AGENT) -> dict[str, Any]:
    response = await api.http.get("/api/agents/me", headers=api.as_(role))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- the agent's own state ------------------------------------------------------------------


async def test_an_agent_logs_in_goes_not_ready_then_ready_and_out(api: Api) -> None:
    assert (await me(api))["state"] == "logged_out"
    logged_in = await post(api, "login")
    assert logged_in.status_code == 200, logged_in.text
    assert (logged_in.json()["state"], logged_in.json()["extension"]) == ("ready", "1001")

    away = await post(api, "state", body={"state": "not_ready", "reason": "lunch"})
    assert (away.json()["state"], away.json()["reason"]) == ("not_ready", "lunch")
    back = await post(api, "state", body={"state": "ready"})
    assert (back.json()["state"], back.json()["reason"]) == ("ready", None)
    out = await post(api, "logout")
    assert out.json()["state"] == "logged_out"

    async with api.db.read() as session:
        changes = await agents.state_changes(session, api.users[Role.AGENT].id)
    assert [c.event for c in changes] == [
        AgentEvent.LOGIN,
        AgentEvent.NOT_READY,
        AgentEvent.READY,
        AgentEvent.LOGOUT,
    ]
    times = [c.at for c in changes]
    assert times == sorted(times)


async def test_advisors_are_agents_too(api: Api) -> None:
    response = await post(api, "login", Role.ADVISOR)
    assert response.status_code == 200, response.text
    assert (await me(api, Role.ADVISOR))["role"] == "advisor"


async def test_moves_the_state_machine_refuses_are_409_with_their_ids(api: Api) -> None:
    not_in = await post(api, "state", body={"state": "ready"})
    assert (not_in.status_code, not_in.json()["error"]) == (409, "agent-not-logged-in")
    await post(api, "login")
    twice = await post(api, "login")
    assert (twice.status_code, twice.json()["error"]) == (409, "agent-already-logged-in")
    again = await post(api, "state", body={"state": "ready"})
    assert (again.status_code, again.json()["error"]) == (409, "agent-illegal-transition")
    assert again.json()["detail"]["allowed"]


async def test_an_agent_on_a_call_cannot_log_out(api: Api) -> None:
    await post(api, "login")
    async with api.db.write() as session:
        await agents.apply_event(session, api.users[Role.AGENT].id, AgentEvent.OFFER)
    refused = await post(api, "logout")
    assert (refused.status_code, refused.json()["error"]) == (409, "agent-illegal-transition")
    assert (await me(api))["state"] == "reserved"


async def test_bad_reasons_are_422_with_their_ids(api: Api) -> None:
    await post(api, "login")
    cases = [
        ({"state": "not_ready"}, "agent-reason-required"),
        ({"state": "not_ready", "reason": "nap"}, "agent-unknown-reason"),
        ({"state": "not_ready", "reason": "missed"}, "agent-reason-reserved"),
        ({"state": "ready", "reason": "break"}, "agent-reason-not-expected"),
    ]
    for body, error in cases:
        response = await post(api, "state", body=body)
        assert (response.status_code, response.json()["error"]) == (422, error), body
    schema = await post(api, "state", body={"state": "on_call"})
    assert schema.status_code == 422


async def test_ready_in_wrap_up_ends_the_wrap_up(api: Api) -> None:
    agent = api.users[Role.AGENT].id
    await post(api, "login")
    async with api.db.write() as session:
        for event in (AgentEvent.OFFER, AgentEvent.ANSWER, AgentEvent.HANG_UP):
            await agents.apply_event(session, agent, event)
    assert (await me(api))["state"] == "wrap_up"
    ready = await post(api, "state", body={"state": "ready"})
    assert ready.json()["state"] == "ready"
    async with api.db.read() as session:
        last = (await agents.state_changes(session, agent))[-1]
    assert last.event is AgentEvent.WRAP_UP_DONE


async def test_a_user_without_a_phone_cannot_log_in(api: Api) -> None:
    async with api.db.write() as session:
        user = await session.get(User, api.users[Role.AGENT].id)
        assert user is not None
        user.extension = None
    response = await post(api, "login")
    assert (response.status_code, response.json()["error"]) == (409, "agent-no-extension")


async def test_the_reasons_to_choose_leave_out_missed(api: Api) -> None:
    response = await api.http.get("/api/agents/reasons", headers=api.as_(Role.AGENT))
    assert response.json()["reasons"] == [
        "after_call_work",
        "break",
        "lunch",
        "meeting",
        "training",
    ]


# --- supervisors' view and profiles -----------------------------------------------------------


async def test_supervisors_see_every_agents_state_and_since(api: Api) -> None:
    await post(api, "login", Role.ADVISOR)
    board = await api.http.get("/api/agents", headers=api.as_(Role.SUPERVISOR))
    rows = {row["username"]: row for row in board.json()}
    assert set(rows) == {"test-agent", "test-advisor"}
    assert (rows["test-advisor"]["state"], rows["test-agent"]["state"]) == ("ready", "logged_out")
    assert rows["test-advisor"]["since"] is not None
    assert rows["test-agent"]["since"] is None
    ready = await api.http.get("/api/agents?state=ready", headers=api.as_(Role.ADMIN))
    assert [row["username"] for row in ready.json()] == ["test-advisor"]


async def test_admins_set_an_agents_skills_languages_and_queues(api: Api) -> None:
    await put_queue(api, "trading_support", {"required_skills": ["trading"]})
    agent = api.users[Role.AGENT].id
    body = {
        "skills": {"trading": 4, "margin": 2},
        "languages": ["zh", "en"],
        "queues": ["trading_support"],
    }
    response = await api.http.put(
        f"/api/agents/{agent}/profile", json=body, headers=api.as_(Role.ADMIN)
    )
    assert response.status_code == 200, response.text
    shown = await me(api)
    assert (shown["skills"], shown["languages"], shown["queues"]) == (
        {"margin": 2, "trading": 4},
        ["en", "zh"],
        ["trading_support"],
    )
    bad = await api.http.put(
        f"/api/agents/{agent}/profile",
        json={**body, "queues": ["nowhere"]},
        headers=api.as_(Role.ADMIN),
    )
    assert (bad.status_code, bad.json()["error"]) == (422, "agent-profile-invalid")
    missing = await api.http.put("/api/agents/9999/profile", json=body, headers=api.as_(Role.ADMIN))
    assert (missing.status_code, missing.json()["error"]) == (404, "agent-not-found")


# --- queues -----------------------------------------------------------------------------------


async def put_queue(api: Api, name: str, body: dict[str, Any]) -> Any:
    return await api.http.put(f"/api/queues/{name}", json=body, headers=api.as_(Role.ADMIN))


async def test_a_queue_is_created_with_defaults_then_changed_by_version(api: Api) -> None:
    created = await put_queue(api, "general", {})
    assert created.status_code == 201, created.text
    shown = created.json()
    assert (shown["version"], shown["service_level_seconds"], shown["overflow_queue"]) == (
        1,
        10.0,
        None,
    )
    assert shown["tier_priority"] == {"standard": 0, "silver": 1, "gold": 2, "vip": 4}
    assert shown["updated_by_id"] == api.users[Role.ADMIN].id

    changed = await put_queue(api, "general", {"version": 1, "wrap_up_seconds": 45})
    assert (changed.status_code, changed.json()["version"]) == (200, 2)
    assert changed.json()["wrap_up_seconds"] == 45
    stale = await put_queue(api, "general", {"version": 1, "wrap_up_seconds": 10})
    assert (stale.status_code, stale.json()["error"]) == (409, "stale-version")
    exists = await put_queue(api, "general", {})
    assert (exists.status_code, exists.json()["error"]) == (409, "queue-exists")

    read = await api.http.get("/api/queues/general", headers=api.as_(Role.SUPERVISOR))
    assert read.json()["wrap_up_seconds"] == 45
    listed = await api.http.get("/api/queues", headers=api.as_(Role.SUPERVISOR))
    assert [q["name"] for q in listed.json()] == ["general"]


async def test_queue_errors_are_named(api: Api) -> None:
    missing = await api.http.get("/api/queues/nowhere", headers=api.as_(Role.SUPERVISOR))
    assert (missing.status_code, missing.json()["error"]) == (404, "queue-not-found")
    not_there = await put_queue(api, "nowhere", {"version": 3})
    assert (not_there.status_code, not_there.json()["error"]) == (404, "queue-not-found")
    overflow = await put_queue(api, "general", {"overflow_queue": "nowhere"})
    assert (overflow.status_code, overflow.json()["error"]) == (422, "queue-invalid")
    assert overflow.json()["detail"]["field"] == "overflow_queue"
    bad_name = await put_queue(api, "General", {})
    assert bad_name.status_code == 422
    bad_value = await put_queue(api, "general", {"ring_seconds": 0})
    assert bad_value.status_code == 422


async def test_a_queue_overflows_to_an_ivr_entry_and_keeps_its_own_hours(api: Api) -> None:
    body = {
        "max_wait_seconds": 120,
        "overflow_node": "queue_full",  # an overflow entry of the hotline flow
        "announce_position": True,
        "announce_every_seconds": 45,
        "hours": {"opens": "09:00", "closes": "15:30", "weekdays": [1, 2, 3, 4, 5]},
    }
    created = await put_queue(api, "general", body)
    assert created.status_code == 201, created.text
    shown = created.json()
    assert shown["overflow_node"] == "queue_full"
    assert shown["hours"] == {
        "opens": "09:00:00",
        "closes": "15:30:00",
        "weekdays": [1, 2, 3, 4, 5],
    }
    assert (shown["announce_position"], shown["announce_every_seconds"]) == (True, 45)
    # What the ACD loads is what was stored.
    async with api.db.read() as session:
        [config] = [
            r.config for r in await queues.list_queues(session) if r.config.name == "general"
        ]
    assert config.hours is not None
    assert (config.hours.opens, config.hours.closes) == (dt.time(9), dt.time(15, 30))


async def test_queue_overflow_errors_are_named(api: Api) -> None:
    # The hotline flow enqueues into general but has no entry by that name.
    missing = await put_queue(api, "general", {"overflow_node": "main_menu"})
    assert (missing.status_code, missing.json()["error"]) == (422, "queue-invalid")
    assert missing.json()["detail"]["field"] == "overflow_node"
    assert "hotline" in missing.json()["message"]
    both = await put_queue(api, "general", {"overflow_node": "queue_full", "overflow_queue": "x"})
    assert both.status_code == 422
    often = await put_queue(api, "general", {"announce_every_seconds": 5})
    assert often.status_code == 422
    bad_hours = await put_queue(api, "general", {"hours": {"opens": "25:00", "closes": "10:00"}})
    assert bad_hours.status_code == 422
    same = await put_queue(api, "general", {"hours": {"opens": "10:00", "closes": "10:00"}})
    assert (same.status_code, same.json()["detail"]["field"]) == (422, "hours")
