"""Call-center figures per interval, queue and agent, from interaction records and agent state
changes: offered, answered, abandoned, service level, ASA, AHT, occupancy, IVR containment,
first-contact resolution. Pure; every formula and edge case is in docs/metrics.md, section 4.

The facts are the inbound voice calls (the loader keeps only those). A call counts once, in
the interval its caller entered a queue (``queued_at``) and in the queue it ended in (the one
that answered it, or where the caller gave up); the queues it overflowed from count it as
``overflowed_out``. Calls that never reached a queue count only for the IVR.

How one call counts (its outcome, wait, short abandon, service level, overflows, and what it
adds to a queue's counts) is callcenter/crm/counting.py's: the live wallboard counts with the
same functions. This module reads the records for them and adds what the reports alone show
(handle times, first-contact resolution, intervals, agents, the IVR).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from callcenter.crm.agent_time import AgentTime, StateChange, agent_time
from callcenter.crm.counting import (
    OVERFLOW_PREFIX,
    CallCount,
    Outcome,
    QueueTally,
    call_count,
    route_of,
    tally_call,
    threshold,
)
from callcenter.crm.report_intervals import IntervalKind, ReportRange, Slot, slot_of

REPEAT_WINDOW = dt.timedelta(days=7)  # first-contact resolution looks this far ahead
SELF_SERVED = "self_served"
UNKNOWN_QUEUE = "unknown"


@dataclass(frozen=True)
class CallFact:
    """What the figures need of one inbound voice interaction."""

    id: int
    started_at: dt.datetime
    client_id: int | None = None
    queued_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    wrapup_ended_at: dt.datetime | None = None
    ivr_outcome: str | None = None
    ivr_path: tuple[str, ...] = ()
    queue: str | None = None
    agent_id: int | None = None
    hold_seconds: int | None = None


def overflow_moves(path: Sequence[str]) -> list[tuple[str, str]]:
    """Each ``overflow:<queue>=<target>`` entry of a path as (queue, target), in order."""
    moves = []
    for entry in path:
        if entry.startswith(OVERFLOW_PREFIX):
            source, _, target = entry.removeprefix(OVERFLOW_PREFIX).partition("=")
            moves.append((source, target))
    return moves


@dataclass(frozen=True, kw_only=True)
class QueuedCall(CallCount):
    """A call that reached a queue: how it counts (counting.CallCount), and what the
    reports alone read of it."""

    fact: CallFact
    topic: str  # the first queue it entered: what the caller asked the IVR for
    talk_seconds: float | None = None  # None unless handled (answered and ended)
    hold_seconds: float | None = None
    wrapup_seconds: float | None = None
    first_contact_resolved: bool | None = None  # None: not judged (unanswered, unknown client)

    @property
    def handled(self) -> bool:
        return self.talk_seconds is not None


def _seconds(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds()


def classify(
    fact: CallFact,
    thresholds: Mapping[str, float],
    repeats: Mapping[int, Sequence[tuple[dt.datetime, str]]],
) -> QueuedCall:
    """One queued call read for the figures. ``repeats`` holds, per client, the (start,
    topic) of every queued call known, for first-contact resolution."""
    assert fact.queued_at is not None
    moves = overflow_moves(fact.ivr_path)
    queue = fact.queue or UNKNOWN_QUEUE
    topic = moves[0][0] if moves else queue
    count = call_count(
        queue,
        route_of(fact.ivr_path),
        fact.queued_at,
        thresholds,
        answered_at=fact.answered_at,
        ended_at=fact.ended_at,
    )
    handle: dict[str, float | None] = {}
    if fact.answered_at is not None and fact.ended_at is not None:
        connected = max(0.0, _seconds(fact.answered_at, fact.ended_at))
        hold = min(connected, float(fact.hold_seconds or 0))
        wrapup = 0.0
        if fact.wrapup_ended_at is not None:
            wrapup = max(0.0, _seconds(fact.ended_at, fact.wrapup_ended_at))
        handle = {"talk_seconds": connected - hold, "hold_seconds": hold, "wrapup_seconds": wrapup}
    resolved = None
    if count.outcome is Outcome.ANSWERED and fact.client_id is not None:
        resolved = not any(
            fact.started_at < at <= fact.started_at + REPEAT_WINDOW and other == topic
            for at, other in repeats.get(fact.client_id, ())
        )
    return QueuedCall(
        queue=count.queue,
        outcome=count.outcome,
        wait_seconds=count.wait_seconds,
        threshold_seconds=count.threshold_seconds,
        overflowed_from=count.overflowed_from,
        fact=fact,
        topic=topic,
        first_contact_resolved=resolved,
        **handle,
    )


_COUNT_FIELDS = dataclasses.fields(QueueTally)


def _ratio(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


@dataclass(frozen=True)
class CallFigures:
    """Counts and sums over a set of queued calls, and the rates derived from them."""

    offered: int = 0
    answered: int = 0
    answered_in_threshold: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    to_ivr: int = 0
    waiting: int = 0
    overflowed_out: int = 0
    handled: int = 0
    answer_wait_seconds: float = 0.0  # summed over answered calls
    talk_seconds: float = 0.0  # these three summed over handled calls
    hold_seconds: float = 0.0
    wrapup_seconds: float = 0.0
    fcr_eligible: int = 0
    fcr_resolved: int = 0

    @classmethod
    def of(cls, calls: Iterable[QueuedCall], overflowed_out: int = 0) -> CallFigures:
        calls = list(calls)
        counts = QueueTally.of(calls)
        counts.overflowed_out += overflowed_out
        return cls.of_counts(counts, calls)

    @classmethod
    def of_counts(cls, counts: QueueTally, calls: Iterable[QueuedCall] = ()) -> CallFigures:
        """The figures of a queue's (or the center's) counts, with the handle times and
        first-contact resolution of its calls: the reports' alone (the wallboard has none)."""
        handled = [c for c in calls if c.handled]
        judged = [c for c in calls if c.first_contact_resolved is not None]
        return cls(
            **{f.name: getattr(counts, f.name) for f in _COUNT_FIELDS},
            handled=len(handled),
            talk_seconds=sum(c.talk_seconds or 0.0 for c in handled),
            hold_seconds=sum(c.hold_seconds or 0.0 for c in handled),
            wrapup_seconds=sum(c.wrapup_seconds or 0.0 for c in handled),
            fcr_eligible=len(judged),
            fcr_resolved=sum(bool(c.first_contact_resolved) for c in judged),
        )

    def counts(self) -> QueueTally:
        """The counts these figures are made of (the wallboard starts from them)."""
        return QueueTally(**{f.name: getattr(self, f.name) for f in _COUNT_FIELDS})

    @property
    def decided(self) -> int:
        """Calls whose queue outcome is known, less the short abandons."""
        return self.offered - self.waiting - self.short_abandoned

    @property
    def service_level(self) -> float | None:
        return _ratio(self.answered_in_threshold, self.decided)

    @property
    def abandon_rate(self) -> float | None:
        return _ratio(self.abandoned - self.short_abandoned, self.decided)

    @property
    def asa_seconds(self) -> float | None:
        return _ratio(self.answer_wait_seconds, self.answered)

    @property
    def aht_seconds(self) -> float | None:
        total = self.talk_seconds + self.hold_seconds + self.wrapup_seconds
        return _ratio(total, self.handled)

    @property
    def average_talk_seconds(self) -> float | None:
        return _ratio(self.talk_seconds, self.handled)

    @property
    def average_hold_seconds(self) -> float | None:
        return _ratio(self.hold_seconds, self.handled)

    @property
    def average_wrapup_seconds(self) -> float | None:
        return _ratio(self.wrapup_seconds, self.handled)

    @property
    def fcr_rate(self) -> float | None:
        return _ratio(self.fcr_resolved, self.fcr_eligible)


