"""The do-not-call list over the API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from callcenter.api.schemas.common import StrictModel, Timestamp, Version, text
from callcenter.persistence.dnc import DncFields, DncRecord, DncScope

Reason = Annotated[str, text(300)]


class DncChangeIn(StrictModel):
    scope: DncScope = Field(description="all: no call at all; care: no care or courtesy call")
    reason: Reason = Field(examples=["client asked on the phone, 2026-12-07"])
    expires_at: Timestamp | None = Field(None, description="null: until removed")

    def fields(self) -> DncFields:
        return DncFields(self.scope, self.reason, self.expires_at)


class DncIn(DncChangeIn):
    number: Annotated[str, text(32)] = Field(
        examples=["+8613800138000"], description="any form; stored in E.164"
    )


class DncUpdateIn(DncChangeIn):
    version: Version


class DncOut(BaseModel):
    id: int
    number: str = Field(description="E.164")
    scope: DncScope
    reason: str
    added_by_id: int | None
    added_at: dt.datetime
    expires_at: dt.datetime | None
    version: int

    @classmethod
    def of(cls, record: DncRecord) -> DncOut:
        return cls(
            id=record.entry_id,
            number=record.e164,
            scope=record.scope,
            reason=record.reason,
            added_by_id=record.added_by_id,
            added_at=record.added_at,
            expires_at=record.expires_at,
            version=record.version,
        )


class DncPageOut(BaseModel):
    items: list[DncOut]
    total: int
    limit: int
    offset: int
