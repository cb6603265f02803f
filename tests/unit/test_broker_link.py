"""The broker link over a real NATS JetStream (issue 21, point 2): two instances' buses and
hubs in one test, each with its link. What one publishes reaches the other's bus with its
origin's epoch and seq, in order, and is never echoed back; a pop published on one reaches
a desk on the other before the origin's ACD may ring; the link resumes after the broker
restarts; what cannot be read is skipped."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest

from callcenter.broker import BrokerConfig, BrokerState
from callcenter.broker.nats_link import ORIGIN_HEADER, NatsBrokerLink
from callcenter.crm.vocabulary import Role
from callcenter.cti.floor import FloorState
from callcenter.cti.hub import CtiHub, HubConfig
from callcenter.cti.routing import Viewer
from callcenter.events import Envelope, Event, EventBus, EventSubscription, FloorSnapshot
from tests.support.cti_desk import offered
from tests.support.events import bus_event
from tests.support.nats import CutProxy, drop_stream, own_config, own_nats, until

AGENT = 7


@dataclass
class Instance:
    bus: EventBus
    hub: CtiHub
    link: NatsBrokerLink
    seen: EventSubscription  # everything on this instance's bus


@contextlib.asynccontextmanager
async def instances(
    config: BrokerConfig, count: int = 2, *, urls: list[str] | None = None
) -> AsyncIterator[list[Instance]]:
    """``count`` instances on ``config``'s stream, each reaching NATS at its URL of ``urls``
    (by default the config's)."""
    made = []
    for n in range(count):
        bus = EventBus()
        hub = CtiHub(bus, HubConfig(heartbeat_seconds=3600))
        mine = dataclasses.replace(config, url=urls[n]) if urls else config
        made.append(Instance(bus, hub, NatsBrokerLink(bus, hub, mine), bus.subscribe()))
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(i.link.run()) for i in made]
            tasks += [tg.create_task(i.hub.run()) for i in made]
            await until(lambda: all(i.link.status.up for i in made))
            yield made
            for task in tasks:
                task.cancel()
    finally:
        await drop_stream(config)


@pytest.fixture
def config() -> BrokerConfig:
    return own_config(desks_seconds=0.5)


async def next_events(sub: EventSubscription, count: int) -> list[Envelope[Event]]:
    async with asyncio.timeout(10):
        return [await sub.get() for _ in range(count)]


async def test_an_event_published_on_one_reaches_the_other_as_its_origin_numbered_it(
    config: BrokerConfig,
) -> None:
    async with instances(config) as (a, b):
        sent = [
            a.bus.publish(bus_event("agent.state", agent_id=AGENT, state=state))
            for state in ("ready", "reserved", "on_call")
        ]
        got = await next_events(b.seen, 3)
    assert [(e.epoch, e.seq) for e in got] == [(a.bus.epoch, e.seq) for e in sent]
    assert [e.payload for e in got] == [e.payload for e in sent]
    assert b.bus.published == 0  # delivered, not published again: B's counter did not move
    assert b.link.status.received == 3


async def test_an_instance_never_gets_its_own_events_back(config: BrokerConfig) -> None:
    async with instances(config) as (a, b):
        mine = b.bus.publish(bus_event("agent.state", agent_id=AGENT, state="ready"))
        (at_a,) = await next_events(a.seen, 1)
        marker = a.bus.publish(bus_event("agent.state", agent_id=AGENT, state="not_ready"))
        # B's own event is in the stream before A's marker: an echo would come first.
        got = await next_events(b.seen, 2)
    assert (at_a.epoch, at_a.seq) == (b.bus.epoch, mine.seq)
    assert [(e.epoch, e.seq) for e in got] == [
        (b.bus.epoch, mine.seq),  # published here
        (a.bus.epoch, marker.seq),
    ]


async def test_wallboard_snapshots_stay_on_their_instance(config: BrokerConfig) -> None:
    async with instances(config) as (a, b):
        a.bus.publish(FloorSnapshot.from_data(FloorState().snapshot(dt.datetime.now(dt.UTC))))
        marker = a.bus.publish(bus_event("agent.state", agent_id=AGENT, state="ready"))
        (got,) = await next_events(b.seen, 1)
    assert (got.epoch, got.seq) == (a.bus.epoch, marker.seq)  # the snapshot did not cross


async def test_a_pop_published_on_one_reaches_a_desk_on_the_other_before_the_ring(
    config: BrokerConfig,
) -> None:
    order: list[str] = []
    async with instances(config) as (a, b):
        desk = b.hub.connect(Viewer(AGENT, "agent07", Role.AGENT))
        await until(lambda: a.link.desks.open_elsewhere(AGENT))

        async def desk_writer() -> dict[str, object]:
            text = await desk.next()
            order.append("the desk on B has the pop")
            desk.sent()  # written onto the socket
            message: dict[str, object] = json.loads(text)
            return message

        async with asyncio.TaskGroup() as tg:
            written = tg.create_task(desk_writer())
            pop = offered(AGENT, "1741.1")
            out = await a.hub.pop_out("1741.1", lambda: a.bus.publish(pop), within=10)
            order.append("A's ACD may ring")
        message = written.result()
    assert out is True
    assert order == ["the desk on B has the pop", "A's ACD may ring"]
    assert message["type"] == "call.offered"
    assert message["epoch"] == a.bus.epoch  # the origin's run, as a desk on A would see it


