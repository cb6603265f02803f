"""Interactions over the API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    InteractionQuery,
    InteractionRecord,
    NewInteraction,
    Phase,
    PhaseUpdate,
)
from callcenter.crm.phones import caller_e164
from callcenter.crm.ports import Page
from callcenter.crm.vocabulary import Channel, Direction

Number = Annotated[str, text(32)]


def _normalised_number(raw: str | None) -> str | None:
    """E.164 when it is a phone number; otherwise as given (``anonymous``, a SIP user)."""
    if raw is None:
        return None
    return caller_e164(raw) or raw


class InteractionIn(StrictModel):
    channel: Channel
    direction: Direction
    started_at: Timestamp
    caller_number: Number | None = None
    called_number: Number | None = None
    client_id: Id | None = None
    agent_id: Id | None = None
    queue: Annotated[str, text(50)] | None = None
    # The call id: the Asterisk uniqueid of the caller's channel (docs/architecture.md).
    call_id: Annotated[str, text(64)] | None = None
    asterisk_linkedid: Annotated[str, text(64)] | None = None

    _numbers = field_validator("caller_number", "called_number")(_normalised_number)

    def to_new(self) -> NewInteraction:
        return NewInteraction(**self.model_dump())


class PhaseIn(StrictModel):
    """One phase of the contact, reached at ``at``, with what became known then."""

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

    @classmethod
    def of(cls, record: InteractionRecord) -> InteractionOut:
        return cls.model_validate(record)


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
