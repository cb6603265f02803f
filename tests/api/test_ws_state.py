"""The agent's own state over the websocket, heartbeats, and how a connection ends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from callcenter.persistence.db import Database
from tests.support.cti_desk import Desk, open_desk


@pytest.fixture
async def desk(database_url: str, database: Database) -> AsyncIterator[Desk]:
    async with open_desk(database_url, database) as desk:
        yield desk


async def my_status(desk: Desk, who: str) -> dict[str, Any]:
    response = await desk.http.get("/api/agents/me", headers=desk.bearer(who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def log_in_agent(desk: Desk, who: str) -> None:
    response = await desk.http.post("/api/agents/me/login", headers=desk.bearer(who))
    assert response.status_code == 200, response.text


async def test_a_state_message_changes_the_agents_state_as_the_rest_route_does(
    desk: Desk,
) -> None:
    await log_in_agent(desk, "agent_a")
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        await a.send_json({"type": "state", "state": "not_ready", "reason": "break", "ref": "s1"})
        replies = [await a.receive_json(), await a.receive_json()]
    by_type = {m["type"]: m for m in replies}
    assert by_type["state.ok"]["data"]["ref"] == "s1"
    assert by_type["state.ok"]["data"]["agent"]["state"] == "not_ready"
    # The same announcement as the REST route's: the ACD and supervisors follow it.
    assert by_type["agent.state"]["data"] == {
        "agent_id": desk.ids["agent_a"],
        "state": "not_ready",
        "reason": "break",
        "origin": "api",
    }
    status = await my_status(desk, "agent_a")
    assert (status["state"], status["reason"]) == ("not_ready", "break")


@pytest.mark.parametrize(
    "body",
    [
        {"state": "not_ready", "reason": "nap"},
        {"state": "ready", "reason": "break"},
        {"state": "not_ready"},
    ],
    ids=["unknown-reason", "ready-with-reason", "no-reason"],
)
async def test_a_refused_state_change_gets_the_rest_routes_error_id(
    desk: Desk, body: dict[str, Any]
) -> None:
    await log_in_agent(desk, "agent_a")
    rest = await desk.http.post("/api/agents/me/state", json=body, headers=desk.bearer("agent_a"))
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        await a.send_json({"type": "state", "ref": "x", **body})
        error = await a.receive_json()
    assert rest.status_code == 422
    assert error["type"] == "error"
    assert error["data"]["error"] == rest.json()["error"]
    assert error["data"]["ref"] == "x"
    assert (await my_status(desk, "agent_a"))["state"] == "ready"


async def test_an_agent_not_logged_in_cannot_go_ready(desk: Desk) -> None:
    async with desk.socket("advisor") as advisor:
        await advisor.receive_type("hello")
        await advisor.send_json({"type": "state", "state": "ready"})
        error = await advisor.receive_json()
    assert error["data"]["error"] == "agent-not-logged-in"
    assert (await my_status(desk, "advisor"))["state"] == "logged_out"


@pytest.mark.parametrize("who", ["supervisor", "admin"])
async def test_a_state_message_is_refused_for_a_role_without_an_agent_state(
    desk: Desk, who: str
) -> None:
    async with desk.socket(who) as socket:
        await socket.receive_type("hello")
        await socket.send_json({"type": "state", "state": "ready", "ref": "r"})
        error = await socket.receive_json()
        await socket.send_json({"type": "ping"})
        assert (await socket.receive_json())["type"] == "pong"  # still served
    assert error["data"]["error"] == "forbidden"
    assert error["data"]["ref"] == "r"


async def test_a_malformed_state_message_is_answered_not_acted_on(desk: Desk) -> None:
    await log_in_agent(desk, "agent_a")
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        await a.send_json({"type": "state", "state": "busy"})
        first = await a.receive_json()
        await a.send_json({"type": "state", "state": "not_ready", "reason": "Break Time!"})
        second = await a.receive_json()
    assert first["data"]["error"] == "invalid-message"
    assert second["data"]["error"] == "invalid-message"
    assert second["data"]["detail"]["fields"] == ["reason"]
    assert (await my_status(desk, "agent_a"))["state"] == "ready"


async def test_a_state_message_after_logout_closes_the_socket_4401(desk: Desk) -> None:
    await log_in_agent(desk, "agent_a")
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        logout = await desk.http.post("/api/auth/logout", headers=desk.bearer("agent_a"))
        assert logout.status_code < 300
        await a.send_json({"type": "state", "state": "not_ready", "reason": "break"})
        assert (await a.closed())[0] == 4401


async def test_an_open_socket_is_closed_4401_when_its_session_ends(
    database_url: str, database: Database
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        desk = await stack.enter_async_context(
            open_desk(database_url, database, ws_session_check_seconds=0.05)
        )
        sup = await stack.enter_async_context(desk.socket("supervisor"))
        await sup.receive_type("hello")
        logout = await desk.http.post("/api/auth/logout", headers=desk.bearer("supervisor"))
        assert logout.status_code < 300
        code, reason = await sup.closed()
    assert code == 4401
    assert "log in" in reason


async def test_a_silent_client_is_closed_4410_while_one_that_answers_stays(
    database_url: str, database: Database
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        desk = await stack.enter_async_context(
            open_desk(database_url, database, ws_heartbeat_seconds=0.1)
        )
        silent = await stack.enter_async_context(desk.socket("agent_a"))
        lively = await stack.enter_async_context(desk.socket("agent_b"))
        await lively.receive_type("hello")
        for _ in range(6):  # six intervals: well past the three that close the silent
            ping = await lively.receive_type("ping")
            assert ping["seq"] is None
            await lively.send_json({"type": "pong"})
        code, _reason = await silent.closed()
        assert lively.close is None
        await lively.send_json({"type": "ping"})
        assert (await lively.receive_type("pong"))["type"] == "pong"
    assert code == 4410


async def test_stopping_the_service_closes_every_socket_1001(
    database_url: str, database: Database
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        desk = await stack.enter_async_context(open_desk(database_url, database))
        socket = desk.socket("agent_a")
        async with socket:
            await socket.receive_type("hello")
            await stack.aclose()  # the app's lifespan ends
            assert (await socket.closed())[0] == 1001
