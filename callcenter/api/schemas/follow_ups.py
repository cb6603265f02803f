"""Follow-ups over the API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from callcenter.api.schemas.common import Id, Limit, Offset, PageOut, StrictModel, text
from callcenter.crm.follow_ups import FollowUpQuery, FollowUpRecord, NewFollowUp
from callcenter.crm.ports import Page
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus


class FollowUpIn(StrictModel):
    client_id: Id
    kind: FollowUpKind
    due_on: dt.date
    assigned_to_id: Id | None = Field(default=None, description="the owner; default: you")
    interaction_id: Id | None = Field(
        default=None, description="the call it was agreed in: your own call with this client"
    )

    def to_new(self) -> NewFollowUp:
        return NewFollowUp(**self.model_dump())


class FollowUpCompleteIn(StrictModel):
    outcome: Annotated[str, text(4_000)]
    interaction_id: Id | None = Field(default=None, description="the contact that did it")


class FollowUpCancelIn(StrictModel):
    reason: Annotated[str, text(1_000, min_length=3)]


class FollowUpListParams(BaseModel):
    assigned_to: Id | None = Field(default=None, description="user id")
    client_id: Id | None = None
    due_before: dt.date | None = Field(default=None, description="due strictly before this day")
    status: FollowUpStatus | None = None
    limit: Limit = 50
    offset: Offset = 0

    def to_query(self) -> FollowUpQuery:
        return FollowUpQuery(
            assigned_to_id=self.assigned_to,
            client_id=self.client_id,
            due_before=self.due_before,
            status=self.status,
            limit=self.limit,
            offset=self.offset,
        )


class FollowUpOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    client_id: int | None = Field(description="none: a callback for an unidentified caller")
    kind: FollowUpKind
    status: FollowUpStatus
    due_on: dt.date
    assigned_to_id: int | None
    created_by_id: int | None
    created_at: dt.datetime
    done_at: dt.datetime | None
    interaction_id: int | None = Field(
        description="the contact that completed it, else the call it was agreed in"
    )
    outcome: str | None
    version: int

    @classmethod
    def of(cls, record: FollowUpRecord) -> FollowUpOut:
        return cls.model_validate(record)


class FollowUpPageOut(PageOut[FollowUpOut]):
    @classmethod
    def of(cls, page: Page[FollowUpRecord]) -> FollowUpPageOut:
        return cls(
            items=[FollowUpOut.of(r) for r in page.items],
            limit=page.limit,
            offset=page.offset,
            has_more=page.has_more,
        )
