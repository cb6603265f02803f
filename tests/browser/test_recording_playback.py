"""Playing a recording in Chromium at 1366x768 (issue 17, point 5), against the running service.

The recording is placed through the service's own path, not made by a call: a 10-minute
stereo file (a 400 Hz tone on the caller's side, 800 Hz on the agent's) is written where
Asterisk writes (the instance's spool/recordings, MixMonitor's raw samples) and finished by
:class:`RecordingService` into its WAV file, row and chain entries, on a call of agent01's;
tests/integration/test_recording_real_asterisk.py makes one with a real call (that takes a
call's length; this file needs minutes of audio so that a seek is a new range request).

A supervisor opens the call's recordings page, gives a reason and plays: the <audio> element
loads (readyState >= 2) and plays (currentTime advances), a seek far ahead is answered 206 with
a Content-Range from the middle of the file, the pause shows on the timeline, and one audit
entry holds the reason however many range requests there were; the download saves the whole
file, audited as a download. agent01, with the setting off
(the default), is shown the refusal in the page's language. Screenshots in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import re
import struct
from pathlib import Path

import pytest
from playwright.async_api import Browser, Response, expect
from sqlalchemy import select

from callcenter.api.desk import AGENT_UI_DIR
from callcenter.crm.recordings import RecordingService, RecordingStatus, written_path
from callcenter.persistence.recording_files import recording_storage_for
from callcenter.persistence.recordings import SqlRecordingLedger
from callcenter.persistence.tables import AuditEntry, Client, RecordingPause, User
from tests.browser.conftest import ServedDesk
from tests.browser.test_reports_pages import logged_in
from tests.support.crm_data import add_call_in_hand

pytestmark = [pytest.mark.asterisk, pytest.mark.browser, pytest.mark.timeout(300)]

MINUTES = 10
SEEK_TO = 420.0  # seconds: far past what the first request buffers
PAUSE_MS = (20_000, 35_000)
REFUSAL = json.loads((AGENT_UI_DIR / "messages" / "i18n" / "zh-CN.json").read_text())[
    "error.recording-agent-playback-off"
]


def tones(seconds: int) -> bytes:
    """Interleaved 16-bit stereo at 8 kHz: 400 Hz left (20 samples a period), 800 Hz right."""
    left = [round(8000 * _sine(i / 20)) for i in range(20)]
    right = [round(6000 * _sine(i / 10)) for i in range(20)]
    block = b"".join(struct.pack("<hh", a, b) for a, b in zip(left, right, strict=True))
    return block * (seconds * 8000 // 20)


def _sine(turns: float) -> float:
    return math.sin(2 * math.pi * turns)


def made_as_asterisk(folder: Path) -> None:
    """``folder`` and those above it that are missing, owned as the spool is (Asterisk's
    user): a folder this test (root) made would keep MixMonitor from making its own in it."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    owner = folder.stat()
    for new in reversed(missing):
        new.mkdir()
        os.chown(new, owner.st_uid, owner.st_gid)


async def place_recording(desk: ServedDesk) -> tuple[int, int, str]:
    """A finished recording of a call agent01 took: (interaction id, recording id, path)."""
    line = desk.line
    async with line.db.read() as session:
        agent_id = await session.scalar(select(User.id).where(User.username == "agent01"))
        client_id = await session.scalar(select(Client.id).order_by(Client.id).limit(1))
    assert agent_id is not None
    assert client_id is not None
    interaction_id = await add_call_in_hand(line.db, client_id, agent_id)
    storage = recording_storage_for(line.settings)
    service = RecordingService(storage, SqlRecordingLedger(line.db), stable_seconds=0.2)
    now = dt.datetime.now(dt.UTC)
    call_id = f"browser-{int(now.timestamp())}.1"
    path = service.plan(now, interaction_id, call_id)
    recording_id = await service.opened(interaction_id, call_id, path, now)
    raw = storage.root / written_path(path)
    made_as_asterisk(raw.parent)
    raw.write_bytes(tones(MINUTES * 60))  # what MixMonitor's D option writes
    assert await service.finish(recording_id, path) is RecordingStatus.COMPLETE
    async with line.db.write() as session:
        session.add(
            RecordingPause(
                recording_id=recording_id,
                paused_at=now,
                resumed_at=now,
                start_ms=PAUSE_MS[0],
                end_ms=PAUSE_MS[1],
                resumed_by="agent",
            )
        )
    return interaction_id, recording_id, path


async def test_a_supervisor_plays_seeks_and_is_audited_once_an_agent_is_refused(
    served_desk: ServedDesk, browser: Browser, artifacts: Path
) -> None:
    desk = served_desk
    interaction_id, recording_id, path = await place_recording(desk)
    try:
        await play_and_refuse(desk, browser, artifacts, interaction_id, recording_id)
    finally:  # 19 MB in the instance's spool: not kept for the next run
        await recording_storage_for(desk.line.settings).delete(path)


