"""A center with recordings for the retention purge's tests: a client, a supervisor, calls
of each kind, complaints worked through their real workflow, and recordings with real files
in a storage folder, written through the real ledger (tests/db/test_recording_purge*.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from callcenter.crm.complaints import Actor
from callcenter.crm.recording_chain import ChainEntry, ChainKind
from callcenter.crm.recording_retention import RetentionPolicy
from callcenter.crm.recording_verify import Verification, verify_recordings
from callcenter.crm.recordings import Recording, wav_header, written_path
from callcenter.crm.vocabulary import (
    Channel,
    ComplaintStatus,
    Direction,
    FollowUpKind,
    FollowUpStatus,
    Role,
)
from callcenter.persistence import complaints
from callcenter.persistence.db import Database
from callcenter.persistence.recording_files import LocalRecordingStorage
from callcenter.persistence.recording_purge import PurgeReport, purge_recordings
from callcenter.persistence.recordings import (
    SqlRecordingLedger,
    entry_of,
    read_ledger,
    recording_of,
)
from callcenter.persistence.tables import (
    FollowUp,
    Interaction,
    RecordingChainEntry,
    RecordingRow,
)
from tests.support.crm_data import add_branch, add_client
from tests.support.data_rights import add_staff

OLD = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)  # expires 2029-01-05 at 3 years
RECENT = dt.datetime(2027, 1, 5, 10, 0, tzinfo=dt.UTC)  # expires 2030-01-05
AS_OF = dt.datetime(2029, 6, 1, tzinfo=dt.UTC)
AUDIO = bytes(range(256)) * 125  # 32,000 bytes: one second of the format


class Center:
    """A client, a supervisor and the recordings' ledger, on one database."""

    def __init__(self, db: Database, storage: LocalRecordingStorage) -> None:
        self.db, self.storage = db, storage
        self.ledger = SqlRecordingLedger(db)
        self.client_id = 0
        self.actor = Actor(0, Role.SUPERVISOR, None)

    async def seed(self) -> None:
        branch = await add_branch(self.db)
        self.client_id = await add_client(self.db, branch)
        supervisor = await add_staff(self.db, branch, Role.SUPERVISOR, "lead.li")
        self.actor = Actor(supervisor, Role.SUPERVISOR, branch)

    async def call(self, started_at: dt.datetime, direction: Direction) -> int:
        async with self.db.write() as session:
            interaction = Interaction(
                client_id=self.client_id,
                channel=Channel.VOICE,
                direction=direction,
                started_at=started_at,
                call_id=None,  # a test call: no Asterisk channel
            )
            session.add(interaction)
            await session.flush()
            return interaction.id

    async def recorded(
        self, interaction_id: int | None, started_at: dt.datetime, consult_of: int | None = None
    ) -> int:
        """A complete recording with its real file, as the service finishes one."""
        recording_id, path = await self._opened(interaction_id, started_at, consult_of)
        raw = self.storage.root / written_path(path)
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_bytes(AUDIO)
        await self.storage.finish(written_path(path), path, wav_header(len(AUDIO)))
        digest = await self.storage.digest(path)
        assert digest is not None
        ended = started_at + dt.timedelta(seconds=1)
        await self.ledger.complete(recording_id, ended, 1000, digest[1], digest[0])
        return recording_id

    async def consult(self, of: int, started_at: dt.datetime) -> int:
        """A consult leg's recording (its own file), linked to the call's by consult_of_id
        only: no interaction of its own, so its kind and hold are its call's."""
        return await self.recorded(None, started_at, consult_of=of)

    async def still_recording(self, interaction_id: int, started_at: dt.datetime) -> int:
        """A call still being recorded: Asterisk's raw file is growing, the row says so."""
        recording_id, path = await self._opened(interaction_id, started_at)
        raw = self.storage.root / written_path(path)
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_bytes(AUDIO)
        return recording_id

    async def failed(self, interaction_id: int, started_at: dt.datetime) -> int:
        recording_id, path = await self._opened(interaction_id, started_at)
        raw = self.storage.root / written_path(path)  # what a failed finish left behind
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_bytes(AUDIO[:100])
        await self.ledger.fail(recording_id, started_at, "finish-failed: No space left")
        return recording_id

    async def _opened(
        self, interaction_id: int | None, at: dt.datetime, consult_of: int | None = None
    ) -> tuple[int, str]:
        call_id = f"1767600000.{len(await self.rows()) + 1}"
        path = f"{at:%Y/%m/%d}/{interaction_id or 0}-{call_id}.wav"
        recording_id = await self.ledger.create(
            interaction_id, call_id, path, at, consult_of_id=consult_of
        )
        return recording_id, path

    async def complaint(self, interaction_id: int) -> int:
        async with self.db.write() as session:
            new = complaints.NewComplaint(
                self.client_id, "trading.execution", "order lost", "details", interaction_id
            )
            record = await complaints.create_complaint(session, self.actor, new, at=OLD)
            return record.complaint.id

    async def close_complaint(self, complaint_id: int) -> None:
        """Through its real workflow: acknowledged, resolved, closed."""
        steps = [ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED]
        for version, status in enumerate(steps, start=1):
            async with self.db.write() as session:
                await complaints.transition_complaint(
                    session,
                    self.actor,
                    complaint_id,
                    status,
                    version,
                    resolution="refunded" if status is ComplaintStatus.RESOLVED else None,
                )

    async def return_visit(self, interaction_id: int) -> None:
        async with self.db.write() as session:
            session.add(
                FollowUp(
                    client_id=self.client_id,
                    kind=FollowUpKind.RETURN_VISIT,
                    status=FollowUpStatus.DONE,
                    due_on=OLD.date(),
                    interaction_id=interaction_id,
                )
            )

    async def rows(self) -> dict[int, Recording]:
        async with self.db.read() as session:
            rows = await session.scalars(select(RecordingRow))
            return {row.id: recording_of(row) for row in rows}

    async def deleted_entries(self) -> list[ChainEntry]:
        async with self.db.read() as session:
            stmt = select(RecordingChainEntry).where(
                RecordingChainEntry.kind == ChainKind.DELETED.value
            )
            rows = await session.scalars(stmt.order_by(RecordingChainEntry.seq))
            return [entry_of(row) for row in rows]

    async def purge(
        self, policy: RetentionPolicy, as_of: dt.datetime = AS_OF, *, dry_run: bool = False
    ) -> PurgeReport:
        return await purge_recordings(self.db, self.storage, policy, as_of, dry_run=dry_run)

    async def verify(self) -> Verification:
        snapshot = await read_ledger(self.db)
        return await verify_recordings(
            snapshot.recordings,
            snapshot.entries,
            snapshot.head_seq,
            snapshot.head_hash,
            self.storage,
        )

    def file(self, row: Recording) -> Path:
        return self.storage.root / row.path
