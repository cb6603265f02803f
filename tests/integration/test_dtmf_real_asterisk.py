"""Callers press keys (RFC 4733 events from sip-tester's captures) and the real Asterisk takes
them: GET DATA over Async AGI returns the digits, and DTMFEnd events reach our AMI user."""

from __future__ import annotations

import itertools
import struct
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from callcenter.asterisk.agi import AgiResult, AsyncAgi
from callcenter.asterisk.client import open_ami
from callcenter.asterisk.errors import AgiChannelGone
from callcenter.asterisk.protocol import Message
from callcenter.asterisk.subscription import Subscription
from callcenter.pbx.link import PICKUP_COMMAND
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings
from tests.support.ami import config_for, next_event
from tests.support.dtmf import (
    KEY_CAPTURES,
    KEY_EVENTS,
    ExpectHangup,
    Hangup,
    KeypadCaller,
    KeypadCallResult,
    Keys,
    Step,
    Wait,
    load_key,
    plan_script,
    telephone_event,
)
from tests.support.sipp import PCMU_PT, TELEPHONE_EVENT_PT

pytestmark = pytest.mark.timeout(120)

HOTLINE = "95566"
# A core sound, short: GET DATA plays it, then waits for the rest of the digits.
PROMPT = "beep"


# --- the captures and the stream (no Asterisk) --------------------------------------------------


@pytest.mark.parametrize("key", sorted(KEY_CAPTURES))
def test_every_key_has_a_capture_of_its_own_telephone_event(key: str) -> None:
    assert telephone_event(load_key(key)) == (TELEPHONE_EVENT_PT, KEY_EVENTS[key])


def _rtp_fields(packet: bytes) -> tuple[int, int, int, int]:
    """(payload type, sequence number, timestamp, SSRC)."""
    first, seq, timestamp, ssrc = struct.unpack_from(">HHII", packet)
    return first & 0x7F, seq, timestamp, ssrc


def test_a_repeated_key_is_a_new_event_with_a_later_timestamp() -> None:
    stream = plan_script([Wait(0.1), Keys("11")], hold=0.2).stream
    fields = [_rtp_fields(packet) for _, packet in sorted(stream.packets, key=lambda p: p[0])]
    events = [f for f in fields if f[0] == TELEPHONE_EVENT_PT]
    timestamps = sorted({f[2] for f in events})
    assert len(events) == 2 * len(load_key("1").records)
    assert len(timestamps) == 2  # one per key press, the second later than the first
    assert len({f[3] for f in fields}) == 1  # one SSRC for the whole call
    seqs = [f[1] for f in fields]
    assert all(b - a in (0, 1) for a, b in itertools.pairwise(seqs))


def test_a_caller_sends_silence_between_keys_but_never_during_one() -> None:
    stream = plan_script([Wait(0.1), Keys("5")], hold=0.2).stream
    key_at = stream.keys[0][1]
    audio = [at for at, packet in stream.packets if _rtp_fields(packet)[0] == PCMU_PT]
    assert [key for key, _ in stream.keys] == ["5"]
    assert audio[0] == 0.0
    assert not [at for at in audio if key_at <= at < key_at + 0.14]
    assert max(audio) > key_at + 0.14  # audio resumes after the key


def test_a_silent_caller_sends_only_the_keys() -> None:
    stream = plan_script([Wait(0.5), Keys("5")], hold=0.2, audio=False).stream
    assert {_rtp_fields(packet)[0] for _, packet in stream.packets} == {TELEPHONE_EVENT_PT}
    assert stream.lead == pytest.approx(0.5)


# --- against the real Asterisk ------------------------------------------------------------------


@dataclass
class Call:
    agi: AsyncAgi
    channel: str
    caller: KeypadCaller
    dtmf: Subscription[Message]
    agi_events: Subscription[Message]
    hangups: Subscription[Message]

    async def run(self, command: str) -> AgiResult:
        return await self.agi.execute(self.channel, command, timeout=20)

    def digits_received(self) -> str:
        """The digits of the DTMFEnd events Asterisk reported for this call, in order."""
        ends = self.events(self.dtmf)
        assert all(e["Direction"] == "Received" for e in ends)
        return "".join(e["Digit"] or "" for e in ends)

    def events(self, sub: Subscription[Message]) -> list[Message]:
        found = []
        while (event := sub.get_nowait()) is not None:
            if event["Channel"] == self.channel:
                found.append(event)
        return found


@asynccontextmanager
async def hotline_call(settings: Settings, script: Sequence[Step]) -> AsyncIterator[Call]:
    """A call to the hotline from a caller that plays ``script``, parked in Async AGI and
    answered."""
    async with open_ami(config_for(settings)) as ami:
        with (
            ami.subscribe({"AsyncAGIStart"}) as starts,
            ami.subscribe({"DTMFEnd"}) as dtmf,
            ami.subscribe({"AGIExecStart", "AGIExecEnd"}) as agi_events,
            ami.subscribe({"Hangup"}) as hangups,
        ):
            caller = KeypadCaller(settings.sip_port, HOTLINE, script, hold=5.0)
            await caller.start()
            try:
                channel = (await next_event(starts, "AsyncAGIStart"))["Channel"]
                assert channel is not None
                call = Call(AsyncAgi(ami), channel, caller, dtmf, agi_events, hangups)
                await call.run(PICKUP_COMMAND)  # as the service does first: no fallback
                await call.run("ANSWER")
                yield call
            finally:
                await caller.kill()