async def play_and_refuse(
    desk: ServedDesk, browser: Browser, artifacts: Path, interaction_id: int, recording_id: int
) -> None:
    url = f"{desk.base_url}/desk/recordings/?interaction={interaction_id}"

    context = await logged_in(desk, browser, "supervisor01")
    page = desk.watch(await context.new_page())
    audio_answers: list[Response] = []
    page.on("response", lambda r: audio_answers.append(r) if "/audio?" in r.url else None)
    await page.goto(url)
    await expect(page.get_by_test_id("player")).to_be_visible()
    await expect(page.get_by_test_id("recording-row")).to_have_count(1)
    pause = page.get_by_test_id("pause")
    await expect(pause).to_have_count(1)
    box, bar = await pause.bounding_box(), await page.get_by_test_id("timeline").bounding_box()
    assert box is not None
    assert bar is not None
    # 20-35 s of 600 s: 2.5 % of the bar's width, from 3.3 % in
    assert abs(box["width"] / bar["width"] - 15 / 600) < 0.005
    assert abs((box["x"] - bar["x"]) / bar["width"] - 20 / 600) < 0.005

    # No reason, no sound: the form asks first, and nothing is fetched.
    await page.get_by_test_id("play").click()
    assert audio_answers == []
    await page.get_by_test_id("reason").select_option("quality_review")
    await page.get_by_test_id("play").click()
    audio = page.get_by_test_id("audio")
    await page.wait_for_function(
        "() => { const a = document.getElementById('audio'); "
        "return a.readyState >= 2 && a.currentTime > 0.5; }",
        timeout=20_000,
    )
    await page.screenshot(path=str(artifacts / "recording-playing-zh.png"))

    before_seek = len(audio_answers)
    await audio.evaluate(f"a => {{ a.currentTime = {SEEK_TO}; }}")
    await page.wait_for_function(
        f"() => {{ const a = document.getElementById('audio'); "
        f"return !a.seeking && a.readyState >= 2 && a.currentTime > {SEEK_TO + 0.3}; }}",
        timeout=20_000,
    )
    seeks = [
        r
        for r in audio_answers[before_seek:]
        if r.status == 206
        and (m := re.match(r"bytes (\d+)-", r.headers.get("content-range", "")))
        and int(m.group(1)) > 0
    ]
    assert seeks, [(r.status, r.headers.get("content-range")) for r in audio_answers]
    start = int(re.findall(r"\d+", seeks[0].headers["content-range"])[0])
    assert start >= 44 + 32_000 * (SEEK_TO - 60)  # from about the seek, not the start
    assert all(r.headers["cache-control"] == "no-store" for r in audio_answers)
    await page.get_by_test_id("language").select_option("en")
    await expect(page.get_by_test_id("scope")).to_have_text(f"Call {interaction_id}")
    await page.screenshot(path=str(artifacts / "recording-seeked-en.png"))
    # Downloading (a supervisor may, by default): the whole file, as an attachment.
    async with page.expect_download() as caught:
        await page.get_by_test_id("download").click()
    download = await caught.value
    assert download.suggested_filename == f"recording-{recording_id}.wav"
    saved = await download.path()
    assert await asyncio.to_thread(os.path.getsize, saved) == 44 + 32_000 * 60 * MINUTES
    assert desk.csp_violations() == []

    async with desk.line.db.read() as session:
        plays = [
            (row.actor_id, row.interaction_id, row.detail)
            for row in await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "recording.play")
            )
        ]
        supervisor = await session.scalar(select(User.id).where(User.username == "supervisor01"))
        downloads = [
            (row.actor_id, row.detail["recording_id"])
            for row in await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "recording.download")
            )
        ]
    assert len(audio_answers) >= 2
    print(f"{len(audio_answers)} audio answers {[r.status for r in audio_answers]}, 1 audit entry")
    assert len(plays) == 1, plays  # one playback, however many range requests
    actor, interaction, detail = plays[0]
    assert (actor, interaction) == (supervisor, interaction_id)
    assert (detail["recording_id"], detail["reason"]) == (recording_id, "quality_review")
    assert downloads == [(supervisor, recording_id)]
    await context.close()

    agent_context = await logged_in(desk, browser, "agent01")
    agent_page = desk.watch(await agent_context.new_page())
    await agent_page.goto(url)
    refusal = agent_page.get_by_test_id("refusal")
    await expect(refusal).to_have_text(REFUSAL)
    await agent_page.screenshot(path=str(artifacts / "recording-agent-refused-zh.png"))
    await agent_context.close()
