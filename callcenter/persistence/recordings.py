"""The ``recordings`` rows and the ``recording_chain`` ledger (migration 0014).

Every change of a recording and its chain entry are written in one transaction, so a row
never exists without its entry. Appending takes the head row's lock (``recording_chain_head``,
callcenter/persistence/locking.py: ``SELECT ... FOR UPDATE`` on PostgreSQL, the write
transaction's ``BEGIN IMMEDIATE`` on SQLite): two calls ending at once append one after the
other, each linking to the entry the other wrote, never both to the same one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.recording_chain import (
    GENESIS,
    ChainEntry,
    ChainFacts,
    ChainKind,
    consult_detail,
    next_entry,
)
from callcenter.crm.recordings import FORMAT, Recording, RecordingStatus
from callcenter.persistence.db import Database
from callcenter.persistence.locking import lock_row
from callcenter.persistence.tables import RecordingChainEntry, RecordingChainHead, RecordingRow

HEAD_ID = 1


async def append_entry(session: AsyncSession, facts: ChainFacts) -> ChainEntry:
    """Append ``facts`` to the chain, in the caller's write transaction."""
    head = await lock_row(session, RecordingChainHead, HEAD_ID)
    if head is None:  # a database made without the migration's seed row
        head = RecordingChainHead(id=HEAD_ID, seq=0, entry_hash=GENESIS)
        session.add(head)
    entry = next_entry(head.seq, head.entry_hash, facts)
    session.add(
        RecordingChainEntry(
            seq=entry.seq,
            kind=facts.kind.value,
            recording_id=facts.recording_id,
            interaction_id=facts.interaction_id,
            path=facts.path,
            at=facts.at,
            sha256=facts.sha256,
            size_bytes=facts.size,
            detail=facts.detail,
            prev_hash=entry.prev_hash,
            entry_hash=entry.entry_hash,
        )
    )
    head.seq, head.entry_hash = entry.seq, entry.entry_hash
    await session.flush()
    return entry


class SqlRecordingLedger:
    """The :class:`callcenter.crm.recordings.RecordingLedger` on the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        interaction_id: int | None,
        call_id: str,
        path: str,
        started_at: dt.datetime,
        *,
        consult_of_id: int | None = None,
    ) -> int:
        async with self.db.write() as session:
            row = RecordingRow(
                interaction_id=interaction_id,
                call_id=call_id,
                consult_of_id=consult_of_id,
                path=path,
                format=FORMAT,
                status=RecordingStatus.RECORDING.value,
                started_at=started_at,
            )
            session.add(row)
            await session.flush()
            # A consult's link to its call is vouched for by the chain too (recording_verify).
            detail = consult_detail(consult_of_id)
            await append_entry(
                session,
                ChainFacts(
                    ChainKind.CREATED, row.id, interaction_id, path, started_at, detail=detail
                ),
            )
            return row.id

    async def complete(
        self, recording_id: int, ended_at: dt.datetime, duration_ms: int, size: int, sha256: str
    ) -> None:
        async with self.db.write() as session:
            row = await lock_row(session, RecordingRow, recording_id)
            if row is None:
                raise LookupError(f"no recording {recording_id}")
            row.status = RecordingStatus.COMPLETE.value
            row.ended_at, row.duration_ms = ended_at, duration_ms
            row.size_bytes, row.sha256 = size, sha256
            facts = ChainFacts(
                ChainKind.COMPLETED,
                recording_id,
                row.interaction_id,
                row.path,
                ended_at,
                sha256=sha256,
                size=size,
            )
            await append_entry(session, facts)

    async def fail(self, recording_id: int, ended_at: dt.datetime, reason: str) -> None:
        async with self.db.write() as session:
            row = await lock_row(session, RecordingRow, recording_id)
            if row is None:
                raise LookupError(f"no recording {recording_id}")
            row.status = RecordingStatus.FAILED.value
            row.ended_at, row.failure_reason = ended_at, reason[:200]
            facts = ChainFacts(
                ChainKind.FAILED,
                recording_id,
                row.interaction_id,
                row.path,
                ended_at,
                detail=reason[:200],
            )
            await append_entry(session, facts)


@dataclass(frozen=True)
class LedgerSnapshot:
    """Everything ``recordings verify`` compares, read in one transaction."""

    recordings: Sequence[Recording]
    entries: Sequence[ChainEntry]
    head_seq: int
    head_hash: str


async def read_ledger(db: Database) -> LedgerSnapshot:
    """Rows, ledger and head as of one moment: read holding the head's lock, so that no
    recording is created or completed between the three reads (a few milliseconds)."""
    async with db.write() as session:
        head = await lock_row(session, RecordingChainHead, HEAD_ID)
        rows = (await session.scalars(select(RecordingRow).order_by(RecordingRow.id))).all()
        chain = (
            await session.scalars(select(RecordingChainEntry).order_by(RecordingChainEntry.seq))
        ).all()
    return LedgerSnapshot(
        [recording_of(row) for row in rows],
        [entry_of(row) for row in chain],
        head.seq if head is not None else 0,
        head.entry_hash if head is not None else GENESIS,
    )


def recording_of(row: RecordingRow) -> Recording:
    return Recording(
        id=row.id,
        interaction_id=row.interaction_id,
        call_id=row.call_id,
        path=row.path,
        format=row.format,
        status=RecordingStatus(row.status),
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_ms=row.duration_ms,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        failure_reason=row.failure_reason,
        consult_of_id=row.consult_of_id,
        deleted_at=row.deleted_at,
    )


def entry_of(row: RecordingChainEntry) -> ChainEntry:
    facts = ChainFacts(
        kind=ChainKind(row.kind),
        recording_id=row.recording_id,
        interaction_id=row.interaction_id,
        path=row.path,
        at=row.at,
        sha256=row.sha256,
        size=row.size_bytes,
        detail=row.detail,
    )
    return ChainEntry(row.seq, facts, row.prev_hash, row.entry_hash)
