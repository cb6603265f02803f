"""Playing recordings back (issue 17, point 5): who may, with a reason, audited once per
playback, and the audio served with HTTP range requests (206, 416, 200), from a real WAV
file in a local recordings folder, on both databases."""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.api.routes.recordings import get_policy, get_recording_storage
from callcenter.crm.recording_access import PlaybackPolicy
from callcenter.crm.recordings import wav_header
from callcenter.crm.vocabulary import ComplaintStatus, Role
from callcenter.persistence.recording_files import LocalRecordingStorage
from callcenter.persistence.recordings import SqlRecordingLedger
from callcenter.persistence.tables import AuditEntry, Complaint, RecordingPause
from tests.api.conftest import Api, FakeClock
from tests.support.crm_data import add_call_in_hand, add_client

T0 = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Seeded:
    recording_id: int
    interaction_id: int
    client_id: int
    complaint_id: int
    other_recording_id: int  # a call another agent took
    wav: bytes


def make_wav(seconds: float = 1.0) -> bytes:
    frames = int(8000 * seconds)
    samples = b"".join(
        struct.pack("<hh", (i * 37) % 3000, -((i * 11) % 2000)) for i in range(frames)
    )
    return wav_header(len(samples)) + samples


async def add_recording(
    api: Api, folder: Path, interaction_id: int, call_id: str, wav: bytes
) -> int:
    path = f"2026/12/07/{interaction_id}-{call_id}.wav"
    (folder / path).parent.mkdir(parents=True, exist_ok=True)
    (folder / path).write_bytes(wav)
    ledger = SqlRecordingLedger(api.db)
    recording_id = await ledger.create(interaction_id, call_id, path, T0)
    await ledger.complete(recording_id, T0 + dt.timedelta(seconds=1), 1000, len(wav), "0" * 64)
    return recording_id


@pytest.fixture
async def seeded(api: Api, tmp_path: Path) -> Seeded:
    storage = LocalRecordingStorage(tmp_path, str(tmp_path))
    api.app.dependency_overrides[get_recording_storage] = lambda: storage
    client_id = await add_client(api.db, api.branch.id)
    interaction_id = await add_call_in_hand(api.db, client_id, api.users[Role.AGENT].id)
    other = await add_call_in_hand(api.db, client_id, api.users[Role.ADVISOR].id)
    wav = make_wav()
    recording_id = await add_recording(api, tmp_path, interaction_id, "1733563800.1", wav)
    other_recording_id = await add_recording(api, tmp_path, other, "1733563800.2", wav)
    async with api.db.write() as session:
        session.add(
            RecordingPause(
                recording_id=recording_id,
                paused_at=T0,
                resumed_at=T0,
                start_ms=200,
                end_ms=450,
                resumed_by="agent",
            )
        )
        complaint = Complaint(
            client_id=client_id,
            interaction_id=interaction_id,
            category_code="account.opening",
            owner_branch_id=api.branch.id,
            status=ComplaintStatus.OPEN,
            summary="told the wrong fee",
            description="",
            created_at=T0,
            response_due_at=T0 + dt.timedelta(days=2),
        )
        session.add(complaint)
        await session.flush()
        complaint_id = complaint.id
    return Seeded(recording_id, interaction_id, client_id, complaint_id, other_recording_id, wav)


def allow_agents(api: Api, **more: Any) -> None:
    api.app.dependency_overrides[get_policy] = lambda: PlaybackPolicy(
        agents_hear_own_calls=True, **more
    )


async def play(api: Api, role: Role, recording_id: int, **body: Any) -> tuple[int, dict[str, Any]]:
    body = {"reason": "quality_review", **body}
    response = await api.http.post(
        f"/api/recordings/{recording_id}/playbacks", json=body, headers=api.as_(role)
    )
    return response.status_code, response.json()


@dataclass(frozen=True)
class Audited:
    actor_id: int | None
    interaction_id: int | None
    client_id: int | None
    detail: dict[str, Any]
    at: dt.datetime


async def audit_rows(api: Api, action: str) -> list[Audited]:
    async with api.db.read() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return [Audited(r.actor_id, r.interaction_id, r.client_id, r.detail, r.at) for r in rows]


