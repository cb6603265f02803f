"""No "ready" without a registered phone, and no desk left ready after its logout (issue 16),
over HTTP on SQLite and PostgreSQL. The service here runs without a PBX (which checks no
phone: nothing can ring); each test gives it a phone registry we own, as the service with a
PBX has one (callcenter/acd/phones.py)."""

from __future__ import annotations

from typing import Any

from callcenter.acd.agents import AgentEvent
from callcenter.acd.phones import PhoneCheck
from callcenter.crm.vocabulary import Role
from callcenter.persistence import agents
from callcenter.persistence.agent_phones import SqlAgentPhones
from tests.api.conftest import Api
from tests.fakes.phones import FakePhones


def with_phones(api: Api, *registered: str) -> FakePhones:
    phones = FakePhones(*registered)
    runtime = api.app.state.runtime
    runtime.agent_states.phones = PhoneCheck(phones, SqlAgentPhones(api.db))
    runtime.phones = phones
    return phones


async def post(api: Api, path: str, role: Role = Role.AGENT, body: Any = None) -> Any:
    return await api.http.post(f"/api/agents/me/{path}", json=body, headers=api.as_(role))


async def state_of(api: Api, role: Role = Role.AGENT) -> str:
    async with api.db.read() as session:
        return (await agents.get_agent(session, api.users[role].id)).status.state.value


async def test_the_login_is_refused_until_the_agents_phone_registers(api: Api) -> None:
    phones = with_phones(api)
    refused = await post(api, "login")
    assert (refused.status_code, refused.json()["error"]) == (409, "phone-not-registered")
    assert "1001" in refused.json()["message"]
    assert refused.json()["detail"] == {"extension": "1001"}
    assert await state_of(api) == "logged_out"

    phones.register("1001")
    accepted = await post(api, "login")
    assert (accepted.status_code, accepted.json()["state"]) == (200, "ready")


async def test_ready_is_refused_while_the_phone_is_gone_and_not_ready_is_not(api: Api) -> None:
    phones = with_phones(api, "1001")
    assert (await post(api, "login")).status_code == 200
    away = await post(api, "state", body={"state": "not_ready", "reason": "break"})
    assert away.status_code == 200
    phones.registered_now.clear()  # the phone goes while the agent is on a break
    refused = await post(api, "state", body={"state": "ready"})
    assert (refused.status_code, refused.json()["error"]) == (409, "phone-not-registered")
    assert await state_of(api) == "not_ready"
    # Going away stays possible: the rule guards ready only.
    lunch = await post(api, "state", body={"state": "not_ready", "reason": "lunch"})
    assert lunch.status_code == 200
    assert (await post(api, "logout")).json()["state"] == "logged_out"


async def test_ready_is_refused_while_the_pbx_cannot_be_asked(api: Api) -> None:
    phones = with_phones(api, "1001")
    phones.known = False  # the AMI link is down: nobody can see the phone
    refused = await post(api, "login")
    assert (refused.status_code, refused.json()["error"]) == (409, "phone-state-unknown")
    assert refused.json()["detail"] == {"extension": "1001"}
    assert await state_of(api) == "logged_out"


async def test_a_supervisor_cannot_force_ready_an_agent_without_a_phone(api: Api) -> None:
    phones = with_phones(api, "1001")
    await post(api, "login")
    await post(api, "state", body={"state": "not_ready", "reason": "break"})
    phones.registered_now.clear()
    agent_id = api.users[Role.AGENT].id
    forced = await api.http.put(
        f"/api/supervision/agents/{agent_id}/state",
        json={"state": "ready"},
        headers=api.as_(Role.SUPERVISOR),
    )
    assert (forced.status_code, forced.json()["error"]) == (409, "phone-not-registered")
    assert await state_of(api) == "not_ready"


async def test_the_desk_reads_whether_its_phone_is_registered(api: Api) -> None:
    without_pbx = await api.http.get("/api/agents/me/phone", headers=api.as_(Role.AGENT))
    assert without_pbx.json() == {"extension": "1001", "registered": None}
    phones = with_phones(api)
    response = await api.http.get("/api/agents/me/phone", headers=api.as_(Role.AGENT))
    assert response.json() == {"extension": "1001", "registered": False}
    phones.register("1001")
    response = await api.http.get("/api/agents/me/phone", headers=api.as_(Role.AGENT))
    assert response.json() == {"extension": "1001", "registered": True}


# --- logging out of the desk ------------------------------------------------------------------


async def test_logging_out_of_the_desk_logs_the_ready_agent_out(api: Api) -> None:
    assert (await post(api, "login")).json()["state"] == "ready"
    response = await api.http.post("/api/auth/logout", headers=api.as_(Role.AGENT))
    assert response.status_code == 204
    assert await state_of(api) == "logged_out"
    async with api.db.read() as session:
        changes = await agents.state_changes(session, api.users[Role.AGENT].id)
    assert [c.event for c in changes] == [AgentEvent.LOGIN, AgentEvent.LOGOUT]
    assert changes[-1].by_user_id == api.users[Role.AGENT].id


async def test_a_logout_with_a_call_ringing_ends_the_session_and_leaves_the_call(
    api: Api,
) -> None:
    await post(api, "login")
    async with api.db.write() as session:
        await agents.apply_event(session, api.users[Role.AGENT].id, AgentEvent.OFFER)
    response = await api.http.post("/api/auth/logout", headers=api.as_(Role.AGENT))
    assert response.status_code == 204
    assert await state_of(api) == "reserved"  # the call decides, as for the agent's logout
    after = await api.http.get("/api/agents/me", headers=api.as_(Role.AGENT))
    assert after.status_code == 401  # the session is over all the same


async def test_a_logout_of_an_agent_never_logged_in_or_of_a_supervisor_just_ends_it(
    api: Api,
) -> None:
    for role in (Role.ADVISOR, Role.SUPERVISOR):
        response = await api.http.post("/api/auth/logout", headers=api.as_(role))
        assert response.status_code == 204, response.text
    assert await state_of(api, Role.ADVISOR) == "logged_out"
