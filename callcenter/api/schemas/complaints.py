"""Complaints over the API: what a request may carry and what a response shows."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from callcenter.api.schemas.common import Id, Version, text
from callcenter.crm.complaints import is_overdue
from callcenter.crm.vocabulary import ComplaintStatus
from callcenter.persistence.complaints import ComplaintWithHistory
from callcenter.persistence.tables import Complaint, ComplaintCategory, ComplaintEvent

Summary = Annotated[str, text(200)]
LongText = Annotated[str, text(10_000)]
Note = Annotated[str, text(4_000)]
CategoryCode = Annotated[str, text(40)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests ---------------------------------------------------------------------------------


class ComplaintCreate(StrictModel):
    client_id: Id
    category_code: CategoryCode = Field(description="an active leaf of the taxonomy")
    summary: Summary
    description: LongText
    interaction_id: Id | None = Field(default=None, description="the contact it came in on")


class ComplaintTransitionIn(StrictModel):
    to: ComplaintStatus
    version: Version
    note: Note | None = None
    resolution: LongText | None = Field(default=None, description="required to resolve")


class ComplaintNoteIn(StrictModel):
    note: Note


class ComplaintAssignIn(StrictModel):
    assigned_to_id: Id | None = Field(description="a user, or null to unassign")
    version: Version


# --- responses --------------------------------------------------------------------------------


class ComplaintEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    from_status: ComplaintStatus | None
    to_status: ComplaintStatus
    at: dt.datetime
    by_user_id: int | None
    note: str | None


class ComplaintOut(BaseModel):
    id: int
    client_id: int
    interaction_id: int | None
    category_code: str
    owner_department: str | None
    owner_branch_id: int | None
    status: ComplaintStatus
    summary: str
    description: str
    created_by_id: int | None
    assigned_to_id: int | None
    created_at: dt.datetime
    response_due_at: dt.datetime
    responded_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolution: str | None
    version: int
    overdue: bool = Field(description="past the 2-day response deadline without a response")

    @classmethod
    def of(cls, row: Complaint, now: dt.datetime) -> ComplaintOut:
        return cls(
            id=row.id,
            client_id=row.client_id,
            interaction_id=row.interaction_id,
            category_code=row.category_code,
            owner_department=row.owner_department,
            owner_branch_id=row.owner_branch_id,
            status=row.status,
            summary=row.summary,
            description=row.description,
            created_by_id=row.created_by_id,
            assigned_to_id=row.assigned_to_id,
            created_at=row.created_at,
            response_due_at=row.response_due_at,
            responded_at=row.responded_at,
            resolved_at=row.resolved_at,
            closed_at=row.closed_at,
            resolution=row.resolution,
            version=row.version,
            overdue=is_overdue(row.response_due_at, row.responded_at, now),
        )


class ComplaintDetailOut(ComplaintOut):
    history: list[ComplaintEventOut] = Field(description="oldest first")

    @classmethod
    def of_record(cls, record: ComplaintWithHistory, now: dt.datetime) -> ComplaintDetailOut:
        summary = ComplaintOut.of(record.complaint, now)
        return cls(
            **summary.model_dump(),
            history=[_event_out(event) for event in record.history],
        )


def _event_out(event: ComplaintEvent) -> ComplaintEventOut:
    return ComplaintEventOut.model_validate(event)


class ComplaintCategoryOut(BaseModel):
    code: str
    name: str = Field(description="Chinese name")
    name_en: str
    owner: str = Field(description='the owning department, or "branch": the client\'s branch')
    children: list[ComplaintCategoryOut] = Field(default_factory=list)

    @classmethod
    def tree(cls, rows: list[ComplaintCategory]) -> list[ComplaintCategoryOut]:
        """Nest a flat list (parents listed before their children)."""
        nodes: dict[str, ComplaintCategoryOut] = {}
        roots: list[ComplaintCategoryOut] = []
        for row in rows:
            node = cls(code=row.code, name=row.name, name_en=row.name_en, owner=row.owner)
            nodes[row.code] = node
            parent = nodes.get(row.parent_code) if row.parent_code else None
            (parent.children if parent else roots).append(node)
        return roots
