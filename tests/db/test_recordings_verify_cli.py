"""`callcenter recordings verify` run as its own process, as an operator (or cron) runs it, on
both databases, over recordings made by the RecordingService into a local folder: two calls'
recordings and a consult of the second, each a real 2-channel PCM file finished and hashed.

A clean store says ok and exits 0. Each kind of tampering is named on a line of its own with
the problem, the recording and the file's path, and the command exits 1: a modified byte, a
deleted file, a removed row, an inserted row, an altered chain entry, a consult's link changed,
a file slipped into the folder.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
import struct
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import delete, insert, select, update

from callcenter.crm.recordings import (
    FORMAT,
    RecordingService,
    RecordingStatus,
    wav_header,
    written_path,
)
from callcenter.persistence.db import Database
from callcenter.persistence.recording_files import LocalRecordingStorage
from callcenter.persistence.recordings import SqlRecordingLedger
from callcenter.persistence.tables import RecordingChainEntry, RecordingRow

T = TypeVar("T")
CALLCENTER = str(Path(sys.executable).parent / "callcenter")
AT = dt.datetime(2026, 12, 7, 2, 30, tzinfo=dt.UTC)


def stereo_tone(seconds: float, left_hz: int = 440, right_hz: int = 1000) -> bytes:
    """What MixMonitor's D writes: interleaved 16-bit samples, the caller left, the agent
    right."""
    frames = []
    for n in range(round(8000 * seconds)):
        left = round(9000 * math.sin(2 * math.pi * left_hz * n / 8000))
        right = round(9000 * math.sin(2 * math.pi * right_hz * n / 8000))
        frames.append(struct.pack("<hh", left, right))
    return b"".join(frames)


@dataclass
class Store:
    url: str
    storage: LocalRecordingStorage
    calls: tuple[int, int]  # the two calls' recordings
    consult: int  # the consult of the second call
    paths: dict[int, str]


def on_db(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


async def record(
    service: RecordingService, call_id: str, at: dt.datetime, consult_of_id: int | None = None
) -> tuple[int, str]:
    """As a call does it: the row at the answer, Asterisk's raw file, finished at the end."""
    path = service.plan(at, None, call_id)
    raw = Path(service.storage.asterisk_name(written_path(path)))  # the same folder here
    recording_id = await service.opened(None, call_id, path, at, consult_of_id=consult_of_id)
    await asyncio.to_thread(_write, raw, stereo_tone(1.5))
    assert await service.finish(recording_id, path) is RecordingStatus.COMPLETE
    return recording_id, path


def _write(file: Path, data: bytes) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(data)


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Store:
    root = tmp_path / "recordings"
    storage = LocalRecordingStorage(root, str(root))

    async def seed(db: Database) -> Store:
        service = RecordingService(storage, SqlRecordingLedger(db), stable_seconds=0.2)
        first, first_path = await record(service, "1765000000.11", AT)
        second, second_path = await record(service, "1765000100.21", AT)
        consult, consult_path = await record(
            service, "1765000100.21-consult1", AT, consult_of_id=second
        )
        paths = {first: first_path, second: second_path, consult: consult_path}
        return Store(database_url, storage, (first, second), consult, paths)

    return on_db(database_url, seed)


