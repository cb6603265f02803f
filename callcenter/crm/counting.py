"""How a queued call counts in its queues' figures: the one set of rules that the reports
(callcenter/crm/callstats.py, from the interaction records) and the live wallboard
(callcenter/cti/floor.py, from the bus's events) both call, so that the two cannot drift
apart. Pure. The rules are written out in docs/metrics.md, section 4.2-4.3.

- A call counts once, on the business day (:func:`business_day`; the report's interval) its
  caller first entered a queue, and in the queue it is in now or ended in
  (:func:`call_count`).
- Its route (:class:`Route`) is the moves between queues: an overflow into another queue
  counts it in the source's ``overflowed_out``; an overflow back to its IVR flow makes it the
  IVR's (``to_ivr``) unless it is answered in the end; a supervisor's move is neither.
- Its outcome (:func:`outcome`): answered, else the IVR's, else abandoned if it ended, else
  waiting; its wait runs from the first queueing to the answer or the caller's hang-up.
- A short abandon is one under :data:`SHORT_ABANDON_SECONDS`; a call answered within its
  queue's threshold (inclusive) is in the service level.
- :meth:`QueueTally.count` is what one call adds to its queue's counts; the wallboard takes a
  call's count out and puts its new one in as events arrive, the report sums them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

SHORT_ABANDON_SECONDS = 5.0  # a caller who hangs up sooner is a short abandon (misdial)
DEFAULT_SERVICE_LEVEL_SECONDS = 10.0  # a queue no longer configured: the center's rule
# The ACD writes ``overflow:<queue>=<target>`` to a call's path when a queue's rule (its
# longest wait, its hours) sends the call on: the target is the next queue, or why the call
# went back to its IVR flow (a callback or a message). A supervisor's move writes
# ``moved:<queue>=<target>`` and announces ``call.overflowed`` with the reason ``moved``.
OVERFLOW_PREFIX = "overflow:"
MOVED_PREFIX = "moved:"
MOVED_REASON = "moved"
IVR_OVERFLOW_REASONS = frozenset({"closed", "max_wait"})


def business_day(at: dt.datetime, zone: dt.tzinfo) -> dt.date:
    """The center's day of ``at``: a call counts on the day of its first queueing."""
    return at.astimezone(zone).date()


def threshold(thresholds: Mapping[str, float], queue: str) -> float:
    """``queue``'s service-level threshold; a queue no longer configured has the center's."""
    return thresholds.get(queue, DEFAULT_SERVICE_LEVEL_SECONDS)


# --- the route: moves between queues ---------------------------------------------------------


class HopKind(StrEnum):
    OVERFLOW = "overflow"  # into another queue, by the queue's own rule
    TO_IVR = "to_ivr"  # back to the caller's IVR flow (callback, message): the target is why
    MOVED = "moved"  # by a supervisor, into another queue


@dataclass(frozen=True)
class Hop:
    kind: HopKind
    source: str  # the queue the call left
    target: str  # the queue it went to, or (TO_IVR) why it went back to the IVR


def hop(source: str, target: str | None, reason: str | None = None) -> Hop:
    """A move as the ACD announces it (``call.overflowed``): no target queue is the IVR."""
    if target is None:
        return Hop(HopKind.TO_IVR, source, reason or "")
    return Hop(HopKind.MOVED if reason == MOVED_REASON else HopKind.OVERFLOW, source, target)


def hops(path: Sequence[str]) -> list[Hop]:
    """The moves written to a record's path, in order; the IVR's own nodes are not moves."""
    found = []
    for entry in path:
        for prefix, kind in ((OVERFLOW_PREFIX, HopKind.OVERFLOW), (MOVED_PREFIX, HopKind.MOVED)):
            if entry.startswith(prefix):
                source, _, target = entry.removeprefix(prefix).partition("=")
                if kind is HopKind.OVERFLOW and target in IVR_OVERFLOW_REASONS:
                    kind = HopKind.TO_IVR
                found.append(Hop(kind, source, target))
    return found


@dataclass(frozen=True)
class Route:
    """What a call's moves so far mean for the figures."""

    overflowed_from: tuple[str, ...] = ()  # queues it overflowed out of into another queue
    sent_to_ivr: bool = False  # its last overflow sent it back to its IVR flow

    def then(self, move: Hop) -> Route:
        match move.kind:
            case HopKind.OVERFLOW:
                return Route((*self.overflowed_from, move.source), sent_to_ivr=False)
            case HopKind.TO_IVR:
                return Route(self.overflowed_from, sent_to_ivr=True)
            case HopKind.MOVED:
                # A supervisor's move is not an overflow: the queue it left counts nothing,
                # and a call the IVR had back stays the IVR's unless it is answered.
                return self


