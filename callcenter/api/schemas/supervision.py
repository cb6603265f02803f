"""Supervision over the API: monitoring an agent's call, forcing an agent's state, moving a
waiting call."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, model_validator

from callcenter.acd.model import WaitingCall
from callcenter.api.schemas.agents import ReasonCode, Slug
from callcenter.api.schemas.common import Id, StrictModel
from callcenter.crm.vocabulary import FollowUpKind
from callcenter.pbx.supervision import Monitoring, MonitorMode


class MonitorIn(StrictModel):
    agent_id: Id
    mode: MonitorMode = MonitorMode.LISTEN


class MonitorOut(BaseModel):
    call_id: str  # the supervisor's call
    agent_id: int
    mode: MonitorMode
    interaction_id: int | None

    @classmethod
    def of(cls, monitoring: Monitoring) -> MonitorOut:
        return cls(
            call_id=monitoring.call_id,
            agent_id=monitoring.agent_id,
            mode=monitoring.mode,
            interaction_id=monitoring.interaction_id,
        )


class AgentStateForceIn(StrictModel):
    state: Literal["ready", "not_ready", "logged_out"]
    reason: ReasonCode | None = None


class MoveIn(StrictModel):
    """Exactly one: another queue, or a named ready agent."""

    queue: Slug | None = None
    agent_id: Id | None = None

    @model_validator(mode="after")
    def _one_target(self) -> MoveIn:
        if (self.queue is None) == (self.agent_id is None):
            raise ValueError("give either queue or agent_id")
        return self


class MovedOut(BaseModel):
    call_id: str
    queue: str
    agent_id: int | None  # the agent it is offered to, if named

    @classmethod
    def of(cls, waiting: WaitingCall, agent_id: int | None) -> MovedOut:
        return cls(call_id=waiting.call_id, queue=waiting.queue, agent_id=agent_id)


# --- the wallboard's picture (the data of ``floor.snapshot``, docs/events.md) -----------------


class FloorQueueOut(BaseModel):
    queue: str
    waiting: int  # kept places included (virtual hold: callers to call back at their turn)
    kept_places: int = 0
    longest_wait_seconds: int | None
    longest_waiting_since: dt.datetime | None
    offered: int
    answered: int
    service_level: float | None  # 0..1; None before a call counts
    asa_seconds: float | None
    abandon_rate: float | None


class FloorAgentOut(BaseModel):
    agent_id: int
    state: str
    reason: str | None
    since: dt.datetime
    seconds_in_state: int


class FloorWaitingOut(BaseModel):
    call_id: str  # for POST /api/supervision/calls/{call_id}/move
    caller: str | None  # masked: the last four digits
    tier: str | None
    queue: str
    priority: int | None
    waiting_since: dt.datetime  # an overflowed call keeps the time it first queued
    wait_seconds: int
    kept_place: bool = False  # hung up asking to be called back at their turn


class FloorCallOut(BaseModel):
    call_id: str
    caller: str | None  # masked: the last four digits
    tier: str | None
    queue: str
    agent_id: int
    answered_at: dt.datetime
    duration_seconds: int


class FloorCampaignOut(BaseModel):
    """One kind of outbound work (issue 18): read every 10 s, not with each snapshot."""

    kind: FollowUpKind
    open: int
    due_now: int  # open, its window open and its retry time passed
    done_today: int  # since the center's midnight
    attempts_today: int  # dials, as the outbound report counts them


class FloorOut(BaseModel):
    at: dt.datetime  # the server's now: the page counts waits on from here
    day: dt.date | None
    queues: list[FloorQueueOut]
    agents: list[FloorAgentOut]
    waiting: list[FloorWaitingOut]  # the calls waiting now, longest first
    calls: list[FloorCallOut]
    campaigns: list[FloorCampaignOut] = []  # callbacks, return visits, then care calls