async def test_a_supervisor_reads_a_recording_with_its_pauses(api: Api, seeded: Seeded) -> None:
    headers = api.as_(Role.SUPERVISOR)
    response = await api.http.get(f"/api/recordings/{seeded.recording_id}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["interaction_id"] == seeded.interaction_id
    assert body["client_id"] == seeded.client_id
    assert (body["status"], body["duration_ms"], body["size_bytes"]) == (
        "complete",
        1000,
        len(seeded.wav),
    )
    assert body["format"] == "wav-pcm16-8k-stereo"
    assert body["pauses"] == [{"start_ms": 200, "end_ms": 450, "resumed_by": "agent"}]
    for query in (
        f"interaction_id={seeded.interaction_id}",
        f"complaint_id={seeded.complaint_id}",
    ):
        listed = await api.http.get(f"/api/recordings?{query}", headers=headers)
        assert [r["id"] for r in listed.json()["items"]] == [seeded.recording_id], query
    listed = await api.http.get(f"/api/recordings?client_id={seeded.client_id}", headers=headers)
    assert {r["id"] for r in listed.json()["items"]} == {
        seeded.recording_id,
        seeded.other_recording_id,
    }
    views = await audit_rows(api, "recording.view")
    assert [(v.actor_id, v.interaction_id, v.client_id) for v in views] == [
        (api.users[Role.SUPERVISOR].id, seeded.interaction_id, seeded.client_id)
    ]
    assert len(await audit_rows(api, "recording.list")) == 3


async def test_a_playback_is_audited_once_with_its_reason_whatever_the_ranges(
    api: Api, seeded: Seeded
) -> None:
    status, playback = await play(
        api, Role.SUPERVISOR, seeded.recording_id, reason="complaint", reason_text="case 12"
    )
    assert status == 201, playback
    headers = api.as_(Role.SUPERVISOR)
    size = len(seeded.wav)
    whole = await api.http.get(playback["audio_url"], headers=headers)
    assert whole.status_code == 200
    assert whole.content == seeded.wav
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "audio/wav"
    assert whole.headers["content-length"] == str(size)
    assert whole.headers["cache-control"] == "no-store"
    expected = {
        "bytes=0-99": (0, 100),
        "bytes=100-": (100, size),
        "bytes=-50": (size - 50, size),
        f"bytes=10-{size * 5}": (10, size),  # clamped to the end
        f"bytes=-{size * 2}": (0, size),  # a suffix longer than the file: all of it
        f"bytes={size - 1}-{size - 1}": (size - 1, size),
    }
    for asked, (start, end) in expected.items():
        part = await api.http.get(playback["audio_url"], headers={**headers, "Range": asked})
        assert part.status_code == 206, asked
        assert part.headers["content-range"] == f"bytes {start}-{end - 1}/{size}", asked
        assert part.headers["content-length"] == str(end - start), asked
        assert part.content == seeded.wav[start:end], asked
        assert part.headers["cache-control"] == "no-store"
    for asked in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        refused = await api.http.get(playback["audio_url"], headers={**headers, "Range": asked})
        assert refused.status_code == 416, asked
        assert refused.headers["content-range"] == f"bytes */{size}"
        assert refused.json()["error"] == "recording-range-not-satisfiable"
    for ignored in ("bytes=0-1,5-9", "bytes=9-3", "items=0-5", "bytes=x-"):
        answer = await api.http.get(playback["audio_url"], headers={**headers, "Range": ignored})
        assert (answer.status_code, len(answer.content)) == (200, size), ignored
    plays = await audit_rows(api, "recording.play")
    assert len(plays) == 1  # one playback, however many requests
    (row,) = plays
    assert row.actor_id == api.users[Role.SUPERVISOR].id
    assert (row.interaction_id, row.client_id) == (seeded.interaction_id, seeded.client_id)
    assert row.detail == {
        "recording_id": seeded.recording_id,
        "playback_id": playback["playback_id"],
        "reason": "complaint",
        "reason_text": "case 12",
    }
    assert row.at is not None


async def test_no_playback_without_a_reason(api: Api, seeded: Seeded) -> None:
    url = f"/api/recordings/{seeded.recording_id}/playbacks"
    headers = api.as_(Role.QUALITY)
    for body in ({}, {"reason": "other"}, {"reason": "other", "reason_text": "   "}):
        response = await api.http.post(url, json=body, headers=headers)
        assert (response.status_code, response.json()["error"]) == (
            422,
            "recording-reason-required",
        ), body
    unknown = await api.http.post(url, json={"reason": "curious"}, headers=headers)
    assert (unknown.status_code, unknown.json()["error"]) == (422, "invalid-request")
    audio = await api.http.get(f"/api/recordings/{seeded.recording_id}/audio", headers=headers)
    assert (audio.status_code, audio.json()["error"]) == (422, "recording-ticket-required")
    assert await audit_rows(api, "recording.play") == []
    status, _ = await play(api, Role.QUALITY, seeded.recording_id, reason="other", reason_text="x")
    assert status == 201


@pytest.mark.parametrize(
    ("role", "error"),
    [
        (Role.AGENT, "recording-agent-playback-off"),
        (Role.ADVISOR, "recording-agent-playback-off"),
        (Role.BRANCH, "recording-playback-forbidden"),
        (Role.ADMIN, "recording-playback-forbidden"),
    ],
)
async def test_roles_that_may_not_play_get_403_with_its_id(
    api: Api, seeded: Seeded, role: Role, error: str
) -> None:
    headers = api.as_(role)
    answers = [
        await api.http.get(
            f"/api/recordings?interaction_id={seeded.interaction_id}", headers=headers
        ),
        await api.http.get(f"/api/recordings/{seeded.recording_id}", headers=headers),
        await api.http.post(
            f"/api/recordings/{seeded.recording_id}/playbacks",
            json={"reason": "dispute"},
            headers=headers,
        ),
    ]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [(403, error)] * 3
    assert await audit_rows(api, "recording.play") == []


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.QUALITY, Role.COMPLIANCE])
async def test_supervisors_quality_and_compliance_play(
    api: Api, seeded: Seeded, role: Role
) -> None:
    status, playback = await play(api, role, seeded.recording_id)
    assert status == 201, playback
    audio = await api.http.get(
        playback["audio_url"], headers={**api.as_(role), "Range": "bytes=0-3"}
    )
    assert (audio.status_code, audio.content) == (206, b"RIFF")


