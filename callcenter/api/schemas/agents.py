"""Agents over the API: state changes an agent asks for, and how an agent is shown."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from callcenter.acd.agents import AgentRecord
from callcenter.acd.model import MAX_SKILL_LEVEL, MIN_SKILL_LEVEL, AgentState
from callcenter.acd.wrap_up import WrapUp
from callcenter.api.schemas.common import StrictModel
from callcenter.api.schemas.service_codes import CodeLabelOut
from callcenter.crm.vocabulary import Role

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
ReasonCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,23}$")]
Language = Literal["zh", "en"]
SkillLevel = Annotated[int, Field(ge=MIN_SKILL_LEVEL, le=MAX_SKILL_LEVEL)]


class AgentStateIn(StrictModel):
    """What an agent may choose; the ACD moves them through the call states."""

    state: Literal["ready", "not_ready"]
    reason: ReasonCode | None = Field(
        default=None, description="required for not_ready: one of GET /api/agents/reasons"
    )


class AgentProfileIn(StrictModel):
    """Replaces the agent's skills, languages and queues."""

    skills: dict[Slug, SkillLevel] = Field(default_factory=dict, examples=[{"trading": 3}])
    languages: list[Language] = Field(min_length=1, examples=[["zh", "en"]])
    queues: list[Slug] = Field(default_factory=list, examples=[["general"]])


class AgentOut(BaseModel):
    agent_id: int
    username: str
    display_name: str
    role: Role
    extension: str | None = Field(description="the phone the ACD rings")
    state: AgentState
    reason: str | None = Field(description="the not-ready reason")
    since: dt.datetime | None = Field(description="when the state began; null: never logged in")
    interaction_id: int | None = Field(description="the call held (reserved, on call, wrap-up)")
    skills: dict[str, int]
    languages: list[str]
    queues: list[str]

    @classmethod
    def of(cls, record: AgentRecord) -> AgentOut:
        status = record.status
        return cls(
            agent_id=record.agent_id,
            username=record.username,
            display_name=record.display_name,
            role=record.role,
            extension=record.extension,
            state=status.state,
            reason=status.reason,
            since=status.since,
            interaction_id=status.interaction_id,
            skills=dict(sorted(record.skills.items())),
            languages=sorted(record.languages),
            queues=sorted(record.queues),
        )


class ReasonsOut(BaseModel):
    reasons: list[str] = Field(description="the not-ready reasons an agent may choose, in order")
    labels: list[CodeLabelOut] = Field(description="the same reasons with their labels")


class DispositionsOut(BaseModel):
    dispositions: list[str] = Field(description="the dispositions a wrap-up offers, in order")
    labels: list[CodeLabelOut] = Field(description="the same dispositions with their labels")


# --- wrap-up: its deadline, and extending it (callcenter/acd/wrap_up.py) ----------------------


class WrapUpExtendIn(StrictModel):
    seconds: int | None = Field(
        default=None,
        ge=1,
        le=3_600,
        description="how long to add; default: the configured amount (or the queue's wrap-up)",
    )


class WrapUpOut(BaseModel):
    agent_id: int
    interaction_id: int | None = Field(description="the call being wrapped up")
    ends_at: dt.datetime = Field(description="when the ACD ends it and makes the agent ready")
    limit_at: dt.datetime = Field(description="the latest an extension can reach")
    extended_seconds: int = Field(description="the extensions so far, in all")

    @classmethod
    def of(cls, wrap: WrapUp) -> WrapUpOut:
        return cls(
            agent_id=wrap.agent_id,
            interaction_id=wrap.interaction_id,
            ends_at=wrap.ends_at,
            limit_at=wrap.limit_at,
            extended_seconds=round(wrap.extended_seconds),
        )


class CenterOut(BaseModel):
    """What the desk needs to know of the center: its time zone, in which it shows times."""

    timezone: str = Field(description="the center's time zone (IANA), e.g. Asia/Shanghai")
