"""The asyncio AMI client and Async AGI, against a fake AMI server (protocol edges only).

Waits end on events, futures and the fake server's records; ``asyncio.timeout`` is only a
safety net so that a broken client fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from callcenter.asterisk.agi import AgiResult, AsyncAgi, agi_quote, parse_agi_env, parse_agi_result
from callcenter.asterisk.client import (
    AmiClient,
    AmiConfig,
    ConnectionChange,
    ConnectionState,
    open_ami,
)
from callcenter.asterisk.errors import (
    AgiChannelGone,
    AgiError,
    AgiResultLost,
    AmiActionError,
    AmiAuthenticationError,
    AmiConnectionLost,
    AmiEventsLost,
    AmiNotConnected,
    AmiTimeout,
)
from callcenter.asterisk.protocol import Message
from callcenter.asterisk.subscription import Subscription
from tests.fakes.fake_ami import FakeAmiServer, FakeConnection, agi_replier, frame

SAFETY = 5.0  # seconds; a safety net for waits that end on events


@pytest.fixture
async def server() -> AsyncIterator[FakeAmiServer]:
    async with FakeAmiServer() as fake:
        yield fake


def make_config(server: FakeAmiServer, **overrides: object) -> AmiConfig:
    settings: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": server.username,
        "secret": server.secret,
        "connect_timeout": SAFETY,
        "action_timeout": SAFETY,
        "ping_interval": 3600.0,
        "ping_timeout": SAFETY,
        "reconnect_min": 0.01,
        "reconnect_max": 0.05,
    }
    settings.update(overrides)
    return AmiConfig(**settings)  # type: ignore[arg-type]


async def next_state(
    changes: Subscription[ConnectionChange], state: ConnectionState
) -> tuple[ConnectionChange, list[ConnectionState]]:
    """Read connection changes up to the first one into ``state``; return it and the path."""
    path: list[ConnectionState] = []
    async with asyncio.timeout(SAFETY):
        async for change in changes:
            path.append(change.state)
            if change.state is state:
                return change, path
    raise AssertionError(f"connection changes ended before {state}: {path}")


async def take(sub: Subscription[Message], count: int) -> list[Message]:
    async with asyncio.timeout(SAFETY):
        return [await sub.get() for _ in range(count)]


def user_events(first: int, last: int) -> list[dict[str, str]]:
    return [
        {"Event": "UserEvent", "UserEvent": "Tick", "Seq": str(n)} for n in range(first, last + 1)
    ]


# -- login and actions ------------------------------------------------------------------------


async def test_login_succeeds_and_the_client_is_connected(server: FakeAmiServer) -> None:
    async with open_ami(make_config(server)) as client:
        assert client.state is ConnectionState.CONNECTED
        assert client.generation == 1
        assert client.banner == "Asterisk Call Manager/11.0.0"
        login = (await server.received(0, "Login"))[0]
        assert login["Username"] == server.username
        assert login["Events"] == "on"
        assert login.action_id is not None
        assert await client.ping() >= 0.0

    assert client.state is ConnectionState.CLOSED


async def test_concurrent_actions_answered_out_of_order_reach_their_own_callers(
    server: FakeAmiServer,
) -> None:
    async with open_ami(make_config(server)) as client:
        connection = await server.connection(0)
        connection.hold("Getvar")
        calls = [
            asyncio.create_task(client.action("Getvar", {"Variable": name}))
            for name in ("CC_CALL_ID", "CC_TENANT", "CC_QUEUE")
        ]
        held = await server.held(0, count=3)
        assert len({action.action_id for action in held}) == 3

        for action in reversed(held):
            name = action["Variable"]
            await connection.respond(action, "Success", {"Variable": name, "Value": f"v-{name}"})
        async with asyncio.timeout(SAFETY):
            replies = await asyncio.gather(*calls)

    assert [reply["Value"] for reply in replies] == ["v-CC_CALL_ID", "v-CC_TENANT", "v-CC_QUEUE"]
    assert [reply.action_id for reply in replies] == [action.action_id for action in held]


async def test_action_list_collects_its_events_until_the_complete_event(
    server: FakeAmiServer,
) -> None:
    async with open_ami(make_config(server)) as client:
        listener = client.subscribe({"CoreShowChannel", "CoreShowChannelsComplete"})

        result = await client.action_list("CoreShowChannels")

        assert result.response["EventList"] == "start"
        assert [e["Channel"] for e in result.events] == [
            "PJSIP/carrier-00000001",
            "PJSIP/carrier-00000002",
        ]
        assert [e["CallerIDName"] for e in result.events] == ["张伟", "王芳"]
        assert result.complete is not None
        assert result.complete["ListItems"] == "2"
        # The list belongs to its caller; other consumers never see it.
        assert listener.get_nowait() is None


async def test_error_response_raises_with_asterisks_message(server: FakeAmiServer) -> None:
    async with open_ami(make_config(server)) as client:
        with pytest.raises(AmiActionError) as failed:
            await client.action("Frobnicate")
        unchecked = await client.action("Frobnicate", check=False)
        with pytest.raises(AmiActionError):
            await client.action_list("FrobnicateList")

    assert failed.value.action == "Frobnicate"
    assert failed.value.message == "Invalid/unknown command"
    assert failed.value.error_id == "ami-action-failed"
    assert unchecked.name == "Error"


async def test_wrong_secret_fails_promptly_with_a_single_login(server: FakeAmiServer) -> None:
    config = make_config(server, secret="wrong")

    with pytest.raises(AmiAuthenticationError) as refused:
        async with asyncio.timeout(SAFETY), open_ami(config):
            pass

    assert "Authentication failed" in str(refused.value)
    assert len(server.connections) == 1
    assert server.connections[0].action_names == ["Login"]


async def test_wrong_secret_ends_the_run_loop_and_the_client_is_closed(
    server: FakeAmiServer,
) -> None:
    client = AmiClient(make_config(server, secret="wrong"))

    with pytest.raises(AmiAuthenticationError):
        async with asyncio.timeout(SAFETY):
            await client.run()

    assert client.state is ConnectionState.CLOSED
    assert server.logins() == 1
    with pytest.raises(AmiAuthenticationError):
        await client.wait_connected(SAFETY)


async def test_login_that_gets_no_reply_is_retried_on_a_new_connection(
    server: FakeAmiServer,
) -> None:
    # A server that accepts the socket but never answers Login (overloaded, half-started) is
    # a connection problem, not a refused secret: the client must keep trying.
    server.hold_on_connect = {"login"}
    client = AmiClient(make_config(server, action_timeout=0.2))
    runner = asyncio.create_task(client.run())
    try:
        await server.held(0)
        server.hold_on_connect = set()

        await client.wait_connected(SAFETY)

        assert client.generation == 1
        assert len(server.connections) == 2
    finally:
        await client.close()
        async with asyncio.timeout(SAFETY):
            await runner


async def test_close_while_connecting_stops_the_client(server: FakeAmiServer) -> None:
    connecting = asyncio.Event()
    release = asyncio.Event()

    async def slow_connector() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        connecting.set()
        await release.wait()
        return await asyncio.open_connection("127.0.0.1", server.port)

    client = AmiClient(make_config(server), connector=slow_connector)
    runner = asyncio.create_task(client.run())
    async with asyncio.timeout(SAFETY):
        await connecting.wait()

    await client.close()
    release.set()

    async with asyncio.timeout(SAFETY):
        await runner
    assert client.state is ConnectionState.CLOSED


async def test_close_stops_a_connect_attempt_that_would_hang_until_its_timeout(
    server: FakeAmiServer,
) -> None:
    # A PBX host that drops SYNs (or a TLS peer that never finishes its handshake) keeps the
    # connect pending for connect_timeout; close() has no socket to abort yet.
    attempted = asyncio.Event()

    async def black_hole() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        attempted.set()
        await asyncio.get_running_loop().create_future()
        raise AssertionError("a black hole never answers")

    client = AmiClient(make_config(server, connect_timeout=3600.0), connector=black_hole)
    runner = asyncio.create_task(client.run())
    async with asyncio.timeout(SAFETY):
        await attempted.wait()

    await client.close()

    async with asyncio.timeout(SAFETY):
        await runner
    assert client.state is ConnectionState.CLOSED


async def test_subscriptions_taken_after_the_client_closed_end_at_once(
    server: FakeAmiServer,
) -> None:
    client = AmiClient(make_config(server))
    await client.close()
    await client.close()  # twice, and before run(): both harmless
    async with asyncio.timeout(SAFETY):
        await client.run()

    events = client.subscribe()
    changes = client.connection_changes()

    async with asyncio.timeout(SAFETY):
        assert [event async for event in events] == []
        assert [change async for change in changes] == []
    assert server.connections == []


async def test_waiting_for_a_session_that_cannot_be_had_names_the_last_failure(
    server: FakeAmiServer,
) -> None:
    port = server.port
    await server.stop()
    client = AmiClient(make_config(server, port=port))
    changes = client.connection_changes()
    runner = asyncio.create_task(client.run())
    try:
        failed, _ = await next_state(changes, ConnectionState.DISCONNECTED)
        with pytest.raises(AmiTimeout) as timed_out:
            await client.wait_connected(0)
    finally:
        await client.close()
        async with asyncio.timeout(SAFETY):
            await runner

    assert "ConnectionRefusedError" in failed.reason
    assert failed.reason in str(timed_out.value)


# -- connection loss and reconnects -----------------------------------------------------------


async def test_dropped_connection_fails_the_pending_action_and_never_resends_it(
    server: FakeAmiServer,
) -> None:
    async with open_ami(make_config(server)) as client:
        changes = client.connection_changes()
        first = await server.connection(0)
        first.hold("Originate")
        originate = asyncio.create_task(
            client.action("Originate", {"Channel": "PJSIP/13800138000@carrier", "Async": "true"})
        )
        await server.held(0)

        first.drop()

        with pytest.raises(AmiConnectionLost):
            async with asyncio.timeout(SAFETY):
                await originate
        disconnected, _ = await next_state(changes, ConnectionState.DISCONNECTED)
        connected, path = await next_state(changes, ConnectionState.CONNECTED)
        assert disconnected.generation == 1
        assert path == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
        assert connected.generation == client.generation == 2

        await client.ping()

    # Anything resent would have reached the new connection before this Ping.
    assert server.connections[1].action_names[:2] == ["Login", "Ping"]
    assert "Originate" not in server.connections[1].action_names


async def test_action_without_reply_times_out_naming_the_action(server: FakeAmiServer) -> None:
    async with open_ami(make_config(server)) as client:
        connection = await server.connection(0)
        connection.hold("Originate")

        with pytest.raises(AmiTimeout) as timed_out:
            await client.action("Originate", {"Channel": "PJSIP/8001"}, timeout=0.05)

        # The late reply is dropped harmlessly and the session goes on.
        await connection.answer_held(connection.held[0])
        assert (await client.action("Ping"))["Ping"] == "Pong"

    assert "Originate" in str(timed_out.value)
    assert timed_out.value.error_id == "ami-timeout"


async def test_action_before_any_session_raises_not_connected(server: FakeAmiServer) -> None:
    client = AmiClient(make_config(server))

    with pytest.raises(AmiNotConnected):
        await client.action("Ping")


async def test_action_while_reconnecting_raises_not_connected(server: FakeAmiServer) -> None:
    async with open_ami(make_config(server)) as client:
        changes = client.connection_changes()
        await server.stop()  # drops the session and refuses new ones
        await next_state(changes, ConnectionState.DISCONNECTED)

        with pytest.raises(AmiNotConnected):
            await client.action("Ping")


async def test_reconnect_attempts_with_the_server_down_are_spaced_by_growing_delays(
    server: FakeAmiServer,
) -> None:
    port = server.port
    await server.stop()
    loop = asyncio.get_running_loop()
    attempts: list[float] = []
    enough = asyncio.Event()

    async def connector() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        attempts.append(loop.time())
        if len(attempts) == 6:
            enough.set()
        return await asyncio.open_connection("127.0.0.1", port)

    config = make_config(server, port=port, reconnect_min=0.01, reconnect_max=0.08)
    client = AmiClient(config, connector=connector, rng=random.Random(7))
    expected = AmiClient(config, rng=random.Random(7))
    runner = asyncio.create_task(client.run())
    try:
        async with asyncio.timeout(SAFETY):
            await enough.wait()
    finally:
        await client.close()
        async with asyncio.timeout(SAFETY):
            await runner

    delays = [expected._backoff(attempt) for attempt in range(1, 6)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts[:6])]
    # Each wait lasts at least its backoff delay (1 ms for the loop clock's granularity).
    for gap, delay in zip(gaps, delays, strict=True):
        assert gap >= delay - 0.001, (gaps, delays)
    # Equal jitter keeps each delay at or above half its ceiling, so the doubling shows.
    assert delays[2] > delays[0]
    assert delays[3] > delays[1]


def test_backoff_stays_within_half_to_full_ceiling_which_doubles_up_to_the_cap() -> None:
    client = AmiClient(AmiConfig(reconnect_min=0.5, reconnect_max=30.0), rng=random.Random(42))
    ceilings = {attempt: min(30.0, 0.5 * 2 ** (attempt - 1)) for attempt in range(1, 12)}

    for attempt, ceiling in ceilings.items():
        for _ in range(50):
            delay = client._backoff(attempt)
            assert ceiling / 2 <= delay <= ceiling, (attempt, delay)

    assert [ceilings[a] for a in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert 0.25 <= client._backoff(0) <= 0.5  # right after a lost session: the minimum


def test_backoff_is_jittered_and_reproducible_with_a_seeded_random() -> None:
    config = AmiConfig(reconnect_min=0.5, reconnect_max=30.0)
    first = AmiClient(config, rng=random.Random(3))
    second = AmiClient(config, rng=random.Random(3))

    draws = [first._backoff(5) for _ in range(20)]

    assert draws == [second._backoff(5) for _ in range(20)]
    assert len(set(draws)) > 1  # clients restarted together do not reconnect in lockstep


async def test_unanswered_ping_drops_the_connection_and_the_client_reconnects(
    server: FakeAmiServer,
) -> None:
    server.hold_on_connect = {"ping"}
    config = make_config(server, ping_interval=0.05, ping_timeout=0.1)
    async with open_ami(config) as client:
        server.hold_on_connect = set()  # only the first connection is unresponsive
        changes = client.connection_changes()

        await next_state(changes, ConnectionState.DISCONNECTED)
        reconnected, _ = await next_state(changes, ConnectionState.CONNECTED)

        assert reconnected.generation == 2
        assert server.connections[0].held[0].name == "Ping"
        await server.wait_until(lambda: server.connections[0].closed)


# -- events -----------------------------------------------------------------------------------


async def test_events_reach_a_subscriber_in_order(server: FakeAmiServer) -> None:
    async with open_ami(make_config(server)) as client:
        ticks = client.subscribe({"UserEvent"})
        connection = await server.connection(0)

        await connection.send_events(user_events(1, 500))

        received = await take(ticks, 500)
    assert [e["Seq"] for e in received] == [str(n) for n in range(1, 501)]


async def test_subscriber_that_falls_behind_gets_events_lost_then_later_events(
    server: FakeAmiServer,
) -> None:
    async with open_ami(make_config(server)) as client:
        slow = client.subscribe({"UserEvent"}, maxsize=3)
        fast = client.subscribe({"UserEvent"}, maxsize=100)
        connection = await server.connection(0)

        await connection.send_events(user_events(1, 10))
        seen_by_fast = await take(fast, 10)  # the reader has offered all ten to both

        with pytest.raises(AmiEventsLost) as lost:
            await slow.get()
        kept = [slow.get_nowait() for _ in range(len(slow))]
        assert lost.value.lost + len(kept) == 10
        assert [e["Seq"] for e in kept if e is not None] == [
            str(n) for n in range(lost.value.lost + 1, 11)
        ]

        await connection.send_events(user_events(11, 11))
        assert [e["Seq"] for e in await take(slow, 1)] == ["11"]
        # The reader never waited on the slow subscriber.
        assert [e["Seq"] for e in seen_by_fast] == [str(n) for n in range(1, 11)]
        assert (await client.action("Ping"))["Ping"] == "Pong"


async def test_subscription_name_filter_is_case_insensitive(server: FakeAmiServer) -> None:
    async with open_ami(make_config(server)) as client:
        hangups = client.subscribe({"hangup"})
        everything = client.subscribe()
        connection = await server.connection(0)

        await connection.send_events(
            [
                {"Event": "Newchannel", "Uniqueid": "1764057600.7"},
                {"Event": "Hangup", "Uniqueid": "1764057600.7", "Cause": "16"},
                {"Event": "VarSet", "Uniqueid": "1764057600.8"},
                {"Event": "Hangup", "Uniqueid": "1764057600.8", "Cause": "17"},
                {"Event": "UserEvent", "UserEvent": "End"},
            ]
        )
        async with asyncio.timeout(SAFETY):
            async for event in everything:
                if event.name == "UserEvent":
                    break

        assert [e["Cause"] for e in await take(hangups, 2)] == ["16", "17"]
        assert hangups.get_nowait() is None


async def test_tiny_writes_and_garbage_do_not_break_the_session() -> None:
    async with FakeAmiServer(write_chunk=1) as server, open_ami(make_config(server)) as client:
        events = client.subscribe({"Newchannel"})
        connection = await server.connection(0)

        await connection.send(b"this is not AMI\r\nneither is this\r\n\r\n")
        await connection.send_event("Newchannel", {"CallerIDName": "王芳", "Value": "a:b:c"})
        result = await client.action_list("CoreShowChannels")
        [newchannel] = await take(events, 1)

    assert newchannel["CallerIDName"] == "王芳"
    assert newchannel["Value"] == "a:b:c"
    assert [e["CallerIDName"] for e in result.events] == ["张伟", "王芳"]
    assert client.parser_stats_total["garbage_lines"] == 2
    assert client.generation == 1


async def test_subscriptions_end_when_the_client_closes(server: FakeAmiServer) -> None:
    async with open_ami(make_config(server)) as client:
        events = client.subscribe()
        changes = client.connection_changes()

    async with asyncio.timeout(SAFETY):
        remaining_changes = [change.state async for change in changes]
        async for _ in events:
            pass
    assert remaining_changes[-1] is ConnectionState.CLOSED


async def test_one_read_mixing_events_a_reply_and_an_event_list_keeps_every_order(
    server: FakeAmiServer,
) -> None:
    # The reader hands a read's run of plain events to the subscriptions at once; a reply or
    # a list's event in the middle of the read must still come between the runs around it.
    async with open_ami(make_config(server)) as client:
        events = client.subscribe()
        connection = await server.connection(0)
        connection.hold("Getvar", "CoreShowChannels")
        getvar = asyncio.create_task(client.action("Getvar", {"Variable": "CC_CALL_ID"}))
        channels = asyncio.create_task(client.action_list("CoreShowChannels"))
        held = {action.name: action for action in await server.held(0, count=2)}
        getvar_id = held["Getvar"].action_id or ""
        list_id = held["CoreShowChannels"].action_id or ""

        await connection.send(
            b"".join(
                [
                    *(frame(event) for event in user_events(1, 3)),
                    frame({"Response": "Success", "ActionID": list_id, "EventList": "start"}),
                    frame({"Event": "CoreShowChannel", "ActionID": list_id, "Channel": "a"}),
                    *(frame(event) for event in user_events(4, 5)),
                    frame({"Response": "Success", "ActionID": getvar_id, "Value": "c-1"}),
                    frame(
                        {
                            "Event": "CoreShowChannelsComplete",
                            "ActionID": list_id,
                            "EventList": "Complete",
                        }
                    ),
                    *(frame(event) for event in user_events(6, 8)),
                ]
            )
        )
        received = await take(events, 8)
        async with asyncio.timeout(SAFETY):
            reply = await getvar
            listed = await channels

    assert [e["Seq"] for e in received] == [str(n) for n in range(1, 9)]
    assert reply["Value"] == "c-1"
    assert [e["Channel"] for e in listed.events] == ["a"]
    assert listed.complete is not None


async def test_a_wait_registered_mid_stream_takes_its_event_out_of_a_burst(
    server: FakeAmiServer,
) -> None:
    async with open_ami(make_config(server)) as client:
        events = client.subscribe()
        hangup = client.expect_event("Hangup", "Uniqueid", "c-2")
        connection = await server.connection(0)

        await connection.send_events(
            [*user_events(1, 2), {"Event": "Hangup", "Uniqueid": "c-2"}, *user_events(3, 4)]
        )
        received = await take(events, 5)
        async with asyncio.timeout(SAFETY):
            ended = await hangup

    assert [e.name for e in received] == ["UserEvent"] * 2 + ["Hangup"] + ["UserEvent"] * 2
    assert ended is received[2]


# -- expect_event -----------------------------------------------------------------------------


async def test_expect_event_resolves_on_the_matching_header_value(server: FakeAmiServer) -> None:
    async with open_ami(make_config(server)) as client:
        hangup = client.expect_event("Hangup", "Uniqueid", "1764057600.2")
        connection = await server.connection(0)

        await connection.send_events(
            [
                {"Event": "Hangup", "Uniqueid": "1764057600.1", "Cause": "17"},
                {"Event": "Newchannel", "Uniqueid": "1764057600.2"},
                {"Event": "Hangup", "Uniqueid": "1764057600.2", "Cause": "16"},
            ]
        )
        async with asyncio.timeout(SAFETY):
            event = await hangup

    assert event["Cause"] == "16"


async def test_expect_event_registered_before_the_action_catches_an_early_event(
    server: FakeAmiServer,
) -> None:
    async with open_ami(make_config(server)) as client:
        # UserEvent's event is written before its own response, like a fast OriginateResponse.
        ready = client.expect_event("UserEvent", "CallId", "c-8f14e45f")

        await client.action("UserEvent", {"UserEvent": "ScreenPop", "CallId": "c-8f14e45f"})

        assert ready.done()
        assert ready.result()["UserEvent"] == "ScreenPop"


async def test_expect_event_with_a_condition_lets_other_matches_pass_by(
    server: FakeAmiServer,
) -> None:
    async with open_ami(make_config(server)) as client:
        other = client.expect_event(
            "Hangup", "Linkedid", "c-1", where=lambda m: m.get("Uniqueid") != "c-1"
        )
        first = client.expect_event("Hangup", "Linkedid", "c-1")
        connection = await server.connection(0)

        await connection.send_events(
            [
                {"Event": "Hangup", "Linkedid": "c-1", "Uniqueid": "c-1", "Cause": "16"},
                {"Event": "Hangup", "Linkedid": "c-1", "Uniqueid": "1765.4", "Cause": "21"},
            ]
        )
        async with asyncio.timeout(SAFETY):
            dialled = await other

        assert first.result()["Uniqueid"] == "c-1"  # the plain wait took the first one
        assert dialled["Cause"] == "21"
        assert client._waiters == {}
        assert client._conditions == {}


async def test_a_condition_that_raises_fails_its_own_wait_only(server: FakeAmiServer) -> None:
    async with open_ami(make_config(server)) as client:
        broken = client.expect_event("Hangup", "Linkedid", "c-1", where=lambda m: 1 / 0 > 0)
        plain = client.expect_event("Hangup", "Linkedid", "c-1")
        connection = await server.connection(0)

        await connection.send_events([{"Event": "Hangup", "Linkedid": "c-1", "Uniqueid": "c-1"}])
        async with asyncio.timeout(SAFETY):
            assert (await plain)["Uniqueid"] == "c-1"
        with pytest.raises(ZeroDivisionError):
            await broken
        assert await client.ping(timeout=SAFETY) >= 0  # the reader goes on


async def test_expect_event_fails_with_connection_lost_on_disconnect(
    server: FakeAmiServer,
) -> None:
    async with open_ami(make_config(server)) as client:
        hangup = client.expect_event("Hangup", "Uniqueid", "1764057600.2")

        (await server.connection(0)).drop()

        with pytest.raises(AmiConnectionLost):
            async with asyncio.timeout(SAFETY):
                await hangup


async def test_abandoned_actions_leave_nothing_pending(server: FakeAmiServer) -> None:
    async with open_ami(make_config(server)) as client:
        connection = await server.connection(0)
        connection.hold("CoreShowChannels", "Originate")
        with pytest.raises(AmiTimeout):
            await client.action_list("CoreShowChannels", timeout=0.05)
        abandoned = [
            asyncio.create_task(client.action_list("CoreShowChannels")),
            asyncio.create_task(client.action("Originate", {"Channel": "PJSIP/8001"})),
        ]
        await server.held(0, count=3)
        for task in abandoned:
            task.cancel()
        results = await asyncio.gather(*abandoned, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)

        assert client._pending == {}
        assert client._list_pending == 0
        # Late answers to abandoned actions are dropped; the session goes on.
        for action in list(connection.held):
            await connection.answer_held(action)
        assert (await client.action("Ping"))["Ping"] == "Pong"
        assert client._pending == {}
        assert client._list_pending == 0


# -- secrets ----------------------------------------------------------------------------------


async def test_secret_never_reaches_a_log_record(
    server: FakeAmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with open_ami(make_config(server)) as client:
        await client.ping()
    with pytest.raises(AmiAuthenticationError) as refused:
        async with open_ami(make_config(server, secret="wrong-Zq9-secret")):
            pass

    assert any("Login" in r.getMessage() for r in caplog.records)  # logged, minus the secret
    for record in caplog.records:
        text = f"{record.getMessage()} {record.args!r}"
        assert server.secret not in text
        assert "wrong-Zq9-secret" not in text
    assert server.secret not in caplog.text
    assert "wrong-Zq9-secret" not in caplog.text
    assert "wrong-Zq9-secret" not in str(refused.value)
    assert server.secret not in repr(make_config(server))


# -- Async AGI --------------------------------------------------------------------------------


CHANNEL = "PJSIP/carrier-00000002"


async def test_agi_command_returns_the_parsed_async_agi_exec_result(
    server: FakeAmiServer,
) -> None:
    server.handlers["agi"] = agi_replier("200%20result%3D0%20endpos%3D7680%0A")
    async with open_ami(make_config(server)) as client:
        result = await AsyncAgi(client).execute(CHANNEL, 'STREAM FILE "welcome" ""')

    [sent] = await server.received(0, "AGI")
    assert sent["Channel"] == CHANNEL
    assert sent["Command"] == 'STREAM FILE "welcome" ""'
    assert sent["CommandID"]
    assert (result.code, result.result, result.extras) == (200, "0", {"endpos": "7680"})


async def test_agi_result_that_overtakes_the_action_response_is_not_lost(
    server: FakeAmiServer,
) -> None:
    server.handlers["agi"] = agi_replier(
        "200%20result%3D1%20(timeout)%0A", exec_first=True, command_id_header="CommandId"
    )
    async with open_ami(make_config(server)) as client:
        result = await AsyncAgi(client, default_timeout=SAFETY).execute(
            CHANNEL, "WAIT FOR DIGIT 5000"
        )

    assert (result.result, result.data) == ("1", "timeout")


async def test_agi_on_a_channel_that_hung_up_raises_channel_gone(server: FakeAmiServer) -> None:
    server.handlers["agi"] = agi_replier(hang_up=True)
    async with open_ami(make_config(server)) as client:
        with pytest.raises(AgiChannelGone) as gone:
            await AsyncAgi(client, default_timeout=SAFETY).execute(CHANNEL, "ANSWER")

    assert CHANNEL in str(gone.value)
    assert gone.value.error_id == "agi-channel-gone"


async def test_agi_failure_reply_raises_when_checked_and_is_returned_otherwise(
    server: FakeAmiServer,
) -> None:
    server.handlers["agi"] = agi_replier("510%20Invalid%20or%20unknown%20command%0A")
    async with open_ami(make_config(server)) as client:
        agi = AsyncAgi(client, default_timeout=SAFETY)
        with pytest.raises(AgiError) as failed:
            await agi.execute(CHANNEL, "FROBNICATE")
        unchecked = await agi.execute(CHANNEL, "FROBNICATE", check=False)

    assert "510 Invalid or unknown command" in str(failed.value)
    assert not isinstance(failed.value, AgiChannelGone)
    assert (unchecked.code, unchecked.ok) == (510, False)


def _agi_across_a_reset(original_finishes_after_reconnect: bool) -> Any:
    """Connection 0 queues the command and is then dropped; on the next connection the NOOP
    sent behind it is answered, after the original's AsyncAGIExec if it finishes late."""
    originals: list[str] = []

    async def handler(connection: FakeConnection, action: Message) -> None:
        await connection.respond(action, "Success", {"Message": "Added AGI command to queue"})
        command_id = action.get("CommandID") or ""
        if action.get("Command") != "NOOP":
            originals.append(command_id)
            return
        common = [("Channel", CHANNEL), ("Uniqueid", "1764057600.2")]
        if original_finishes_after_reconnect:
            await connection.send_event(
                "AsyncAGIExec",
                [*common, ("CommandID", originals[0]), ("Result", "200%20result%3D50%0A")],
            )
        await connection.send_event(
            "AsyncAGIExec", [*common, ("CommandID", command_id), ("Result", "200%20result%3D0%0A")]
        )

    return handler