async def test_with_the_setting_an_agent_plays_their_own_calls_only(
    api: Api, seeded: Seeded
) -> None:
    allow_agents(api)
    status, playback = await play(api, Role.AGENT, seeded.recording_id)
    assert status == 201, playback
    audio = await api.http.get(playback["audio_url"], headers=api.as_(Role.AGENT))
    assert audio.content == seeded.wav
    status, refused = await play(api, Role.AGENT, seeded.other_recording_id)
    assert (status, refused["error"]) == (404, "recording-not-found")
    listed = await api.http.get(
        f"/api/recordings?client_id={seeded.client_id}", headers=api.as_(Role.AGENT)
    )
    assert [r["id"] for r in listed.json()["items"]] == [seeded.recording_id]


async def test_downloading_is_a_permission_of_its_own(api: Api, seeded: Seeded) -> None:
    status, refused = await play(api, Role.QUALITY, seeded.recording_id, purpose="download")
    assert (status, refused["error"]) == (403, "recording-download-forbidden")
    status, playback = await play(api, Role.QUALITY, seeded.recording_id)
    assert status == 201
    as_download = await api.http.get(
        playback["audio_url"] + "&download=1", headers=api.as_(Role.QUALITY)
    )
    assert (as_download.status_code, as_download.json()["error"]) == (
        403,
        "recording-ticket-invalid",
    )
    status, download = await play(
        api, Role.COMPLIANCE, seeded.recording_id, purpose="download", reason="dispute"
    )
    assert status == 201, download
    saved = await api.http.get(download["audio_url"], headers=api.as_(Role.COMPLIANCE))
    assert saved.status_code == 200
    assert saved.headers["content-disposition"] == (
        f'attachment; filename="recording-{seeded.recording_id}.wav"'
    )
    assert saved.content == seeded.wav
    (row,) = await audit_rows(api, "recording.download")
    assert (row.actor_id, row.detail["reason"]) == (api.users[Role.COMPLIANCE].id, "dispute")
    # settable: quality reviewers too
    allow_agents(api, download_roles=frozenset({Role.QUALITY}))
    status, _ = await play(api, Role.QUALITY, seeded.recording_id, purpose="download")
    assert status == 201


async def test_a_ticket_opens_its_own_users_recording_until_it_expires(
    api: Api, seeded: Seeded, clock: FakeClock
) -> None:
    allow_agents(api, ticket_minutes=1)
    status, playback = await play(api, Role.SUPERVISOR, seeded.recording_id)
    assert status == 201
    ticket = playback["ticket"]
    someone_else = await api.http.get(playback["audio_url"], headers=api.as_(Role.QUALITY))
    assert (someone_else.status_code, someone_else.json()["error"]) == (
        403,
        "recording-ticket-invalid",
    )
    other_recording = await api.http.get(
        f"/api/recordings/{seeded.other_recording_id}/audio?ticket={ticket}",
        headers=api.as_(Role.SUPERVISOR),
    )
    assert other_recording.status_code == 403
    clock.advance(seconds=61)
    expired = await api.http.get(playback["audio_url"], headers=api.as_(Role.SUPERVISOR))
    assert (expired.status_code, expired.json()["error"]) == (403, "recording-ticket-invalid")


async def test_a_recording_without_a_finished_file_is_not_playable(
    api: Api, seeded: Seeded
) -> None:
    ledger = SqlRecordingLedger(api.db)
    still = await ledger.create(seeded.interaction_id, "1733563800.9", "2026/12/07/x.wav", T0)
    status, refused = await play(api, Role.SUPERVISOR, still)
    assert (status, refused["error"]) == (409, "recording-not-playable")
    status, missing = await play(api, Role.SUPERVISOR, 999_999)
    assert (status, missing["error"]) == (404, "recording-not-found")
