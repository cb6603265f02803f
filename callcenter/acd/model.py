"""The ACD's vocabulary, shared by the agent state machine, the routing policy and the service.

Pure data: no clock, no IO. Times are seconds on one monotonic clock chosen by the caller
(the service uses ``loop.time()``; tests use plain numbers), so the policy can be driven from
a table in a test exactly as from a live queue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from callcenter.crm.vocabulary import RiskProfile, Tier, ValueClass


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"  # with a reason code (break, meeting, training, missed, ...)
    RESERVED = "reserved"  # a call is being offered: the phone rings
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"  # after-call work; a per-queue timer the agent may end early


# Skills are plain names ("trading", "complaints", "advisor", "margin"); a level says how well
# (1 basic .. 5 expert). Languages are the IVR's: "zh", "en".
SkillLevel = int
MIN_SKILL_LEVEL = 1
MAX_SKILL_LEVEL = 5


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """Who an agent is for routing: what they can take, in which languages, at which phone."""

    agent_id: int
    extension: str  # their registered PJSIP endpoint
    skills: Mapping[str, SkillLevel] = field(default_factory=dict)
    languages: frozenset[str] = frozenset({"zh"})
    queues: frozenset[str] = frozenset()  # the queues they serve


@dataclass(frozen=True, slots=True)
class QueueHours:
    """When a queue takes calls, in the center's local time (holidays are the center's).

    A queue may keep shorter hours than the hotline: trading support while the exchange
    trades, advisors in office hours. ``closes`` before ``opens`` is a night shift.
    """

    opens: dt.time
    closes: dt.time
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO: Monday is 1

    def is_open(self, local: dt.datetime, holiday: bool = False) -> bool:
        """Whether the queue is open at ``local`` (the center's wall clock)."""
        if holiday:
            return False
        now, weekday = local.time(), local.isoweekday()
        if self.opens <= self.closes:
            return weekday in self.weekdays and self.opens <= now < self.closes
        # Across midnight: the early hours belong to the day before.
        if now >= self.opens:
            return weekday in self.weekdays
        yesterday = 7 if weekday == 1 else weekday - 1
        return now < self.closes and yesterday in self.weekdays


@dataclass(frozen=True, slots=True)
class QueueConfig:
    name: str
    required_skills: tuple[str, ...] = ()
    service_level_seconds: float = 10.0  # answered within this counts as in service level
    # Priority points by tier and value class; a call's priority is their sum plus the IVR's
    # hint. Higher goes first.
    tier_priority: Mapping[Tier, int] = field(
        default_factory=lambda: {Tier.STANDARD: 0, Tier.SILVER: 1, Tier.GOLD: 2, Tier.VIP: 4}
    )
    value_class_priority: Mapping[ValueClass, int] = field(
        default_factory=lambda: {ValueClass.TOP_PROFIT: 1, ValueClass.DECLINING: 1}
    )
    # A caller with a dedicated advisor waits this long for that advisor alone before any
    # eligible agent may take the call (0: offer the advisor only when ready right now).
    advisor_wait_seconds: float = 20.0
    # After this long unanswered (or at once when the queue is closed) the call overflows:
    # into ``overflow_queue``, else to ``overflow_node``, a node of the IVR flow the caller
    # came from (say, a menu offering a callback or a message). With neither, it waits on.
    max_wait_seconds: float = 300.0
    overflow_queue: str | None = None
    overflow_node: str | None = None
    ring_seconds: float = 15.0  # ring-no-answer after this: the agent goes not ready (missed)
    wrap_up_seconds: float = 30.0
    # Tell a waiting caller their place and expected wait on joining, then this often.
    announce_position: bool = False
    announce_every_seconds: float = 60.0
    hours: QueueHours | None = None  # None: open whenever the hotline is


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A call in a queue, as the policy sees it."""

    call_id: str
    queue: str
    enqueued_at: float
    priority: int = 0  # computed when the call joins the queue (see call_priority)
    language: str = "zh"
    client_id: int | None = None
    advisor_id: int | None = None  # the client's dedicated advisor (an agent id), if any
    skills: tuple[str, ...] = ()  # beyond the queue's own required skills (IVR hints)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientSummary:
    """The caller's client record as a call carries it: read once, when the call joins a
    queue (callcenter/acd/ports.py ``AcdStore.caller``), then what routing weighs (tier,
    value class, the dedicated advisor) and what the screen pop shows, in this one shape from
    the store to the pop's event (``call.offered``)."""

    client_id: int
    name: str  # as on the ID: 张伟, or John Smith
    name_latin: str  # pinyin or Latin spelling
    tier: Tier
    value_class: ValueClass
    risk_profile: RiskProfile
    advisor_id: int | None  # the dedicated advisor (an agent id), if any
    advisor_name: str | None


# What a screen pop shows of the record besides its id: the desk's projection of
# ``call.offered`` sends these fields (callcenter/cti/projections.py), and the pop's audit
# entry (``call.offered`` too) names them; names only, as for a client's update: the audit log,
# which is never rewritten, keeps no copy of the values.
POP_SHOWS: tuple[str, ...] = (
    "name",
    "name_latin",
    "tier",
    "value_class",
    "risk_profile",
    "advisor_name",
)


def call_priority(
    config: QueueConfig, tier: Tier | None, value_class: ValueClass | None, hint: int = 0
) -> int:
    """A call's priority in ``config``'s queue: tier points + value-class points + IVR hint."""
    points = hint
    if tier is not None:
        points += config.tier_priority.get(tier, 0)
    if value_class is not None:
        points += config.value_class_priority.get(value_class, 0)
    return points
