"""Recordings for playback: what a recording is, and the playback a player opens with why."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from callcenter.api.schemas.common import Id, StrictModel, text
from callcenter.crm.recording_access import REASON_TEXT_MAX, PlaybackPurpose, PlaybackReason
from callcenter.crm.recordings import RecordingStatus
from callcenter.persistence.recording_access import RecordingQuery, RecordingView


class PauseOut(BaseModel):
    start_ms: int = Field(description="offset into the recording where the agent paused")
    end_ms: int | None = Field(description="where recording resumed; null: never resumed")
    resumed_by: str | None = Field(description="agent, limit, hangup or supervisor")


class RecordingOut(BaseModel):
    id: int
    interaction_id: int | None
    client_id: int | None
    agent_id: int | None = Field(description="who took the call")
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration_ms: int | None
    size_bytes: int | None
    status: RecordingStatus
    format: str
    sha256: str | None
    failure_reason: str | None
    consult_of_id: int | None
    pauses: list[PauseOut]

    @classmethod
    def of(cls, view: RecordingView) -> RecordingOut:
        r = view.recording
        return cls(
            id=r.id,
            interaction_id=r.interaction_id,
            client_id=view.client_id,
            agent_id=view.agent_id,
            started_at=r.started_at,
            ended_at=r.ended_at,
            duration_ms=r.duration_ms,
            size_bytes=r.size_bytes,
            status=r.status,
            format=r.format,
            sha256=r.sha256,
            failure_reason=r.failure_reason,
            consult_of_id=r.consult_of_id,
            pauses=[
                PauseOut(start_ms=p.start_ms, end_ms=p.end_ms, resumed_by=p.resumed_by)
                for p in view.pauses
            ],
        )


class RecordingListParams(StrictModel):
    interaction_id: Id | None = None
    client_id: Id | None = None
    complaint_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50

    def to_query(self) -> RecordingQuery:
        return RecordingQuery(self.interaction_id, self.client_id, self.complaint_id, self.limit)


class RecordingListOut(BaseModel):
    items: list[RecordingOut]


class PlaybackIn(StrictModel):
    reason: PlaybackReason | None = Field(
        default=None, description="why: complaint, quality_review, dispute, client_request, other"
    )
    reason_text: Annotated[str, text(REASON_TEXT_MAX, min_length=0)] | None = Field(
        default=None, description="a few words; required when the reason is 'other'"
    )
    purpose: PlaybackPurpose = PlaybackPurpose.PLAY


class PlaybackOut(BaseModel):
    playback_id: int
    recording_id: int
    purpose: PlaybackPurpose
    ticket: str = Field(description="send as ?ticket= with every request of the audio")
    audio_url: str = Field(description="the audio's URL with the ticket (and download=1)")
    expires_at: dt.datetime
