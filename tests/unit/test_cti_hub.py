"""The CTI hub without a socket (and it has no database): bounded queues, heartbeats, and
screen pops, which go out whole, with their client summary, and come again on resume from
memory."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from callcenter.crm.vocabulary import Role
from callcenter.cti.hub import CloseKind, ConnectionClosed, CtiHub, HubConfig
from callcenter.cti.routing import Viewer
from callcenter.events import Event, EventBus, FloorSnapshot
from tests.support.events import bus_event, snapshot, summary

A, B, SUP = 7, 8, 9
WAIT = 10.0  # a safety net, never a timing assertion


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def viewer(user_id: int, role: Role = Role.AGENT) -> Viewer:
    return Viewer(user_id, f"user{user_id}", role)


def offered(agent_id: int, call_id: str, client_id: int | None = 3) -> Event:
    client = None if client_id is None else summary(client_id)
    return bus_event(
        "call.offered", agent_id=agent_id, call_id=call_id, interaction_id=11, client=client
    )


def marker(data: dict[str, Any]) -> str:
    """The name a test gave a snapshot (support.events.snapshot)."""
    name: str = data["queues"][0]["queue"]
    return name


async def read(conn: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(await asyncio.wait_for(conn.next(), WAIT))
    return body


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
async def hub(bus: EventBus) -> AsyncIterator[CtiHub]:
    hub = CtiHub(bus, HubConfig(send_queue=4, heartbeat_seconds=3600))
    task = asyncio.create_task(hub.run())
    try:
        yield hub
    finally:
        hub.close()
        await asyncio.wait_for(task, WAIT)


# --- bounded queues -------------------------------------------------------------------------


def test_a_full_queue_closes_its_connection_as_too_slow_and_no_one_else(bus: EventBus) -> None:
    hub = CtiHub(bus, HubConfig(send_queue=3))
    stuck, sup = hub.connect(viewer(SUP, Role.SUPERVISOR)), hub.connect(viewer(10, Role.ADMIN))
    for n in range(3):
        hub.dispatch(bus.publish(snapshot(f"q{n}")))
    assert stuck.waiting == 3
    assert not stuck.closed
    sup.close(CloseKind.CLIENT_GONE, "")  # the other client left meanwhile
    hub.dispatch(bus.publish(snapshot("q3")))
    assert stuck.closing is not None
    assert stuck.closing.kind is CloseKind.TOO_SLOW
    assert stuck.waiting == 0  # what it had not read is dropped, not kept in memory
    assert hub.connections == []


async def test_a_closed_connection_says_why_to_its_writer(bus: EventBus) -> None:
    hub = CtiHub(bus, HubConfig(send_queue=1))
    conn = hub.connect(viewer(SUP, Role.SUPERVISOR))
    hub.dispatch(bus.publish(snapshot("a")))
    hub.dispatch(bus.publish(snapshot("b")))
    with pytest.raises(ConnectionClosed) as closed:
        await conn.next()
    assert closed.value.closing.kind is CloseKind.TOO_SLOW
    assert not conn.push("more")
    assert (await conn.wait_closed()).kind is CloseKind.TOO_SLOW


async def test_publishing_never_waits_for_a_stuck_client(bus: EventBus, hub: CtiHub) -> None:
    stuck = hub.connect(viewer(SUP, Role.SUPERVISOR))
    reader = hub.connect(viewer(10, Role.ADMIN))
    received = []
    for n in range(20):
        bus.publish(snapshot(f"q{n}"))  # synchronous: nothing to await
        received.append(marker((await read(reader))["data"]))
    assert received == [f"q{n}" for n in range(20)]
    assert stuck.closing is not None
    assert stuck.closing.kind is CloseKind.TOO_SLOW


async def test_a_burst_does_not_close_a_client_that_keeps_reading(
    bus: EventBus, hub: CtiHub
) -> None:
    reader = hub.connect(viewer(SUP, Role.SUPERVISOR))

    async def drain() -> list[str]:  # as the edge's writer does: next(), send, next()...
        return [marker(json.loads(await reader.next())["data"]) for _ in range(40)]

    draining = asyncio.create_task(drain())
    await asyncio.sleep(0)  # the reader waits for its first message
    for n in range(40):  # ten times its queue, in one go
        bus.publish(snapshot(f"q{n}"))
    assert await asyncio.wait_for(draining, WAIT) == [f"q{n}" for n in range(40)]
    assert not reader.closed


# --- heartbeats ---------------------------------------------------------------------------


def test_a_client_silent_for_three_intervals_is_closed(bus: EventBus) -> None:
    clock = Clock()
    hub = CtiHub(bus, HubConfig(heartbeat_seconds=20), clock=clock)
    silent, lively = hub.connect(viewer(A)), hub.connect(viewer(B))
    for _ in range(3):
        clock.now += 20
        hub.heard(lively)
        hub.beat()
    assert silent.closing is not None
    assert silent.closing.kind is CloseKind.NO_HEARTBEAT
    assert not lively.closed
    assert lively.waiting == 3  # a ping each interval
    assert [c.viewer.user_id for c in hub.connections] == [B]


def test_two_silent_intervals_are_still_fine(bus: EventBus) -> None:
    clock = Clock()
    hub = CtiHub(bus, HubConfig(heartbeat_seconds=20), clock=clock)
    conn = hub.connect(viewer(A))
    clock.now += 59.9
    hub.beat()
    assert not conn.closed


# --- pops -------------------------------------------------------------------------------


async def test_a_pop_goes_out_whole_with_its_client_summary_in_one_message(
    bus: EventBus, hub: CtiHub
) -> None:
    agent = hub.connect(viewer(A))
    event = bus.publish(offered(A, "c1"))
    pop = await read(agent)
    assert (pop["type"], pop["seq"]) == ("call.offered", event.seq)
    client = pop["data"]["client"]
    assert (client["client_id"], client["name"], client["advisor_name"]) == (3, "张伟", "李娜")
    assert (client["tier"], client["risk_profile"]) == ("gold", "balanced")
    bus.publish(bus_event("agent.state", agent_id=A, state="reserved"))
    assert (await read(agent))["type"] == "agent.state"  # no second message for the pop


async def test_a_pop_for_an_unknown_caller_says_no_client(bus: EventBus, hub: CtiHub) -> None:
    agent = hub.connect(viewer(A))
    bus.publish(offered(A, "c1", client_id=None))
    pop = await read(agent)
    assert (pop["type"], pop["data"]["client"]) == ("call.offered", None)


async def test_another_agent_never_gets_the_pop(bus: EventBus, hub: CtiHub) -> None:
    a, b = hub.connect(viewer(A)), hub.connect(viewer(B))
    bus.publish(offered(A, "c1"))
    assert (await read(a))["type"] == "call.offered"
    bus.publish(bus_event("agent.state", agent_id=B, state="ready"))
    assert (await read(b))["type"] == "agent.state"
    assert b.waiting == 0


async def test_resume_resends_a_pending_pop_as_first_sent_from_memory(
    bus: EventBus, hub: CtiHub
) -> None:
    first = hub.connect(viewer(A))
    bus.publish(offered(A, "c1"))
    shown = await read(first)
    first.close(CloseKind.CLIENT_GONE, "")
    again = hub.connect(viewer(A))
    assert hub.resume(again) == 1
    assert await read(again) == shown  # the same seq, the same summary: nothing read again
    assert again.waiting == 0


async def test_nothing_to_resume_once_the_call_was_answered(bus: EventBus, hub: CtiHub) -> None:
    bus.publish(offered(A, "c1"))
    bus.publish(bus_event("call.answered", agent_id=A, call_id="c1"))
    marker = hub.connect(viewer(SUP, Role.SUPERVISOR))
    bus.publish(snapshot("general"))
    await read(marker)  # the hub has followed every event above
    assert hub.resume(hub.connect(viewer(A))) == 0


async def test_closing_the_hub_closes_every_connection_and_ends_run(bus: EventBus) -> None:
    hub = CtiHub(bus)
    task = asyncio.create_task(hub.run())
    conns = [hub.connect(viewer(A)), hub.connect(viewer(SUP, Role.SUPERVISOR))]
    await asyncio.sleep(0)
    hub.close()
    await asyncio.wait_for(task, WAIT)
    assert [c.closing.kind if c.closing else None for c in conns] == [
        CloseKind.SERVER_STOPPING,
        CloseKind.SERVER_STOPPING,
    ]


async def test_an_event_that_cannot_be_encoded_is_skipped_and_the_hub_goes_on(
    bus: EventBus, hub: CtiHub
) -> None:
    sup = hub.connect(viewer(SUP, Role.SUPERVISOR))
    unsendable = {"queue": object()}  # a publisher's bug: its row is not JSON
    bus.publish(FloorSnapshot(day=None, queues=(unsendable,), agents=(), waiting=(), calls=()))
    bus.publish(snapshot("general"))
    assert marker((await read(sup))["data"]) == "general"


def test_each_event_reaches_exactly_whom_routing_allows(bus: EventBus) -> None:
    hub = CtiHub(bus, HubConfig(send_queue=100))
    a1, a2, b = hub.connect(viewer(A)), hub.connect(viewer(A)), hub.connect(viewer(B))
    sup, gone = hub.connect(viewer(SUP, Role.SUPERVISOR)), hub.connect(viewer(10, Role.ADMIN))
    gone.close(CloseKind.CLIENT_GONE, "")
    for event in [
        offered(A, "c1"),
        offered(SUP, "c2"),  # a supervisor taking a call: theirs only
        bus_event("call.answered", agent_id=B, call_id="c3"),
        snapshot("general"),
    ]:
        hub.dispatch(bus.publish(event))
    # The supervisor: their own pop and the wallboard's snapshot, not B's answered call.
    assert [a1.waiting, a2.waiting, b.waiting, sup.waiting, gone.waiting] == [1, 1, 1, 2, 0]
    hub.disconnect(a1)
    hub.dispatch(bus.publish(bus_event("agent.state", agent_id=A, state="ready")))
    assert [a1.waiting, a2.waiting, sup.waiting] == [1, 2, 2]


# --- the gate: the ACD dials once the pop is on its way ---------------------------------------
# The hub says when a pop was written to (one of) the agent's desks, at once when the agent has
# none open, and gives up after the time allowed (a desk too slow must not hold a caller).


async def _desk_writes(conn: object, into: list[str]) -> None:
    text = await conn.next()  # type: ignore[attr-defined]
    into.append(json.loads(text)["type"])
    conn.sent()  # type: ignore[attr-defined]


async def test_the_gate_opens_when_the_pop_is_written_to_the_agents_desk(
    hub: CtiHub, bus: EventBus
) -> None:
    desk = hub.connect(viewer(A))
    other = hub.connect(viewer(B))
    written: list[str] = []
    writer = asyncio.create_task(_desk_writes(desk, written))
    out = await asyncio.wait_for(
        hub.pop_out("c1", lambda: bus.publish(offered(A, "c1")), WAIT), WAIT
    )
    assert out
    assert written == ["call.offered"]  # written before the gate opened
    await writer
    assert other.waiting == 0  # agent B's desk never saw it


async def test_the_gate_waits_for_the_write_not_the_queue(hub: CtiHub, bus: EventBus) -> None:
    hub.connect(viewer(A))  # a desk whose writer never writes
    out = await hub.pop_out("c2", lambda: bus.publish(offered(A, "c2")), 0.05)
    assert not out  # the time ran out: the ACD dials anyway


async def test_an_agent_without_a_desk_open_does_not_hold_the_call(
    hub: CtiHub, bus: EventBus
) -> None:
    supervisor = hub.connect(viewer(SUP, Role.SUPERVISOR))  # sees no one's pops
    out = await asyncio.wait_for(
        hub.pop_out("c3", lambda: bus.publish(offered(A, "c3")), WAIT), WAIT
    )
    assert out
    assert supervisor.waiting == 0


async def test_a_pop_survives_a_flood_the_hub_falls_behind_on(bus: EventBus) -> None:
    hub = CtiHub(bus, HubConfig(send_queue=8, heartbeat_seconds=3600, bus_buffer=100))
    desk = hub.connect(viewer(A))
    task = asyncio.create_task(hub.run())
    try:
        # Published in one go (publish never waits): far more than the hub's buffer holds,
        # with agent A's pop in the middle of it.
        for n in range(300):
            bus.publish(bus_event("agent.state", agent_id=B, state="ready"))
            if n == 10:
                bus.publish(offered(A, "c-flood"))
        pop = await read(desk)
        assert (pop["type"], pop["data"]["call_id"]) == ("call.offered", "c-flood")
        assert hub.events_lost == 300 - 100  # B's states pushed out, never the pop
    finally:
        hub.close()
        await asyncio.wait_for(task, WAIT)
