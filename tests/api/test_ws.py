"""The CTI websocket: who may connect, who receives what, and what a bad client gets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from callcenter.persistence.db import Database
from tests.support.asgi_ws import AsgiWebSocket
from tests.support.cti_desk import Desk, offered, open_desk
from tests.support.events import bus_event, unknown_event


@pytest.fixture
async def desk(database_url: str, database: Database) -> AsyncIterator[Desk]:
    async with open_desk(database_url, database, ws_send_queue=64) as desk:
        yield desk


# --- the handshake ------------------------------------------------------------------------


async def test_a_socket_without_a_token_is_refused_with_4401(desk: Desk) -> None:
    async with desk.socket(None) as socket:
        code, reason = await socket.closed()
    assert code == 4401
    assert "log in" in reason
    assert desk.hub.connections == []


async def test_an_unknown_token_is_refused_with_4401(desk: Desk) -> None:
    async with desk.socket(None, token="not-a-session") as socket:
        assert (await socket.closed())[0] == 4401


async def test_a_session_logged_out_can_no_longer_connect(desk: Desk) -> None:
    response = await desk.http.post("/api/auth/logout", headers=desk.bearer("agent_a"))
    assert response.status_code < 300
    async with desk.socket("agent_a") as socket:
        assert (await socket.closed())[0] == 4401


async def test_a_token_in_the_url_is_refused_even_a_valid_one(desk: Desk) -> None:
    token = desk.tokens["agent_a"]
    async with desk.socket("agent_a", query=f"token={token}") as socket:
        code, reason = await socket.closed()
    assert code == 4401
    assert "URL" in reason
    assert token not in reason


async def test_a_wrong_origin_is_refused_with_4403_even_with_a_valid_session(desk: Desk) -> None:
    async with desk.socket("agent_a", origin="https://evil.example") as socket:
        assert (await socket.closed())[0] == 4403
    async with desk.socket("agent_a", origin="https://evil.example", bearer=True) as socket:
        assert (await socket.closed())[0] == 4403
    assert desk.hub.connections == []


async def test_the_cookie_needs_an_origin_but_a_bearer_client_may_omit_it(desk: Desk) -> None:
    async with desk.socket("agent_a", origin=None) as socket:
        assert (await socket.closed())[0] == 4403
    async with desk.socket("agent_a", origin=None, bearer=True) as socket:
        assert socket.accepted
        # The server picks the protocol name, never the entry that carries the token.
        assert socket.subprotocol == "cti.v1"
        hello = await socket.receive_json()
    assert hello["type"] == "hello"
    assert hello["data"]["user_id"] == desk.ids["agent_a"]


async def test_hello_says_who_is_connected_and_how_often_to_expect_a_ping(desk: Desk) -> None:
    desk.events.publish(bus_event("queue.changed", queue="general"))
    async with desk.socket("supervisor") as socket:
        hello = await socket.receive_json()
    assert hello["seq"] is None
    assert hello["data"]["username"] == "supervisor"
    assert hello["data"]["role"] == "supervisor"
    assert hello["data"]["heartbeat_seconds"] == 3600.0
    assert hello["data"]["max_frame_bytes"] == 64 * 1024
    assert set(hello) == {"type", "epoch", "seq", "at", "data"}
    assert hello["epoch"] == desk.hub.epoch  # this run of the service (test_ws_epochs.py)


# --- who receives what ------------------------------------------------------------------


async def test_agent_a_never_receives_agent_b_pop(desk: Desk) -> None:
    a_id, b_id = desk.ids["agent_a"], desk.ids["agent_b"]
    async with desk.socket("agent_a") as a, desk.socket("agent_b") as b:
        await a.receive_type("hello")
        await b.receive_type("hello")
        desk.events.publish(offered(b_id, "call-b"))
        desk.events.publish(bus_event("call.offer_ended", agent_id=b_id, call_id="call-b"))
        desk.events.publish(bus_event("agent.state", agent_id=a_id, state="ready", origin="api"))
        # A's next message is its own state: B's pop and its ending passed A by.
        seen_by_a = await a.messages_until("agent.state")
        pop = await b.receive_type("call.offered")
    assert [m["type"] for m in seen_by_a] == ["agent.state"]
    assert seen_by_a[0]["data"]["agent_id"] == a_id
    assert pop["data"]["call_id"] == "call-b"
    assert pop["data"]["agent_id"] == b_id


async def test_a_supervisor_follows_the_floor_by_snapshots_alone_and_never_a_pop(
    database_url: str, database: Database
) -> None:
    async with open_desk(database_url, database, ws_floor_snapshot_seconds=0.05) as desk:
        a_id = desk.ids["agent_a"]
        floor = [
            bus_event("call.queued", call_id="c1", queue="general", priority=1),
            offered(a_id, "c1"),
            bus_event("call.offer_ended", agent_id=a_id, call_id="c1", reason="no_answer"),
            bus_event("agent.state", agent_id=a_id, state="not_ready", reason="missed"),
            bus_event("call.queued", call_id="c2", queue="general", priority=1),
            bus_event("call.answered", agent_id=a_id, call_id="c2", queue="general"),
            bus_event("call.queued", call_id="c3", queue="general", priority=1),
            bus_event("call.abandoned", call_id="c3", queue="general", waited_seconds=40),
            bus_event("call.queued", call_id="c4", queue="general", priority=1),
            bus_event("call.overflowed", call_id="c4", queue="general", to_queue=None),
            unknown_event("ivr.something_new", agent_id=a_id),
            bus_event("queue.changed", queue="vip"),
        ]
        async with desk.socket("supervisor") as sup, desk.socket("admin") as admin:
            await sup.receive_type("hello")
            await admin.receive_type("hello")
            for event in floor:
                desk.events.publish(event)
            by_supervisor = await until_floor_shows(sup, lambda f: "vip" in queues(f))
            by_admin = await until_floor_shows(admin, lambda f: "vip" in queues(f))
    for seen in (by_supervisor, by_admin):
        # One kind of message: no raw event, no pop, no client's name.
        assert {m["type"] for m in seen} == {"floor.snapshot"}
        picture = seen[-1]["data"]
        general = queues(picture)["general"]
        assert (general["waiting"], general["offered"], general["answered"]) == (1, 4, 1)
        assert general["abandon_rate"] == 0.3333  # 1 of 3 finished in the queue (c4 left it)
        assert [(a["agent_id"], a["state"], a["reason"]) for a in picture["agents"]] == [
            (a_id, "not_ready", "missed")
        ]
        assert [(c["call_id"], c["agent_id"], c["caller"]) for c in picture["calls"]] == [
            ("c2", a_id, None)
        ]
        assert "13800138000" not in json.dumps(seen)  # the caller's number never leaves


def queues(picture: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["queue"]: q for q in picture["queues"]}


async def until_floor_shows(
    socket: AsgiWebSocket, shows: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Every message up to the first floor.snapshot whose picture ``shows`` holds."""
    seen: list[dict[str, Any]] = []
    while True:
        message = await socket.receive_json()
        seen.append(message)
        if message["type"] == "floor.snapshot" and shows(message["data"]):
            return seen


