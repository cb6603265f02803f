"""Recording through transfers, conferences and consults, against the real Asterisk (issue 17,
point 1).

A sipp caller says 440 Hz all along; agent01's phone (1001) says 1000 Hz, the colleague's
phone (1002) 1800 Hz. Each party's presence in a stretch of a recording is measured with sox:
the level of one channel in a narrow band around that party's tone. The stretches are placed
by the test's own clock (each at least 3 s, measured inside with a margin), since the file
holds only the time the caller was bridged to someone (MixMonitor's b).

* blind transfer: ONE row and ONE file for the call, as long as both stretches; the right
  channel carries agent01's tone first, then the colleague's;
* consult then complete: the call's file has agent01, goes on after the complete, and never
  holds the consult (the caller was on hold); the consult is a file of its own (agent01
  left, colleague right, no caller) whose row names the call's recording (``consult_of_id``);
  the chain verifies;
* conference: the call's file has agent01 and the colleague together on the right while the
  three talk, not agent01 after they left; the consult before it ends at the conference;
* consult then cancel: the consult's file stops at the cancel; agent01 is back in the call's.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.crm.recording_verify import verify_recordings
from callcenter.crm.recordings import (
    BYTES_PER_SECOND,
    WAV_HEADER_BYTES,
    Recording,
    RecordingStatus,
)
from callcenter.persistence.recording_files import LocalRecordingStorage, recording_storage_for
from callcenter.persistence.recordings import read_ledger, recording_of
from callcenter.persistence.tables import RecordingRow
from callcenter.sandbox.instance import AsteriskInstance
from tests.integration.test_acd_real_asterisk import log_in, short_queue
from tests.integration.test_call_control_real_asterisk import (
    _together,
    bridged,
    controlled_call,
    until,
)
from tests.integration.test_recording_real_asterisk import recordings_folder
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Talk, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline
from tests.support.logins import log_in as log_in_as
from tests.support.tones import tone_packets

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]

CALLER_HZ = 440
AGENT_HZ = 1000
COLLEAGUE_HZ = 1800
STRETCH = 3.5  # seconds each part of a call lasts
MARGIN = 0.7  # seconds left out at each end of a stretch when measuring it
HEARD = 0.03  # RMS (full scale 1) of a party's band when they are in the stretch
SILENT = 0.005  # ... and when they are not


def band_rms(wav: Path, channel: int, start: float, length: float, hz: int) -> float:
    """The RMS level of one channel from ``start`` for ``length`` seconds, in a 200 Hz band
    around ``hz`` (sox: remix, trim, sinc band-pass, stat)."""
    done = subprocess.run(
        [
            "sox",
            str(wav),
            "-n",
            "remix",
            str(channel),
            "trim",
            f"{start:.3f}",
            f"{length:.3f}",
            "sinc",
            f"{hz - 100}-{hz + 100}",
            "stat",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"RMS\s+amplitude:\s+([\d.]+)", done.stderr)
    assert match is not None, done.stderr
    return float(match.group(1))


def heard(wav: Path, channel: int, span: tuple[float, float]) -> dict[int, float]:
    """Each party's band level on ``channel`` within ``span`` (seconds into the file)."""
    start, end = span[0] + MARGIN, span[1] - MARGIN
    assert end - start >= 1.0, span
    return {
        hz: band_rms(wav, channel, start, end - start, hz)
        for hz in (CALLER_HZ, AGENT_HZ, COLLEAGUE_HZ)
    }


def seconds_of(wav: Path) -> float:
    return (wav.stat().st_size - WAV_HEADER_BYTES) / BYTES_PER_SECOND


async def finished_rows(line: Hotline, count: int, timeout: float = 30.0) -> list[Recording]:
    """The recordings' rows once ``count`` of them are finished (complete or failed)."""

    async def poll() -> list[Recording]:
        while True:
            async with line.db.read() as session:
                rows = [
                    recording_of(r)
                    for r in (
                        await session.scalars(select(RecordingRow).order_by(RecordingRow.id))
                    ).all()
                ]
            if len(rows) >= count and all(r.status is not RecordingStatus.RECORDING for r in rows):
                return rows
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(poll(), timeout)


@dataclass
class Talking:
    line: Hotline
    agent: dict[str, str]
    agent_phone: AgentPhone
    colleague_phone: AgentPhone
    caller: KeypadCaller
    answered_at: float  # epoch seconds: agent01's phone's call came up

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.line.http.post(f"/api/calls/me/{path}", json=body, headers=self.agent)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None