@dataclass(frozen=True)
class QueueRow:
    slot: Slot
    queue: str
    service_level_seconds: float
    figures: CallFigures


@dataclass(frozen=True)
class AgentRow:
    slot: Slot
    agent_id: int
    agent_name: str | None
    figures: CallFigures  # the calls the agent answered
    time: AgentTime


@dataclass(frozen=True)
class CenterRow:
    """The whole center in one interval (or, as the report's total, the whole range)."""

    slot: Slot
    figures: CallFigures
    time: AgentTime
    ivr_entered: int = 0  # calls whose IVR part ended (they have an IVR outcome)
    self_served: int = 0  # of those, served by the IVR alone: never queued

    @property
    def ivr_containment(self) -> float | None:
        return _ratio(self.self_served, self.ivr_entered)


@dataclass(frozen=True)
class CallReport:
    range: ReportRange
    interval: IntervalKind
    intervals: list[CenterRow]  # only intervals with a call or a logged-in agent
    queues: list[QueueRow]
    agents: list[AgentRow]
    total: CenterRow
    # First-contact resolution looks 7 days past each call: until the range's end plus 7
    # days has passed, a later call can still turn a "resolved" into a repeat.
    fcr_final: bool = field(default=True)


@dataclass(frozen=True)
class CallReportInput:
    calls: Sequence[CallFact]  # queued in the range or started in it, and up to 7 days after
    state_changes: Sequence[StateChange] = ()
    service_level_seconds: Mapping[str, float] = field(default_factory=dict)  # by queue
    agent_names: Mapping[int, str] = field(default_factory=dict)


