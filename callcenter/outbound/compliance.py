"""May this work item be dialled now? The rules a brokerage must keep on outbound calls,
as one pure function of the item, its party, its attempts and the time (docs/outbound.md).

Checked when the dialler picks an item and again the moment it dials, never left to the
agent: calling hours on the client's clock, the do-not-call list, the client's opt-out of care
calls, the attempt limit, the spacing between dials, and at most one dial a day to a client
who refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.crm.vocabulary import FollowUpStatus
from callcenter.outbound.model import (
    COUNTED,
    Attempt,
    AttemptOutcome,
    DialRules,
    Party,
    WorkItem,
)

# Why an item may not be dialled now: stable ids, shown to agents and in the API.
CLOSED = "work-item-closed"
NO_NUMBER = "no-number-to-dial"
NOT_DUE = "not-due-yet"
OUTSIDE_HOURS = "outside-calling-hours"
DO_NOT_CALL = "do-not-call"
CARE_OPT_OUT = "care-calls-opted-out"
ATTEMPT_LIMIT = "attempt-limit-reached"
TOO_SOON = "too-soon-after-last-attempt"
REFUSED_TODAY = "refused-called-today"
DIAL_UNDER_WAY = "dial-under-way"

# A dial without an outcome this recent is still under way (its end not yet applied); an
# older one was lost (the service stopped mid-call) and holds nothing back.
UNDER_WAY_FOR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str | None = None  # one of the ids above when not allowed
    earliest: dt.datetime | None = None  # when it may be tried again (None: not by waiting)


ALLOWED = Verdict(True)


def zone(rules: DialRules, party: Party) -> ZoneInfo:
    """The client's time zone; the center's when unknown or not a zone this machine knows."""
    for name in (party.time_zone, rules.center_time_zone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def next_opening(now: dt.datetime, rules: DialRules, tz: ZoneInfo) -> dt.datetime | None:
    """``now`` itself if inside calling hours, else the next start of calling hours (UTC);
    None if no day of the coming week has any."""
    local = now.astimezone(tz)
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        start, end = rules.hours.window(day)
        if start >= end:
            continue  # no calls that day
        opens = dt.datetime.combine(day, start, tz)
        closes = dt.datetime.combine(day, end, tz)
        if local < closes:
            return max(opens, local).astimezone(dt.UTC)
    return None


def may_dial(
    item: WorkItem,
    party: Party,
    attempts: Sequence[Attempt],
    now: dt.datetime,
    rules: DialRules,
) -> Verdict:
    """Whether ``item`` may be dialled at ``now``; ``attempts``: the item's own, any order."""
    if item.status is not FollowUpStatus.OPEN:
        return Verdict(False, CLOSED)
    if not item.number:
        return Verdict(False, NO_NUMBER)
    under_way = [
        a
        for a in attempts
        if a.outcome is None and a.ended_at is None and now - a.started_at < UNDER_WAY_FOR
    ]
    if under_way:
        return Verdict(False, DIAL_UNDER_WAY, now + rules.reservation)
    if party.do_not_call == "all" or (party.do_not_call == "care" and item.is_care):
        return Verdict(False, DO_NOT_CALL)
    if item.is_care and party.care_calls_opt_out:
        return Verdict(False, CARE_OPT_OUT)
    dialled = sorted((a for a in attempts if a.outcome in COUNTED), key=lambda a: a.started_at)
    if len(dialled) >= rules.max_attempts:
        return Verdict(False, ATTEMPT_LIMIT)
    waits: list[tuple[dt.datetime, str]] = []
    if item.not_before is not None and now < item.not_before:
        waits.append((item.not_before, NOT_DUE))
    if item.next_attempt_at is not None and now < item.next_attempt_at:
        waits.append((item.next_attempt_at, TOO_SOON))
    if dialled and now < dialled[-1].started_at + rules.min_spacing:
        waits.append((dialled[-1].started_at + rules.min_spacing, TOO_SOON))
    tz = zone(rules, party)
    refused = [a for a in dialled if a.outcome is AttemptOutcome.REFUSED]
    if refused:
        today = now.astimezone(tz).date()
        if any(a.started_at.astimezone(tz).date() == today for a in dialled):
            tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tz)
            waits.append((tomorrow.astimezone(dt.UTC), REFUSED_TODAY))
    opening = next_opening(now, rules, tz)
    outside = opening != now.astimezone(dt.UTC)
    if not waits and not outside:
        return ALLOWED
    # The reason named is the one in force now (calling hours first); the time is when every
    # reason has passed, moved into calling hours.
    until = max([now, *(when for when, _reason in waits)])
    reason = OUTSIDE_HOURS if outside else max(waits)[1]
    return Verdict(False, reason, next_opening(until, rules, tz))
