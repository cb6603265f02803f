"""The ``recording_pauses`` rows (migration 0014): a recording's paused spans, written with
their chain entries (``paused``, ``resumed``) and audit rows in one transaction each.

:func:`pauses_of` reads a recording's timeline (GET /api/recordings/{id}'s ``pauses``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.recording_chain import ChainFacts, ChainKind
from callcenter.crm.recording_pauses import PauseClosed, PauseOpened, RecordingPause, ResumedBy
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.locking import lock_row
from callcenter.persistence.recordings import append_entry
from callcenter.persistence.tables import RecordingPause as PauseRow
from callcenter.persistence.tables import RecordingRow

# The audit log's actions (who paused or resumed which call's recording, when).
PAUSED_ACTION = "recording.paused"
RESUMED_ACTION = "recording.resumed"


def pause_of(row: PauseRow) -> RecordingPause:
    return RecordingPause(
        start_ms=row.start_ms,
        end_ms=row.end_ms,
        paused_by=row.paused_by_user_id,
        resumed_by=ResumedBy(row.resumed_by) if row.resumed_by is not None else None,
        paused_at=row.paused_at,
        resumed_at=row.resumed_at,
        resumed_by_user=row.resumed_by_user_id,
    )


async def pauses_of(session: AsyncSession, recording_id: int) -> Sequence[RecordingPause]:
    """The recording's pauses, in the order they happened."""
    rows = await session.scalars(
        select(PauseRow).where(PauseRow.recording_id == recording_id).order_by(PauseRow.id)
    )
    return [pause_of(row) for row in rows]


class SqlPauseLedger:
    """The :class:`callcenter.crm.recording_pauses.PauseLedger` on the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def opened(self, pause: PauseOpened) -> int:
        async with self.db.write() as session:
            recording = await lock_row(session, RecordingRow, pause.recording_id)
            if recording is None:
                raise LookupError(f"no recording {pause.recording_id}")
            row = PauseRow(
                recording_id=pause.recording_id,
                paused_at=pause.at,
                start_ms=pause.start_ms,
                paused_by_user_id=pause.by_user_id,
            )
            session.add(row)
            await session.flush()
            facts = ChainFacts(
                ChainKind.PAUSED,
                pause.recording_id,
                recording.interaction_id,
                recording.path,
                pause.at,
                detail=f"pause {row.id} at {pause.start_ms} ms by user {pause.by_user_id}",
            )
            await append_entry(session, facts)
            await record_audit(
                session,
                pause.by_user_id,
                PAUSED_ACTION,
                interaction_id=recording.interaction_id,
                detail={
                    "recording_id": pause.recording_id,
                    "call_id": pause.call_id,
                    "pause_id": row.id,
                    "start_ms": pause.start_ms,
                },
                at=pause.at,
            )
            return row.id

    async def closed(self, pause: PauseClosed) -> None:
        async with self.db.write() as session:
            row = await lock_row(session, PauseRow, pause.pause_id)
            if row is None:
                raise LookupError(f"no recording pause {pause.pause_id}")
            if row.resumed_by is not None:
                return  # closed already (a resume and the hang-up at once)
            recording = await session.get(RecordingRow, row.recording_id)
            assert recording is not None  # a foreign key
            end_ms = max(pause.end_ms, row.start_ms)
            row.resumed_at, row.end_ms = pause.at, end_ms
            row.resumed_by, row.resumed_by_user_id = pause.resumed_by.value, pause.by_user_id
            facts = ChainFacts(
                ChainKind.RESUMED,
                row.recording_id,
                recording.interaction_id,
                recording.path,
                pause.at,
                detail=f"pause {row.id} to {end_ms} ms by {pause.resumed_by.value}",
            )
            await append_entry(session, facts)
            await record_audit(
                session,
                pause.by_user_id,
                RESUMED_ACTION,
                interaction_id=recording.interaction_id,
                detail={
                    "recording_id": row.recording_id,
                    "call_id": pause.call_id,
                    "pause_id": row.id,
                    "start_ms": row.start_ms,
                    "end_ms": end_ms,
                    "resumed_by": pause.resumed_by.value,
                },
                at=pause.at,
            )


async def pauses_by_recording(db: Database, recording_id: int) -> Sequence[RecordingPause]:
    async with db.read() as session:
        return await pauses_of(session, recording_id)