async def test_a_pop_for_an_agent_with_no_desk_anywhere_does_not_wait(
    config: BrokerConfig,
) -> None:
    async with instances(config) as (a, b):
        desk = b.hub.connect(Viewer(AGENT + 1, "agent08", Role.AGENT))  # another agent
        await until(lambda: a.link.desks.open_elsewhere(AGENT + 1))
        async with asyncio.timeout(1):  # far under the pop's limit of 60 s
            out = await a.hub.pop_out(
                "1741.2", lambda: a.bus.publish(offered(AGENT, "1741.2")), within=60
            )
        b.hub.disconnect(desk)
    assert out is True


async def test_bad_envelopes_from_the_broker_are_skipped_and_the_link_goes_on(
    config: BrokerConfig,
) -> None:
    other = EventBus()  # an instance of ours that has no link here
    good = other.publish(bus_event("agent.state", agent_id=AGENT, state="ready"))
    wrong_version = json.loads(good.to_json())
    wrong_version["version"] = 99
    unknown = {**json.loads(good.to_json()), "topic": "call.teleported"}
    async with instances(config, count=1) as (b,):
        nc = await nats.connect(config.url)
        try:
            js = nc.jetstream()
            subject = f"{config.events_subject}.agent.state"
            for data in (b"not json", json.dumps(wrong_version), json.dumps(unknown)):
                body = data if isinstance(data, bytes) else data.encode()
                await js.publish(subject, body, headers={ORIGIN_HEADER: "someone"})
            await js.publish(subject, good.to_json().encode(), headers={ORIGIN_HEADER: "x"})
        finally:
            await nc.close()
        (got,) = await next_events(b.seen, 1)
        rejected, up = b.link.status.rejected, b.link.status.up
    assert (got.epoch, got.seq) == (other.epoch, good.seq)
    assert rejected == 3
    assert up


async def test_after_the_broker_restarts_the_link_resumes_and_loses_nothing_published_since(
    tmp_path: Path,
) -> None:
    async with own_nats(tmp_path / "nats") as server:
        config = own_config(server.url, desks_seconds=0.5, reconnect_seconds=0.1)
        async with instances(config) as (a, b):
            first = a.bus.publish(bus_event("agent.state", agent_id=AGENT, state="ready"))
            await next_events(b.seen, 1)
            await server.stop()
            await until(lambda: not a.link.status.up and not b.link.status.up)
            assert b.link.status.state is BrokerState.DISCONNECTED
            # Published while the broker is away: it waits in A's buffer, the call goes on.
            during = a.bus.publish(bus_event("agent.state", agent_id=AGENT, state="reserved"))
            await server.start()  # memory storage: a new, empty stream
            await until(lambda: a.link.status.up and b.link.status.up)
            after = a.bus.publish(bus_event("agent.state", agent_id=AGENT, state="on_call"))
            got = await next_events(b.seen, 2)
            reconnects = b.link.status.reconnects
    assert [e.seq for e in got] == [during.seq, after.seq]
    assert first.seq < during.seq
    assert reconnects >= 1


async def test_an_instance_that_lost_its_link_catches_up_on_what_was_published_meanwhile(
    config: BrokerConfig,
) -> None:
    port = int(config.url.rsplit(":", 1)[1])
    async with CutProxy(port) as proxy:
        config = dataclasses.replace(config, reconnect_seconds=0.1)
        async with instances(config, urls=[config.url, proxy.url]) as (a, b):
            first = a.bus.publish(bus_event("agent.state", agent_id=AGENT, state="ready"))
            await next_events(b.seen, 1)
            proxy.cut()  # B alone loses the broker; A and the stream go on
            await until(lambda: not b.link.status.up)
            meanwhile = [
                a.bus.publish(bus_event("agent.state", agent_id=AGENT, state=state))
                for state in ("reserved", "on_call", "wrap_up")
            ]
            await until(lambda: a.link.status.published == 4)  # stored while B was away
            proxy.mend()
            got = await next_events(b.seen, 3)
            after = a.bus.publish(bus_event("agent.state", agent_id=AGENT, state="ready"))
            (last,) = await next_events(b.seen, 1)
    assert [e.seq for e in got] == [e.seq for e in meanwhile]  # from the stream, in order
    assert last.seq == after.seq  # and nothing twice
    assert first.seq == 1
