"""The retention purge on both databases, with real files in a temporary storage folder:
expired recordings go (file removed, row ``deleted``, a ``deleted`` chain entry, ``recordings
verify`` still ok), unexpired ones and those of a call still being recorded stay, and a
complaint that is not closed holds its call's recordings until it closes (issue 17, point 4)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import pytest

from callcenter.crm.recording_retention import Action, parse_retention
from callcenter.crm.recordings import RecordingStatus, written_path
from callcenter.crm.vocabulary import Direction
from callcenter.persistence.db import Database
from callcenter.persistence.recording_files import LocalRecordingStorage
from callcenter.persistence.recording_purge import legal_holds, purge_recordings
from tests.support.recording_center import AS_OF, AUDIO, OLD, RECENT, Center


@pytest.fixture
def storage(tmp_path: Path) -> LocalRecordingStorage:
    root = tmp_path / "recordings"
    return LocalRecordingStorage(root, str(root))


async def _center(database: Database, storage: LocalRecordingStorage) -> Center:
    center = Center(database, storage)
    await center.seed()
    return center


async def test_expired_recordings_are_purged_and_the_rest_kept(
    database: Database, storage: LocalRecordingStorage
) -> None:
    center = await _center(database, storage)
    expired = await center.recorded(await center.call(OLD, Direction.INBOUND), OLD)
    recent = await center.recorded(await center.call(RECENT, Direction.INBOUND), RECENT)
    failed = await center.failed(await center.call(OLD, Direction.INBOUND), OLD)
    writing = await center.still_recording(await center.call(OLD, Direction.INBOUND), OLD)
    unlinked = await center.recorded(None, OLD)  # no interaction: the longest retention
    visit_call = await center.call(OLD, Direction.OUTBOUND)
    await center.return_visit(visit_call)
    return_visit = await center.recorded(visit_call, OLD)
    policy = parse_retention("default=3y,return_visit=5y,outbound=4y")
    before = await center.rows()

    report = await center.purge(policy)

    assert sorted(line.recording_id for line in report.deleted) == [expired, failed]
    assert report.held == []
    assert report.errors == []
    assert report.kept == 3  # recent, unlinked (5y), the return visit (5y)
    rows = await center.rows()
    for gone in (expired, failed):
        assert rows[gone].status is RecordingStatus.DELETED
        assert rows[gone].deleted_at is not None
        assert not center.file(rows[gone]).exists()
    assert not (storage.root / written_path(rows[failed].path)).exists()
    assert rows[expired].sha256 == before[expired].sha256  # the row keeps what it was
    for kept in (recent, unlinked, return_visit):
        assert rows[kept].status is RecordingStatus.COMPLETE
        assert center.file(rows[kept]).read_bytes()[44:] == AUDIO
    # A call still being recorded is never touched, however old: row and growing file stay.
    assert rows[writing].status is RecordingStatus.RECORDING
    assert (storage.root / written_path(rows[writing].path)).read_bytes() == AUDIO
    entries = await center.deleted_entries()
    assert [(e.facts.recording_id, e.facts.path) for e in entries] == [
        (expired, rows[expired].path),
        (failed, rows[failed].path),
    ]
    assert entries[0].facts.detail == "retention: inbound, kept 3y, expired 2029-01-05"
    assert entries[0].facts.sha256 == before[expired].sha256
    assert (await center.verify()).findings == []


async def test_a_second_purge_finds_nothing_to_do(
    database: Database, storage: LocalRecordingStorage
) -> None:
    center = await _center(database, storage)
    await center.recorded(await center.call(OLD, Direction.INBOUND), OLD)
    policy = parse_retention("default=3y")
    assert len((await center.purge(policy)).deleted) == 1

    again = await center.purge(policy)

    assert again.lines == []
    assert again.kept == 0
    assert len(await center.deleted_entries()) == 1
    assert (await center.verify()).ok


async def test_two_purges_at_once_delete_each_recording_once(
    database: Database, storage: LocalRecordingStorage
) -> None:
    center = await _center(database, storage)
    expired = [
        await center.recorded(await center.call(OLD, Direction.INBOUND), OLD) for _ in range(5)
    ]
    policy = parse_retention("default=3y")
    second = Database(database.url)  # the other run's own connections, as a second process
    try:
        one, two = await asyncio.gather(
            center.purge(policy), purge_recordings(second, storage, policy, AS_OF)
        )
    finally:
        await second.dispose()

    deleted = sorted(line.recording_id for line in [*one.deleted, *two.deleted])
    assert deleted == expired
    assert one.errors == []
    assert two.errors == []
    assert one.skipped + two.skipped == len(expired)  # each found the other's done
    assert sorted(e.facts.recording_id for e in await center.deleted_entries()) == expired
    assert (await center.verify()).ok


async def test_an_open_complaint_holds_its_call_until_it_closes(
    database: Database, storage: LocalRecordingStorage
) -> None:
    center = await _center(database, storage)
    call = await center.call(OLD, Direction.INBOUND)
    held = await center.recorded(call, OLD)
    complaint = await center.complaint(call)
    policy = parse_retention("default=3y")
    years_later = dt.datetime(2035, 1, 1, tzinfo=dt.UTC)

    while_open = await center.purge(policy, years_later)

    assert while_open.deleted == []
    assert [(line.recording_id, line.outcome) for line in while_open.held] == [(held, "held")]
    assert f"legal hold: complaint {complaint} (open) not closed" in while_open.held[0].detail
    row = (await center.rows())[held]
    assert row.status is RecordingStatus.COMPLETE
    assert center.file(row).exists()

    await center.close_complaint(complaint)
    after_close = await center.purge(policy, years_later)

    assert [line.recording_id for line in after_close.deleted] == [held]
    assert "complaint" in after_close.deleted[0].detail  # the call is of kind complaint
    assert not center.file(row).exists()
    assert (await center.verify()).ok


async def test_a_consult_leg_is_held_and_purged_with_its_call(
    database: Database, storage: LocalRecordingStorage
) -> None:
    center = await _center(database, storage)
    call = await center.call(OLD, Direction.INBOUND)
    recording = await center.recorded(call, OLD)
    consult = await center.consult(recording, OLD)
    complaint = await center.complaint(call)
    policy = parse_retention("default=3y,outbound=10y")  # no interaction of its own: 10y

    while_open = await center.purge(policy)
    holds = await legal_holds(database, policy, AS_OF)

    assert sorted(line.recording_id for line in while_open.held) == [recording, consult]
    assert [(facts.recording_id, decision.action) for facts, decision in holds] == [
        (recording, Action.DELETE),
        (consult, Action.DELETE),
    ]
    assert holds[1][1].reason == "inbound+complaint, kept 3y, expired 2029-01-05"
    await center.close_complaint(complaint)
    assert await legal_holds(database, policy, AS_OF) == []
    after_close = await center.purge(policy)
    assert sorted(line.recording_id for line in after_close.deleted) == [recording, consult]
    assert (await center.verify()).ok


async def test_a_closed_complaint_keeps_the_normal_retention_from_the_recording_date(
    database: Database, storage: LocalRecordingStorage
) -> None:
    center = await _center(database, storage)
    call = await center.call(RECENT, Direction.INBOUND)
    recording = await center.recorded(call, RECENT)
    await center.close_complaint(await center.complaint(call))
    policy = parse_retention("default=3y,complaint=5y")

    at_four_years = await center.purge(policy, RECENT.replace(year=2031))
    at_five_years = await center.purge(policy, RECENT.replace(year=2032))

    assert at_four_years.deleted == []
    assert at_four_years.kept == 1
    assert [line.recording_id for line in at_five_years.deleted] == [recording]


async def test_a_dry_run_changes_nothing(
    database: Database, storage: LocalRecordingStorage
) -> None:
    center = await _center(database, storage)
    recording = await center.recorded(await center.call(OLD, Direction.INBOUND), OLD)

    report = await center.purge(parse_retention("default=3y"), dry_run=True)

    assert [(line.outcome, line.recording_id) for line in report.deleted] == [
        ("would-delete", recording)
    ]
    row = (await center.rows())[recording]
    assert row.status is RecordingStatus.COMPLETE
    assert center.file(row).exists()
    assert await center.deleted_entries() == []


async def test_a_file_deleted_without_a_purge_is_not_purged_and_verify_still_says_so(
    database: Database, storage: LocalRecordingStorage
) -> None:
    center = await _center(database, storage)
    recording = await center.recorded(await center.call(OLD, Direction.INBOUND), OLD)
    row = (await center.rows())[recording]
    os.unlink(center.file(row))

    report = await center.purge(parse_retention("default=3y"))

    assert report.deleted == []
    assert [(line.outcome, line.recording_id) for line in report.errors] == [("error", recording)]
    assert report.errors[0].detail.startswith("file-missing")
    assert (await center.rows())[recording].status is RecordingStatus.COMPLETE
    findings = (await center.verify()).findings
    assert [(f.problem, f.recording_id) for f in findings] == [("file-missing", recording)]


class RefusingStorage(LocalRecordingStorage):
    """The real folder, whose files cannot be removed (a read-only mount)."""

    async def delete(self, path: str) -> bool:
        raise PermissionError(13, "Permission denied", str(self.root / path))


async def test_storage_that_refuses_the_deletion_leaves_the_recording_as_it_was(
    database: Database, storage: LocalRecordingStorage
) -> None:
    center = await _center(database, storage)
    recording = await center.recorded(await center.call(OLD, Direction.INBOUND), OLD)
    refusing = RefusingStorage(storage.root, str(storage.root))

    report = await purge_recordings(database, refusing, parse_retention("default=3y"), AS_OF)

    assert report.deleted == []
    assert [line.recording_id for line in report.errors] == [recording]
    assert report.errors[0].detail == (
        "storage-error: Permission denied (the recording is unchanged)"
    )
    row = (await center.rows())[recording]
    assert row.status is RecordingStatus.COMPLETE
    assert row.deleted_at is None
    assert await center.deleted_entries() == []  # the entry was rolled back with the row
    assert (await center.verify()).ok
