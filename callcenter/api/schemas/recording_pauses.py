"""A call's recording, paused or not: what the desk's pause button gets back."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from callcenter.crm.recording_pauses import PauseStatus


class RecordingPauseOut(BaseModel):
    call_id: str
    recording_id: int
    state: Literal["paused", "recording"]
    paused_seconds: float  # for how long so far (0 while recording)
    limit_seconds: float  # a pause resumes by itself after this long
    resumed_by: Literal["agent", "limit", "hangup", "supervisor"] | None = None

    @classmethod
    def of(cls, status: PauseStatus) -> RecordingPauseOut:
        return cls(
            call_id=status.call_id,
            recording_id=status.recording_id,
            state="paused" if status.paused else "recording",
            paused_seconds=round(status.paused_seconds, 1),
            limit_seconds=status.limit_seconds,
            resumed_by=status.resumed_by.value if status.resumed_by is not None else None,
        )