def _repeat_index(calls: Iterable[CallFact]) -> dict[int, list[tuple[dt.datetime, str]]]:
    index: dict[int, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for fact in calls:
        if fact.client_id is not None and fact.queued_at is not None:
            moves = overflow_moves(fact.ivr_path)
            topic = moves[0][0] if moves else fact.queue or UNKNOWN_QUEUE
            index[fact.client_id].append((fact.started_at, topic))
    return index


@dataclass
class _Grouped:
    """The queued calls of a report, grouped by interval and queue, agent, or interval."""

    by_queue: dict[tuple[Slot, str], list[QueuedCall]] = field(
        default_factory=lambda: defaultdict(list)
    )
    by_agent: dict[tuple[Slot, int], list[QueuedCall]] = field(
        default_factory=lambda: defaultdict(list)
    )
    by_slot: dict[Slot, list[QueuedCall]] = field(default_factory=lambda: defaultdict(list))
    # The counts, as counting.tally_call moves them: per interval and queue (a queue a call
    # overflowed out of has a row too), per interval of the whole center, and in all.
    queue_counts: dict[tuple[Slot, str], QueueTally] = field(
        default_factory=lambda: defaultdict(QueueTally)
    )
    slot_counts: dict[Slot, QueueTally] = field(default_factory=lambda: defaultdict(QueueTally))
    total: QueueTally = field(default_factory=QueueTally)

    def add(self, call: QueuedCall, slot: Slot) -> None:
        self.by_queue[(slot, call.queue)].append(call)
        self.by_slot[slot].append(call)
        tally_call(lambda queue: self.queue_counts[(slot, queue)], call)
        tally_call(lambda _queue: self.slot_counts[slot], call)
        tally_call(lambda _queue: self.total, call)
        if call.outcome is Outcome.ANSWERED and call.fact.agent_id is not None:
            self.by_agent[(slot, call.fact.agent_id)].append(call)


def call_report(
    data: CallReportInput, report: ReportRange, kind: IntervalKind, now: dt.datetime
) -> CallReport:
    repeats = _repeat_index(data.calls)
    queued = [
        classify(f, data.service_level_seconds, repeats)
        for f in data.calls
        if report.contains(f.queued_at)
    ]
    groups = _Grouped()
    for call in queued:
        assert call.fact.queued_at is not None
        groups.add(call, slot_of(call.fact.queued_at, kind, report.zone))
    time = agent_time(data.state_changes, report, kind, now)
    queues = [
        QueueRow(
            slot,
            queue,
            threshold(data.service_level_seconds, queue),
            CallFigures.of_counts(counts, groups.by_queue.get((slot, queue), ())),
        )
        for (slot, queue), counts in sorted(groups.queue_counts.items(), key=lambda kv: kv[0])
    ]
    agents = [
        AgentRow(
            slot,
            agent_id,
            data.agent_names.get(agent_id),
            CallFigures.of(groups.by_agent.get((slot, agent_id), ())),
            time.get((slot, agent_id), AgentTime()),
        )
        for slot, agent_id in sorted(groups.by_agent.keys() | time.keys())
    ]
    intervals = _center_rows(groups, time, _ivr_counts(data.calls, report, kind))
    total = CenterRow(
        Slot(report.start, report.end),
        CallFigures.of_counts(groups.total, queued),
        sum((r.time for r in intervals), AgentTime()),
        sum(r.ivr_entered for r in intervals),
        sum(r.self_served for r in intervals),
    )
    final = now >= report.end + REPEAT_WINDOW
    return CallReport(report, kind, intervals, queues, agents, total, final)


def _center_rows(
    groups: _Grouped,
    time: Mapping[tuple[Slot, int], AgentTime],
    ivr: Mapping[Slot, tuple[int, int]],
) -> list[CenterRow]:
    """The whole center per interval: every queue's calls, every agent's time, the IVR."""
    slot_time: dict[Slot, AgentTime] = defaultdict(AgentTime)
    for (slot, _agent), spent in time.items():
        slot_time[slot] += spent
    return [
        CenterRow(
            slot,
            CallFigures.of_counts(
                groups.slot_counts.get(slot, QueueTally()), groups.by_slot.get(slot, ())
            ),
            slot_time.get(slot, AgentTime()),
            *ivr.get(slot, (0, 0)),
        )
        for slot in sorted(groups.by_slot.keys() | slot_time.keys() | ivr.keys())
    ]


def _ivr_counts(
    calls: Iterable[CallFact], report: ReportRange, kind: IntervalKind
) -> dict[Slot, tuple[int, int]]:
    """Per interval of the call's start: (calls that went through the IVR, self-served)."""
    counts: dict[Slot, tuple[int, int]] = {}
    for fact in calls:
        if fact.ivr_outcome is None or not report.contains(fact.started_at):
            continue
        slot = slot_of(fact.started_at, kind, report.zone)
        entered, served = counts.get(slot, (0, 0))
        contained = fact.ivr_outcome == SELF_SERVED and fact.queued_at is None
        counts[slot] = (entered + 1, served + contained)
    return counts
