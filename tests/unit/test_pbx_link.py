"""PbxLink: the channel view stays exact across snapshots, reconnects and lost events.

The AMI side is a fake client we own (``tests/fakes/fake_ami_client.py``); the real client
under the same link is covered by the integration tests against the sandbox Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import pytest

from callcenter.asterisk.agi import AgiResult, AsyncAgi
from callcenter.asterisk.client import AmiClient
from callcenter.asterisk.errors import AmiConnectionLost, AmiTimeout
from callcenter.asterisk.protocol import Message
from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.link import PICKUP_COMMAND, RELEASE_COMMAND, AgiCall, PbxLink
from tests.fakes.fake_agi import AgiCommand, FakeAgi
from tests.fakes.fake_ami_client import FakeAmiClient, event

SAFETY = 5.0  # seconds; a safety net for waits that end on events

CARRIER = "PJSIP/carrier-00000001"
AGENT = "PJSIP/1001-00000002"


def listed(uniqueid: str, channel: str) -> dict[str, str]:
    return {"Channel": channel, "ChannelStateDesc": "Up", "Uniqueid": uniqueid}


def snapshot(*channels: dict[str, str]) -> list:  # type: ignore[type-arg]
    return [event("CoreShowChannel", **fields) for fields in channels]


class PickingUpAgi(FakeAgi):
    """Async AGI where the pickup (the link's first command on a call) runs at once, as it
    does on a channel parked in Async AGI; every other command waits for the test."""

    async def execute(self, channel: str, command: str, **kwargs: object) -> AgiResult:
        if command == PICKUP_COMMAND:
            asyncio.get_running_loop().call_soon(self._run_pickups)
        return await super().execute(channel, command, **kwargs)  # type: ignore[arg-type]

    def _run_pickups(self) -> None:
        for waiting in self.waiting():
            if waiting.command == PICKUP_COMMAND:
                waiting.answer("200 result=1")


def new_link(
    ami: FakeAmiClient, handler: Callable[[AgiCall], Awaitable[None]], agi: FakeAgi | None = None
) -> PbxLink:
    agi = agi or PickingUpAgi(ami)
    return PbxLink(cast(AmiClient, ami), ChannelTracker(), handler, agi=cast(AsyncAgi, agi))


class Harness:
    def __init__(self, ami: FakeAmiClient, link: PbxLink, calls: asyncio.Queue[AgiCall]) -> None:
        self.ami = ami
        self.link = link
        self.calls = calls

    @property
    def channels(self) -> list[str]:
        return sorted(self.link.tracker.channels)

    async def resynced(self) -> None:
        async with asyncio.timeout(SAFETY):
            await self.link.resynced.wait()
        self.link.resynced.clear()


async def _start(ami: FakeAmiClient) -> AsyncIterator[Harness]:
    calls: asyncio.Queue[AgiCall] = asyncio.Queue()

    async def handler(call: AgiCall) -> None:
        await calls.put(call)

    link = new_link(ami, handler)
    runner = asyncio.create_task(link.run())
    try:
        await ami.listening()
        yield Harness(ami, link, calls)
    finally:
        ami.close()
        async with asyncio.timeout(SAFETY):
            await runner


@pytest.fixture
async def pbx() -> AsyncIterator[Harness]:
    async for harness in _start(FakeAmiClient()):
        yield harness


async def test_connect_replaces_a_stale_view_with_the_snapshot(pbx: Harness) -> None:
    pbx.link.tracker.apply(event("Newchannel", Channel=AGENT, Uniqueid="1764057600.9"))

    pbx.ami.connect()
    (await pbx.ami.next_list(1)).answer(snapshot(listed("1764057600.1", CARRIER)))
    await pbx.resynced()

    assert pbx.channels == ["1764057600.1"]
    assert pbx.link.last_resync_generation == 1


async def test_link_started_on_a_session_already_logged_in_resyncs_at_once() -> None:
    ami = FakeAmiClient()
    ami.connect()  # its CONNECTED change went by before the link listened

    async for pbx in _start(ami):
        (await pbx.ami.next_list(1)).answer(snapshot(listed("1764057600.1", CARRIER)))
        await pbx.resynced()

        assert pbx.channels == ["1764057600.1"]
        assert pbx.link.last_resync_generation == 1


@pytest.mark.parametrize("hangup_before_complete", [True, False])
async def test_channel_that_hangs_up_while_the_snapshot_is_listed_does_not_come_back(
    pbx: Harness, hangup_before_complete: bool
) -> None:
    pbx.ami.connect()
    listing = await pbx.ami.next_list(1)
    hangup = event("Hangup", Channel=CARRIER, Uniqueid="1764057600.1", Cause="16")
    born = event("Newchannel", Channel=AGENT, ChannelStateDesc="Down", Uniqueid="1764057600.2")
    # One synchronous step, as the reader dispatches one read: the wire order is kept.
    pbx.ami.emit(born)
    if hangup_before_complete:
        pbx.ami.emit(hangup)
    listing.answer(snapshot(listed("1764057600.1", CARRIER)))
    if not hangup_before_complete:
        pbx.ami.emit(hangup)
    await pbx.resynced()
    # An event after everything above: once it is seen, all of them were applied.
    pbx.ami.emit(event("AsyncAGIStart", Channel=AGENT, Uniqueid="1764057600.2", Env=""))
    async with asyncio.timeout(SAFETY):
        await pbx.calls.get()

    assert pbx.channels == ["1764057600.2"]


async def test_resync_cut_short_by_a_reconnect_is_redone_on_the_new_session(
    pbx: Harness,
) -> None:
    pbx.ami.connect()
    first = await pbx.ami.next_list(1)
    pbx.ami.emit(event("Newchannel", Channel=CARRIER, Uniqueid="1764057600.1"))

    pbx.ami.drop()  # the list of generation 1 never completes
    # The carrier leg hangs up while we are disconnected: its Hangup is lost for good.
    pbx.ami.connect()
    second = await pbx.ami.next_list(2)
    second.answer(snapshot(listed("1764057600.2", AGENT)))
    await pbx.resynced()

    assert (first.generation, second.generation) == (1, 2)
    assert pbx.link.last_resync_generation == 2
    assert pbx.channels == ["1764057600.2"]


async def test_events_lost_by_a_slow_link_trigger_a_resync() -> None:
    async for pbx in _start(FakeAmiClient(event_queue_size=4)):
        pbx.ami.connect()
        (await pbx.ami.next_list(1)).answer([])
        await pbx.resynced()

        # More events in one read than the link's queue holds: some are dropped.
        for n in range(1, 7):
            pbx.ami.emit(event("Newchannel", Channel=f"PJSIP/1001-{n:08d}", Uniqueid=f"1.{n}"))
        (await pbx.ami.next_list(2)).answer(
            snapshot(*(listed(f"1.{n}", f"PJSIP/1001-{n:08d}") for n in range(1, 7)))
        )
        await pbx.resynced()

        assert pbx.channels == [f"1.{n}" for n in range(1, 7)]


async def test_async_agi_start_hands_the_call_to_the_handler(pbx: Harness) -> None:
    pbx.ami.connect()
    pbx.ami.emit(
        event(
            "AsyncAGIStart",
            Channel=CARRIER,
            Uniqueid="1764057600.1",
            Env="agi_callerid%3A%2013800138000%0Aagi_extension%3A%204008001234%0A%0A",
        )
    )

    async with asyncio.timeout(SAFETY):
        call = await pbx.calls.get()

    assert (call.channel, call.uniqueid) == (CARRIER, "1764057600.1")
    assert (call.caller_number, call.called_number) == ("13800138000", "4008001234")
    assert pbx.link.calls_handled == 1


async def test_resync_that_fails_while_connected_is_retried(
    pbx: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("callcenter.pbx.link.RESYNC_RETRY_MIN", 0.01)
    pbx.ami.connect()
    (await pbx.ami.next_list(1)).fail(AmiTimeout("no reply to CoreShowChannels"))
    # Same session, no reconnect: the link asks again by itself.
    (await pbx.ami.next_list(2)).answer(snapshot(listed("1764057600.9", AGENT)))
    await pbx.resynced()
    assert pbx.channels == ["1764057600.9"]
    assert pbx.link.last_resync_generation == 1


async def test_repeated_overflows_merge_into_one_resync() -> None:
    async for pbx in _start(FakeAmiClient(event_queue_size=2)):
        pbx.ami.connect()
        first = await pbx.ami.next_list(1)  # still listing while the floods come
        for flood in range(3):
            for n in range(5):
                pbx.ami.emit(event("Newstate", Channel=AGENT, Uniqueid=f"{flood}.{n}"))
            await asyncio.sleep(0)  # let the link read (and lose) each flood
        first.answer([])
        second = await pbx.ami.next_list(2)
        second.answer([])
        await pbx.resynced()
        await asyncio.sleep(0.05)
        # One snapshot for the session, one for all the floods together: not one per flood.
        assert len(pbx.ami.lists) == 2


@contextlib.asynccontextmanager
async def long_calls() -> AsyncIterator[tuple[FakeAmiClient, asyncio.Queue[AgiCall]]]:
    """A running link whose handler holds each call until its session ends; the calls it
    was given, in order."""
    ami = FakeAmiClient()
    calls: asyncio.Queue[AgiCall] = asyncio.Queue()

    async def handler(call: AgiCall) -> None:  # a call's handler runs as long as the call
        await calls.put(call)
        await call.ended.wait()

    runner = asyncio.create_task(new_link(ami, handler).run())
    try:
        yield ami, calls
    finally:
        ami.close()
        await asyncio.wait_for(runner, SAFETY)


async def test_async_agi_end_marks_the_session_of_a_call_still_in_its_handler() -> None:
    async with long_calls() as (ami, calls):
        await ami.listening()
        ami.connect()
        ami.emit(event("AsyncAGIStart", Channel=CARRIER, Uniqueid="1764057600.2", Env=""))
        async with asyncio.timeout(SAFETY):
            call = await calls.get()
        assert not call.ended.is_set()
        ami.emit(event("AsyncAGIEnd", Channel="PJSIP/other-00000009"))  # another channel
        assert not call.ended.is_set()
        ami.emit(event("AsyncAGIEnd", Channel=CARRIER))
        async with asyncio.timeout(SAFETY):
            await call.ended.wait()


async def test_a_call_gone_from_the_snapshot_after_a_reconnect_is_ended() -> None:
    """Its caller hung up while the link was down: the AsyncAGIEnd went to nobody, and a
    waiting caller who is gone must not be offered to an agent once the link is back."""
    async with long_calls() as (ami, calls):
        await ami.listening()
        ami.connect()
        (await ami.next_list(1)).answer(snapshot())
        for n, channel in enumerate((CARRIER, "PJSIP/carrier-00000003")):
            ami.emit(event("AsyncAGIStart", Channel=channel, Uniqueid=f"1764057600.{n}", Env=""))
        async with asyncio.timeout(SAFETY):
            gone, staying = await calls.get(), await calls.get()
        ami.drop()
        ami.connect()
        (await ami.next_list(2)).answer(snapshot(listed(staying.uniqueid, staying.channel)))
        async with asyncio.timeout(SAFETY):
            await gone.ended.wait()
        assert not staying.ended.is_set()
        ami.emit(event("AsyncAGIEnd", Channel=staying.channel))


# --- picking a call up: the dialplan's deadline, and the fallback -----------------------------


async def settle(rounds: int = 20) -> None:
    """Let every ready task run until all of them wait on something (no time passes)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class PickupHarness:
    """A link whose AGI commands all wait for the test, and a handler the test controls."""

    def __init__(self) -> None:
        self.ami = FakeAmiClient()
        self.agi = FakeAgi(self.ami)
        self.handled: list[tuple[AgiCall, list[str]]] = []  # each call, the commands before
        self.failure: Exception | None = None
        self.link = new_link(self.ami, self._handler, self.agi)

    async def _handler(self, call: AgiCall) -> None:
        self.handled.append((call, self.commands()))
        if self.failure is not None:
            raise self.failure

    def commands(self) -> list[str]:
        return [c.command for c in self.agi.commands]

    def waiting(self) -> AgiCommand:
        [command] = self.agi.waiting()
        return command

    def start_call(self) -> None:
        self.ami.emit(event("AsyncAGIStart", Channel=CARRIER, Uniqueid="1764057600.1", Env=""))


@pytest.fixture
async def pickup() -> AsyncIterator[PickupHarness]:
    harness = PickupHarness()
    runner = asyncio.create_task(harness.link.run())
    try:
        await harness.ami.listening()
        harness.ami.connect()
        yield harness
    finally:
        harness.ami.close()
        async with asyncio.timeout(SAFETY):
            await runner


async def test_the_pickup_deadline_is_cancelled_before_the_handler_gets_the_call(
    pickup: PickupHarness,
) -> None:
    pickup.start_call()
    await settle()
    assert pickup.handled == []  # the handler waits for the pickup
    pickup.waiting().answer("200 result=1")
    await settle()
    [(call, before)] = pickup.handled
    assert call.uniqueid == "1764057600.1"
    assert before == [PICKUP_COMMAND]
    assert PICKUP_COMMAND == "SET VARIABLE TIMEOUT(absolute) 0"


async def test_a_call_whose_deadline_fired_first_is_left_to_the_fallback(
    pickup: PickupHarness,
) -> None:
    pickup.start_call()
    await settle()
    assert pickup.commands() == [PICKUP_COMMAND]
    # The deadline fired in Asterisk before the pickup ran: the channel left Async AGI.
    pickup.ami.emit(event("AsyncAGIEnd", Channel=CARRIER, Uniqueid="1764057600.1"))
    await settle()
    assert pickup.handled == []
    assert pickup.commands() == [PICKUP_COMMAND]  # nothing more is sent to the call
    assert (pickup.link.calls_handled, pickup.link.calls_missed) == (1, 1)


async def test_a_pickup_without_an_answer_hands_the_call_to_the_fallback(
    pickup: PickupHarness,
) -> None:
    pickup.start_call()
    await settle()
    pickup.waiting().fail(AmiTimeout("no result for AGI SET within 65s"))
    await settle()
    assert pickup.commands() == [PICKUP_COMMAND, RELEASE_COMMAND]
    pickup.waiting().answer("200 result=0")
    await settle()
    assert pickup.handled == []


async def test_a_handler_that_fails_gives_its_caller_to_the_fallback(
    pickup: PickupHarness, caplog: pytest.LogCaptureFixture
) -> None:
    pickup.failure = RuntimeError("a bug in the IVR")
    pickup.start_call()
    await settle()
    pickup.waiting().answer("200 result=1")
    await settle()
    assert pickup.commands() == [PICKUP_COMMAND, RELEASE_COMMAND]
    assert RELEASE_COMMAND == "ASYNCAGI BREAK"
    pickup.waiting().answer("200 result=0")
    await settle()
    assert "handed to the dialplan's fallback" in caplog.text


async def test_a_handler_that_fails_after_its_caller_left_sends_nothing_more(
    pickup: PickupHarness,
) -> None:
    pickup.failure = RuntimeError("a bug in the IVR")
    pickup.start_call()
    await settle()
    pickup.ami.emit(event("AsyncAGIEnd", Channel=CARRIER, Uniqueid="1764057600.1"))
    pickup.waiting().answer("200 result=1")  # ran just before the caller hung up
    await settle()
    assert len(pickup.handled) == 1
    assert pickup.commands() == [PICKUP_COMMAND]


@pytest.mark.parametrize("caller_stayed", [True, False], ids=["still-there", "hung-up"])
async def test_a_handler_that_lost_the_link_hands_a_caller_still_there_to_the_fallback(
    pickup: PickupHarness, caller_stayed: bool
) -> None:
    """The deadline is cleared and this run adopts no call: once the link is back, a caller
    whose handler could not ride out the loss goes to the fallback, not to silence."""
    pickup.failure = AmiConnectionLost("AMI connection lost")
    pickup.start_call()
    await settle()
    pickup.waiting().answer("200 result=1")
    await settle()
    assert len(pickup.handled) == 1
    assert pickup.commands() == [PICKUP_COMMAND]  # nothing sent before the view is rebuilt
    channels = [listed("1764057600.1", CARRIER)] if caller_stayed else []
    (await pickup.ami.next_list(1)).answer(snapshot(*channels))
    await settle()
    if caller_stayed:
        assert pickup.commands() == [PICKUP_COMMAND, RELEASE_COMMAND]
        pickup.waiting().answer("200 result=0")
    else:
        assert pickup.commands() == [PICKUP_COMMAND]


async def test_an_event_the_view_cannot_take_is_logged_and_the_link_goes_on(
    pbx: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_apply = pbx.link.tracker.apply

    def apply(message: Message) -> None:
        if message.get("Uniqueid") == "bad":
            raise ValueError("a header the view cannot read")
        real_apply(message)

    monkeypatch.setattr(pbx.link.tracker, "apply", apply)
    pbx.ami.connect()
    (await pbx.ami.next_list(1)).answer(snapshot())
    pbx.ami.emit(event("Newchannel", Channel=AGENT, Uniqueid="bad"))
    (await pbx.ami.next_list(2)).answer(snapshot())  # a resync instead of a dead link
    pbx.ami.emit(event("Newchannel", Channel=AGENT, Uniqueid="1764057600.9"))
    await asyncio.sleep(0.05)
    assert pbx.channels == ["1764057600.9"]