@pytest.mark.parametrize("late", [True, False], ids=["result-on-the-new-session", "result-lost"])
async def test_an_agi_command_rides_out_a_reset_without_queuing_twice(
    server: FakeAmiServer, late: bool
) -> None:
    """A menu replayed behind its own orphaned copy would swallow the caller's keys: after a
    reset the command's result is taken from the next session, or, if it was lost, the
    caller learns it once nothing of the command is left queued (a NOOP behind it)."""
    server.handlers["agi"] = _agi_across_a_reset(original_finishes_after_reconnect=late)
    async with open_ami(make_config(server)) as client:
        agi = AsyncAgi(client, default_timeout=SAFETY)
        command = asyncio.create_task(agi.execute(CHANNEL, "GET DATA menu 6000 1", ride_out=SAFETY))
        await server.received(0, "AGI")
        (await server.connection(0)).drop()
        if late:
            result = await command
            assert result.result == "50"  # the caller's key, "2", typed across the reset
        else:
            with pytest.raises(AgiResultLost):
                await command
    [noop] = await server.received(1, "AGI")
    assert noop["Command"] == "NOOP"  # the command itself was never sent twice


async def test_without_ride_out_a_reset_fails_the_agi_command(server: FakeAmiServer) -> None:
    server.handlers["agi"] = _agi_across_a_reset(original_finishes_after_reconnect=True)
    async with open_ami(make_config(server)) as client:
        command = asyncio.create_task(AsyncAgi(client).execute(CHANNEL, "ANSWER"))
        await server.received(0, "AGI")
        (await server.connection(0)).drop()
        with pytest.raises(AmiConnectionLost):
            await command


