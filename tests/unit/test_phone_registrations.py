"""Which phones are registered (callcenter/pbx/registrations.py), against an AMI client we
own: the ``DeviceStateList`` snapshot on every login, ``DeviceStateChange`` events after it,
and "cannot tell" while the link is down. The messages are as Asterisk 22 sent them in the
sandbox (a phone registering as 1001, then unregistering with ``Expires: 0``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import pytest

from callcenter.asterisk.errors import AmiTimeout
from callcenter.asterisk.protocol import Message
from callcenter.pbx.registrations import Ami, PhoneRegistrations
from tests.fakes.fake_ami_client import FakeAmiClient, event

SAFETY = 5.0


def listed(device: str, state: str) -> Message:
    """One entry of the DeviceStateList answer (ActionID aside, as the sandbox sent it)."""
    return event("DeviceStateChange", Device=device, State=state)


def live(device: str, state: str) -> Message:
    return event(
        "DeviceStateChange",
        Privilege="call,all",
        Timestamp="1796626330.584674",
        SystemName="pytest",
        Device=device,
        State=state,
    )


# The sandbox at rest: the trunk and every phone unavailable (nothing registered), but 1001.
AT_REST = [
    listed("PJSIP/carrier", "UNAVAILABLE"),
    listed("PJSIP/1901", "UNAVAILABLE"),
    listed("PJSIP/1001", "NOT_INUSE"),
    listed("PJSIP/1002", "UNAVAILABLE"),
    listed("PJSIP/2001", "UNAVAILABLE"),
    listed("Queue:general_avail", "INVALID"),  # other devices are listed too: not phones
]


class Watcher:
    def __init__(self) -> None:
        self.told = 0
        self.changed = asyncio.Event()

    def phones_changed(self) -> None:
        self.told += 1
        self.changed.set()


class Harness:
    def __init__(self, ami: FakeAmiClient, phones: PhoneRegistrations, watcher: Watcher) -> None:
        self.ami = ami
        self.phones = phones
        self.watcher = watcher

    async def listed(self, count: int, entries: list[Message], taken: int | None = None) -> None:
        """Answer the ``count``-th DeviceStateList, and wait until the picture holds (the
        ``taken``-th snapshot taken: ``count`` unless some failed)."""
        listing = await self.ami.next_list(count)
        assert listing.name == "DeviceStateList"
        listing.answer(entries)
        await snapshots(self.phones, taken or count)

    async def asked(self, extension: str, afresh: list[Message]) -> bool | None:
        """``registered(extension)`` where the picture says "not registered": the registry
        lists the device states afresh before it answers (a phone may have registered a
        moment ago), and ``afresh`` is that list's answer."""
        count = len(self.ami.lists) + 1
        asked = asyncio.create_task(self.phones.registered(extension))
        listing = await self.ami.next_list(count)
        assert listing.name == "DeviceStateList"
        listing.answer(afresh)
        async with asyncio.timeout(SAFETY):
            return await asked

    async def seen(self, message: Message) -> None:
        """Emit ``message`` and wait until the registry applied it (events are applied in
        order, so one more marker event after it tells)."""
        self.ami.emit(message)
        await settle()


async def snapshots(phones: PhoneRegistrations, count: int) -> None:
    """Return once ``count`` snapshots were taken (the registry's tasks run meanwhile)."""
    async with asyncio.timeout(SAFETY):
        while phones.snapshots < count:  # noqa: ASYNC110 - a counter, bounded by the timeout
            await asyncio.sleep(0)


async def settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def _started(ami: FakeAmiClient) -> AsyncIterator[Harness]:
    phones = PhoneRegistrations(cast(Ami, ami), snapshot_wait=0.05)
    watcher = Watcher()
    phones.watch(watcher)
    runner = asyncio.create_task(phones.run())
    try:
        await ami.listening()
        yield Harness(ami, phones, watcher)
    finally:
        ami.close()
        async with asyncio.timeout(SAFETY):
            await runner


@pytest.fixture
async def reg() -> AsyncIterator[Harness]:
    async for harness in _started(FakeAmiClient()):
        yield harness


async def test_before_any_login_nothing_can_be_told(reg: Harness) -> None:
    assert await reg.phones.registered("1001") is None
    assert not reg.phones.current


async def test_the_snapshot_of_a_login_says_which_phones_are_registered(reg: Harness) -> None:
    reg.ami.connect()
    await reg.listed(1, AT_REST)

    assert await reg.phones.registered("1001") is True
    assert reg.watcher.told == 1  # ready agents are checked against every new picture
    assert await reg.asked("1002", AT_REST) is False
    assert await reg.asked("1901", AT_REST) is False
    assert await reg.asked("1003", AT_REST) is False  # never listed: no phone


async def test_a_phone_registered_a_moment_ago_is_found_by_asking_the_pbx_afresh(
    reg: Harness,
) -> None:
    reg.ami.connect()
    await reg.listed(1, AT_REST)
    # 1002 registered, but its DeviceStateChange has not reached the service yet: the agent
    # pressing ready then is not refused, the list taken before answering shows the phone.
    now = [entry for entry in AT_REST if entry.get("Device") != "PJSIP/1002"]
    assert await reg.asked("1002", [*now, listed("PJSIP/1002", "NOT_INUSE")]) is True
    assert await reg.phones.registered("1002") is True  # and it is kept: no list this time
    assert len(reg.ami.lists) == 2


