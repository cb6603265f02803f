"""What the wallboard shows of one call or agent, and the seed a restart starts from."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from callcenter.crm.callstats import CallFigures

VISIBLE_DIGITS = 4  # of a caller's number on the wallboard: enough to tell two calls apart


def mask_number(number: str | None) -> str | None:
    """``+8613800138000`` -> ``*********8000``: the wallboard needs no full number."""
    if not number:
        return None
    keep = number[-VISIBLE_DIGITS:]
    return "*" * (len(number) - len(keep)) + keep


@dataclass
class WaitingCall:
    call_id: str
    queue: str
    enqueued_at: dt.datetime  # when the caller entered the first queue: overflows keep it
    counted_today: bool  # queued today (in the business day): the counters include it
    priority: int | None = None
    caller: str | None = None  # masked
    tier: str | None = None
    # Sent back to the IVR by an overflow (then maybe queued again): the report counts it
    # as to_ivr unless it is answered in the end.
    sent_to_ivr: bool = False


@dataclass
class AgentView:
    agent_id: int
    state: str
    reason: str | None
    since: dt.datetime


@dataclass
class LiveCall:
    call_id: str
    queue: str
    agent_id: int
    answered_at: dt.datetime
    caller: str | None = None  # masked
    tier: str | None = None


@dataclass
class Tally:
    """One queue's counters of today: the fields of CallFigures the wallboard moves."""

    offered: int = 0
    answered: int = 0
    answered_in_threshold: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    to_ivr: int = 0
    overflowed_out: int = 0
    answer_wait_seconds: float = 0.0

    @classmethod
    def of(cls, figures: CallFigures) -> Tally:
        """The counters of a report's figures (the seed)."""
        return cls(**{f.name: getattr(figures, f.name) for f in dataclasses.fields(cls)})

    def figures(self, waiting: int) -> CallFigures:
        return CallFigures(waiting=waiting, **dataclasses.asdict(self))


@dataclass(frozen=True)
class SeedCall:
    """A call still waiting when the state was seeded (the report counted it as waiting)."""

    call_id: str
    queue: str
    enqueued_at: dt.datetime
    caller: str | None = None  # masked
    tier: str | None = None