async def test_agi_without_a_result_times_out(server: FakeAmiServer) -> None:
    async def ack_only(connection: FakeConnection, action: Message) -> None:
        await connection.respond(action, "Success", {"Message": "Added AGI command to queue"})

    server.handlers["agi"] = ack_only
    async with open_ami(make_config(server)) as client:
        with pytest.raises(AmiTimeout) as timed_out:
            await AsyncAgi(client).execute(CHANNEL, "ANSWER", timeout=0.05)

    assert "ANSWER" in str(timed_out.value)


async def test_agi_command_cancelled_while_it_waits_for_its_result_leaves_no_waiters(
    server: FakeAmiServer,
) -> None:
    async def ack_only(connection: FakeConnection, action: Message) -> None:
        await connection.respond(action, "Success", {"Message": "Added AGI command to queue"})

    server.handlers["agi"] = ack_only
    async with open_ami(make_config(server)) as client:
        command = asyncio.create_task(
            AsyncAgi(client, default_timeout=SAFETY).execute(CHANNEL, "WAIT FOR DIGIT 5000")
        )
        # The fake answers in order: once the Ping is answered, the AGI ack was dispatched and
        # the command is waiting for AsyncAGIExec / AsyncAGIEnd.
        await server.received(0, "AGI")
        await client.ping()
        assert client._waiters

        command.cancel()
        with pytest.raises(asyncio.CancelledError):
            await command

        assert client._waiters == {}
        [agi] = await server.received(0, "AGI")
        # The result arriving after the caller gave up is dropped harmlessly.
        await (await server.connection(0)).send_event(
            "AsyncAGIExec",
            {"Channel": CHANNEL, "CommandID": agi["CommandID"], "Result": "200%20result%3D0"},
        )
        assert (await client.action("Ping"))["Ping"] == "Pong"


