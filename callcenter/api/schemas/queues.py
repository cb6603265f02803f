"""Queues over the API: a queue's configuration (callcenter.acd.model.QueueConfig)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from callcenter.acd.model import QueueConfig
from callcenter.api.schemas.common import StrictModel
from callcenter.crm.vocabulary import Tier, ValueClass
from callcenter.persistence.queues import QueueRecord

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
Points = Annotated[int, Field(ge=-1_000, le=1_000)]
# The defaults are QueueConfig's own, so the API and the ACD never disagree about them.
DEFAULT = QueueConfig(name="default")


class QueueSettings(BaseModel):
    required_skills: list[Slug] = Field(default_factory=list)
    service_level_seconds: float = Field(
        DEFAULT.service_level_seconds, gt=0, le=3_600, description="answered within: in SL"
    )
    tier_priority: dict[Tier, Points] = Field(
        default_factory=lambda: dict(DEFAULT.tier_priority),
        description="priority points by client tier (higher goes first)",
    )
    value_class_priority: dict[ValueClass, Points] = Field(
        default_factory=lambda: dict(DEFAULT.value_class_priority),
        description="priority points by value class",
    )
    advisor_wait_seconds: float = Field(
        DEFAULT.advisor_wait_seconds,
        ge=0,
        le=3_600,
        description="a caller waits this long for their own advisor before anyone may answer",
    )
    max_wait_seconds: float = Field(DEFAULT.max_wait_seconds, gt=0, le=86_400)
    overflow_queue: Slug | None = Field(
        DEFAULT.overflow_queue, description="where callers go after max_wait_seconds"
    )
    ring_seconds: float = Field(DEFAULT.ring_seconds, gt=0, le=300)
    wrap_up_seconds: float = Field(DEFAULT.wrap_up_seconds, ge=0, le=3_600)
    announce_position: bool = DEFAULT.announce_position


class QueueIn(QueueSettings, StrictModel):
    """The whole configuration (a field left out takes its default)."""

    version: int | None = Field(
        default=None, ge=1, description="the version you read; null to create the queue"
    )

    def to_config(self, name: str) -> QueueConfig:
        return QueueConfig(
            name=name,
            required_skills=tuple(self.required_skills),
            service_level_seconds=self.service_level_seconds,
            tier_priority=dict(self.tier_priority),
            value_class_priority=dict(self.value_class_priority),
            advisor_wait_seconds=self.advisor_wait_seconds,
            max_wait_seconds=self.max_wait_seconds,
            overflow_queue=self.overflow_queue,
            ring_seconds=self.ring_seconds,
            wrap_up_seconds=self.wrap_up_seconds,
            announce_position=self.announce_position,
        )


class QueueOut(QueueSettings):
    name: str
    version: int
    updated_at: dt.datetime
    updated_by_id: int | None

    @classmethod
    def of(cls, record: QueueRecord) -> QueueOut:
        config = record.config
        return cls(
            name=config.name,
            version=record.version,
            updated_at=record.updated_at,
            updated_by_id=record.updated_by_id,
            required_skills=list(config.required_skills),
            service_level_seconds=config.service_level_seconds,
            tier_priority=dict(config.tier_priority),
            value_class_priority=dict(config.value_class_priority),
            advisor_wait_seconds=config.advisor_wait_seconds,
            max_wait_seconds=config.max_wait_seconds,
            overflow_queue=config.overflow_queue,
            ring_seconds=config.ring_seconds,
            wrap_up_seconds=config.wrap_up_seconds,
            announce_position=config.announce_position,
        )


class WaitingCallOut(BaseModel):
    call_id: str
    waited_seconds: float
    priority: int
    language: str
    client_id: int | None
    advisor_id: int | None = Field(description="held for this advisor first, if any")


class LiveQueueOut(BaseModel):
    queue: str
    waiting: list[WaitingCallOut] = Field(description="in the order the ACD serves them")