def route_of(path: Sequence[str]) -> Route:
    """The route a record's path tells."""
    route = Route()
    for move in hops(path):
        route = route.then(move)
    return route


# --- one call's count ------------------------------------------------------------------------


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up while waiting or while an agent's phone rang
    TO_IVR = "to_ivr"  # the queue sent the call back to its IVR flow (callback, message)
    WAITING = "waiting"  # still in the queue when the report was made


def outcome(*, answered: bool, sent_to_ivr: bool, ended: bool) -> Outcome:
    if answered:
        return Outcome.ANSWERED
    if sent_to_ivr:
        return Outcome.TO_IVR
    if ended:
        return Outcome.ABANDONED
    return Outcome.WAITING


def wait_seconds(queued_at: dt.datetime, until: dt.datetime) -> float:
    """From the first queueing (overflows and moves keep it) to the answer or the hang-up."""
    return max(0.0, (until - queued_at).total_seconds())


def is_short_abandon(wait: float) -> bool:
    return wait < SHORT_ABANDON_SECONDS  # 4.999 s is short, 5 s is not


def is_in_service_level(wait: float, threshold_seconds: float) -> bool:
    return wait <= threshold_seconds  # inclusive: 10.0 s is in at 10 s


@dataclass(frozen=True)
class CallCount:
    """How one queued call counts: in which queue, as what, with which wait."""

    queue: str  # where it is or ended: the queue that answered it, or where it was left
    outcome: Outcome
    wait_seconds: float | None  # queued until answered, or until the caller gave up
    threshold_seconds: float
    overflowed_from: tuple[str, ...] = ()  # queues it overflowed out of, into another queue

    @property
    def short_abandon(self) -> bool:
        return (
            self.outcome is Outcome.ABANDONED
            and self.wait_seconds is not None
            and is_short_abandon(self.wait_seconds)
        )

    @property
    def in_service_level(self) -> bool:
        return (
            self.outcome is Outcome.ANSWERED
            and self.wait_seconds is not None
            and is_in_service_level(self.wait_seconds, self.threshold_seconds)
        )


def call_count(
    queue: str,
    route: Route,
    queued_at: dt.datetime,
    thresholds: Mapping[str, float],
    *,
    answered_at: dt.datetime | None = None,
    ended_at: dt.datetime | None = None,
) -> CallCount:
    """The count of a call queued at ``queued_at``, now in (or ended in) ``queue``, from
    what is known of it: answered, or ended (the caller hung up), or neither yet."""
    result = outcome(
        answered=answered_at is not None, sent_to_ivr=route.sent_to_ivr, ended=ended_at is not None
    )
    until = {Outcome.ANSWERED: answered_at, Outcome.ABANDONED: ended_at}.get(result)
    return CallCount(
        queue=queue,
        outcome=result,
        wait_seconds=None if until is None else wait_seconds(queued_at, until),
        threshold_seconds=threshold(thresholds, queue),
        overflowed_from=route.overflowed_from,
    )


# --- a queue's counts ------------------------------------------------------------------------


@dataclass
class QueueTally:
    """The counts a queue's (or the center's) figures are made of; the rates are derived from
    them (callstats.CallFigures)."""

    offered: int = 0
    answered: int = 0
    answered_in_threshold: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    to_ivr: int = 0
    waiting: int = 0
    overflowed_out: int = 0
    answer_wait_seconds: float = 0.0  # summed over answered calls

    def count(self, call: CallCount, times: int = 1) -> None:
        """Add ``call`` to these counts (``times=-1`` takes it out again)."""
        self.offered += times
        match call.outcome:
            case Outcome.ANSWERED:
                self.answered += times
                self.answered_in_threshold += times * call.in_service_level
                self.answer_wait_seconds += times * (call.wait_seconds or 0.0)
            case Outcome.ABANDONED:
                self.abandoned += times
                self.short_abandoned += times * call.short_abandon
            case Outcome.TO_IVR:
                self.to_ivr += times
            case Outcome.WAITING:
                self.waiting += times

    @classmethod
    def of(cls, calls: Iterable[CallCount]) -> QueueTally:
        tally = cls()
        for call in calls:
            tally.count(call)
        return tally


def tally_call(tally_of: Callable[[str], QueueTally], call: CallCount, times: int = 1) -> None:
    """Count ``call`` in the tally of its queue and in the ``overflowed_out`` of each queue
    it overflowed out of (``times=-1`` takes it out again). ``tally_of`` names the tally of
    a queue: one per queue, or the same one for the whole center."""
    tally_of(call.queue).count(call, times)
    for source in call.overflowed_from:
        tally_of(source).overflowed_out += times
