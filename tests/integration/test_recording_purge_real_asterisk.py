"""Retention and legal hold on a recording the real Asterisk made (issue 17, point 4).

A caller goes through the IVR to agent01, whose test phone answers; MixMonitor records the
call. The agent records a complaint from that call (the API). `callcenter recordings purge`,
run as its own process three years and a day later (--as-of), holds the recording while the
complaint is open; the supervisor closes the complaint (the API, through its workflow); the
next purge deletes it: the file is gone, the row says deleted, the chain's last entry for it is
``deleted``, and `callcenter recordings verify` (a process too) passes.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.crm.recordings import RecordingStatus
from callcenter.crm.vocabulary import ComplaintStatus
from callcenter.persistence.recording_files import recording_storage_for
from callcenter.persistence.recordings import recording_of
from callcenter.persistence.tables import RecordingChainEntry, RecordingRow
from callcenter.sandbox.instance import AsteriskInstance
from tests.integration.test_acd_real_asterisk import log_in, short_queue
from tests.integration.test_recording_real_asterisk import finished_recording, recordings_folder
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Talk, Wait
from tests.support.hotline import GAP, HOTLINE, Hotline
from tests.support.logins import log_in as log_in_as
from tests.support.tones import tone_packets

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]

CALLCENTER = str(Path(sys.executable).parent / "callcenter")


def _command(line: Hotline, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env |= {
        "CALLCENTER_DATABASE_URL": line.settings.effective_database_url,
        "CALLCENTER_RECORDINGS_DIR": str(root),
        "CALLCENTER_RECORDING_RETENTION": "default=3y",
    }
    return subprocess.run(
        [CALLCENTER, "recordings", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _close(line: Hotline, complaint_id: int, headers: dict[str, str]) -> None:
    for version, to in enumerate(
        [ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED], 1
    ):
        body: dict[str, Any] = {"to": to.value, "version": version}
        if to is ComplaintStatus.RESOLVED:
            body["resolution"] = "the order was re-entered and the fee refunded"
        response = await line.http.post(
            f"/api/complaints/{complaint_id}/transitions", json=body, headers=headers
        )
        assert response.status_code == 200, response.text


async def test_a_real_recording_is_held_by_its_complaint_then_purged_once_it_closed(
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
        await log_in(line, "agent01")
        script = [
            Wait(1.0),
            Keys("1"),
            Wait(GAP),
            Keys("0"),
            Talk(3.0, tone_packets(440)),
            Hangup(),
        ]
        caller = KeypadCaller(line.settings.sip_port, HOTLINE, script, caller=line.client.phone)
        await caller.start()
        result = await caller.wait()
        await phone.wait_ended(timeout=10)
        row = await finished_recording(line)
    assert result.succeeded, result.output
    assert row.status is RecordingStatus.COMPLETE, row.failure_reason
    interaction = await line.ended_interaction()
    storage = recording_storage_for(line.settings)
    wav = storage.root / row.path
    assert wav.is_file()

    agent = await log_in_as(line.http, "agent01")
    created = await line.http.post(
        "/api/complaints",
        json={
            "client_id": line.client.id,
            "category_code": "trading.execution",
            "summary": "order not executed",
            "description": "the client says the order given on this call was never placed",
            "interaction_id": interaction.id,
        },
        headers=agent,
    )
    assert created.status_code == 201, created.text
    complaint_id = created.json()["id"]
    later = (row.started_at + dt.timedelta(days=3 * 366 + 1)).strftime("%Y-%m-%dT%H:%M:%S")

    held = _command(line, storage.root, "purge", "--as-of", later)

    assert held.returncode == 0, held.stdout + held.stderr
    assert (
        f"held\trecording {row.id}\t{row.path}\tlegal hold: complaint {complaint_id} (open) "
        "not closed (inbound+complaint, kept 3y, expired "
    ) in held.stdout
    assert wav.is_file()

    await _close(line, complaint_id, await log_in_as(line.http, "supervisor01"))
    purged = _command(line, storage.root, "purge", "--as-of", later)

    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert f"deleted\trecording {row.id}\t{row.path}\tinbound+complaint, kept 3y" in purged.stdout
    assert not wav.exists()
    async with line.db.read() as session:
        after = recording_of(await session.get_one(RecordingRow, row.id))
        last = (
            await session.execute(
                select(RecordingChainEntry.kind, RecordingChainEntry.sha256)
                .where(RecordingChainEntry.recording_id == row.id)
                .order_by(RecordingChainEntry.seq.desc())
                .limit(1)
            )
        ).one()
    assert after.status is RecordingStatus.DELETED
    assert after.deleted_at is not None
    assert tuple(last) == ("deleted", row.sha256)
    verify = _command(line, storage.root, "verify")
    assert verify.returncode == 0, verify.stdout
