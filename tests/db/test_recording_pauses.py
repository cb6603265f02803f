"""Pausing a recording over the real database (SQLite and PostgreSQL), the PBX a fake we own
that writes a growing raw file as MixMonitor would: each pause is a row with its offsets, a
``paused`` and a ``resumed`` chain entry and an audit row each; the chain verifies with
them; the errors (not recorded, not your call, already paused, not paused); the limit and the
hang-up close a pause; a pause the database refuses is undone on the PBX."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.crm.recording_chain import ChainKind
from callcenter.crm.recording_pauses import (
    CallNotRecorded,
    NotYourCall,
    PauseClosed,
    PauseOpened,
    RecordedCall,
    RecordingAlreadyPaused,
    RecordingMuteFailed,
    RecordingNotPaused,
    RecordingPauses,
    ResumedBy,
)
from callcenter.crm.recording_verify import verify_recordings
from callcenter.crm.recordings import BYTES_PER_SECOND, recording_path, written_path
from callcenter.crm.vocabulary import Role
from callcenter.events import CallRecordingChanged, EventBus
from callcenter.persistence.db import Database
from callcenter.persistence.recording_files import LocalRecordingStorage
from callcenter.persistence.recording_pauses import (
    PAUSED_ACTION,
    RESUMED_ACTION,
    SqlPauseLedger,
    pauses_by_recording,
)
from callcenter.persistence.recordings import SqlRecordingLedger, read_ledger
from callcenter.persistence.tables import AuditEntry, RecordingChainEntry
from tests.support.crm_data import add_branch, add_client, add_interaction
from tests.support.data_rights import add_staff

AT = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
CALL = "1765072800.41"


class FakePbx:
    """The PBX port: ``seconds`` of audio written so far (the raw file grows with it), the
    mute flag as MixMonitorMute would set it."""

    def __init__(self, storage: LocalRecordingStorage, call: RecordedCall) -> None:
        self.storage = storage
        self.call = call
        self.live = True
        self.muted = False
        self.mutes: list[bool] = []
        self.written = storage.root / written_path(call.path)
        self.written.parent.mkdir(parents=True, exist_ok=True)
        self.written.write_bytes(b"")

    def talk(self, seconds: float) -> None:
        with self.written.open("ab") as file:
            file.write(bytes(int(seconds * BYTES_PER_SECOND)))

    async def recorded(self, call_id: str) -> RecordedCall | None:
        return self.call if self.live and call_id == self.call.call_id else None

    async def offset_ms(self, call: RecordedCall) -> int:
        size = await self.storage.size(written_path(call.path))
        return round((size or 0) * 1000 / BYTES_PER_SECOND)

    async def mute(self, call_id: str, muted: bool) -> None:
        self.muted = muted
        self.mutes.append(muted)


class Setup:
    def __init__(self, db: Database, tmp_path: Path) -> None:
        self.db = db
        self.storage = LocalRecordingStorage(tmp_path / "recordings", "/rec")
        self.events = EventBus()

    async def start(self) -> None:
        branch = await add_branch(self.db)
        self.agent = await add_staff(self.db, branch, Role.AGENT, "agent01")
        self.other = await add_staff(self.db, branch, Role.AGENT, "agent02")
        self.supervisor = await add_staff(self.db, branch, Role.SUPERVISOR, "super01")
        client = await add_client(self.db, branch)
        self.interaction = await add_interaction(self.db, client, AT, CALL)
        path = recording_path(AT, self.interaction, CALL)
        self.recording_id = await SqlRecordingLedger(self.db).create(
            self.interaction, CALL, path, AT
        )
        self.call = RecordedCall(CALL, self.recording_id, path, self.interaction, self.agent)
        self.pbx = FakePbx(self.storage, self.call)

    def service(self, limit: float = 120.0) -> RecordingPauses:
        return RecordingPauses(self.pbx, SqlPauseLedger(self.db), self.events, limit_seconds=limit)

    async def kinds(self) -> list[str]:
        async with self.db.read() as session:
            return list(
                await session.scalars(
                    select(RecordingChainEntry.kind).order_by(RecordingChainEntry.seq)
                )
            )

    async def audit(self) -> list[tuple[str, int | None, int | None, dict[str, object]]]:
        async with self.db.read() as session:
            rows = await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.in_([PAUSED_ACTION, RESUMED_ACTION]))
                .order_by(AuditEntry.id)
            )
            return [(r.action, r.actor_id, r.interaction_id, dict(r.detail)) for r in rows]


@pytest.fixture
async def setup(database: Database, tmp_path: Path) -> Setup:
    s = Setup(database, tmp_path)
    await s.start()
    return s


async def test_a_pause_is_a_row_with_its_offsets_two_chain_entries_and_audited(
    setup: Setup,
) -> None:
    pauses = setup.service()
    with setup.events.subscribe() as seen:
        setup.pbx.talk(4.0)
        status = await pauses.pause(CALL, setup.agent)
        assert status.paused
        assert setup.pbx.muted
        setup.pbx.talk(3.0)
        status = await pauses.resume(CALL, setup.agent, ResumedBy.AGENT)
        assert not status.paused
        assert not setup.pbx.muted
        events = [(await asyncio.wait_for(seen.get(), 1)).payload for _ in range(2)]

    [pause] = await pauses_by_recording(setup.db, setup.recording_id)
    assert (pause.start_ms, pause.end_ms) == (4000, 7000)
    assert pause.paused_by == setup.agent
    assert pause.resumed_by is ResumedBy.AGENT
    assert pause.resumed_by_user == setup.agent
    assert await setup.kinds() == ["created", "paused", "resumed"]
    audit = await setup.audit()
    assert [(a, actor, i) for a, actor, i, _ in audit] == [
        (PAUSED_ACTION, setup.agent, setup.interaction),
        (RESUMED_ACTION, setup.agent, setup.interaction),
    ]
    assert audit[1][3]["call_id"] == CALL
    assert audit[1][3]["end_ms"] == 7000

    assert all(isinstance(e, CallRecordingChanged) for e in events)
    assert [(e.state, e.resumed_by, e.agent_id) for e in events] == [  # type: ignore[attr-defined]
        ("paused", None, setup.agent),
        ("recording", "agent", setup.agent),
    ]

    # The chain with its pause entries verifies (the file is still being written: no hash).
    snapshot = await read_ledger(setup.db)
    assert {e.facts.kind for e in snapshot.entries} >= {ChainKind.PAUSED, ChainKind.RESUMED}
    verdict = await verify_recordings(
        snapshot.recordings, snapshot.entries, snapshot.head_seq, snapshot.head_hash, setup.storage
    )
    assert verdict.ok, [str(f) for f in verdict.findings]


async def test_who_may_pause_and_resume_and_the_refusals(setup: Setup) -> None:
    pauses = setup.service()
    with pytest.raises(NotYourCall):
        await pauses.pause(CALL, setup.other)
    with pytest.raises(CallNotRecorded):
        await pauses.pause("1765072800.99", setup.agent)
    with pytest.raises(RecordingNotPaused):
        await pauses.resume(CALL, setup.agent, ResumedBy.AGENT)
    await pauses.pause(CALL, setup.agent)
    with pytest.raises(RecordingAlreadyPaused):
        await pauses.pause(CALL, setup.agent)
    with pytest.raises(NotYourCall):
        await pauses.resume(CALL, setup.other, ResumedBy.AGENT)
    with pytest.raises(NotYourCall):
        await pauses.status(CALL, setup.other)
    await pauses.resume(CALL, setup.supervisor, ResumedBy.SUPERVISOR)
    [pause] = await pauses_by_recording(setup.db, setup.recording_id)
    assert pause.resumed_by is ResumedBy.SUPERVISOR
    assert pause.resumed_by_user == setup.supervisor
    assert setup.pbx.mutes == [True, False]


async def test_the_limit_resumes_a_pause_by_itself(setup: Setup) -> None:
    pauses = setup.service(limit=0.3)
    runner = asyncio.create_task(pauses.run())
    try:
        await asyncio.sleep(0)
        setup.pbx.talk(1.0)
        with setup.events.subscribe() as seen:
            await pauses.pause(CALL, setup.agent)
            await asyncio.wait_for(seen.get(), 1)  # paused
            resumed = (await asyncio.wait_for(seen.get(), 3)).payload
        assert isinstance(resumed, CallRecordingChanged)
        assert (resumed.state, resumed.resumed_by) == ("recording", "limit")
        assert resumed.paused_seconds >= 0.3
    finally:
        runner.cancel()
    [pause] = await pauses_by_recording(setup.db, setup.recording_id)
    assert pause.resumed_by is ResumedBy.LIMIT
    assert pause.resumed_by_user is None
    assert setup.pbx.mutes == [True, False]
    assert not pauses.is_paused(CALL)


async def test_a_hang_up_while_paused_closes_the_pause_without_unmuting(setup: Setup) -> None:
    pauses = setup.service()
    setup.pbx.talk(2.0)
    await pauses.pause(CALL, setup.agent)
    setup.pbx.talk(1.5)
    setup.pbx.live = False
    await pauses.call_ended(CALL)
    [pause] = await pauses_by_recording(setup.db, setup.recording_id)
    assert (pause.start_ms, pause.end_ms, pause.resumed_by) == (2000, 3500, ResumedBy.HANGUP)
    assert setup.pbx.mutes == [True]  # the channel is gone: nothing to unmute
    assert await setup.kinds() == ["created", "paused", "resumed"]


async def test_a_pause_the_database_refuses_is_undone_on_the_pbx(setup: Setup) -> None:
    class Refusing(SqlPauseLedger):
        async def opened(self, pause: PauseOpened) -> int:
            raise OSError("database gone")

        async def closed(self, pause: PauseClosed) -> None:
            raise AssertionError("never")

    pauses = RecordingPauses(setup.pbx, Refusing(setup.db), setup.events)
    with pytest.raises(OSError, match="database gone"):
        await pauses.pause(CALL, setup.agent)
    assert setup.pbx.mutes == [True, False]
    assert not setup.pbx.muted
    assert not pauses.is_paused(CALL)
    assert await setup.kinds() == ["created"]


async def test_a_call_gone_unseen_ends_its_pause_at_the_limit_as_a_hang_up(setup: Setup) -> None:
    class Gone(FakePbx):
        async def mute(self, call_id: str, muted: bool) -> None:
            if not self.live:
                raise RecordingMuteFailed("the call has ended")
            await super().mute(call_id, muted)

    pbx = Gone(setup.storage, setup.call)
    pauses = RecordingPauses(pbx, SqlPauseLedger(setup.db), setup.events, limit_seconds=0.2)
    runner = asyncio.create_task(pauses.run())
    try:
        await asyncio.sleep(0)
        with setup.events.subscribe() as seen:
            await pauses.pause(CALL, setup.agent)
            pbx.live = False  # its Hangup never seen: the AMI link was down
            await asyncio.wait_for(seen.get(), 1)  # paused
            ended = (await asyncio.wait_for(seen.get(), 3)).payload
        assert isinstance(ended, CallRecordingChanged)
        assert (ended.state, ended.resumed_by) == ("ended", "hangup")
    finally:
        runner.cancel()
    [pause] = await pauses_by_recording(setup.db, setup.recording_id)
    assert pause.resumed_by is ResumedBy.HANGUP
