"""Supervision routes: who may call them, forcing an agent's state (real database, audited,
announced), and the errors of monitoring and moving calls.

The role check is here rather than in tests/api/test_roles.py: monitoring and moves need a live
call or a waiting call, so their 2xx answers come from fakes of the services set on the app,
and the state change needs a logged-in agent of its own.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.acd.model import AgentState, WaitingCall
from callcenter.acd.service import AgentNotReadyForCall, UnknownQueueName
from callcenter.crm.vocabulary import Role
from callcenter.events import AgentStateChanged
from callcenter.pbx.supervision import AgentNotOnCall, Monitoring, MonitorMode, NotMonitoring
from callcenter.persistence import agents
from callcenter.persistence.tables import AgentStateChange, AuditEntry
from tests.api.conftest import Api

MANAGERS = (Role.SUPERVISOR, Role.ADMIN)
AGENTS = (Role.AGENT, Role.ADVISOR)


class FakeSupervision:
    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []
        self.on_call = True
        self.running: Monitoring | None = None

    async def monitor(self, supervisor_id: int, agent_id: int, mode: MonitorMode) -> Monitoring:
        self.asked.append(("monitor", supervisor_id, agent_id, mode))
        if not self.on_call:
            raise AgentNotOnCall("the agent has no live call", agent_id=agent_id)
        self.running = Monitoring("spy-1", agent_id, mode, "PJSIP/1001-00000001", 7)
        return self.running

    def current(self, supervisor_id: int) -> Monitoring | None:
        return self.running

    async def stop(self, supervisor_id: int) -> None:
        self.asked.append(("stop", supervisor_id))
        if self.running is None:
            raise NotMonitoring("the supervisor is not monitoring a call")
        self.running = None


class FakeAcd:
    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []

    async def move_call(self, call_id: str, queue: str) -> WaitingCall:
        self.asked.append(("move", call_id, queue))
        if queue != "complaints":
            raise UnknownQueueName(f"no queue {queue!r}", field="queue")
        return WaitingCall(call_id, queue, 1.0)

    def offer_to(self, call_id: str, agent_id: int) -> WaitingCall:
        self.asked.append(("offer", call_id, agent_id))
        if agent_id == 999:
            raise AgentNotReadyForCall("the agent is not ready", agent_id=agent_id)
        return WaitingCall(call_id, "general", 1.0)


@pytest.fixture
def fakes(api: Api) -> tuple[FakeSupervision, FakeAcd]:
    supervision, acd = FakeSupervision(), FakeAcd()
    api.app.state.runtime.supervision = supervision
    api.app.state.runtime.acd = acd
    return supervision, acd


async def logged_in_agent(api: Api) -> int:
    agent_id = api.users[Role.AGENT].id
    async with api.db.write() as session:
        await agents.login(session, agent_id)
    return agent_id


def requests(agent_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("POST", "/api/supervision/monitor", {"agent_id": agent_id, "mode": "whisper"}),
        ("GET", "/api/supervision/monitor", None),
        ("DELETE", "/api/supervision/monitor", None),
        (
            "PUT",
            f"/api/supervision/agents/{agent_id}/state",
            {"state": "not_ready", "reason": "break"},
        ),
        ("POST", "/api/supervision/calls/c-1/move", {"queue": "complaints"}),
        ("POST", "/api/supervision/calls/c-1/move", {"agent_id": agent_id}),
    ]


@pytest.mark.parametrize(("role", "index"), list(itertools.product(Role, range(6))))
async def test_only_supervisors_and_admins_may_supervise(
    api: Api, fakes: tuple[FakeSupervision, FakeAcd], role: Role, index: int
) -> None:
    agent_id = await logged_in_agent(api)
    supervision, acd = fakes
    if index in (1, 2):  # a monitoring to show or to end
        await supervision.monitor(api.users[role].id, agent_id, MonitorMode.LISTEN)
    asked_before = len(supervision.asked) + len(acd.asked)
    method, path, body = requests(agent_id)[index]
    response = await api.http.request(method, path, json=body, headers=api.as_(role))
    if role in MANAGERS:
        assert 200 <= response.status_code < 300, response.text
    else:
        assert (response.status_code, response.json()["error"]) == (403, "forbidden")
        assert len(supervision.asked) + len(acd.asked) == asked_before  # nothing was done


async def test_without_a_session_is_401(api: Api, fakes: tuple[FakeSupervision, FakeAcd]) -> None:
    for method, path, body in requests(1):
        response = await api.http.request(method, path, json=body)
        assert response.status_code == 401, (method, path)


async def test_monitor_passes_the_mode_and_names_the_call(
    api: Api, fakes: tuple[FakeSupervision, FakeAcd]
) -> None:
    supervision, _ = fakes
    response = await api.http.post(
        "/api/supervision/monitor",
        json={"agent_id": 5, "mode": "barge"},
        headers=api.as_(Role.SUPERVISOR),
    )
    assert response.status_code == 201, response.text
    assert response.json() == {
        "call_id": "spy-1",
        "agent_id": 5,
        "mode": "barge",
        "interaction_id": 7,
    }
    assert supervision.asked == [("monitor", api.users[Role.SUPERVISOR].id, 5, MonitorMode.BARGE)]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"agent_id": 5, "mode": "shout"}, 422, None),
        ({"mode": "listen"}, 422, None),
    ],
)
async def test_monitor_validates_its_body(
    api: Api, fakes: tuple[FakeSupervision, FakeAcd], body: Any, status: int, error: str | None
) -> None:
    response = await api.http.post(
        "/api/supervision/monitor", json=body, headers=api.as_(Role.SUPERVISOR)
    )
    assert response.status_code == status
    assert fakes[0].asked == []


async def test_monitoring_an_agent_without_a_call_is_409(
    api: Api, fakes: tuple[FakeSupervision, FakeAcd]
) -> None:
    fakes[0].on_call = False
    response = await api.http.post(
        "/api/supervision/monitor", json={"agent_id": 5}, headers=api.as_(Role.SUPERVISOR)
    )
    assert (response.status_code, response.json()["error"]) == (409, "agent-not-on-call")


async def test_stopping_when_not_monitoring_is_404(
    api: Api, fakes: tuple[FakeSupervision, FakeAcd]
) -> None:
    response = await api.http.delete("/api/supervision/monitor", headers=api.as_(Role.ADMIN))
    assert (response.status_code, response.json()["error"]) == (404, "not-monitoring")


async def test_without_the_pbx_monitoring_is_pbx_unavailable(api: Api) -> None:
    response = await api.http.post(
        "/api/supervision/monitor", json={"agent_id": 5}, headers=api.as_(Role.SUPERVISOR)
    )
    assert (response.status_code, response.json()["error"]) == (409, "pbx-unavailable")


async def test_a_supervisor_sets_an_agent_not_ready_recorded_audited_and_announced(
    api: Api,
) -> None:
    agent_id = await logged_in_agent(api)
    supervisor_id = api.users[Role.SUPERVISOR].id
    events = api.app.state.runtime.events
    with events.subscribe(lambda e: e.topic == "agent.state") as announced:
        response = await api.http.put(
            f"/api/supervision/agents/{agent_id}/state",
            json={"state": "not_ready", "reason": "meeting"},
            headers=api.as_(Role.SUPERVISOR),
        )
        assert response.status_code == 200, response.text
        assert (response.json()["state"], response.json()["reason"]) == ("not_ready", "meeting")
        event = await asyncio.wait_for(announced.get(), 1.0)
    assert event.payload == AgentStateChanged(
        agent_id=agent_id, state=AgentState.NOT_READY, reason="meeting", origin="api"
    )
    async with api.db.read() as session:
        change = (
            await session.execute(
                select(
                    AgentStateChange.event, AgentStateChange.to_state, AgentStateChange.by_user_id
                )
                .where(AgentStateChange.agent_id == agent_id)
                .order_by(AgentStateChange.id.desc())
                .limit(1)
            )
        ).one()
        audit = (
            await session.execute(
                select(AuditEntry.actor_id, AuditEntry.detail).where(
                    AuditEntry.action == "agent.state_forced"
                )
            )
        ).one_or_none()
    assert tuple(change) == ("force_not_ready", "not_ready", supervisor_id)
    assert audit is not None
    assert audit.actor_id == supervisor_id
    assert audit.detail == {
        "agent_id": agent_id,
        "from": "ready",
        "to": "not_ready",
        "reason": "meeting",
    }


async def test_a_supervisor_logs_an_agent_out_and_back_to_ready_is_refused(api: Api) -> None:
    agent_id = await logged_in_agent(api)
    path = f"/api/supervision/agents/{agent_id}/state"
    headers = api.as_(Role.ADMIN)
    out = await api.http.put(path, json={"state": "logged_out"}, headers=headers)
    assert (out.status_code, out.json()["state"]) == (200, "logged_out")
    ready = await api.http.put(path, json={"state": "ready"}, headers=headers)
    assert ready.status_code == 409, ready.text


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"state": "not_ready"}, 422, "agent-reason-required"),
        ({"state": "ready", "reason": "lunch"}, 422, "agent-reason-not-expected"),
        ({"state": "not_ready", "reason": "nap"}, 422, "agent-unknown-reason"),
        ({"state": "away"}, 422, None),
    ],
)
async def test_a_forced_state_names_what_is_wrong(
    api: Api, body: dict[str, Any], status: int, error: str | None
) -> None:
    agent_id = await logged_in_agent(api)
    response = await api.http.put(
        f"/api/supervision/agents/{agent_id}/state", json=body, headers=api.as_(Role.SUPERVISOR)
    )
    assert response.status_code == status, response.text
    if error is not None:
        assert response.json()["error"] == error


async def test_forcing_the_state_of_someone_not_an_agent_is_404(api: Api) -> None:
    supervisor_id = api.users[Role.SUPERVISOR].id
    response = await api.http.put(
        f"/api/supervision/agents/{supervisor_id}/state",
        json={"state": "ready"},
        headers=api.as_(Role.ADMIN),
    )
    assert (response.status_code, response.json()["error"]) == (404, "agent-not-found")


async def test_a_move_is_audited_and_names_its_errors(
    api: Api, fakes: tuple[FakeSupervision, FakeAcd]
) -> None:
    headers = api.as_(Role.SUPERVISOR)
    moved = await api.http.post(
        "/api/supervision/calls/c-1/move", json={"queue": "complaints"}, headers=headers
    )
    assert moved.json() == {"call_id": "c-1", "queue": "complaints", "agent_id": None}
    unknown = await api.http.post(
        "/api/supervision/calls/c-1/move", json={"queue": "nowhere"}, headers=headers
    )
    assert (unknown.status_code, unknown.json()["error"]) == (422, "unknown-queue")
    busy = await api.http.post(
        "/api/supervision/calls/c-1/move", json={"agent_id": 999}, headers=headers
    )
    assert (busy.status_code, busy.json()["error"]) == (409, "agent-not-ready")
    both = await api.http.post(
        "/api/supervision/calls/c-1/move",
        json={"queue": "complaints", "agent_id": 3},
        headers=headers,
    )
    assert both.status_code == 422
    neither = await api.http.post("/api/supervision/calls/c-1/move", json={}, headers=headers)
    assert neither.status_code == 422
    async with api.db.read() as session:
        details = list(
            await session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "call.moved")
            )
        )
    assert details == [{"call_id": "c-1", "queue": "complaints", "agent_id": None}]


async def test_moving_a_call_that_is_not_waiting_is_404(api: Api) -> None:
    """The app's own ACD (not running here: no call waits)."""
    response = await api.http.post(
        "/api/supervision/calls/nope/move",
        json={"queue": "general"},
        headers=api.as_(Role.SUPERVISOR),
    )
    assert (response.status_code, response.json()["error"]) == (404, "call-not-waiting")
