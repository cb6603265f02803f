"""Call recording against the real Asterisk (issue 17, points 1, 2 and 6).

A sipp caller goes through the IVR to an agent, saying a 440 Hz tone once it asked for one;
the agent's test phone answers and says a 1000 Hz tone. The recording made by MixMonitor on
the caller's channel must exist as a finished WAV file, last as long as the two were bridged
(within 1 s), carry the caller on its left channel and the agent on its right (sox: the level
and rough frequency of each), hash to its row's SHA-256, and the chain must verify.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.crm.recording_verify import verify_recordings
from callcenter.crm.recordings import (
    BYTES_PER_SECOND,
    FORMAT,
    WAV_HEADER_BYTES,
    Recording,
    RecordingStatus,
)
from callcenter.persistence.recording_files import recording_storage_for
from callcenter.persistence.recordings import read_ledger, recording_of
from callcenter.persistence.tables import RecordingChainEntry, RecordingRow
from callcenter.sandbox.instance import AsteriskInstance
from tests.integration.test_acd_real_asterisk import log_in, short_queue
from tests.integration.test_call_control_real_asterisk import bearer
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Talk, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline
from tests.support.tones import tone_packets

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]

CALLER_HZ = 440
AGENT_HZ = 1000
TALK_SECONDS = 8.0


def recordings_folder(asterisk: AsteriskInstance) -> dict[str, Any]:
    """A folder of this test's own in the instance's spool: the service reads it through the
    root, Asterisk writes it under its own path (nothing else's files in it)."""
    name = f"test-{secrets.token_hex(4)}"
    return {
        "recordings_dir": asterisk.dir / "spool" / "recordings" / name,
        "recordings_dir_in_asterisk": str(asterisk.dir_in_root / "spool" / "recordings" / name),
    }


async def finished_recording(line: Hotline, timeout: float = 30.0) -> Recording:
    async def poll() -> Recording:
        while True:
            async with line.db.read() as session:
                row = await session.scalar(select(RecordingRow))
                recording = None if row is None else recording_of(row)
            if recording is not None and recording.status is not RecordingStatus.RECORDING:
                return recording
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(poll(), timeout)


def channel_stat(wav: Path, channel: int) -> dict[str, float]:
    """sox's ``stat`` of one channel: RMS amplitude, rough frequency..."""
    done = subprocess.run(
        ["sox", str(wav), "-n", "remix", str(channel), "stat"],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = {}
    for line in done.stderr.splitlines():
        match = re.match(r"^(.+?):\s+(-?[\d.]+)\s*$", line)
        if match:
            figures[match.group(1).strip()] = float(match.group(2))
    return figures


async def test_an_agent_call_is_recorded_both_parties_on_their_channel_and_the_chain_verifies(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> None:
    line: Hotline = await hotline_factory(**recordings_folder(asterisk))
    await short_queue(line)
    async with AgentPhone(
        line.settings.sip_port,
        "1001",
        password=line.phone_secrets,
        behaviour=Answer(after=0.5),
        audio=tone_packets(AGENT_HZ),
    ) as phone:
        await log_in(line, "agent01")
        script = [
            Wait(1.0),
            Keys("1"),
            Wait(GAP),
            Keys("0"),
            Talk(TALK_SECONDS, tone_packets(CALLER_HZ)),
            Hangup(),
        ]
        caller = KeypadCaller(line.settings.sip_port, HOTLINE, script, caller=line.client.phone)
        await caller.start()
        result = await caller.wait()
        call = await phone.wait_ended(timeout=10)
        row = await finished_recording(line)
    assert result.succeeded, result.output
    assert call.confirmed_at is not None
    assert call.bye_received_at is not None
    bridged = call.bye_received_at - call.confirmed_at
    assert bridged > 2.0  # the agent was reached well before the caller hung up

    interaction = await line.ended_interaction()
    assert row.status is RecordingStatus.COMPLETE, row.failure_reason
    assert row.interaction_id == interaction.id
    assert row.format == FORMAT
    storage = recording_storage_for(line.settings)
    wav = storage.root / row.path
    assert re.fullmatch(rf"\d{{4}}/\d\d/\d\d/{interaction.id}-[\w.-]+\.wav", row.path)
    assert wav.is_file()
    assert not wav.with_suffix(".raw").exists()  # finished: Asterisk's raw file is gone
    data = wav.read_bytes()
    assert hashlib.sha256(data).hexdigest() == row.sha256
    assert len(data) == row.size_bytes

    # As long as the two were bridged (the ACK of the answer to the caller's BYE), to 1 s.
    seconds = (len(data) - WAV_HEADER_BYTES) / BYTES_PER_SECOND
    assert row.duration_ms is not None
    assert abs(row.duration_ms / 1000 - seconds) < 0.01
    assert abs(seconds - bridged) < 1.0, (seconds, bridged)
    soxi = (
        await asyncio.to_thread(
            subprocess.run, ["soxi", str(wav)], capture_output=True, text=True, check=True
        )
    ).stdout
    assert re.search(r"Channels\s*:\s*2", soxi)
    assert re.search(r"Sample Rate\s*:\s*8000", soxi)

    # Each party on their own channel, each clearly heard: the caller left, the agent right.
    caller_side, agent_side = channel_stat(wav, 1), channel_stat(wav, 2)
    assert caller_side["RMS     amplitude"] > 0.05, caller_side
    assert agent_side["RMS     amplitude"] > 0.05, agent_side
    assert abs(caller_side["Rough   frequency"] - CALLER_HZ) < 60, caller_side
    assert abs(agent_side["Rough   frequency"] - AGENT_HZ) < 100, agent_side

    # The chain: created then completed, and the whole thing verifies.
    async with line.db.read() as session:
        kinds = (
            await session.scalars(
                select(RecordingChainEntry.kind)
                .where(RecordingChainEntry.recording_id == row.id)
                .order_by(RecordingChainEntry.seq)
            )
        ).all()
    assert kinds == ["created", "completed"]
    snapshot = await read_ledger(line.db)
    verdict = await verify_recordings(
        snapshot.recordings, snapshot.entries, snapshot.head_seq, snapshot.head_hash, storage
    )
    assert verdict.ok, [str(f) for f in verdict.findings]
    assert verdict.files_hashed == 1


async def test_a_click_to_dial_call_is_recorded_the_client_left_and_the_agent_right(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> None:
    """An outbound call (click-to-dial) is recorded as an inbound one is: one file tied to its
    interaction, the dialled party on the left, the agent on the right, from the answer."""
    line: Hotline = await hotline_factory(**recordings_folder(asterisk))
    password = line.phone_secrets
    port = line.settings.sip_port
    dialled_hz = 1800
    async with (
        AgentPhone(
            port, "1001", password=password, behaviour=Answer(0.3), audio=tone_packets(AGENT_HZ)
        ) as agent_phone,
        AgentPhone(
            port, "1002", password=password, behaviour=Answer(0.5), audio=tone_packets(dialled_hz)
        ) as far_end,
    ):
        agent, _ = await bearer(line, "agent01")  # logged out: no ACD call can come
        response = await line.http.post(
            "/api/calls/me/dial",
            json={"number": "1002", "client_id": line.client.id},
            headers=agent,
        )
        assert response.status_code == 201, response.text
        out = response.json()
        await agent_phone.wait_answered(timeout=15)
        answered = await far_end.wait_answered(timeout=15)
        await asyncio.sleep(4.0)
        ended = await far_end.hang_up()
        await agent_phone.wait_ended()
        row = await finished_recording(line)
    assert row.status is RecordingStatus.COMPLETE, row.failure_reason
    assert row.interaction_id == out["interaction_id"]
    assert row.call_id == out["call_id"]
    storage = recording_storage_for(line.settings)
    wav = storage.root / row.path
    data = wav.read_bytes()
    assert hashlib.sha256(data).hexdigest() == row.sha256
    assert answered.confirmed_at is not None
    assert ended.hung_up_at is not None
    bridged = ended.hung_up_at - answered.confirmed_at
    seconds = (len(data) - WAV_HEADER_BYTES) / BYTES_PER_SECOND
    assert abs(seconds - bridged) < 1.0, (seconds, bridged)
    client_side, agent_side = channel_stat(wav, 1), channel_stat(wav, 2)
    assert client_side["RMS     amplitude"] > 0.05, client_side
    assert agent_side["RMS     amplitude"] > 0.05, agent_side
    assert abs(client_side["Rough   frequency"] - dialled_hz) < 150, client_side
    assert abs(agent_side["Rough   frequency"] - AGENT_HZ) < 100, agent_side