def verify(store: Store) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLCENTER_")}
    env |= {
        "CALLCENTER_DATABASE_URL": store.url,
        "CALLCENTER_RECORDINGS_DIR": str(store.storage.root),
    }
    return subprocess.run(
        [CALLCENTER, "recordings", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def findings(done: subprocess.CompletedProcess[str]) -> list[tuple[str, str, str]]:
    """(problem, recording, path) of each line the command printed before its summary."""
    lines = done.stdout.strip().splitlines()[:-1]
    return [tuple(line.split("\t")[:3]) for line in lines]  # type: ignore[misc]


def test_a_clean_store_verifies_ok(store: Store) -> None:
    done = verify(store)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "3 recordings, 6 chain entries, 3 files hashed: ok"
    wav = store.storage.root / store.paths[store.consult]
    data = wav.read_bytes()
    assert data[:44] == wav_header(len(data) - 44)  # the files are the service's real WAVs
    assert len(data) == 44 + 1.5 * 32000


def test_a_modified_byte_is_named(store: Store) -> None:
    first = store.calls[0]
    wav = store.storage.root / store.paths[first]
    data = bytearray(wav.read_bytes())
    data[5000] ^= 0x01
    wav.write_bytes(bytes(data))
    done = verify(store)
    assert done.returncode == 1, done.stdout
    assert findings(done) == [("file-modified", f"recording {first}", store.paths[first])]
    assert done.stdout.strip().endswith("1 problem(s)")


def test_a_deleted_file_is_named(store: Store) -> None:
    second = store.calls[1]
    (store.storage.root / store.paths[second]).unlink()
    done = verify(store)
    assert done.returncode == 1, done.stdout
    assert findings(done) == [("file-missing", f"recording {second}", store.paths[second])]


def test_a_removed_row_is_named(store: Store) -> None:
    first = store.calls[0]

    async def remove(db: Database) -> None:
        async with db.write() as session:
            await session.execute(delete(RecordingRow).where(RecordingRow.id == first))

    on_db(store.url, remove)
    done = verify(store)
    assert done.returncode == 1, done.stdout
    # The row is gone; its file, still vouched for by the chain, is not "unknown".
    assert findings(done) == [("row-removed", f"recording {first}", store.paths[first])]


def test_an_inserted_row_is_named(store: Store) -> None:
    forged_path = "2026/12/07/0-1765000200.31.wav"

    async def add(db: Database) -> int:
        async with db.write() as session:
            await session.execute(
                insert(RecordingRow).values(
                    interaction_id=None,
                    call_id="1765000200.31",
                    path=forged_path,
                    format=FORMAT,
                    status=RecordingStatus.COMPLETE.value,
                    started_at=AT,
                    ended_at=AT,
                    duration_ms=1500,
                    size_bytes=48044,
                    sha256="00" * 32,
                )
            )
            forged = await session.scalar(
                select(RecordingRow.id).where(RecordingRow.path == forged_path)
            )
        assert forged is not None
        return forged

    forged = on_db(store.url, add)
    (store.storage.root / forged_path).write_bytes(wav_header(0))  # and its file beside
    done = verify(store)
    assert done.returncode == 1, done.stdout
    assert findings(done) == [("row-inserted", f"recording {forged}", forged_path)]


def test_an_altered_chain_entry_is_named(store: Store) -> None:
    second = store.calls[1]

    async def alter(db: Database) -> None:
        async with db.write() as session:
            await session.execute(
                update(RecordingChainEntry)
                .where(
                    RecordingChainEntry.recording_id == second,
                    RecordingChainEntry.kind == "completed",
                )
                .values(sha256="ee" * 32)
            )

    on_db(store.url, alter)
    done = verify(store)
    assert done.returncode == 1, done.stdout
    named = findings(done)
    # The entry itself; then the row and the file no longer match what it (now) says.
    assert named[0] == ("entry-altered", f"recording {second}", store.paths[second])
    assert set(named[1:]) == {
        ("row-altered", f"recording {second}", store.paths[second]),
        ("file-modified", f"recording {second}", store.paths[second]),
    }


def test_a_consults_link_changed_in_its_row_is_named(store: Store) -> None:
    async def relink(db: Database) -> None:
        async with db.write() as session:
            await session.execute(
                update(RecordingRow)
                .where(RecordingRow.id == store.consult)
                .values(consult_of_id=store.calls[0])
            )

    on_db(store.url, relink)
    done = verify(store)
    assert done.returncode == 1, done.stdout
    line = done.stdout.splitlines()[0]
    assert findings(done) == [
        ("row-altered", f"recording {store.consult}", store.paths[store.consult])
    ]
    assert f"consult of {store.calls[0]}, the ledger {store.calls[1]}" in line


def test_a_file_slipped_into_the_folder_is_named(store: Store) -> None:
    slipped = "2026/12/07/0-1765000300.41.wav"
    (store.storage.root / slipped).write_bytes(wav_header(32000) + stereo_tone(1.0))
    done = verify(store)
    assert done.returncode == 1, done.stdout
    assert findings(done) == [("file-unknown", "-", slipped)]
