"""The dialler over the API: an agent's work items, the preview, dialling, skipping and
telling how a call went (callcenter/api/routes/outbound.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from callcenter.api.schemas.common import Id, StrictModel, Timestamp, text
from callcenter.crm.phones import mask_phone, to_e164
from callcenter.crm.vocabulary import FollowUpKind
from callcenter.outbound.model import Attempt, WorkItem
from callcenter.outbound.service import DialedItem, WorkView

AgentOutcome = Literal["completed", "reached", "refused", "wrong_number"]
Reason = Annotated[str, text(300, min_length=2)]
Note = Annotated[str, text(300)]


class AttemptOut(BaseModel):
    id: int
    mode: str
    agent_id: int | None
    interaction_id: int | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    outcome: str | None
    note: str | None

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptOut:
        return cls(
            id=attempt.id,
            mode=attempt.mode.value,
            agent_id=attempt.agent_id,
            interaction_id=attempt.interaction_id,
            started_at=attempt.started_at,
            ended_at=attempt.ended_at,
            outcome=attempt.outcome.value if attempt.outcome else None,
            note=attempt.note,
        )


class WorkItemOut(BaseModel):
    id: int
    kind: FollowUpKind
    client_id: int | None
    number_masked: str | None = Field(description="the number, masked: never whole on a desk")
    priority: int
    due_on: dt.date
    not_before: dt.datetime | None
    assigned_to_id: int | None
    queue: str | None
    reason: str | None
    language: str | None
    attempts: int
    next_attempt_at: dt.datetime | None
    last_outcome: str | None
    reserved_by_id: int | None
    reserved_until: dt.datetime | None
    version: int

    @classmethod
    def of(cls, item: WorkItem) -> WorkItemOut:
        return cls(
            id=item.id,
            kind=item.kind,
            client_id=item.client_id,
            number_masked=mask_phone(item.number) if item.number else None,
            priority=item.priority,
            due_on=item.due_on,
            not_before=item.not_before,
            assigned_to_id=item.assigned_to_id,
            queue=item.queue,
            reason=item.reason,
            language=item.language,
            attempts=item.attempts,
            next_attempt_at=item.next_attempt_at,
            last_outcome=item.last_outcome.value if item.last_outcome else None,
            reserved_by_id=item.reserved_by_id,
            reserved_until=item.reserved_until,
            version=item.version,
        )


class VerdictOut(BaseModel):
    may_dial: bool
    reason: str | None = Field(description="why not, as a stable id (docs/outbound.md)")
    earliest: dt.datetime | None = Field(description="when it may be dialled, if waiting helps")


class WorkViewOut(BaseModel):
    item: WorkItemOut
    attempts: list[AttemptOut]
    verdict: VerdictOut

    @classmethod
    def of(cls, view: WorkView) -> WorkViewOut:
        return cls(
            item=WorkItemOut.of(view.item),
            attempts=[AttemptOut.of(a) for a in view.attempts],
            verdict=VerdictOut(
                may_dial=view.verdict.allowed,
                reason=view.verdict.reason,
                earliest=view.verdict.earliest,
            ),
        )


class MyWorkOut(BaseModel):
    items: list[WorkViewOut]


class PreviewOut(BaseModel):
    """The next item, held for the agent; ``item`` null: nothing may be dialled now."""

    item: WorkViewOut | None


class DialedOut(BaseModel):
    item_id: int
    attempt_id: int
    call_id: str
    interaction_id: int

    @classmethod
    def of(cls, dialed: DialedItem) -> DialedOut:
        return cls(
            item_id=dialed.item_id,
            attempt_id=dialed.attempt_id,
            call_id=dialed.call_id,
            interaction_id=dialed.interaction_id,
        )


class SkipIn(StrictModel):
    reason: Reason


class OutcomeIn(StrictModel):
    outcome: AgentOutcome
    note: Note | None = None
    call_again_at: Timestamp | None = Field(
        default=None, description="reached: the time the client asked to be called again"
    )


class ProgressiveIn(StrictModel):
    on: bool


class ProgressiveOut(BaseModel):
    on: bool
    dialling_item_id: int | None = Field(description="the work item being dialled for the agent")


CareKind = Literal["care_call", "birthday", "ipo_reminder", "investment_report", "market_alert"]


class CareListIn(StrictModel):
    """Care calls for many clients: those holding a security, or a list of ids."""

    kind: CareKind = "care_call"
    reason: Annotated[str, text(300, min_length=4)] = Field(
        description="what the agent is told, e.g. 'limit-down of 600519 on 2026-12-07'"
    )
    due_on: dt.date
    priority: int = Field(default=4, ge=1, le=9)
    holding_symbol: Annotated[str, text(12)] | None = None
    client_ids: list[Id] = Field(default_factory=list, max_length=10_000)


class CareListOut(BaseModel):
    created: int
    already_open: int
    skipped_closed: int


class WebCallbackIn(StrictModel):
    """The public site's callback form."""

    number: Annotated[str, text(32, min_length=5)] = Field(
        description="the number to call back, e.g. 13800138000 or +8613800138000"
    )
    language: Literal["zh", "en"] = "zh"
    not_before: Timestamp | None = Field(default=None, description="not before this time")

    @field_validator("number")
    @classmethod
    def _e164(cls, value: str) -> str:
        return to_e164(value)  # InvalidPhoneNumber is a ValueError: 422 naming the field


class WebCallbackOut(BaseModel):
    reference: int
    already_booked: bool = Field(description="this number had a callback booked already")
