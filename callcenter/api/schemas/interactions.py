"""Interactions over the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from callcenter.api.schemas.common import (
    Count,
    Id,
    Limit,
    Offset,
    PageOut,
    StrictModel,
    Timestamp,
    text,
)
from callcenter.crm.interactions import (
    Amendment,
    InteractionQuery,
    InteractionRecord,
    Phase,
    PhaseUpdate,
)
from callcenter.crm.ports import Page
from callcenter.crm.vocabulary import Channel, Direction


class PhaseIn(StrictModel):
    """One phase of the contact, reached at ``at``, with what became known then. Through the
    API only the agent's wrap-up (``wrapped_up``, disposition, notes) is accepted; the other
    fields are named here so that a request that sends them is refused with a clear error
    (403 ``interaction-written-by-system``), not a schema error."""

    phase: Literal["ivr_ended", "queued", "offered", "answered", "ended", "wrapped_up"]
    at: Timestamp = Field(description="not earlier than the latest recorded phase (409)")
    agent_id: Id | None = None
    queue: Annotated[str, text(50)] | None = None
    client_id: Id | None = None
    ivr_path: list[Annotated[str, text(50)]] | None = Field(default=None, max_length=100)
    ivr_outcome: Annotated[str, text(24)] | None = None
    authenticated: bool | None = None
    hold_seconds: Count | None = None
    disposition: Annotated[str, text(50)] | None = None
    notes: Annotated[str, text(10_000)] | None = None
    recording_ref: Annotated[str, text(200)] | None = None

    def to_update(self) -> PhaseUpdate:
        return PhaseUpdate(**{**self.model_dump(), "phase": Phase(self.phase)})


class InteractionListParams(BaseModel):
    client_id: Id | None = None
    agent_id: Id | None = None
    since: Timestamp | None = Field(default=None, description="started at or after")
    limit: Limit = 50
    offset: Offset = 0

    def to_query(self) -> InteractionQuery:
        return InteractionQuery(**self.model_dump())


class AmendmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    by_user_id: int
    reason: str
    changes: dict[str, dict[str, Any]] = Field(
        description='each field changed: {"from": the old value, "to": the new one}'
    )


class AmendmentIn(StrictModel):
    """A supervisor's correction. Send only the fields to change."""

    reason: Annotated[str, text(300, min_length=8)]
    client_id: Id | None = None
    queue: Annotated[str, text(50)] | None = None
    agent_id: Id | None = None
    disposition: Annotated[str, text(50)] | None = None
    notes: Annotated[str, text(10_000, min_length=0)] | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the request set (``null`` is not a value to set: a fact cannot be
        unknown again)."""
        return {
            name: value
            for name, value in self.model_dump(exclude_unset=True).items()
            if name != "reason" and value is not None
        }


class InteractionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    client_id: int | None
    channel: Channel
    direction: Direction
    caller_number: str | None
    called_number: str | None
    started_at: dt.datetime
    ivr_ended_at: dt.datetime | None
    queued_at: dt.datetime | None
    offered_at: dt.datetime | None
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    wrapup_ended_at: dt.datetime | None
    ivr_path: list[str]
    ivr_outcome: str | None
    authenticated: bool
    queue: str | None
    agent_id: int | None
    wait_seconds: int | None
    talk_seconds: int | None = Field(description="answered to ended, less hold")
    hold_seconds: int | None
    wrapup_seconds: int | None
    disposition: str | None
    notes: str | None
    recording_ref: str | None
    call_id: str | None
    asterisk_linkedid: str | None
    version: int
    anomaly: str | None = Field(
        default=None,
        description="why the service closed the record as an anomaly (found in a state no "
        "call produces); null for an ordinary record",
    )

    amendments: list[AmendmentOut] = Field(
        default_factory=list,
        description="supervisors' corrections, oldest first, each with the values it replaced",
    )

    @classmethod
    def of(cls, record: InteractionRecord, amendments: Sequence[Amendment] = ()) -> InteractionOut:
        out = cls.model_validate(record)
        out.amendments = [AmendmentOut.model_validate(a) for a in amendments]
        return out


class InteractionPageOut(PageOut[InteractionOut]):
    @classmethod
    def of(cls, page: Page[InteractionRecord]) -> InteractionPageOut:
        return cls(
            items=[InteractionOut.of(r) for r in page.items],
            limit=page.limit,
            offset=page.offset,
            has_more=page.has_more,
        )


class DispositionIn(StrictModel):
    """How the contact ended for the client, and the agent's notes (kept if left out)."""

    disposition: Annotated[str, text(50)]
    notes: Annotated[str, text(10_000)] | None = None
