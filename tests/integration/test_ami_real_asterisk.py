"""The AMI library against the real sandbox Asterisk 22, with sipp callers on the trunk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from callcenter.asterisk.agi import AsyncAgi, parse_agi_env
from callcenter.asterisk.client import AmiClient, ConnectionState, open_ami
from callcenter.asterisk.errors import (
    AgiChannelGone,
    AmiActionError,
    AmiAuthenticationError,
    AmiConnectionLost,
)
from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.link import PICKUP_COMMAND, PbxLink
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings
from tests.support.ami import config_for, next_event
from tests.support.proxy import FaultProxy
from tests.support.silent_phone import SilentPhone
from tests.support.sipp import SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]


async def test_login_then_core_show_channels_is_a_complete_multi_event_reply(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    async with open_ami(config_for(asterisk_settings)) as ami:
        assert ami.banner is not None
        assert ami.banner.startswith("Asterisk Call Manager/")
        with ami.subscribe({"AsyncAGIStart"}) as starts:
            caller = SippCaller(asterisk_settings.sip_port, "95555", hold_ms=20_000)
            await caller.start()
            try:
                start = await next_event(starts, "AsyncAGIStart")
                listing = await ami.action_list("CoreShowChannels")
            finally:
                await ami.action("Hangup", {"Channel": start.get("Channel") or ""}, check=False)
                await caller.kill()
    assert listing.response.get("EventList") == "start"
    assert listing.complete is not None
    assert listing.complete.name == "CoreShowChannelsComplete"
    assert int(listing.complete["ListItems"]) == len(listing.events) >= 1
    assert start.get("Channel") in {e.get("Channel") for e in listing.events}


async def test_trunk_call_gives_channel_lifecycle_and_async_agi_playback(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    async with open_ami(config_for(asterisk_settings)) as ami:
        with ami.subscribe() as events:
            caller = SippCaller(
                asterisk_settings.sip_port, "95555", caller="+8613912345678", hold_ms=15_000
            )
            await caller.start()
            newchannel = await next_event(events, "Newchannel", Exten="95555")
            start = await next_event(events, "AsyncAGIStart")
            channel = start["Channel"]
            assert channel == newchannel["Channel"]
            env = parse_agi_env(start["Env"])
            assert env["agi_callerid"] == "+8613912345678"
            assert env["agi_extension"] == "95555"
            assert env["agi_context"] == "from-carrier"

            agi = AsyncAgi(ami)
            await agi.execute(channel, PICKUP_COMMAND)  # as the service does first: no fallback
            answered = await agi.execute(channel, "ANSWER")
            played = await agi.execute(channel, 'STREAM FILE hello-world ""', timeout=20)
            await agi.execute(channel, "HANGUP")
            hangup = await next_event(events, "Hangup", Channel=channel)
        result = await caller.wait()

    assert answered.ok
    assert answered.result == "0"
    # STREAM FILE reports how far it played: hello-world is ~1.4 s of 8 kHz audio.
    assert played.ok
    assert played.result == "0"
    assert int(played.extras["endpos"]) > 8000
    assert hangup["Uniqueid"] == newchannel["Uniqueid"]
    assert result.succeeded, result.output  # sipp got 200 OK, then our BYE


async def test_wrong_secret_is_a_clear_error_and_is_not_retried(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    proxy = FaultProxy(asterisk_settings.ami_host, asterisk_settings.ami_port)
    await proxy.start()
    try:
        config = config_for(asterisk_settings, port=proxy.port, secret="not-the-secret")
        with pytest.raises(AmiAuthenticationError, match="callcenter-test") as caught:
            async with open_ami(config, connect_timeout=10):
                pass
        await asyncio.sleep(1.0)  # room for a retry storm to show up, if there were one
    finally:
        await proxy.stop()
    assert "not-the-secret" not in str(caught.value)
    assert proxy.connections == 1


async def test_dropped_link_fails_the_pending_action_and_never_resends_it(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    proxy = FaultProxy(asterisk_settings.ami_host, asterisk_settings.ami_port)
    await proxy.start()
    config = config_for(asterisk_settings, port=proxy.port, reconnect_min=0.05, reconnect_max=0.2)
    try:
        async with open_ami(config) as ami:
            with ami.connection_changes() as changes:
                proxy.hold_downstream = True  # Asterisk's reply will never reach the client
                pending = asyncio.create_task(
                    ami.action("UserEvent", {"UserEvent": "ResendProbe", "Marker": "once"})
                )
                await asyncio.sleep(0.3)
                assert not pending.done()
                proxy.hold_downstream = False
                proxy.cut()
                with pytest.raises(AmiConnectionLost, match="not resent"):
                    await pending
                states = [(await changes.get()).state for _ in range(3)]
                await ami.wait_connected(10)
                assert ami.generation == 2
                assert (await ami.action("Ping")).name == "Success"
    finally:
        await proxy.stop()
    assert states == [
        ConnectionState.DISCONNECTED,
        ConnectionState.CONNECTING,
        ConnectionState.CONNECTED,
    ]
    first, second = bytes(proxy.sent_by_client[0]), bytes(proxy.sent_by_client[1])
    assert first.count(b"ResendProbe") == 1
    assert b"ResendProbe" not in second
    assert second.startswith(b"Action: Login\r\n")


async def test_resync_after_an_outage_sees_the_call_that_started_meanwhile(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    proxy = FaultProxy(asterisk_settings.ami_host, asterisk_settings.ami_port)
    await proxy.start()
    config = config_for(asterisk_settings, port=proxy.port, reconnect_min=0.05, reconnect_max=0.2)
    client = AmiClient(config)
    tracker = ChannelTracker()
    link = PbxLink(client, tracker)
    runner = asyncio.create_task(client.run())
    linker = asyncio.create_task(link.run())
    caller = SippCaller(
        asterisk_settings.sip_port, "95556", caller="+8613700000001", hold_ms=30_000
    )
    try:
        await client.wait_connected(10)
        await asyncio.wait_for(link.resynced.wait(), 10)
        assert tracker.channels == {}
        link.resynced.clear()

        proxy.refuse = True
        proxy.cut()  # the service is blind from here on
        await caller.start()
        # Confirm with a separate session that the call exists while our client is away.
        async with open_ami(config_for(asterisk_settings)) as observer:
            for _ in range(100):
                listing = await observer.action_list("CoreShowChannels")
                if listing.events:
                    break
                await asyncio.sleep(0.05)
        assert tracker.channels == {}  # no event could have told us
        proxy.refuse = False
        await asyncio.wait_for(link.resynced.wait(), 15)
        live = list(tracker.channels.values())
        assert [c.caller_number for c in live] == ["+8613700000001"]
        assert live[0].exten == "95556"
        assert client.generation >= 2

        # Events keep the view exact after the resync: the hangup removes the channel.
        await client.action("Hangup", {"Channel": live[0].name})
        for _ in range(200):
            if not tracker.channels:
                break
            await asyncio.sleep(0.02)
        assert tracker.channels == {}
    finally:
        await caller.kill()
        await client.close()
        await asyncio.gather(runner, linker, return_exceptions=True)
        await proxy.stop()


def _restart_gracefully(asterisk: AsteriskInstance) -> None:
    asterisk.cli("core restart now")


def _crash_and_start_again(asterisk: AsteriskInstance) -> None:
    asterisk.kill()
    asterisk.up()


@pytest.mark.parametrize(
    ("restart", "pending_fails_with"),
    [
        # A graceful restart hangs up the originated channel first, so Asterisk itself may
        # still answer "Originate failed" before it closes the socket.
        pytest.param(_restart_gracefully, (AmiActionError, AmiConnectionLost), id="graceful"),
        # A crash answers nothing: the client must fail the action itself.
        pytest.param(_crash_and_start_again, (AmiConnectionLost,), id="crash"),
    ],
)
async def test_asterisk_restart_mid_session_fails_pending_actions_and_resyncs(
    asterisk: AsteriskInstance,
    asterisk_settings: Settings,
    restart: Callable[[AsteriskInstance], None],
    pending_fails_with: tuple[type[Exception], ...],
) -> None:
    config = config_for(asterisk_settings, reconnect_min=0.1, reconnect_max=0.5)
    client = AmiClient(config)
    tracker = ChannelTracker()
    link = PbxLink(client, tracker)
    runner = asyncio.create_task(client.run())
    linker = asyncio.create_task(link.run())
    phone = await SilentPhone.listen()
    caller = SippCaller(
        asterisk_settings.sip_port, "95558", caller="+8613700000003", hold_ms=60_000
    )
    try:
        await client.wait_connected(10)
        await asyncio.wait_for(link.resynced.wait(), 10)
        link.resynced.clear()
        generation = client.generation
        # A synchronous Originate answers only once the far end answers, and this phone never
        # does: the action is pending when Asterisk restarts.
        originate = asyncio.create_task(
            client.action(
                "Originate",
                {
                    "Channel": f"PJSIP/carrier/sip:4000@127.0.0.1:{phone.port}",
                    "Application": "Playback",
                    "Data": "hello-world",
                    "Timeout": "30000",
                    "Async": "false",
                },
                timeout=40,
            )
        )
        await asyncio.wait_for(phone.invited.wait(), 10)
        assert not originate.done()
        await asyncio.to_thread(restart, asterisk)
        with pytest.raises(pending_fails_with):
            await asyncio.wait_for(originate, 20)

        await asyncio.wait_for(link.resynced.wait(), 60)
        assert client.generation > generation
        assert client.state is ConnectionState.CONNECTED
        assert tracker.channels == {}  # the restart hung up every call

        await caller.start()  # a call placed after the restart is seen
        for _ in range(300):
            if tracker.channels:
                break
            await asyncio.sleep(0.02)
        assert [c.caller_number for c in tracker.channels.values()] == ["+8613700000003"]
        # Nothing was resent: the phone was called once, whatever the reconnect did.
        assert len(phone.call_ids) == 1
    finally:
        phone.close()
        await caller.kill()
        for live in list(tracker.channels.values()):
            await client.action("Hangup", {"Channel": live.name}, check=False)
        await client.close()
        await asyncio.gather(runner, linker, return_exceptions=True)


async def test_agi_command_after_the_caller_hung_up_says_the_channel_is_gone(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    async with open_ami(config_for(asterisk_settings)) as ami:
        with ami.subscribe({"AsyncAGIStart", "Hangup"}) as events:
            caller = SippCaller(asterisk_settings.sip_port, "95559", hold_ms=300)
            await caller.start()
            channel = (await next_event(events, "AsyncAGIStart"))["Channel"]
            agi = AsyncAgi(ami)
            await agi.execute(channel, "ANSWER")
            await next_event(events, "Hangup", Channel=channel)  # the caller's BYE
            with pytest.raises(AgiChannelGone, match="does not exist"):
                await agi.execute(channel, 'STREAM FILE hello-world ""')
        result = await caller.wait()
    assert result.succeeded, result.output
