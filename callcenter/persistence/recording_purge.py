"""``callcenter recordings purge``: delete the recordings whose retention has run out.

For each expired recording (callcenter/crm/recording_retention.py decides), in ONE write
transaction: lock its row and read it again (still ``complete`` or ``failed``: a call still
being written, or a recording another purge just deleted, is left alone), ask again whether a
complaint that is not closed holds it (one may have been opened since the list was read),
check that its file is there with the size the row says (a file already gone or changed is NOT
purged: purging it would write over the evidence ``recordings verify`` reports), set the row
``deleted`` with ``deleted_at`` and append its ``deleted`` chain entry, remove the file, then
commit. A file that cannot be removed (unwritable storage) raises, the transaction rolls back,
and the recording stays as it was, named in the report. The only window left is a commit that
fails after the file went: the row stays ``complete`` without a file, which ``recordings
verify`` reports, and so does the next purge (it never purges a complete recording without
its file): an operator looks at it, as at any file gone without a purge.

Run twice, the second run finds nothing to do: deleted rows are not read again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from callcenter.crm.recording_chain import ChainFacts, ChainKind
from callcenter.crm.recording_retention import (
    PURGEABLE,
    Action,
    Decision,
    RecordingFacts,
    RetentionPolicy,
    decide,
    oldest_unexpired_start,
)
from callcenter.crm.recordings import RecordingStatus, RecordingStorage, written_path
from callcenter.crm.vocabulary import ComplaintStatus, Direction, FollowUpKind
from callcenter.persistence.db import Database
from callcenter.persistence.locking import lock_row
from callcenter.persistence.recordings import append_entry
from callcenter.persistence.tables import (
    Complaint,
    FollowUp,
    Interaction,
    RecordingRow,
)

log = logging.getLogger(__name__)

CHUNK = 500  # ids per IN (...) list: well under SQLite's and asyncpg's parameter limits
PURGEABLE_VALUES = sorted(status.value for status in PURGEABLE)


@dataclass(frozen=True)
class PurgeLine:
    """One recording the purge deleted, held, or could not purge."""

    outcome: str  # deleted (would-delete on a dry run), held, error
    recording_id: int | None  # None: the storage as a whole
    path: str
    detail: str

    def __str__(self) -> str:
        where = "-" if self.recording_id is None else f"recording {self.recording_id}"
        return f"{self.outcome}\t{where}\t{self.path}\t{self.detail}"


@dataclass
class PurgeReport:
    as_of: dt.datetime
    dry_run: bool
    policy: RetentionPolicy
    deleted: list[PurgeLine] = field(default_factory=list)
    held: list[PurgeLine] = field(default_factory=list)
    errors: list[PurgeLine] = field(default_factory=list)
    kept: int = 0  # not expired yet
    skipped: int = 0  # changed under the purge (deleted by another run, ...)

    @property
    def lines(self) -> list[PurgeLine]:
        return [*self.deleted, *self.held, *self.errors]


class PurgeRefused(Exception):
    """This recording must not be purged now; the message says why (rolls back)."""

    def __init__(self, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


async def purge_recordings(
    db: Database,
    storage: RecordingStorage,
    policy: RetentionPolicy,
    as_of: dt.datetime,
    *,
    dry_run: bool = False,
    storage_problem: str | None = None,
) -> PurgeReport:
    """Delete every recording expired as of ``as_of`` that no open complaint holds.
    ``storage_problem``: why the storage cannot be used (:func:`folder_problem`); then
    nothing is deleted and one error line says why and how many expired recordings wait."""
    report = PurgeReport(as_of, dry_run, policy)
    started_before = oldest_unexpired_start(policy, as_of)
    async with db.read() as session:
        candidates = await _facts(session, started_before)
        report.kept += await _count_newer(session, started_before)
    decisions = [(facts, decide(facts, policy, as_of)) for facts in candidates]
    waiting = sum(1 for _, decision in decisions if decision.action is Action.DELETE)
    if storage_problem is not None and waiting and not dry_run:
        detail = f"{storage_problem}; {waiting} expired recording(s) not purged"
        report.errors.append(PurgeLine("error", None, "-", detail))
        decisions = [(f, d) for f, d in decisions if d.action is not Action.DELETE]
    for facts, decision in decisions:
        if decision.action is Action.KEEP:
            report.kept += 1
        elif decision.action is Action.HOLD:
            report.held.append(PurgeLine("held", facts.recording_id, facts.path, decision.reason))
        elif decision.action is Action.SKIP:
            report.skipped += 1
        elif dry_run:
            line = PurgeLine("would-delete", facts.recording_id, facts.path, decision.reason)
            report.deleted.append(line)
        else:
            await _purge_one(db, storage, facts, decision, report)
    return report


def folder_problem(root: Path) -> str | None:
    """Why the recordings folder cannot be purged (not there: an unmounted volume; no right
    to remove files), or None. Asked before anything is deleted, so that a missing volume is
    named once rather than as every recording's missing file."""
    if not root.is_dir():
        return f"storage-unreadable: {root} is not a folder (not mounted?)"
    if not os.access(root, os.R_OK | os.W_OK | os.X_OK):
        return f"storage-unreadable: {root}: no permission to read and remove files"
    return None


