"""Reading recordings for playback, and writing each playback with its audit entry.

The rules (who, why, tickets) are callcenter/crm/recording_access.py's. Here: a recording
with what the rules and the page need (its call's agent and client, its pauses), the
recordings of an interaction, a client or a complaint, and the playbacks: one row and one
audit entry per playback, in one transaction, so that no recording is heard unaudited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.recording_access import (
    OWN_CALL_ROLES,
    PlaybackPurpose,
    PlaybackReason,
)
from callcenter.crm.recordings import Recording
from callcenter.crm.vocabulary import Role
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.recordings import recording_of
from callcenter.persistence.tables import (
    Complaint,
    Interaction,
    RecordingPause,
    RecordingPlayback,
    RecordingRow,
)

LIST_LIMIT = 200


@dataclass(frozen=True)
class Pause:
    start_ms: int
    end_ms: int | None  # None: not resumed (yet)
    resumed_by: str | None


@dataclass(frozen=True)
class RecordingView:
    recording: Recording
    agent_id: int | None  # who took the call
    client_id: int | None
    pauses: Sequence[Pause] = ()


@dataclass(frozen=True)
class PlaybackTicket:
    playback_id: int
    recording_id: int
    by_user_id: int
    purpose: PlaybackPurpose
    expires_at: dt.datetime


def _reach(role: Role, user_id: int) -> ColumnElement[bool]:
    """Which calls' recordings a role that passed the policy sees: agents their own."""
    return Interaction.agent_id == user_id if role in OWN_CALL_ROLES else true()


async def _pauses(session: AsyncSession, recording_ids: Sequence[int]) -> dict[int, list[Pause]]:
    found: dict[int, list[Pause]] = {rid: [] for rid in recording_ids}
    if not recording_ids:
        return found
    rows = await session.scalars(
        select(RecordingPause)
        .where(RecordingPause.recording_id.in_(recording_ids))
        .order_by(RecordingPause.recording_id, RecordingPause.start_ms)
    )
    for row in rows:
        found[row.recording_id].append(Pause(row.start_ms, row.end_ms, row.resumed_by))
    return found


async def load_recording(db: Database, recording_id: int) -> RecordingView | None:
    async with db.read() as session:
        found = (
            await session.execute(
                select(RecordingRow, Interaction.agent_id, Interaction.client_id)
                .outerjoin(Interaction, Interaction.id == RecordingRow.interaction_id)
                .where(RecordingRow.id == recording_id)
            )
        ).one_or_none()
        if found is None:
            return None
        row, agent_id, client_id = found
        pauses = await _pauses(session, [row.id])
        return RecordingView(recording_of(row), agent_id, client_id, pauses[row.id])


@dataclass(frozen=True)
class RecordingQuery:
    """Whose recordings: one interaction's, one client's or one complaint's (its call's),
    else the newest of all."""

    interaction_id: int | None = None
    client_id: int | None = None
    complaint_id: int | None = None
    limit: int = 50


async def list_recordings(
    db: Database, role: Role, user_id: int, query: RecordingQuery, *, at: dt.datetime
) -> list[RecordingView]:
    """The recordings ``query`` names that ``role`` may see, newest first; the listing is
    audited (``recording.list``, what was asked and how many were shown)."""
    where = [_reach(role, user_id)]
    if query.interaction_id is not None:
        where.append(RecordingRow.interaction_id == query.interaction_id)
    if query.client_id is not None:
        where.append(Interaction.client_id == query.client_id)
    if query.complaint_id is not None:
        where.append(
            RecordingRow.interaction_id.in_(
                select(Complaint.interaction_id).where(Complaint.id == query.complaint_id)
            )
        )
    async with db.write() as session:
        rows = (
            await session.execute(
                select(RecordingRow, Interaction.agent_id, Interaction.client_id)
                .outerjoin(Interaction, Interaction.id == RecordingRow.interaction_id)
                .where(*where)
                .order_by(RecordingRow.started_at.desc(), RecordingRow.id.desc())
                .limit(min(query.limit, LIST_LIMIT))
            )
        ).all()
        pauses = await _pauses(session, [row.id for row, _a, _c in rows])
        views = [
            RecordingView(recording_of(row), agent_id, client_id, pauses[row.id])
            for row, agent_id, client_id in rows
        ]
        await record_audit(
            session,
            user_id,
            "recording.list",
            client_id=query.client_id,
            interaction_id=query.interaction_id,
            detail={
                "complaint_id": query.complaint_id,
                "recording_ids": [view.recording.id for view in views],
            },
            at=at,
        )
    return views


async def audit_view(db: Database, user_id: int, view: RecordingView, at: dt.datetime) -> None:
    """One recording's details were read (not played)."""
    async with db.write() as session:
        await record_audit(
            session,
            user_id,
            "recording.view",
            client_id=view.client_id,
            interaction_id=view.recording.interaction_id,
            detail={"recording_id": view.recording.id},
            at=at,
        )


@dataclass(frozen=True)
class NewPlayback:
    by_user_id: int
    purpose: PlaybackPurpose
    reason: PlaybackReason
    reason_text: str | None
    ticket_sha256: str
    at: dt.datetime
    expires_at: dt.datetime


async def open_playback(db: Database, view: RecordingView, playback: NewPlayback) -> int:
    """The playback's row and its audit entry (``recording.play`` or
    ``recording.download``: who, when, which recording, interaction and client, and why)."""
    async with db.write() as session:
        row = RecordingPlayback(
            recording_id=view.recording.id,
            by_user_id=playback.by_user_id,
            purpose=playback.purpose.value,
            reason=playback.reason.value,
            reason_text=playback.reason_text,
            ticket_sha256=playback.ticket_sha256,
            at=playback.at,
            expires_at=playback.expires_at,
        )
        session.add(row)
        await session.flush()
        playback_id = row.id
        await record_audit(
            session,
            playback.by_user_id,
            f"recording.{playback.purpose.value}",
            client_id=view.client_id,
            interaction_id=view.recording.interaction_id,
            detail={
                "recording_id": view.recording.id,
                "playback_id": playback_id,
                "reason": playback.reason.value,
                "reason_text": playback.reason_text,
            },
            at=playback.at,
        )
    return playback_id


async def find_ticket(db: Database, ticket_sha256: str) -> PlaybackTicket | None:
    async with db.read() as session:
        row = await session.scalar(
            select(RecordingPlayback).where(RecordingPlayback.ticket_sha256 == ticket_sha256)
        )
        if row is None:
            return None
        return PlaybackTicket(
            row.id, row.recording_id, row.by_user_id, PlaybackPurpose(row.purpose), row.expires_at
        )
