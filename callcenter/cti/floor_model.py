"""What the wallboard shows of one call or agent, and the seed a restart starts from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from callcenter.crm.counting import CallCount, Route

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
    # How today's counters count it now (counting.call_count); None when it is not in them
    # (queued on an earlier business day).
    counted: CallCount | None
    priority: int | None = None
    caller: str | None = None  # masked
    tier: str | None = None
    route: Route = field(default_factory=Route)  # its overflows, and whether it is the IVR's


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


@dataclass(frozen=True)
class SeedCall:
    """A call still open in a queue when the state was seeded: the report counted it as
    waiting, or as the IVR's if its route says an overflow sent it back there."""

    call_id: str
    queue: str
    enqueued_at: dt.datetime
    caller: str | None = None  # masked
    tier: str | None = None
    route: Route = field(default_factory=Route)  # from the record's path (counting.route_of)