async def test_a_question_asked_while_the_snapshot_is_listed_waits_for_it(reg: Harness) -> None:
    reg.phones.snapshot_wait = SAFETY
    reg.ami.connect()
    asked = asyncio.create_task(reg.phones.registered("1001"))
    listing = await reg.ami.next_list(1)
    await settle()
    assert not asked.done()
    listing.answer(AT_REST)
    async with asyncio.timeout(SAFETY):
        assert await asked is True


async def test_a_phone_that_registers_then_unregisters_is_followed_live(reg: Harness) -> None:
    reg.ami.connect()
    await reg.listed(1, AT_REST)
    told = reg.watcher.told

    await reg.seen(live("PJSIP/1002", "NOT_INUSE"))  # registered
    assert await reg.phones.registered("1002") is True
    assert reg.watcher.told == told  # a phone that comes takes nobody out

    await reg.seen(live("PJSIP/1002", "RINGING"))  # a call: still registered
    await reg.seen(live("PJSIP/1002", "INUSE"))
    assert await reg.phones.registered("1002") is True
    assert reg.watcher.told == told

    await reg.seen(live("PJSIP/1002", "UNAVAILABLE"))  # Expires: 0
    assert reg.watcher.told == told + 1
    assert await reg.asked("1002", AT_REST) is False


async def test_a_phone_gone_while_the_list_was_under_way_stays_gone(reg: Harness) -> None:
    reg.ami.connect()
    listing = await reg.ami.next_list(1)
    # One synchronous step, in wire order: the live event reached us after the list began
    # and before its end; the list itself still shows the phone (it was built earlier).
    reg.ami.emit(live("PJSIP/1001", "UNAVAILABLE"))
    listing.answer(AT_REST)
    await snapshots(reg.phones, 1)

    assert reg.phones.registered_now("1001") is False
    assert await reg.asked("1001", [listed("PJSIP/1001", "UNAVAILABLE")]) is False


async def test_a_lost_link_cannot_tell_and_the_next_login_lists_again(reg: Harness) -> None:
    reg.ami.connect()
    await reg.listed(1, AT_REST)
    reg.ami.drop()
    await settle()
    assert await reg.phones.registered("1001") is None

    reg.ami.connect()
    await reg.listed(2, [listed("PJSIP/1001", "UNAVAILABLE")])  # it went meanwhile
    assert reg.phones.registered_now("1001") is False
    assert reg.watcher.told == 2  # each picture is checked


async def test_a_snapshot_refused_is_tried_again_while_the_session_lasts(reg: Harness) -> None:
    reg.ami.connect()
    first = await reg.ami.next_list(1)
    first.fail(AmiTimeout("no reply to DeviceStateList"))
    await settle()
    assert await reg.phones.registered("1001") is None
    await reg.listed(2, AT_REST, taken=1)
    assert await reg.phones.registered("1001") is True


async def test_events_lost_make_the_picture_unknown_until_it_is_listed_again() -> None:
    # A subscription of one event: two in one read overflow it, as a registry that fell
    # behind the reader would (the reader never waits: it drops and says so).
    async for reg in _started(FakeAmiClient(event_queue_size=1)):
        reg.ami.connect()
        await reg.listed(1, AT_REST)
        reg.ami.emit(live("PJSIP/1002", "NOT_INUSE"))
        reg.ami.emit(live("PJSIP/1002", "UNAVAILABLE"))
        await settle()
        assert await reg.phones.registered("1002") is None  # may have missed a change
        await reg.listed(2, AT_REST)
        assert reg.phones.registered_now("1002") is False


async def test_either_line_of_an_extension_registers_it_and_the_browser_rings_first(
    reg: Harness,
) -> None:
    # Issue 19: <ext> is the desk phone, <ext>-web the browser; both are endpoints of their own.
    reg.ami.connect()
    await reg.listed(
        1,
        [
            *AT_REST,
            listed("PJSIP/1001-web", "UNAVAILABLE"),
            listed("PJSIP/1002-web", "NOT_INUSE"),  # only the browser
        ],
    )
    assert await reg.phones.registered("1002") is True
    assert reg.phones.line_for("1002") == "1002-web"
    assert reg.phones.line_for("1001") == "1001"  # the desk phone alone
    assert reg.phones.line_for("1003") == "1003"  # nothing: the desk line, as before

    await reg.seen(live("PJSIP/1001-web", "NOT_INUSE"))  # the browser too: it rings first
    assert reg.phones.line_for("1001") == "1001-web"
    told = reg.watcher.told
    await reg.seen(live("PJSIP/1001", "UNAVAILABLE"))  # the desk phone goes; the browser stays
    assert reg.phones.registered_now("1001") is True
    await reg.seen(live("PJSIP/1001-web", "UNAVAILABLE"))  # and the browser: none is left
    assert reg.phones.registered_now("1001") is False
    assert reg.phones.line_for("1001") == "1001"
    assert reg.watcher.told == told + 2  # ready agents are checked at each loss