@asynccontextmanager
async def recorded_call(line: Hotline) -> AsyncIterator[Talking]:
    """agent01 talking to a caller, each saying their tone; 1002 registered, saying its own."""
    await short_queue(line)
    password = line.phone_secrets
    port = line.settings.sip_port
    async with (
        AgentPhone(
            port, "1001", password=password, behaviour=Answer(0.3), audio=tone_packets(AGENT_HZ)
        ) as agent_phone,
        AgentPhone(
            port,
            "1002",
            password=password,
            behaviour=Answer(0.3),
            audio=tone_packets(COLLEAGUE_HZ),
        ) as colleague_phone,
    ):
        await log_in(line, "agent01")
        agent = await log_in_as(line.http, "agent01")
        script = [
            Wait(1.0),
            Keys("1"),
            Wait(GAP),
            Keys("0"),
            Talk(60.0, tone_packets(CALLER_HZ)),
            Hangup(),
        ]
        caller = KeypadCaller(port, HOTLINE, script, caller=line.client.phone)
        await caller.start()
        try:
            call = await agent_phone.wait_answered(timeout=30)
            await until(lambda: bridged(line, "1001"))
            await controlled_call(line, agent)
            assert call.confirmed_at is not None
            yield Talking(line, agent, agent_phone, colleague_phone, caller, call.confirmed_at)
        finally:
            for phone in (agent_phone, colleague_phone):
                if phone.current is not None:
                    await phone.hang_up()
            await caller.wait()


def storage_of(line: Hotline) -> LocalRecordingStorage:
    return recording_storage_for(line.settings)


