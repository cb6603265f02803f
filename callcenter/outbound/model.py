"""The dialler's words: work items, attempts and their outcomes, dialling modes, and the
rules a center sets (docs/outbound.md).

A work item is a follow-up (table ``follow_ups``): a callback, a return visit, a care call.
It is open until done or cancelled; each dial of it (or a skip in preview) is an attempt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus


class DialMode(StrEnum):
    PREVIEW = "preview"  # the agent sees the client and the reason, then dials or skips
    PROGRESSIVE = "progressive"  # the system dials for a ready agent


class AttemptOutcome(StrEnum):
    # What the PBX tells (the dial's own end).
    AGENT_NO_ANSWER = "agent_no_answer"  # the agent's phone never answered: the client not dialled
    ANSWERED = "answered"  # the client answered: the agent says how it went
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    FAILED = "failed"  # the network could not place it (congestion, unavailable)
    CANCELLED = "cancelled"  # the agent hung up before the client answered
    # What the agent tells, after talking.
    REACHED = "reached"  # reached, not done: to be called again (e.g. "call me tomorrow")
    REFUSED = "refused"  # the client refused the call
    COMPLETED = "completed"
    # Preview: the agent skipped the item, with a reason.
    SKIPPED = "skipped"


# What the agent may say about an answered call.
AGENT_OUTCOMES = frozenset(
    {
        AttemptOutcome.REACHED,
        AttemptOutcome.REFUSED,
        AttemptOutcome.COMPLETED,
        AttemptOutcome.WRONG_NUMBER,
    }
)
# Care and courtesy calls: stopped by a care-only do-not-call entry and the client's opt-out.
CARE_KINDS = frozenset(
    {
        FollowUpKind.CARE_CALL,
        FollowUpKind.BIRTHDAY,
        FollowUpKind.IPO_REMINDER,
        FollowUpKind.INVESTMENT_REPORT,
        FollowUpKind.MARKET_ALERT,
    }
)


@dataclass(frozen=True)
class WorkItem:
    id: int
    kind: FollowUpKind
    status: FollowUpStatus
    client_id: int | None
    number: str | None  # the number to dial: the item's own, else the client's primary phone
    priority: int  # 1 first .. 9 last
    due_on: dt.date  # the last day of the due window
    not_before: dt.datetime | None  # the window's start (None: as soon as created)
    assigned_to_id: int | None
    queue: str | None
    reason: str | None
    language: str | None
    attempts: int
    next_attempt_at: dt.datetime | None
    last_outcome: AttemptOutcome | None
    reserved_by_id: int | None
    reserved_until: dt.datetime | None
    version: int

    @property
    def is_care(self) -> bool:
        return self.kind in CARE_KINDS


@dataclass(frozen=True)
class Attempt:
    id: int
    follow_up_id: int
    mode: DialMode
    agent_id: int | None
    interaction_id: int | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    outcome: AttemptOutcome | None
    note: str | None


@dataclass(frozen=True)
class Party:
    """What the rules need to know of the party to dial, read when the item is considered."""

    time_zone: str | None = None  # the client's (IANA); None: the center's
    care_calls_opt_out: bool = False
    do_not_call: str | None = None  # the live do-not-call entry's scope: "all" or "care"


@dataclass(frozen=True)
class CallingHours:
    """When clients may be called, on their own clock: weekdays and weekends apart."""

    weekday_start: dt.time = dt.time(9, 0)
    weekday_end: dt.time = dt.time(20, 0)
    weekend_start: dt.time = dt.time(10, 0)
    weekend_end: dt.time = dt.time(18, 0)

    def window(self, day: dt.date) -> tuple[dt.time, dt.time]:
        if day.weekday() >= 5:
            return self.weekend_start, self.weekend_end
        return self.weekday_start, self.weekday_end


def _default_retry() -> Mapping[AttemptOutcome, dt.timedelta]:
    return MappingProxyType(
        {
            AttemptOutcome.NO_ANSWER: dt.timedelta(hours=2),
            AttemptOutcome.BUSY: dt.timedelta(minutes=15),
            AttemptOutcome.FAILED: dt.timedelta(minutes=30),
            AttemptOutcome.CANCELLED: dt.timedelta(minutes=5),
            AttemptOutcome.AGENT_NO_ANSWER: dt.timedelta(0),
            AttemptOutcome.REACHED: dt.timedelta(days=1),
            AttemptOutcome.REFUSED: dt.timedelta(days=1),
            AttemptOutcome.WRONG_NUMBER: dt.timedelta(days=1),
            AttemptOutcome.SKIPPED: dt.timedelta(minutes=30),
        }
    )


@dataclass(frozen=True)
class DialRules:
    """The compliance and retry rules, enforced by the dialler, not left to the agent."""

    center_time_zone: str = "Asia/Shanghai"
    hours: CallingHours = field(default_factory=CallingHours)
    max_attempts: int = 5  # dials that reached the client's network; then the item closes
    min_spacing: dt.timedelta = dt.timedelta(minutes=10)  # between two dials of one item
    retry_after: Mapping[AttemptOutcome, dt.timedelta] = field(default_factory=_default_retry)
    reservation: dt.timedelta = dt.timedelta(minutes=3)  # a preview held for its agent


# Outcomes of a dial that reached the client's network: they count toward the limit.
COUNTED = frozenset(
    {
        AttemptOutcome.ANSWERED,
        AttemptOutcome.NO_ANSWER,
        AttemptOutcome.BUSY,
        AttemptOutcome.WRONG_NUMBER,
        AttemptOutcome.FAILED,
        AttemptOutcome.CANCELLED,
        AttemptOutcome.REACHED,
        AttemptOutcome.REFUSED,
        AttemptOutcome.COMPLETED,
    }
)
