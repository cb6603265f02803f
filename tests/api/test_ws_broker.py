"""Two service instances on one database and one NATS (issue 21, point 2): a desk connected to
instance B gets the pop and the agent's events that instance A published, in A's order and
numbered as A numbered them, and A's ACD may ring only once B's desk has the pop; /health
says what the link does."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from callcenter.broker import BrokerState
from callcenter.broker.nats_link import NatsBrokerLink
from callcenter.persistence.db import Database
from tests.support import cti_desk
from tests.support.cti_desk import Desk, offered, open_desk
from tests.support.events import bus_event
from tests.support.nats import drop_stream, free_port, own_config, until


@contextlib.asynccontextmanager
async def two_instances(database_url: str, database: Database) -> AsyncIterator[tuple[Desk, Desk]]:
    config = own_config()
    broker = {
        "broker_url": config.url,
        "broker_stream": config.stream,
        "broker_subject_prefix": config.prefix,
    }
    try:
        async with open_desk(database_url, database, **broker) as a:
            settings = a.app.state.runtime.settings
            # The second instance: the same center (database, broker), its own journal.
            b_settings = settings.model_copy(
                update={"journal_dir": settings.effective_journal_dir.with_name("journal-b")}
            )
            async with cti_desk._run(b_settings, a.ids, a.tokens, a.branch_id) as b:
                links = [d.app.state.runtime.broker for d in (a, b)]
                await until(lambda: all(link.status.up for link in links))
                yield a, b
    finally:
        await drop_stream(config)


def link_of(desk: Desk) -> NatsBrokerLink:
    link: NatsBrokerLink = desk.app.state.runtime.broker
    return link


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_desk_on_b_gets_a_pop_published_on_a_before_a_may_ring(
    database_url: str, database: Database
) -> None:
    async with two_instances(database_url, database) as (a, b):
        agent = a.ids["agent_a"]
        async with b.socket("agent_a") as desk:
            await desk.receive_type("hello")
            await until(lambda: link_of(a).desks.open_elsewhere(agent))
            pop = offered(agent, "1741.1")
            rang = await a.hub.pop_out("1741.1", lambda: a.events.publish(pop), within=10)
            reserved = a.events.publish(bus_event("agent.state", agent_id=agent, state="reserved"))
            got = [await desk.receive_type("call.offered"), await desk.receive_type("agent.state")]
    assert rang is True  # B's desk had the pop before pop_out let the ACD ring
    assert [m["epoch"] for m in got] == [a.events.epoch, a.events.epoch]
    assert got[1]["seq"] == reserved.seq
    assert got[0]["seq"] < got[1]["seq"]
    assert got[0]["data"]["caller_number"] == "+8613800138000"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_health_shows_the_broker_link(database_url: str, database: Database) -> None:
    async with two_instances(database_url, database) as (a, b):
        a.events.publish(bus_event("agent.state", agent_id=a.ids["agent_a"], state="ready"))
        await until(lambda: link_of(b).status.received >= 1)
        health = (await b.http.get("/health")).json()
    assert health["broker"]["state"] == BrokerState.CONNECTED.value
    assert health["broker"]["received"] >= 1
    assert health["broker"]["dropped"] == 0


async def test_without_a_broker_health_says_none(desk_without_broker: Desk) -> None:
    health = (await desk_without_broker.http.get("/health")).json()
    assert health["broker"] is None


@pytest.fixture
async def desk_without_broker(database_url: str, database: Database) -> AsyncIterator[Desk]:
    async with open_desk(database_url, database) as desk:
        yield desk


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_health_says_degraded_while_the_broker_does_not_answer(
    database_url: str, database: Database
) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    async with open_desk(database_url, database, broker_url=nowhere) as desk:
        link = link_of(desk)
        await until(lambda: link.status.last_error is not None)
        response = await desk.http.get("/health")
        # The desk's own events still reach its sockets: publishing never waits on the broker.
        async with desk.socket("agent_a") as socket:
            await socket.receive_type("hello")
            desk.events.publish(
                bus_event("agent.state", agent_id=desk.ids["agent_a"], state="ready")
            )
            state = await socket.receive_type("agent.state")
    health = response.json()
    assert response.status_code == 200  # calls are handled; only the other instances miss out
    assert health["status"] == "degraded"
    assert health["broker"]["state"] == BrokerState.CONNECTING.value
    assert "does not answer" in health["broker"]["error"]
    assert state["data"]["state"] == "ready"