async def test_a_blind_transfer_keeps_one_file_with_the_second_agent_on_the_right(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> None:
    line: Hotline = await hotline_factory(**recordings_folder(asterisk))
    async with recorded_call(line) as talk:
        await asyncio.sleep(STRETCH)
        status = await talk.post("transfer", {"to": "1002", "mode": "blind"})
        assert status["state"] == "transferred"
        first = await talk.agent_phone.wait_ended()
        second = await talk.colleague_phone.wait_answered(timeout=15)
        await until(lambda: bridged(line, "1002"))
        await asyncio.sleep(STRETCH)
        await talk.colleague_phone.hang_up()
        result = await talk.caller.wait()
    assert result.succeeded, result.output
    rows = await finished_rows(line, 1)
    assert len(rows) == 1, rows  # one row for the whole call
    row = rows[0]
    assert row.status is RecordingStatus.COMPLETE, row.failure_reason
    assert row.consult_of_id is None
    storage = storage_of(line)
    assert await storage.paths() == [row.path]  # and one file
    wav = storage.root / row.path

    # agent01's stretch, then the colleague's: the file is their bridged time, end to end.
    assert first.bye_received_at is not None
    assert second.confirmed_at is not None
    assert second.hung_up_at is not None
    with_agent = first.bye_received_at - talk.answered_at
    with_colleague = second.hung_up_at - second.confirmed_at
    assert abs(seconds_of(wav) - (with_agent + with_colleague)) < 1.0
    # Bytes per minute of talk, measured on this file against the phones' clocks: the
    # 1,920,000 that docs/recording.md computes (32,000 a second), to the second of rounding.
    assert row.size_bytes is not None
    per_minute = (row.size_bytes - WAV_HEADER_BYTES) / (with_agent + with_colleague) * 60
    print(f"{row.size_bytes} bytes, {with_agent + with_colleague:.2f} s: {per_minute:,.0f}/min")
    assert abs(per_minute - BYTES_PER_SECOND * 60) < BYTES_PER_SECOND * 60 * 0.1
    before = heard(wav, 2, (0.0, with_agent))
    after = heard(wav, 2, (with_agent, with_agent + with_colleague))
    assert before[AGENT_HZ] > HEARD, before
    assert before[COLLEAGUE_HZ] < SILENT, before
    assert after[AGENT_HZ] < SILENT, after
    # The colleague after the transfer: the recording is restarted before the caller's
    # second bridge (CallRecorder.rejoin); without that, about one run in three had digital
    # silence here.
    assert after[COLLEAGUE_HZ] > HEARD, after
    caller_side = heard(wav, 1, (0.0, with_agent + with_colleague))
    assert caller_side[CALLER_HZ] > HEARD, caller_side  # the caller all along, on the left


async def test_a_consult_is_its_own_file_linked_to_the_calls_recording(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> None:
    line: Hotline = await hotline_factory(**recordings_folder(asterisk))
    async with recorded_call(line) as talk:
        await asyncio.sleep(STRETCH)
        consulting_at = time.time()
        status = await talk.post("transfer", {"to": "1002", "mode": "consult"})
        assert status["state"] == "consulting"
        consult = await talk.colleague_phone.wait_answered(timeout=15)
        await until(lambda: _together(line, "1001", "1002"))
        await asyncio.sleep(STRETCH)
        completing_at = time.time()
        done = await talk.post("transfer/complete")
        assert done["state"] == "transferred"
        await until(lambda: bridged(line, "1002"))
        joined_at = time.time()
        await talk.agent_phone.wait_ended()
        await asyncio.sleep(STRETCH)
        await talk.colleague_phone.hang_up()
        ended_at = time.time()
        result = await talk.caller.wait()
    assert result.succeeded, result.output
    rows = await finished_rows(line, 2)
    assert len(rows) == 2, rows
    call_row, consult_row = rows
    assert call_row.status is RecordingStatus.COMPLETE, call_row.failure_reason
    assert consult_row.status is RecordingStatus.COMPLETE, consult_row.failure_reason
    assert call_row.consult_of_id is None
    assert consult_row.consult_of_id == call_row.id  # the consult names the call's recording
    assert consult_row.interaction_id == call_row.interaction_id
    assert consult_row.path.endswith(
        f"{call_row.interaction_id}-{call_row.call_id}-consult1.wav"
    ), consult_row.path
    storage = storage_of(line)
    assert sorted(await storage.paths()) == sorted([call_row.path, consult_row.path])

    # The consult: agent01 left, the colleague right, the caller (on hold) in neither.
    consult_wav = storage.root / consult_row.path
    assert consult.confirmed_at is not None
    consult_seconds = completing_at - consult.confirmed_at
    assert abs(seconds_of(consult_wav) - consult_seconds) < 1.0
    agent_side = heard(consult_wav, 1, (0.0, consult_seconds))
    colleague_side = heard(consult_wav, 2, (0.0, consult_seconds))
    assert agent_side[AGENT_HZ] > HEARD, agent_side
    assert colleague_side[COLLEAGUE_HZ] > HEARD, colleague_side
    assert agent_side[CALLER_HZ] < SILENT, agent_side
    assert colleague_side[CALLER_HZ] < SILENT, colleague_side

    # The call: agent01, then (nothing while on hold) the colleague; never the consult.
    call_wav = storage.root / call_row.path
    with_agent = consulting_at - talk.answered_at
    with_colleague = ended_at - joined_at
    first = heard(call_wav, 2, (0.0, with_agent))
    last = heard(call_wav, 2, (seconds_of(call_wav) - with_colleague, seconds_of(call_wav)))
    assert first[AGENT_HZ] > HEARD, first
    assert first[COLLEAGUE_HZ] < SILENT, first
    assert last[AGENT_HZ] < SILENT, last
    # The colleague after the complete (the recording restarted before that bridge,
    # CallRecorder.rejoin); the file holds neither the hold nor the consult.
    assert last[COLLEAGUE_HZ] > HEARD, last
    assert abs(seconds_of(call_wav) - (with_agent + with_colleague)) < 1.5, (
        seconds_of(call_wav),
        with_agent,
        with_colleague,
    )

    snapshot = await read_ledger(line.db)
    verdict = await verify_recordings(
        snapshot.recordings, snapshot.entries, snapshot.head_seq, snapshot.head_hash, storage
    )
    assert verdict.ok, [str(f) for f in verdict.findings]
    assert verdict.files_hashed == 2


async def test_a_conference_keeps_every_party_in_the_calls_one_file(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> None:
    line: Hotline = await hotline_factory(**recordings_folder(asterisk))
    async with recorded_call(line) as talk:
        await asyncio.sleep(STRETCH)
        consulting_at = time.time()
        await talk.post("transfer", {"to": "1002", "mode": "consult"})
        await talk.colleague_phone.wait_answered(timeout=15)
        await until(lambda: _together(line, "1001", "1002"))
        await asyncio.sleep(1.5)
        joined = await talk.post("conference")
        assert joined["state"] == "conference"
        await until(lambda: bridged(line, "1001", "1002"))
        three_at = time.time()
        await asyncio.sleep(STRETCH)
        leaving_at = time.time()
        await talk.post("hangup")  # agent01 leaves; caller and colleague talk on
        await talk.agent_phone.wait_ended()
        await asyncio.sleep(STRETCH)
        await talk.colleague_phone.hang_up()
        ended_at = time.time()
        result = await talk.caller.wait()
    assert result.succeeded, result.output
    rows = await finished_rows(line, 2)
    call_row = next(r for r in rows if r.consult_of_id is None)
    consult_row = next(r for r in rows if r.consult_of_id is not None)
    assert len(rows) == 2, rows
    assert call_row.status is RecordingStatus.COMPLETE, call_row.failure_reason
    assert consult_row.consult_of_id == call_row.id
    storage = storage_of(line)
    call_wav = storage.root / call_row.path
    consult_wav = storage.root / consult_row.path

    # The consult's file ends at the conference: 1.5 s of it, not the three's talk.
    assert seconds_of(consult_wav) < 1.5 + 1.5, seconds_of(consult_wav)

    # The call's file: agent01 | the three together | caller and colleague.
    with_agent = consulting_at - talk.answered_at
    three = leaving_at - three_at
    last = ended_at - leaving_at
    total = seconds_of(call_wav)
    assert abs(total - (with_agent + three + last)) < 1.5, (total, with_agent, three, last)
    together = heard(call_wav, 2, (with_agent, with_agent + three))
    assert together[AGENT_HZ] > HEARD, together
    assert together[COLLEAGUE_HZ] > HEARD, together
    caller_side = heard(call_wav, 1, (with_agent, with_agent + three))
    assert caller_side[CALLER_HZ] > HEARD, caller_side
    after = heard(call_wav, 2, (total - last, total))
    assert after[AGENT_HZ] < SILENT, after  # agent01 left
    assert after[COLLEAGUE_HZ] > HEARD, after  # the colleague talks on with the caller


async def test_a_cancelled_consult_ends_its_file_and_the_agent_is_back_in_the_calls(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> None:
    line: Hotline = await hotline_factory(**recordings_folder(asterisk))
    async with recorded_call(line) as talk:
        await asyncio.sleep(STRETCH)
        await talk.post("transfer", {"to": "1002", "mode": "consult"})
        consult = await talk.colleague_phone.wait_answered(timeout=15)
        await until(lambda: _together(line, "1001", "1002"))
        await asyncio.sleep(2.5)
        cancelling_at = time.time()
        back = await talk.post("transfer/cancel")
        assert back["state"] == "talking"
        await talk.colleague_phone.wait_ended()
        await until(lambda: bridged(line, "1001"))
        back_at = time.time()
        await asyncio.sleep(STRETCH)
        await talk.agent_phone.hang_up()
        ended_at = time.time()
        result = await talk.caller.wait()
    assert result.succeeded, result.output
    rows = await finished_rows(line, 2)
    assert len(rows) == 2, rows
    call_row, consult_row = rows
    assert consult_row.consult_of_id == call_row.id
    assert consult_row.status is RecordingStatus.COMPLETE, consult_row.failure_reason
    storage = storage_of(line)
    consult_wav = storage.root / consult_row.path
    call_wav = storage.root / call_row.path

    # The consult's file stops at the cancel: the agent back with the caller is not in it.
    assert consult.confirmed_at is not None
    assert abs(seconds_of(consult_wav) - (cancelling_at - consult.confirmed_at)) < 1.0
    assert heard(consult_wav, 1, (0.0, seconds_of(consult_wav)))[CALLER_HZ] < SILENT
    assert heard(consult_wav, 2, (0.0, seconds_of(consult_wav)))[COLLEAGUE_HZ] > HEARD

    # The call's file: the agent before the consult and again after it, never the colleague.
    total = seconds_of(call_wav)
    again = ended_at - back_at
    last = heard(call_wav, 2, (total - again, total))
    assert last[AGENT_HZ] > HEARD, last
    assert last[COLLEAGUE_HZ] < SILENT, last
    assert heard(call_wav, 2, (0.0, total))[COLLEAGUE_HZ] < SILENT
