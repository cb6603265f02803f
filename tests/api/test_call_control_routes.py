"""The call-control routes (/api/calls/me/...): who may use them, and what they answer.

The role x route check as in test_roles.py, against a call control we own (the real one needs
Asterisk: tests/integration/test_call_control_real_asterisk.py). Kept apart from ROUTES there
because its allowed roles must get a 2xx, which needs a live call."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from callcenter.crm.vocabulary import Role
from callcenter.pbx.call_states import CallStatus, ControlState, DialOut, NoLiveCall, NotOnHold
from tests.api.conftest import Api

AGENTS = frozenset({Role.AGENT, Role.ADVISOR})
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/calls/me", None),
    ("POST", "/api/calls/me/hold", None),
    ("POST", "/api/calls/me/resume", None),
    ("POST", "/api/calls/me/hangup", None),
    ("POST", "/api/calls/me/transfer", {"to": "1002", "mode": "consult"}),
    ("POST", "/api/calls/me/transfer/complete", None),
    ("POST", "/api/calls/me/transfer/cancel", None),
    ("POST", "/api/calls/me/conference", None),
    ("POST", "/api/calls/me/dial", {"number": "+8613900000001"}),
]


class FakeCallControl:
    """Records who asked for what; answers as if the agent had a call."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int, tuple[Any, ...]]] = []
        self.has_call = True

    def _status(self, action: str, agent_id: int, *args: Any) -> CallStatus:
        self.asked.append((action, agent_id, args))
        if not self.has_call:
            raise NoLiveCall("the agent has no call that the service controls")
        return CallStatus(ControlState.HELD, "ctl-1.1", 7, 0, None)

    def status(self, agent_id: int) -> CallStatus:
        return self._status("status", agent_id)

    async def hold(self, agent_id: int) -> CallStatus:
        return self._status("hold", agent_id)

    async def resume(self, agent_id: int) -> CallStatus:
        self._status("resume", agent_id)
        raise NotOnHold("the call is not on hold", state="talking")

    async def hang_up(self, agent_id: int) -> None:
        self._status("hang_up", agent_id)

    async def transfer(self, agent_id: int, to: str, *, consult: bool) -> CallStatus:
        return self._status("transfer", agent_id, to, consult)

    async def complete_transfer(self, agent_id: int) -> CallStatus:
        return self._status("complete", agent_id)

    async def cancel_transfer(self, agent_id: int) -> CallStatus:
        return self._status("cancel", agent_id)

    async def conference(self, agent_id: int) -> CallStatus:
        return self._status("conference", agent_id)

    async def dial(self, agent_id: int, number: str, client_id: int | None = None) -> DialOut:
        self._status("dial", agent_id, number, client_id)
        return DialOut("out-1", 9)


@pytest.fixture
def control(api: Api) -> FakeCallControl:
    fake = FakeCallControl()
    api.app.state.runtime.calls = fake
    return fake


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
async def test_without_a_session_is_401(api: Api, control: FakeCallControl, route: Any) -> None:
    method, path, body = route
    response = await api.http.request(method, path, json=body)
    assert response.status_code == 401
    assert control.asked == []


@pytest.mark.parametrize(
    ("route", "role"),
    [(r, role) for r, role in itertools.product(ROUTES, Role) if role not in AGENTS],
    ids=str,
)
async def test_supervisors_and_admins_have_no_call_buttons(
    api: Api, control: FakeCallControl, route: Any, role: Role
) -> None:
    method, path, body = route
    response = await api.http.request(method, path, json=body, headers=api.as_(role))
    assert response.status_code == 403, response.text
    assert control.asked == []


@pytest.mark.parametrize(
    ("route", "role"),
    [(r, role) for r, role in itertools.product(ROUTES, Role) if role in AGENTS],
    ids=str,
)
async def test_agents_and_advisors_act_on_their_own_call(
    api: Api, control: FakeCallControl, route: Any, role: Role
) -> None:
    method, path, body = route
    response = await api.http.request(method, path, json=body, headers=api.as_(role))
    if path.endswith("/resume"):
        assert (response.status_code, response.json()["error"]) == (409, "not-on-hold")
    else:
        assert 200 <= response.status_code < 300, response.text
    assert [agent_id for _, agent_id, _ in control.asked] == [api.users[role].id]


async def test_a_consult_transfer_names_the_target_and_mode(
    api: Api, control: FakeCallControl
) -> None:
    response = await api.http.post(
        "/api/calls/me/transfer",
        json={"to": "1002", "mode": "consult"},
        headers=api.as_(Role.AGENT),
    )
    assert response.json() == {
        "state": "held",
        "call_id": "ctl-1.1",
        "interaction_id": 7,
        "hold_seconds": 0,
        "target": None,
    }
    assert control.asked == [("transfer", api.users[Role.AGENT].id, ("1002", True))]


async def test_no_live_call_is_404(api: Api, control: FakeCallControl) -> None:
    control.has_call = False
    response = await api.http.post("/api/calls/me/hold", headers=api.as_(Role.AGENT))
    assert (response.status_code, response.json()["error"]) == (404, "no-live-call")


@pytest.mark.parametrize(
    "body",
    [{"to": "10; Hangup"}, {"to": "1002", "mode": "attended"}, {"to": "1002", "extra": 1}],
)
async def test_a_malformed_transfer_is_422(
    api: Api, control: FakeCallControl, body: dict[str, Any]
) -> None:
    response = await api.http.post("/api/calls/me/transfer", json=body, headers=api.as_(Role.AGENT))
    assert response.status_code == 422
    assert control.asked == []


async def test_a_number_with_dialplan_characters_is_refused(
    api: Api, control: FakeCallControl
) -> None:
    response = await api.http.post(
        "/api/calls/me/dial", json={"number": "123&PJSIP/999"}, headers=api.as_(Role.AGENT)
    )
    assert response.status_code == 422
    assert control.asked == []


async def test_without_a_pbx_call_control_is_unavailable(api: Api) -> None:
    response = await api.http.post("/api/calls/me/hold", headers=api.as_(Role.AGENT))
    assert (response.status_code, response.json()["error"]) == (409, "pbx-unavailable")
