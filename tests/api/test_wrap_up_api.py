"""Wrap-up over HTTP: the agent reads their deadline and extends it up to the call's limit;
supervisors read any agent's; nobody extends another's (the ACD with an in-memory store)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from callcenter.acd.agent_states import AgentStates
from callcenter.acd.model import QueueConfig
from callcenter.acd.service import AcdService
from callcenter.acd.wrap_up import WrapUpRules
from callcenter.crm.vocabulary import Role
from callcenter.events import EventBus
from tests.api.conftest import Api
from tests.fakes.acd import T0, FakeAcdStore


@pytest.fixture
async def acd(api: Api) -> AsyncIterator[AcdService]:
    """An ACD whose clock stands still at T0, in the service under test."""
    store = FakeAcdStore([QueueConfig("general", wrap_up_seconds=30.0)])
    bus = EventBus(clock=lambda: T0)
    service = AcdService(
        store,
        bus,
        AgentStates(store, bus, clock=lambda: T0),
        clock=lambda: 1000.0,
        wallclock=lambda: T0,
        wrap_up=WrapUpRules(extend_seconds=60.0, limit_seconds=120.0),
    )
    api.app.state.runtime.acd = service
    yield service
    api.app.state.runtime.acd = None
    service.wrap_ups.cancel_all()


def same_time(text: str, seconds: int) -> bool:
    return dt.datetime.fromisoformat(text) == T0 + dt.timedelta(seconds=seconds)


async def test_the_agent_extends_their_wrap_up_up_to_the_limit(api: Api, acd: AcdService) -> None:
    agent = api.users[Role.AGENT]
    acd.wrap_ups.start(agent.id, 77, 30.0)
    mine = await api.http.get("/api/agents/me/wrap-up", headers=api.as_(Role.AGENT))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert (body["interaction_id"], body["extended_seconds"]) == (77, 0)
    assert same_time(body["ends_at"], 30)
    assert same_time(body["limit_at"], 120)

    extended = await api.http.post(
        "/api/agents/me/wrap-up/extend", json={}, headers=api.as_(Role.AGENT)
    )
    assert extended.status_code == 200, extended.text
    assert same_time(extended.json()["ends_at"], 90)
    # Asked for 45 s more: only 30 s are left before the limit.
    capped = await api.http.post(
        "/api/agents/me/wrap-up/extend", json={"seconds": 45}, headers=api.as_(Role.AGENT)
    )
    assert same_time(capped.json()["ends_at"], 120)
    assert capped.json()["extended_seconds"] == 90
    refused = await api.http.post(
        "/api/agents/me/wrap-up/extend", json={}, headers=api.as_(Role.AGENT)
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "wrap-up-limit-reached")

    seen = await api.http.get(f"/api/agents/{agent.id}/wrap-up", headers=api.as_(Role.SUPERVISOR))
    assert seen.status_code == 200, seen.text
    assert seen.json()["extended_seconds"] == 90


async def test_outside_wrap_up_there_is_nothing_to_extend(api: Api, acd: AcdService) -> None:
    acd.wrap_ups.start(api.users[Role.ADVISOR].id, 78, 30.0)  # someone else's wrap-up
    for method, path in (
        ("GET", "/api/agents/me/wrap-up"),
        ("POST", "/api/agents/me/wrap-up/extend"),
    ):
        response = await api.http.request(
            method, path, json={} if method == "POST" else None, headers=api.as_(Role.AGENT)
        )
        assert (response.status_code, response.json()["error"]) == (409, "agent-not-in-wrap-up")
    wrap = acd.wrap_ups.of(api.users[Role.ADVISOR].id)
    assert wrap is not None
    assert wrap.extended_seconds == 0


@pytest.mark.parametrize("seconds", [0, -5, 3_601, "soon"])
async def test_a_bad_amount_is_422(api: Api, acd: AcdService, seconds: object) -> None:
    acd.wrap_ups.start(api.users[Role.AGENT].id, 77, 30.0)
    response = await api.http.post(
        "/api/agents/me/wrap-up/extend", json={"seconds": seconds}, headers=api.as_(Role.AGENT)
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid-request"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/agents/me/wrap-up", {Role.AGENT, Role.ADVISOR}),
        ("POST", "/api/agents/me/wrap-up/extend", {Role.AGENT, Role.ADVISOR}),
        ("GET", "/api/agents/{agent_id}/wrap-up", {Role.SUPERVISOR, Role.ADMIN}),
    ],
)
async def test_the_roles_of_the_wrap_up_routes(
    api: Api, acd: AcdService, method: str, path: str, allowed: set[Role]
) -> None:
    for role in Role:
        acd.wrap_ups.start(api.users[role].id, 70 + len(role.value), 30.0)
    for role in Role:
        url = path.format(agent_id=api.users[Role.AGENT].id)
        response = await api.http.request(
            method, url, json={} if method == "POST" else None, headers=api.as_(role)
        )
        assert (200 if role in allowed else 403) == response.status_code, (role, response.text)
    anonymous = await api.http.request(method, path.format(agent_id=1), json={})
    assert anonymous.status_code == 401