async def test_an_agent_gets_only_their_own_calls_and_state(desk: Desk) -> None:
    a_id, b_id = desk.ids["agent_a"], desk.ids["agent_b"]
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        desk.events.publish(bus_event("call.queued", call_id="c0", queue="general"))
        desk.events.publish(bus_event("queue.changed", queue="general"))
        desk.events.publish(bus_event("agent.state", agent_id=b_id, state="ready"))
        desk.events.publish(bus_event("call.answered", agent_id=b_id, call_id="c9"))
        desk.events.publish(bus_event("call.answered", agent_id=a_id, call_id="c1"))
        desk.events.publish(bus_event("call.ended", agent_id=a_id, call_id="c1"))
        seen = await a.messages_until("call.ended")
    assert [(m["type"], m["data"]["call_id"]) for m in seen] == [
        ("call.answered", "c1"),
        ("call.ended", "c1"),
    ]


async def test_every_message_carries_type_epoch_seq_time_and_data(desk: Desk) -> None:
    a_id = desk.ids["agent_a"]
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        event = desk.events.publish(bus_event("agent.state", agent_id=a_id, state="ready"))
        message = await a.receive_json()
    assert message == {
        "type": "agent.state",
        "epoch": desk.hub.epoch,
        "seq": event.seq,
        "at": event.at.isoformat(),
        "data": {"agent_id": a_id, "state": "ready", "reason": None, "origin": "api"},
    }


# --- bad frames ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", 1003),
        ("[1, 2, 3]", 1003),
        ('{"no": "type"}', 1003),
        (b"\x00\x01binary", 1003),
        ('{"type": "ping", "pad": "' + "x" * (64 * 1024) + '"}', 1009),
    ],
    ids=["malformed-json", "not-an-object", "no-type", "binary", "oversized"],
)
async def test_a_bad_frame_closes_that_socket_while_the_others_keep_receiving(
    desk: Desk, frame: str | bytes, code: int
) -> None:
    async with desk.socket("supervisor") as bad, desk.socket("admin") as good:
        await bad.receive_type("hello")
        await good.receive_type("hello")
        if isinstance(frame, bytes):
            await bad.send_bytes(frame)
        else:
            await bad.send_text(frame)
        closed_with, reason = await bad.closed()
        assert closed_with == code
        assert reason
        assert [c.viewer.username for c in desk.hub.connections] == ["admin"]
        desk.app.state.runtime.floor.publish()  # a wallboard snapshot, for managers
        message = await good.receive_json()
        assert message["type"] == "floor.snapshot"


async def test_an_unknown_message_type_is_answered_and_the_socket_stays(desk: Desk) -> None:
    async with desk.socket("agent_a") as a:
        await a.receive_type("hello")
        await a.send_json({"type": "dial", "ref": "r7"})
        error = await a.receive_json()
        await a.send_json({"type": "ping"})
        pong = await a.receive_json()
    assert error["type"] == "error"
    assert error["seq"] is None
    assert error["data"]["error"] == "unknown-message-type"
    assert error["data"]["ref"] == "r7"
    assert pong["type"] == "pong"


# --- a client that stopped reading --------------------------------------------------------


async def test_a_slow_client_is_closed_4408_and_publishing_never_waits(
    database_url: str, database: Database
) -> None:
    async with open_desk(database_url, database, ws_send_queue=8) as desk:
        a_id = desk.ids["agent_a"]
        # The same agent's desk in two tabs: one stopped reading.
        stuck = desk.socket("agent_a", stalled=True)
        async with stuck, desk.socket("agent_a") as reader:
            await reader.receive_type("hello")
            for n in range(40):  # publish is synchronous: it returns without any await
                desk.events.publish(bus_event("call.answered", agent_id=a_id, call_id=f"q{n}"))
            received = [(await reader.receive_json())["data"]["call_id"] for _ in range(40)]
            assert (await stuck.closed())[0] == 4408
            assert received == [f"q{n}" for n in range(40)]
            assert [c.viewer.username for c in desk.hub.connections] == ["agent_a"]
        # The stuck client took no more than its queue and the frame its writer held.
        assert stuck.sends_blocked == 1
