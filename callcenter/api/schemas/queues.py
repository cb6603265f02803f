"""Queues over the API: a queue's configuration (callcenter.acd.model.QueueConfig)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from callcenter.acd.model import QueueConfig, QueueHours
from callcenter.api.schemas.common import StrictModel, Version
from callcenter.crm.vocabulary import Tier, ValueClass
from callcenter.persistence.queues import QueueRecord

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
Points = Annotated[int, Field(ge=-1_000, le=1_000)]
# The defaults are QueueConfig's own, so the API and the ACD never disagree about them.
DEFAULT = QueueConfig(name="default")


class HoursIn(BaseModel):
    """A queue's own opening hours, in the center's time zone."""

    opens: dt.time = Field(description="HH:MM")
    closes: dt.time = Field(description="HH:MM; before opens for a night shift")
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], min_length=1, description="ISO: Monday is 1"
    )

    def to_hours(self) -> QueueHours:
        return QueueHours(self.opens, self.closes, frozenset(self.weekdays))

    @classmethod
    def of(cls, hours: QueueHours | None) -> HoursIn | None:
        if hours is None:
            return None
        return cls(opens=hours.opens, closes=hours.closes, weekdays=sorted(hours.weekdays))


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
        DEFAULT.overflow_queue,
        description="where callers go after max_wait_seconds, or at once when closed",
    )
    overflow_node: str | None = Field(
        DEFAULT.overflow_node,
        max_length=100,
        description="else: the node of the caller's IVR flow they go on at (callback, message)",
    )
    ring_seconds: float = Field(DEFAULT.ring_seconds, gt=0, le=300)
    wrap_up_seconds: float = Field(DEFAULT.wrap_up_seconds, ge=0, le=3_600)
    announce_position: bool = Field(
        DEFAULT.announce_position, description="tell waiting callers their place and wait"
    )
    announce_every_seconds: float = Field(DEFAULT.announce_every_seconds, ge=15, le=3_600)
    hours: HoursIn | None = Field(None, description="null: open whenever the hotline is")


class QueueIn(QueueSettings, StrictModel):
    """The whole configuration (a field left out takes its default)."""

    version: Version | None = Field(
        default=None, description="the version you read; null to create the queue"
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
            overflow_node=self.overflow_node,
            ring_seconds=self.ring_seconds,
            wrap_up_seconds=self.wrap_up_seconds,
            announce_position=self.announce_position,
            announce_every_seconds=self.announce_every_seconds,
            hours=None if self.hours is None else self.hours.to_hours(),
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
            overflow_node=config.overflow_node,
            ring_seconds=config.ring_seconds,
            wrap_up_seconds=config.wrap_up_seconds,
            announce_position=config.announce_position,
            announce_every_seconds=config.announce_every_seconds,
            hours=HoursIn.of(config.hours),
        )


class WaitingCallOut(BaseModel):
    call_id: str
    waited_seconds: float
    priority: int
    language: str
    client_id: int | None
    advisor_id: int | None = Field(description="held for this advisor first, if any")
    kept_place: bool = Field(
        default=False,
        description="a caller who hung up keeping their place: called back at their turn",
    )


class LiveQueueOut(BaseModel):
    queue: str
    waiting: list[WaitingCallOut] = Field(description="in the order the ACD serves them")
