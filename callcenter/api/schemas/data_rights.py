"""Request and response shapes of a client's data rights (export, erasure)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from callcenter.api.schemas.common import StrictModel, text
from callcenter.persistence.data_rights import ErasureReport


class DataExportIn(StrictModel):
    reason: Annotated[str, text(300, min_length=8)] = Field(
        description="why (a subject-access request and its reference); kept in the audit log"
    )
    include_audio: bool = Field(
        default=False,
        description="answer a zip: the JSON document (client.json) and the voice messages' "
        "audio files the client left",
    )


class ErasureIn(StrictModel):
    reason: Annotated[str, text(300, min_length=8)] = Field(
        description="why; kept in the tombstone and the audit log (write no personal data)"
    )
    request_ref: Annotated[str, text(64, min_length=3)] = Field(
        description="the reference of the client's erasure request"
    )


class ErasureOut(BaseModel):
    client_id: int
    erasure_id: int
    erased_at: dt.datetime
    summary: dict[str, int] = Field(description="how many rows of each kind were touched")
    audio_left: list[str] = Field(
        description="voice-message audio files that could not be deleted (remove by hand)"
    )

    @classmethod
    def of(cls, report: ErasureReport) -> ErasureOut:
        return cls(
            client_id=report.client_id,
            erasure_id=report.erasure_id,
            erased_at=report.erased_at,
            summary=report.summary,
            audio_left=list(report.audio_left),
        )
