"""Playing back a recording a real call made (issue 17, point 5), against the real Asterisk.

A sipp caller reaches agent01's test phone through the IVR and both say a tone; once
MixMonitor's file is finished, supervisor01 (over the API, as the page does) lists the call's
recordings, opens a playback with a reason and fetches the audio in ranges: each range is the
file's own bytes, 206 with its Content-Range; one audit entry. agent01, with the setting off,
is refused with its id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.crm.recordings import BYTES_PER_SECOND, WAV_HEADER_BYTES, RecordingStatus
from callcenter.persistence.recording_files import recording_storage_for
from callcenter.persistence.tables import AuditEntry
from callcenter.sandbox.instance import AsteriskInstance
from tests.integration.test_acd_real_asterisk import log_in as agent_logs_in
from tests.integration.test_acd_real_asterisk import short_queue
from tests.integration.test_recording_real_asterisk import finished_recording, recordings_folder
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Talk, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline
from tests.support.logins import log_in
from tests.support.tones import tone_packets

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]


async def test_a_supervisor_plays_a_real_calls_recording_in_ranges_and_is_audited_once(
    hotline_factory: Callable[..., Any], asterisk: AsteriskInstance
) -> None:
    line: Hotline = await hotline_factory(**recordings_folder(asterisk))
    await short_queue(line)
    async with AgentPhone(
        line.settings.sip_port,
        "1001",
        password=line.phone_secrets,
        behaviour=Answer(after=0.5),
        audio=tone_packets(1000),
    ) as phone:
        await agent_logs_in(line, "agent01")
        script = [
            Wait(1.0),
            Keys("1"),
            Wait(GAP),
            Keys("0"),
            Talk(4.0, tone_packets(440)),
            Hangup(),
        ]
        caller = KeypadCaller(line.settings.sip_port, HOTLINE, script, caller=line.client.phone)
        await caller.start()
        result = await caller.wait()
        await phone.wait_ended(timeout=10)
        row = await finished_recording(line)
    assert result.succeeded, result.output
    assert row.status is RecordingStatus.COMPLETE, row.failure_reason
    data = await asyncio.to_thread(
        (recording_storage_for(line.settings).root / row.path).read_bytes
    )

    supervisor = await log_in(line.http, "supervisor01")
    listed = await line.http.get(
        f"/api/recordings?interaction_id={row.interaction_id}", headers=supervisor
    )
    assert [r["id"] for r in listed.json()["items"]] == [row.id], listed.text
    opened = await line.http.post(
        f"/api/recordings/{row.id}/playbacks",
        json={"reason": "dispute", "reason_text": "what was the fee quoted"},
        headers=supervisor,
    )
    assert opened.status_code == 201, opened.text
    url = opened.json()["audio_url"]
    second = WAV_HEADER_BYTES + BYTES_PER_SECOND  # one second in
    ranges = {
        "bytes=0-43": (0, WAV_HEADER_BYTES),
        f"bytes={second}-{second + BYTES_PER_SECOND - 1}": (second, second + BYTES_PER_SECOND),
        "bytes=-4000": (len(data) - 4000, len(data)),
    }
    for asked, (start, end) in ranges.items():
        part = await line.http.get(url, headers={**supervisor, "Range": asked})
        assert part.status_code == 206, (asked, part.text)
        assert part.headers["content-range"] == f"bytes {start}-{end - 1}/{len(data)}"
        assert part.content == data[start:end], asked
    beyond = await line.http.get(url, headers={**supervisor, "Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    async with line.db.read() as session:
        plays = (
            await session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "recording.play")
            )
        ).all()
    assert [(p["recording_id"], p["reason"]) for p in plays] == [(row.id, "dispute")]

    agent = await log_in(line.http, "agent01")
    refused = await line.http.get(f"/api/recordings/{row.id}", headers=agent)
    assert (refused.status_code, refused.json()["error"]) == (403, "recording-agent-playback-off")
