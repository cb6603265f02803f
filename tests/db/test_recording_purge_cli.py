"""`callcenter recordings purge` run as its own process, as cron runs it, on both databases:
--dry-run says what it would delete and changes nothing; the real run deletes, says what it
deleted and what a complaint holds, exits 0, and `recordings verify` still passes; a bad
CALLCENTER_RECORDING_RETENTION stops it at start, naming the item."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from callcenter.crm.recordings import Recording, RecordingStatus
from callcenter.crm.vocabulary import Direction
from callcenter.persistence.db import Database
from callcenter.persistence.recording_files import LocalRecordingStorage
from tests.support.recording_center import OLD, RECENT, Center

T = TypeVar("T")
CALLCENTER = str(Path(sys.executable).parent / "callcenter")


def _on(url: str, storage: LocalRecordingStorage, work: Callable[[Center], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database(url)
        try:
            return await work(Center(db, storage))
        finally:
            await db.dispose()

    return asyncio.run(run())


def _run(
    url: str, root: Path, *args: str, retention: str = "default=3y"
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLCENTER_")}
    env |= {
        "CALLCENTER_DATABASE_URL": url,
        "CALLCENTER_RECORDINGS_DIR": str(root),
        "CALLCENTER_RECORDING_RETENTION": retention,
    }
    return subprocess.run(
        [CALLCENTER, "recordings", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _tree(root: Path) -> dict[str, str]:
    return {
        file.relative_to(root).as_posix(): hashlib.sha256(file.read_bytes()).hexdigest()
        for file in sorted(root.rglob("*"))
        if file.is_file()
    }


@pytest.fixture
def storage(tmp_path: Path) -> LocalRecordingStorage:
    root = tmp_path / "recordings"
    return LocalRecordingStorage(root, str(root))


def test_the_purge_command_dry_run_then_real_run(
    database_url: str, storage: LocalRecordingStorage
) -> None:
    async def seed(center: Center) -> tuple[int, int, int, int]:
        await center.seed()
        expired = await center.recorded(await center.call(OLD, Direction.INBOUND), OLD)
        recent = await center.recorded(await center.call(RECENT, Direction.INBOUND), RECENT)
        disputed_call = await center.call(OLD, Direction.INBOUND)
        disputed = await center.recorded(disputed_call, OLD)
        complaint = await center.complaint(disputed_call)
        return expired, recent, disputed, complaint

    async def rows(center: Center) -> dict[int, Recording]:
        return await center.rows()

    expired, recent, disputed, complaint = _on(database_url, storage, seed)
    files_before = _tree(storage.root)
    rows_before = _on(database_url, storage, rows)

    dry = _run(database_url, storage.root, "purge", "--dry-run", "--as-of", "2029-06-01")

    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0].startswith(f"would-delete\trecording {expired}\t2026/01/05/")
    assert lines[0].endswith("\tinbound, kept 3y, expired 2029-01-05")
    assert lines[1].startswith(f"held\trecording {disputed}\t")
    assert f"legal hold: complaint {complaint} (open) not closed" in lines[1]
    assert lines[2] == (
        "as of 2029-06-01 00:00:00 UTC (inbound 3y, outbound 3y, return_visit 3y, complaint 3y): "
        "1 would delete, 1 on legal hold, 1 not expired, 0 not purged "
        "(dry run: nothing changed)"
    )
    assert _tree(storage.root) == files_before
    assert _on(database_url, storage, rows) == rows_before

    real = _run(database_url, storage.root, "purge", "--as-of", "2029-06-01")

    assert real.returncode == 0, real.stderr
    assert real.stdout.splitlines()[0].startswith(f"deleted\trecording {expired}\t")
    assert "1 deleted, 1 on legal hold, 1 not expired, 0 not purged" in real.stdout
    after = _on(database_url, storage, rows)
    assert after[expired].status is RecordingStatus.DELETED
    assert after[recent].status is RecordingStatus.COMPLETE
    assert after[disputed].status is RecordingStatus.COMPLETE
    assert set(files_before) - set(_tree(storage.root)) == {rows_before[expired].path}

    holds = _run(database_url, storage.root, "holds")

    assert holds.returncode == 0, holds.stderr
    assert holds.stdout.splitlines() == [
        f"held\trecording {disputed}\t{rows_before[disputed].path}\tcomplaint {complaint} "
        "(open); once closed: inbound+complaint, kept 3y, expired 2029-01-05"
        if dt.datetime.now(dt.UTC).year >= 2029
        else f"held\trecording {disputed}\t{rows_before[disputed].path}\tcomplaint "
        f"{complaint} (open); once closed: inbound+complaint, kept 3y until 2029-01-05",
        "1 recording(s) on legal hold",
    ]

    verify = _run(database_url, storage.root, "verify")

    assert verify.returncode == 0, verify.stdout
    assert verify.stdout.strip().endswith(": ok")


def test_a_bad_retention_setting_stops_the_command_at_start(
    database_url: str, storage: LocalRecordingStorage
) -> None:
    bad = _run(database_url, storage.root, "purge", "--dry-run", retention="default=3y,vip=9y")

    assert bad.returncode == 1
    assert "invalid settings" in bad.stderr
    assert "CALLCENTER_RECORDING_RETENTION: unknown kind 'vip'" in bad.stderr
    assert bad.stdout == ""


def test_a_recordings_folder_that_is_not_there_is_named_and_nothing_is_purged(
    database_url: str, storage: LocalRecordingStorage, tmp_path: Path
) -> None:
    async def seed(center: Center) -> int:
        await center.seed()
        return await center.recorded(await center.call(OLD, Direction.INBOUND), OLD)

    async def rows(center: Center) -> dict[int, Recording]:
        return await center.rows()

    expired = _on(database_url, storage, seed)
    unmounted = tmp_path / "not-mounted"

    run = _run(database_url, unmounted, "purge", "--as-of", "2029-06-01")

    assert run.returncode == 1
    assert run.stdout.splitlines()[0] == (
        f"error\t-\t-\tstorage-unreadable: {unmounted} is not a folder (not mounted?); "
        "1 expired recording(s) not purged"
    )
    assert "0 deleted, 0 on legal hold, 0 not expired, 1 not purged" in run.stdout
    assert _on(database_url, storage, rows)[expired].status is RecordingStatus.COMPLETE
    assert storage.root.joinpath(_on(database_url, storage, rows)[expired].path).exists()
