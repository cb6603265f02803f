"""Service codes over the API: not-ready reasons and dispositions with their labels."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from callcenter.api.schemas.common import StrictModel, Version, text
from callcenter.persistence.service_codes import CodeFields, CodeKind, ServiceCodeRecord

# Fits agent_state_changes.reason and interactions.disposition.
CodeSlug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,23}$")]
Label = Annotated[str, text(100)]


class ServiceCodeIn(StrictModel):
    """A code's labels (both languages, required), whether it is offered, and its place."""

    label_zh: Label = Field(examples=["小休"])
    label_en: Label = Field(examples=["Break"])
    active: bool | None = Field(None, description="offered to staff; null: as it was (new: true)")
    sort_order: int | None = Field(
        None,
        ge=-10_000,
        le=10_000,
        description="lower comes first; null: as it was (new: after the last)",
    )
    version: Version | None = Field(
        default=None, description="the version you read; null to create the code"
    )

    def fields(self) -> CodeFields:
        return CodeFields(self.label_zh, self.label_en, self.active, self.sort_order)


class ServiceCodeOut(BaseModel):
    kind: CodeKind
    code: str
    label_zh: str
    label_en: str
    active: bool
    sort_order: int
    version: int
    updated_at: dt.datetime
    updated_by_id: int | None

    @classmethod
    def of(cls, record: ServiceCodeRecord) -> ServiceCodeOut:
        return cls(
            kind=record.kind,
            code=record.code,
            label_zh=record.label_zh,
            label_en=record.label_en,
            active=record.active,
            sort_order=record.sort_order,
            version=record.version,
            updated_at=record.updated_at,
            updated_by_id=record.updated_by_id,
        )


class CodeLabelOut(BaseModel):
    """A code as the desk offers it."""

    code: str
    label_zh: str
    label_en: str

    @classmethod
    def of(cls, record: ServiceCodeRecord) -> CodeLabelOut:
        return cls(code=record.code, label_zh=record.label_zh, label_en=record.label_en)


class RemovedCodeOut(BaseModel):
    deleted: bool = Field(description="false: records use the code, so it was deactivated")
    code: ServiceCodeOut | None = Field(description="the deactivated code; null when deleted")