# -- AGI reply parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "code", "result", "data", "extras"),
    [
        ("200%20result%3D1%20(timeout)%0A", 200, "1", "timeout", {}),
        ("200 result=0 endpos=8000", 200, "0", None, {"endpos": "8000"}),
        ("200%20result%3D-1%0A", 200, "-1", None, {}),
        ("200%20result%3D0%20(dtmf)%20endpos%3D7680%0A", 200, "0", "dtmf", {"endpos": "7680"}),
        ("510%20Invalid%20or%20unknown%20command%0A", 510, None, "Invalid or unknown command", {}),
        (
            "511%20Command%20Not%20Permitted%20on%20a%20dead%20channel%0A",
            511,
            None,
            "Command Not Permitted on a dead channel",
            {},
        ),
    ],
)
def test_agi_reply_line_parses_into_code_result_data_and_extras(
    encoded: str, code: int, result: str | None, data: str | None, extras: dict[str, str]
) -> None:
    parsed = parse_agi_result(encoded)

    assert (parsed.code, parsed.result, parsed.data, parsed.extras) == (code, result, data, extras)
    assert parsed.ok is (code == 200)


def test_multi_line_520_agi_reply_takes_its_code_from_the_first_line() -> None:
    encoded = (
        "520-Invalid%20command%20syntax.%20%20Proper%20usage%20follows%3A%0A"
        "Usage%3A%20STREAM%20FILE%20%3Cfilename%3E%20%3Cescape_digits%3E%0A"
        "520%20End%20of%20proper%20usage.%0A"
    )

    parsed = parse_agi_result(encoded)

    assert parsed.code == 520
    assert not parsed.ok
    assert parsed.data == "Invalid command syntax.  Proper usage follows:"
    assert parsed.raw.endswith("520 End of proper usage.")


