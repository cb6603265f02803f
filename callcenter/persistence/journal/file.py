"""The journal's file and its replayer.

The file, ``writes.jsonl`` in the journal's folder, holds one JSON object per line, appended and
fsync'd before the caller is told the write is done. It is rewritten with what is left every
:data:`COMPACT_EVERY` entries landed and after each replay pass, and emptied once all landed.
A line a crash tore is set aside at the next start. When even the journal cannot be written
(the same full disk), the entry is kept in memory (``durable`` is False in the status) and the
whole file is rewritten at the next chance.

The replayer lands the entries in order, one pass at a time, pausing longer after each pass the
database refuses. Replays must be idempotent (the stores see to it): a crash after a write
landed but before the file forgot it replays it at the next start. An entry the database
refuses for good (a bug, a record that moved on in a way the call did not) goes to
``writes.rejected.jsonl`` with the reason, for a person to look at, so that it never blocks
the entries behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.crm.interactions import PhaseAlreadyRecorded, PhaseOutOfOrder
from callcenter.errors import DomainError
from callcenter.persistence.journal.unavailable import describe, is_unavailable

log = logging.getLogger(__name__)

JOURNAL_FILE = "writes.jsonl"
REJECTED_FILE = "writes.rejected.jsonl"
COMPACT_EVERY = 100  # entries landed between two rewrites of the file during a long replay
DEFAULT_REPLAY_TIMEOUT = 30.0  # a replayed write that hangs longer counts as "not now"
# A replay refused with these found the record past its write: it landed before a crash (or
# a later phase made it moot). Phases set a column once, in order (callcenter/crm/interactions.py).
ALREADY_STORED: tuple[type[Exception], ...] = (PhaseAlreadyRecorded, PhaseOutOfOrder)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class JournalEntry:
    """One write waiting for the database."""

    seq: int  # grows by one per entry, across runs
    op: str  # which write: the replay registered under this name lands it
    args: Mapping[str, Any]  # its arguments, as JSON (times in ISO 8601 with their offset)
    journaled_at: dt.datetime
    agent_id: int | None = None  # the agent whose state it changes
    interaction_id: int | None = None  # the record it writes
    ends_call: bool = False  # it ends the record: a restart must not end it a second time
    error: str | None = None  # why it was journaled (empty: others were already waiting)

    def to_line(self) -> str:
        data = {
            "seq": self.seq,
            "op": self.op,
            "args": dict(self.args),
            "journaled_at": self.journaled_at.isoformat(),
            "agent_id": self.agent_id,
            "interaction_id": self.interaction_id,
            "ends_call": self.ends_call,
            "error": self.error,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_line(cls, line: str) -> JournalEntry:
        data = json.loads(line)
        return cls(
            seq=int(data["seq"]),
            op=str(data["op"]),
            args=dict(data["args"]),
            journaled_at=dt.datetime.fromisoformat(data["journaled_at"]),
            agent_id=data.get("agent_id"),
            interaction_id=data.get("interaction_id"),
            ends_call=bool(data.get("ends_call", False)),
            error=data.get("error"),
        )


Replay = Callable[[JournalEntry], Awaitable[None]]


@dataclass(frozen=True)
class JournalStatus:
    """What /health shows of the journal."""

    path: str
    pending: int  # entries waiting for the database
    oldest_age_seconds: float | None  # how long the oldest of them has waited
    last_error: str | None  # the database's last refusal (or the journal's own trouble)
    durable: bool  # False: the journal's own disk refused an entry; it waits in memory only
    landed: int  # entries landed since the service started
    rejected: int  # entries moved to the rejected file since the service started


class WriteJournal:
    """The file, the entries waiting in it (in memory too, in order), and the replayer.

    One service per folder: two would replay the same entries side by side.
    """

    def __init__(
        self,
        folder: Path,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        backoff_min: float = 0.5,
        backoff_max: float = 30.0,
        replay_timeout: float = DEFAULT_REPLAY_TIMEOUT,
        offload: bool = True,
    ) -> None:
        """``offload``: write the file from a worker thread (the service); False writes it
        from the event loop, for tests that move the loop on by hand."""
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / JOURNAL_FILE
        self.rejected_path = folder / REJECTED_FILE
        self._clock = clock
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._replay_timeout = replay_timeout
        self._offload = offload
        self._replays: dict[str, Replay] = {}
        self._pending: deque[JournalEntry] = deque(self._load())
        self._next_seq = self._pending[-1].seq + 1 if self._pending else 1
        self._file_lock = asyncio.Lock()  # appends and rewrites, one at a time, in order
        self._replay_lock = asyncio.Lock()  # one replay pass at a time; reads hold it still
        self._wake = asyncio.Event()
        self._durable = True
        self.last_error: str | None = None
        self.landed = 0
        self.rejected = 0
        if self._pending:
            self._wake.set()
            log.warning(
                "journal %s: %d writes left by a previous run land first",
                self.path,
                len(self._pending),
            )

    # --- what the stores ask ------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return len(self._pending)

    def entries(self) -> tuple[JournalEntry, ...]:
        return tuple(self._pending)

    def holds(self, *, agent_id: int) -> int:
        """How many entries wait for this agent's state."""
        return sum(1 for entry in self._pending if entry.agent_id == agent_id)

    def handle(self, op: str, replay: Replay) -> None:
        """``replay`` lands the entries named ``op``: it returns once the write is stored (or
        found stored already), raises what :func:`is_unavailable` accepts to be tried again
        later, and raises anything else for an entry that can never land."""
        self._replays[op] = replay

    async def append(
        self,
        op: str,
        args: Mapping[str, Any],
        *,
        agent_id: int | None = None,
        interaction_id: int | None = None,
        ends_call: bool = False,
        error: str | None = None,
    ) -> JournalEntry:
        """Add a write behind the others; returns once it is on disk (or, when the journal's
        own disk refuses it, kept in memory)."""
        async with self._file_lock:
            entry = JournalEntry(
                self._next_seq,
                op,
                args,
                self._clock(),
                agent_id=agent_id,
                interaction_id=interaction_id,
                ends_call=ends_call,
                error=error,
            )
            self._next_seq += 1
            if not self._pending:
                log.warning("database unavailable (%s): writes go to %s", error, self.path)
            self._pending.append(entry)
            if error is not None:
                self.last_error = error
            self._wake.set()
            if self._durable:
                await self._to_disk(_append_line, self.path, entry.to_line())
            elif await self._to_disk(_rewrite, self.path, [e.to_line() for e in self._pending]):
                self._durable = True  # the entries the disk refused before are back in the file
        log.info(
            "journal: #%d %s (interaction %s, agent %s)", entry.seq, op, interaction_id, agent_id
        )
        return entry

    def status(self) -> JournalStatus:
        oldest = self._pending[0].journaled_at if self._pending else None
        return JournalStatus(
            path=str(self.path),
            pending=len(self._pending),
            oldest_age_seconds=(
                None if oldest is None else max(0.0, (self._clock() - oldest).total_seconds())
            ),
            last_error=self.last_error,
            durable=self._durable,
            landed=self.landed,
            rejected=self.rejected,
        )

    # --- the replayer --------------------------------------------------------------------------

    async def run(self) -> None:
        """Land entries as they come, retrying with a growing pause (``backoff_min`` doubling
        to ``backoff_max``) while the database refuses them. Runs until cancelled."""
        delay = self._backoff_min
        while True:
            await self._wake.wait()
            if await self.drain():
                delay = self._backoff_min
                if not self._pending:
                    self._wake.clear()
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)

    async def drain(self) -> bool:
        """One pass: land the entries in order until the database refuses one for now. True
        when none is left."""
        async with self._replay_lock:
            return await self._drain()

    @contextlib.asynccontextmanager
    async def settled(self) -> AsyncIterator[None]:
        """Land what can be landed, then hold the replayer still: what the caller reads from
        the database inside, and :meth:`entries` taken after that read, still inside, are the
        whole story (nothing lands meanwhile; what is appended meanwhile is not stored)."""
        async with self._replay_lock:
            if self._pending:
                await self._drain()
            yield

    async def _drain(self) -> bool:
        done = 0
        try:
            while self._pending:
                entry = self._pending[0]
                replay = self._replays.get(entry.op)
                if replay is None:  # its store is not built (yet): wait for it
                    self.last_error = f"no replay for {entry.op}"
                    return False
                try:
                    async with asyncio.timeout(self._replay_timeout):
                        await replay(entry)
                except ALREADY_STORED as exc:
                    log.info(
                        "journal: #%d %s (interaction %s) is stored already: %s",
                        entry.seq,
                        entry.op,
                        entry.interaction_id,
                        exc,
                    )
                    self.landed += 1
                except Exception as exc:
                    if is_unavailable(exc):
                        self.last_error = describe(exc)
                        log.info("journal: #%d waits: %s", entry.seq, self.last_error)
                        return False
                    await self._reject(entry, exc)
                else:
                    self.landed += 1
                self._pending.popleft()
                done += 1
                if done % COMPACT_EVERY == 0:
                    await self._compact()
            if done:
                log.info("journal drained: every waiting write landed (%d now)", done)
            return True
        finally:
            if done:
                await self._compact()

    async def _reject(self, entry: JournalEntry, exc: Exception) -> None:
        self.rejected += 1
        log.error(
            "journal: #%d %s (interaction %s, agent %s) can never land: %s; moved to %s",
            entry.seq,
            entry.op,
            entry.interaction_id,
            entry.agent_id,
            describe(exc),
            self.rejected_path,
            exc_info=None if isinstance(exc, DomainError) else exc,  # a bug: its traceback
        )
        line = json.dumps(
            {"entry": json.loads(entry.to_line()), "reason": describe(exc)}, ensure_ascii=False
        )
        async with self._file_lock:
            await self._to_disk(_append_line, self.rejected_path, line)

    async def _compact(self) -> None:
        """The file holds what is still waiting (empty once everything landed)."""
        async with self._file_lock:
            lines = [entry.to_line() for entry in self._pending]
            if await self._to_disk(_rewrite, self.path, lines):
                self._durable = True

    async def _to_disk(self, write: Callable[[Path, Any], None], path: Path, data: Any) -> bool:
        # In a worker thread: an fsync can take tens of milliseconds, and the event loop
        # reads the AMI socket, which Asterisk drops if it is not read in time.
        try:
            if self._offload:
                await asyncio.to_thread(write, path, data)
            else:
                write(path, data)
        except OSError as exc:
            if path == self.path:
                self._durable = False
            self.last_error = f"journal not written: {describe(exc)}"
            log.error("journal %s cannot be written: %s; entries wait in memory", path, exc)
            return False
        return True

    def _load(self) -> list[JournalEntry]:
        if not self.path.exists():
            return []
        entries: list[JournalEntry] = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entries.append(JournalEntry.from_line(line))
            except (ValueError, KeyError, TypeError) as exc:
                # A line a crash tore (the last one), or a damaged file: kept for a person.
                log.error(
                    "journal %s line %d is unreadable (%s): set aside", self.path, number, exc
                )
                _append_line(self.rejected_path, json.dumps({"line": line, "reason": str(exc)}))
        return entries


def _append_line(path: Path, line: str) -> None:
    data = (line + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _rewrite(path: Path, lines: list[str]) -> None:
    """Replace the file's content at once: a crash leaves the old file or the new one."""
    if not lines:  # everything landed: empty the file in place (this frees a full disk too)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview("".join(line + "\n" for line in lines).encode("utf-8"))
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)