async def legal_holds(
    db: Database, policy: RetentionPolicy, as_of: dt.datetime
) -> list[tuple[RecordingFacts, Decision]]:
    """Every recording a complaint that is not closed holds, expired or not, with what the
    purge would decide of it were the complaint closed (``callcenter recordings holds``)."""
    async with db.read() as session:
        held = await _facts(session, None, on_hold=True)
    released = (
        replace(
            facts, complaints=tuple((cid, ComplaintStatus.CLOSED) for cid, _ in facts.complaints)
        )
        for facts in held
    )
    return [
        (facts, decide(free, policy, as_of)) for facts, free in zip(held, released, strict=True)
    ]


async def _purge_one(
    db: Database,
    storage: RecordingStorage,
    facts: RecordingFacts,
    decision: Decision,
    report: PurgeReport,
) -> None:
    try:
        async with db.write() as session:
            await _delete_in(session, storage, facts, decision)
    except PurgeRefused as refused:
        line = PurgeLine(refused.outcome, facts.recording_id, facts.path, refused.detail)
        if refused.outcome == "held":
            report.held.append(line)
        elif refused.outcome == "skipped":
            report.skipped += 1
        else:
            report.errors.append(line)
        return
    except OSError as exc:  # the storage refused; the row's change was rolled back
        detail = f"storage-error: {exc.strerror or exc} (the recording is unchanged)"
        log.error("purge: recording %s not deleted: %s", facts.recording_id, exc)
        report.errors.append(PurgeLine("error", facts.recording_id, facts.path, detail))
        return
    log.info("purge: recording %s deleted (%s)", facts.recording_id, decision.reason)
    report.deleted.append(PurgeLine("deleted", facts.recording_id, facts.path, decision.reason))


async def _delete_in(
    session: AsyncSession, storage: RecordingStorage, facts: RecordingFacts, decision: Decision
) -> None:
    """The check, then the row and its entry, then the file: see the module's docstring."""
    row = await lock_row(session, RecordingRow, facts.recording_id)
    if row is None or row.status not in PURGEABLE_VALUES or row.path != facts.path:
        raise PurgeRefused("skipped", "changed since it was read")
    if facts.call_interaction_id is not None:
        still_open = await _open_complaints(session, facts.call_interaction_id)
        if still_open:
            which = ", ".join(f"complaint {cid} ({status.value})" for cid, status in still_open)
            raise PurgeRefused("held", f"legal hold: {which} not closed ({decision.reason})")
    if row.status == RecordingStatus.COMPLETE.value:
        size = await storage.size(row.path)
        if size is None:
            raise PurgeRefused(
                "error", "file-missing: gone without a purge; not purged (recordings verify)"
            )
        if size != row.size_bytes:
            raise PurgeRefused(
                "error",
                f"file-modified: {size} bytes, the row {row.size_bytes}; not purged "
                "(recordings verify)",
            )
    was_complete = row.status == RecordingStatus.COMPLETE.value
    at = dt.datetime.now(dt.UTC)
    row.status, row.deleted_at = RecordingStatus.DELETED.value, at
    await append_entry(
        session,
        ChainFacts(
            ChainKind.DELETED,
            row.id,
            row.interaction_id,
            row.path,
            at,
            sha256=row.sha256,
            size=row.size_bytes,
            detail=f"retention: {decision.reason}"[:200],
        ),
    )
    # Last, inside the transaction: an OSError here rolls the row and its entry back.
    await storage.delete(row.path)
    if not was_complete:  # a failed recording may have left what Asterisk wrote
        await storage.delete(written_path(row.path))