async def hang_up(call: Call) -> KeypadCallResult:
    await call.run("HANGUP")
    return await call.caller.wait()


@pytest.mark.asterisk
async def test_get_data_returns_the_keys_the_caller_pressed(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    async with hotline_call(asterisk_settings, [Wait(0.3), Keys("1234")]) as call:
        got = await call.run(f"GET DATA {PROMPT} 5000 4")
        result = await hang_up(call)
        dtmf_ends = call.events(call.dtmf)
        agi_events = call.events(call.agi_events)
    assert got.result == "1234"
    assert got.data is None  # all four digits came, no timeout
    assert "".join(e["Digit"] or "" for e in dtmf_ends) == "1234"
    assert all(e["Direction"] == "Received" for e in dtmf_ends)
    # timestampevents = yes: the clock a benchmark can read, the same as the caller's log.
    for (key, sent_at), end in zip(result.keys, dtmf_ends, strict=True):
        assert end["Digit"] == key
        assert float(end["Timestamp"] or "0") >= sent_at
    assert [(e.name, e["Command"]) for e in agi_events][:4] == [
        ("AGIExecStart", PICKUP_COMMAND),
        ("AGIExecEnd", PICKUP_COMMAND),
        ("AGIExecStart", "ANSWER"),
        ("AGIExecEnd", "ANSWER"),
    ]
    assert ("AGIExecEnd", f"GET DATA {PROMPT} 5000 4") in [
        (e.name, e["Command"]) for e in agi_events
    ]
    assert result.succeeded, result.output
    assert result.log.far_end_hung_up
    assert result.keys_sent == "1234"


@pytest.mark.asterisk
async def test_pound_ends_get_data_before_its_timeout(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    async with hotline_call(asterisk_settings, [Wait(0.3), Keys("12#")]) as call:
        got = await call.run(f"GET DATA {PROMPT} 10000 8")
        result = await hang_up(call)
    assert got.result == "12"
    assert got.data is None  # "(timeout)" if # had not ended it
    assert call.digits_received() == "12#"
    assert result.succeeded, result.output


@pytest.mark.asterisk
async def test_repeated_keys_and_keys_in_any_order_all_arrive(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    # As shipped, the captures would lose the second 1 and the 0 after 9 (older timestamps).
    async with hotline_call(asterisk_settings, [Wait(0.3), Keys("91102#")]) as call:
        got = await call.run(f"GET DATA {PROMPT} 5000 8")
        result = await hang_up(call)
    assert got.result == "91102"
    assert result.succeeded, result.output


@pytest.mark.asterisk
async def test_keys_pressed_while_no_agi_command_runs_are_lost(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    """Between commands, Async AGI reads the caller's frames and drops them: an IVR must keep
    a command that collects digits running while a caller may type ahead."""
    script: list[Step] = [Wait(0.3), Keys("5"), Wait(1.0), Keys("67")]
    async with hotline_call(asterisk_settings, script) as call:
        await next_event(call.dtmf, "DTMFEnd", Digit="5", Channel=call.channel)
        got = await call.run(f"GET DATA {PROMPT} 5000 2")
        result = await hang_up(call)
    assert got.result == "67"  # "56" if the 5 had waited for it
    assert result.keys_sent == "567"


@pytest.mark.asterisk
async def test_the_caller_answers_a_bye_that_comes_while_it_presses_keys(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    async with hotline_call(asterisk_settings, [Wait(0.3), Keys("123456789", gap=0.2)]) as call:
        got = await call.run(f"GET DATA {PROMPT} 5000 2")
        result = await hang_up(call)
    assert got.result == "12"
    assert result.succeeded, result.output
    assert result.log.far_end_hung_up
    assert result.keys_sent.startswith("12")
    assert len(result.keys_sent) < 9


@pytest.mark.asterisk
async def test_the_caller_can_hang_up_itself(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    async with hotline_call(asterisk_settings, [Wait(0.3), Keys("7"), Hangup()]) as call:
        try:
            got: AgiResult | None = await call.run(f"GET DATA {PROMPT} 5000 4")
        except AgiChannelGone:
            got = None  # the BYE overtook the command
        result = await call.caller.wait()
    # GET DATA answers -1 when the caller hangs up while it waits.
    assert got is None or got.result == "-1"
    assert result.succeeded, result.output
    assert result.log.caller_hung_up
    assert not result.log.far_end_hung_up


@pytest.mark.asterisk
async def test_a_caller_expecting_a_hangup_fails_when_none_comes(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    async with hotline_call(asterisk_settings, [ExpectHangup(within=0.5)]) as call:
        result = await call.caller.wait()
        # sipp ends a failed call with a BYE of its own: nothing is left on the PBX.
        await next_event(call.hangups, "Hangup", Channel=call.channel)
    assert not result.succeeded
    assert not result.log.far_end_hung_up
