"""The write journal's file and replayer (callcenter/persistence/journal/file.py, writes.py,
unavailable.py), without a
database: entries survive a crash and land in order, a torn line or an entry that can never
land is set aside without blocking the rest, the file empties as entries land, and only a
database's "not now" is journaled."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc

from callcenter.crm.interactions import InteractionNotFound, PhaseAlreadyRecorded
from callcenter.persistence.journal import file as journal_file
from callcenter.persistence.journal.file import (
    JOURNAL_FILE,
    REJECTED_FILE,
    JournalEntry,
    WriteJournal,
)
from callcenter.persistence.journal.unavailable import is_unavailable
from callcenter.persistence.journal.writes import JournaledWrites

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)


class Database:
    """What the replays write to: refuses while ``down``, else records in order."""

    def __init__(self) -> None:
        self.down = True
        self.landed: list[tuple[int, str]] = []

    async def replay(self, entry: JournalEntry) -> None:
        if self.down:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        self.landed.append((entry.args["interaction_id"], entry.args["phase"]))


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def append_phases(journal: WriteJournal, *phases: tuple[int, str]) -> None:
    for interaction_id, phase in phases:
        await journal.append(
            "phase",
            {"interaction_id": interaction_id, "phase": phase},
            interaction_id=interaction_id,
            error="ConnectionRefusedError: down",
        )


async def test_entries_survive_a_crash_and_land_in_order_at_the_next_start(
    tmp_path: Path,
) -> None:
    db = Database()
    first = WriteJournal(tmp_path)
    first.handle("phase", db.replay)
    await append_phases(first, (7, "answered"), (8, "offered"), (7, "ended"))
    assert not await first.drain(), "the database is down: nothing lands"
    assert [e["seq"] for e in lines(tmp_path / JOURNAL_FILE)] == [1, 2, 3]

    # The process dies here; the next start reads the same folder.
    second = WriteJournal(tmp_path)
    second.handle("phase", db.replay)
    assert second.pending == 3
    db.down = False
    assert await second.drain()
    assert db.landed == [(7, "answered"), (8, "offered"), (7, "ended")]
    assert (tmp_path / JOURNAL_FILE).read_text() == "", "emptied once everything landed"
    await append_phases(second, (9, "ended"))
    assert [e["seq"] for e in lines(tmp_path / JOURNAL_FILE)] == [4], "numbering goes on"


async def test_the_status_says_how_many_wait_since_when_and_why(tmp_path: Path) -> None:
    now = [T0]
    journal = WriteJournal(tmp_path, clock=lambda: now[0])
    db = Database()
    journal.handle("phase", db.replay)
    assert journal.status().pending == 0
    assert journal.status().oldest_age_seconds is None
    await append_phases(journal, (7, "ended"), (8, "ended"))
    now[0] = T0 + dt.timedelta(seconds=25)
    await journal.drain()
    status = journal.status()
    assert (status.pending, status.oldest_age_seconds, status.durable) == (2, 25.0, True)
    assert "ConnectionRefusedError" in (status.last_error or "")
    assert status.path == str(tmp_path / JOURNAL_FILE)
    db.down = False
    await journal.drain()
    assert (journal.status().pending, journal.status().landed) == (0, 2)


async def test_a_line_torn_by_a_crash_is_set_aside_and_the_rest_lands(tmp_path: Path) -> None:
    first = WriteJournal(tmp_path)
    await append_phases(first, (7, "answered"), (7, "ended"))
    with (tmp_path / JOURNAL_FILE).open("a") as file:
        file.write('{"seq":3,"op":"phase","args":{"interaction_id":7,')  # no end, no newline

    db = Database()
    db.down = False
    second = WriteJournal(tmp_path)
    second.handle("phase", db.replay)
    assert second.pending == 2
    assert await second.drain()
    assert db.landed == [(7, "answered"), (7, "ended")]
    [torn] = lines(tmp_path / REJECTED_FILE)
    assert str(torn["line"]).startswith('{"seq":3')


async def test_an_entry_that_can_never_land_is_set_aside_behind_the_others(
    tmp_path: Path,
) -> None:
    landed: list[int] = []

    async def replay(entry: JournalEntry) -> None:
        if entry.args["interaction_id"] == 8:
            raise InteractionNotFound("no interaction 8")  # deleted meanwhile: never lands
        if entry.args["interaction_id"] == 9:
            raise PhaseAlreadyRecorded("phase ended is already recorded")  # landed before
        landed.append(entry.args["interaction_id"])

    journal = WriteJournal(tmp_path)
    journal.handle("phase", replay)
    await append_phases(journal, (7, "ended"), (8, "ended"), (9, "ended"), (10, "ended"))
    assert await journal.drain()
    assert landed == [7, 10]
    [rejected] = lines(tmp_path / REJECTED_FILE)
    assert rejected["entry"]["interaction_id"] == 8  # type: ignore[index]
    assert "InteractionNotFound" in str(rejected["reason"])
    assert (journal.status().landed, journal.status().rejected) == (3, 1)


async def test_when_the_journal_itself_cannot_be_written_entries_wait_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = WriteJournal(tmp_path)
    db = Database()
    journal.handle("phase", db.replay)
    real_append = journal_file._append_line

    def disk_full(path: Path, line: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal_file, "_append_line", disk_full)
    await append_phases(journal, (7, "answered"))
    assert journal.pending == 1
    assert not journal.status().durable
    monkeypatch.setattr(journal_file, "_append_line", real_append)
    await append_phases(journal, (7, "ended"))
    assert [e["interaction_id"] for e in lines(tmp_path / JOURNAL_FILE)] == [7, 7], (
        "the next write puts back the one the disk refused"
    )
    db.down = False
    assert await journal.drain()
    assert db.landed == [(7, "answered"), (7, "ended")]


async def test_the_replayer_retries_until_the_database_is_back(tmp_path: Path) -> None:
    db = Database()
    journal = WriteJournal(tmp_path, backoff_min=0.0, backoff_max=0.0)
    journal.handle("phase", db.replay)
    replayer = asyncio.create_task(journal.run())
    try:
        await append_phases(journal, (7, "ended"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert journal.pending == 1
        db.down = False
        for _ in range(200):
            if not journal.pending:
                break
            await asyncio.sleep(0)
        assert db.landed == [(7, "ended")]
    finally:
        replayer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await replayer


async def test_writes_go_behind_the_journal_while_it_holds_anything(tmp_path: Path) -> None:
    journal = WriteJournal(tmp_path)
    db = Database()
    journal.handle("phase", db.replay)
    writes = JournaledWrites(journal)
    direct: list[str] = []

    async def refused() -> None:
        raise ConnectionResetError(104, "Connection reset by peer")

    async def taken() -> None:
        direct.append("taken")

    await writes.write("phase", {"interaction_id": 7, "phase": "ended"}, refused, interaction_id=7)
    # The database is back, but an earlier write waits: this one must not overtake it.
    await writes.write(
        "phase", {"interaction_id": 7, "phase": "wrapped_up"}, taken, interaction_id=7
    )
    assert direct == []
    db.down = False
    await journal.drain()
    assert db.landed == [(7, "ended"), (7, "wrapped_up")]
    await writes.write("phase", {"interaction_id": 8, "phase": "ended"}, taken, interaction_id=8)
    assert direct == ["taken"], "with the journal empty, writes go straight to the database"


async def test_a_wrong_write_is_not_journaled(tmp_path: Path) -> None:
    journal = WriteJournal(tmp_path)
    writes = JournaledWrites(journal)

    async def bug() -> None:
        raise _sqlite_error("INSERT INTO nope VALUES (1)")

    with pytest.raises(sa_exc.OperationalError):
        await writes.write("phase", {"interaction_id": 7}, bug, interaction_id=7)
    assert journal.pending == 0


def _sqlite_error(sql: str, *, read_only: bool = False) -> sa_exc.DBAPIError:
    """The error SQLAlchemy raises for ``sql`` on a real SQLite database."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a UNIQUE)")
    conn.execute("INSERT INTO t VALUES (1)")
    if read_only:
        conn.execute("PRAGMA query_only = 1")
    try:
        conn.execute(sql)
    except sqlite3.Error as exc:
        wrap = sa_exc.IntegrityError if isinstance(exc, sqlite3.IntegrityError) else None
        return (wrap or sa_exc.OperationalError)(sql, {}, exc)
    finally:
        conn.close()
    raise AssertionError(f"{sql} did not fail")


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_only_a_database_that_cannot_take_the_write_now_is_journaled() -> None:
    assert is_unavailable(ConnectionRefusedError(111, "refused"))
    assert is_unavailable(TimeoutError())
    assert is_unavailable(_sqlite_error("INSERT INTO t VALUES (2)", read_only=True))
    assert is_unavailable(sa_exc.DBAPIError("COMMIT", {}, _PgError("57P01")))  # admin shutdown
    assert is_unavailable(sa_exc.DBAPIError("UPDATE", {}, _PgError("53100")))  # disk full
    assert is_unavailable(sa_exc.DBAPIError("UPDATE", {}, _PgError("08003")))  # connection gone

    assert not is_unavailable(_sqlite_error("INSERT INTO nope VALUES (1)"))  # a bug
    assert not is_unavailable(_sqlite_error("INSERT INTO t VALUES (1)"))  # a constraint
    assert not is_unavailable(sa_exc.DBAPIError("UPDATE", {}, _PgError("23505")))
    assert not is_unavailable(sa_exc.DBAPIError("UPDATE", {}, _PgError("42P01")))
    assert not is_unavailable(PhaseAlreadyRecorded("recorded"))
    assert not is_unavailable(ValueError("a bug"))