async def _count_newer(session: AsyncSession, started_before: dt.datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(RecordingRow)
        .where(RecordingRow.status.in_(PURGEABLE_VALUES), RecordingRow.started_at > started_before)
    )
    return int(count or 0)


async def _facts(
    session: AsyncSession, started_before: dt.datetime | None, *, on_hold: bool = False
) -> list[RecordingFacts]:
    """Every purgeable recording that started by ``started_before`` (None: whenever), or only
    those a complaint that is not closed holds (``on_hold``), with its call's links."""
    call = aliased(RecordingRow)
    call_interaction = func.coalesce(RecordingRow.interaction_id, call.interaction_id)
    stmt = (
        select(
            RecordingRow.id,
            RecordingRow.path,
            RecordingRow.status,
            RecordingRow.started_at,
            RecordingRow.interaction_id,
            call_interaction,
            RecordingRow.size_bytes,
            RecordingRow.sha256,
        )
        .outerjoin(call, RecordingRow.consult_of_id == call.id)
        .where(RecordingRow.status.in_(PURGEABLE_VALUES))
        .order_by(RecordingRow.id)
    )
    if started_before is not None:
        stmt = stmt.where(RecordingRow.started_at <= started_before)
    if on_hold:
        held_calls = select(Complaint.interaction_id).where(
            Complaint.status != ComplaintStatus.CLOSED, Complaint.interaction_id.is_not(None)
        )
        stmt = stmt.where(call_interaction.in_(held_calls))
    rows = (await session.execute(stmt)).all()
    interactions = {row[5] for row in rows if row[5] is not None}
    directions = await _directions(session, interactions)
    complaints = await _complaints(session, interactions)
    return_visits = await _return_visits(session, interactions)
    return [
        RecordingFacts(
            recording_id=rid,
            path=path,
            status=RecordingStatus(status),
            started_at=started_at,
            interaction_id=own,
            call_interaction_id=of_call,
            size_bytes=size,
            sha256=sha256,
            direction=directions.get(of_call) if of_call is not None else None,
            complaints=tuple(complaints.get(of_call, ())) if of_call is not None else (),
            return_visit=of_call in return_visits,
        )
        for rid, path, status, started_at, own, of_call, size, sha256 in rows
    ]


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


async def _directions(session: AsyncSession, ids: set[int]) -> dict[int, Direction]:
    found: dict[int, Direction] = {}
    for chunk in _chunks(ids):
        result = await session.execute(
            select(Interaction.id, Interaction.direction).where(Interaction.id.in_(chunk))
        )
        found.update({iid: Direction(direction) for iid, direction in result.all()})
    return found


async def _complaints(
    session: AsyncSession, ids: set[int]
) -> dict[int, list[tuple[int, ComplaintStatus]]]:
    found: dict[int, list[tuple[int, ComplaintStatus]]] = {}
    for chunk in _chunks(ids):
        result = await session.execute(
            select(Complaint.interaction_id, Complaint.id, Complaint.status)
            .where(Complaint.interaction_id.in_(chunk))
            .order_by(Complaint.id)
        )
        for iid, cid, status in result.all():
            if iid is not None:
                found.setdefault(iid, []).append((cid, ComplaintStatus(status)))
    return found


async def _return_visits(session: AsyncSession, ids: set[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(ids):
        result = await session.scalars(
            select(FollowUp.interaction_id).where(
                FollowUp.interaction_id.in_(chunk), FollowUp.kind == FollowUpKind.RETURN_VISIT
            )
        )
        found.update(iid for iid in result if iid is not None)
    return found


async def _open_complaints(
    session: AsyncSession, interaction_id: int
) -> Sequence[tuple[int, ComplaintStatus]]:
    result = await session.execute(
        select(Complaint.id, Complaint.status).where(
            Complaint.interaction_id == interaction_id,
            Complaint.status != ComplaintStatus.CLOSED,
        )
    )
    return [(cid, ComplaintStatus(status)) for cid, status in result.all()]