def test_agi_result_as_int_and_unparseable_replies() -> None:
    assert parse_agi_result("200%20result%3D49%0A").result_int == 49
    assert parse_agi_result("200%20result%3D%0A").result_int is None
    assert parse_agi_result("nonsense") == AgiResult(code=0, result=None, data=None, raw="nonsense")
    assert not parse_agi_result("").ok


def test_agi_env_decodes_url_encoded_utf8_and_keeps_colons_in_values() -> None:
    env = parse_agi_env(
        "agi_request%3A%20async%0Aagi_channel%3A%20PJSIP%2Fcarrier-00000002%0A"
        "agi_callerid%3A%2013912345678%0Aagi_calleridname%3A%20%E7%8E%8B%E8%8A%B3%0A"
        "agi_accountcode%3A%20%0Aagi_rdnis%3A%20unknown%3Ax%0A%0A"
    )

    assert env == {
        "agi_request": "async",
        "agi_channel": "PJSIP/carrier-00000002",
        "agi_callerid": "13912345678",
        "agi_calleridname": "王芳",
        "agi_accountcode": "",
        "agi_rdnis": "unknown:x",
    }


@pytest.mark.parametrize(
    ("argument", "quoted"),
    [
        ("welcome", '"welcome"'),
        ("", '""'),
        ("custom/王芳 greeting", '"custom/王芳 greeting"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("C:\\path", '"C:\\\\path"'),
    ],
)
def test_agi_quote_wraps_and_escapes_one_argument(argument: str, quoted: str) -> None:
    assert agi_quote(argument) == quoted


@pytest.mark.parametrize("argument", ["a\nHANGUP", "a\r\nHANGUP", "a\rb"])
def test_agi_quote_refuses_line_breaks(argument: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        agi_quote(argument)


async def backoff_attempts(
    server: FakeAmiServer, *, stable_session: float, drops: int, session_lasts: float
) -> list[int]:
    """The backoff attempt of each reconnect after ``drops`` sessions, each dropped by the
    server ``session_lasts`` seconds after its login."""
    client = AmiClient(make_config(server, stable_session=stable_session))
    attempts: list[int] = []
    real_backoff = client._backoff

    def spy(attempt: int) -> float:
        attempts.append(attempt)
        return real_backoff(attempt)

    client._backoff = spy  # type: ignore[method-assign]
    runner = asyncio.create_task(client.run())
    try:
        for index in range(drops):
            await server.received(index, "Login")
            await client.wait_connected(SAFETY)
            await asyncio.sleep(session_lasts)
            (await server.connection(index)).drop()
        await server.connection(drops)
    finally:
        await client.close()
        await asyncio.wait_for(runner, SAFETY)
    return attempts[:drops]


async def test_session_dropped_right_after_login_does_not_reset_the_backoff(
    server: FakeAmiServer,
) -> None:
    # A server that accepts the login and then drops us (overload, an event flood) must see
    # growing delays, not a reconnect at the minimum delay forever.
    attempts = await backoff_attempts(server, stable_session=60.0, drops=4, session_lasts=0)
    assert attempts == [1, 2, 3, 4]


async def test_a_healthy_session_that_is_reset_reconnects_at_the_minimum_each_time(
    server: FakeAmiServer,
) -> None:
    """Six AMI resets in a row used to grow the delay from 0.4 s to 10 s (issue 14)."""
    attempts = await backoff_attempts(server, stable_session=0.05, drops=6, session_lasts=0.1)
    assert attempts == [0] * 6


def test_the_default_backoff_never_waits_more_than_five_seconds() -> None:
    client = AmiClient(AmiConfig(), rng=random.Random(7))
    assert max(client._backoff(attempt) for attempt in range(1, 20)) <= 5.0
    assert AmiConfig().stable_session <= 2.0


def test_config_refuses_a_line_break_in_the_secret_without_showing_it() -> None:
    with pytest.raises(ValueError, match="secret must not contain a line break") as caught:
        AmiConfig(username="callcenter", secret="abc\r\nAction: Originate")
    assert "abc" not in str(caught.value)


async def test_caller_supplied_action_id_is_refused(server: FakeAmiServer) -> None:
    async with open_ami(make_config(server), connect_timeout=SAFETY) as ami:
        with pytest.raises(ValueError, match="ActionID is set by the client"):
            await ami.action("Ping", {"actionid": "mine"})
        assert (await ami.action("Ping")).name == "Success"


async def test_agi_on_a_session_that_already_ended_sends_nothing(server: FakeAmiServer) -> None:
    server.handlers["agi"] = agi_replier("200%20result%3D0%0A")
    ended = asyncio.Event()
    ended.set()
    async with open_ami(make_config(server)) as client:
        with pytest.raises(AgiChannelGone):
            await AsyncAgi(client).execute(CHANNEL, "ANSWER", session_ended=ended)
        await client.ping()  # everything the client sent has reached the server
    assert await server.received(0, "AGI", count=0) == []


async def test_agi_queued_on_a_channel_that_has_left_ends_with_the_session_not_the_timeout(
    server: FakeAmiServer,
) -> None:
    """Asterisk may take a command into the queue of a channel that is leaving: no
    AsyncAGIExec comes, and its AsyncAGIEnd went by before the command was sent."""

    async def ack_only(connection: FakeConnection, action: Message) -> None:
        await connection.respond(action, "Success", {"Message": "Added AGI command to queue"})

    server.handlers["agi"] = ack_only
    ended = asyncio.Event()
    async with open_ami(make_config(server)) as client:
        command = asyncio.create_task(
            AsyncAgi(client, default_timeout=SAFETY).execute(
                CHANNEL, "GET DATA beep 5000 1", session_ended=ended
            )
        )
        await server.received(0, "AGI")
        ended.set()  # what PbxLink does when it sees the channel's AsyncAGIEnd
        started = asyncio.get_running_loop().time()
        with pytest.raises(AgiChannelGone):
            await command
        assert asyncio.get_running_loop().time() - started < 1.0
        assert not client._waiters
