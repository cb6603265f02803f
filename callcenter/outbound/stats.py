"""The dialler's figures (issue 18, point 7, and the wallboard's campaign progress, point 6).
Pure; the definitions are these, and each function's docstring.

* Return visits (回访): of the accounts whose deadline falls in the period, how many had their
  return visit completed by it: within 14 days of the opening (the center's rule), and
  within a month (the regulation's), each counted over the accounts whose own deadline falls
  in the period; by branch or by advisor.
* Callback delay: from a caller's request to the first attempt that reached them, median
  and 90th percentile, over the callbacks requested in the period.
* Attempts per reached client: the dials a work item took until its first reaching one.
* Outcomes: the attempts started in the period, by kind and outcome; their dials.
* Campaign progress (the wallboard, live): per kind, the items open, due now, done today,
  and today's dials.

What counts as a dial and what as reaching the client is decided here once: the reports and
the wallboard both count with :func:`is_dial` and :func:`reaches`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from callcenter.crm.vocabulary import FollowUpKind
from callcenter.outbound.model import COUNTED, AttemptOutcome

CENTER_DAYS = 14  # the center's rule for a return visit; the regulation allows a month
# The attempt reached the client: answered (the agent has not said more yet), reached (call
# again), completed. A refusal or a wrong number after an answer is not the client reached
# for what the item is about.
REACHING = frozenset({AttemptOutcome.ANSWERED, AttemptOutcome.REACHED, AttemptOutcome.COMPLETED})


def is_dial(outcome: AttemptOutcome | None) -> bool:
    """An attempt that dialled the client: its outcome counts toward the attempt limit, or it
    is under way (no outcome yet). A skip in preview, or the agent's own phone unanswered,
    dialled no one."""
    return outcome is None or outcome in COUNTED


def reaches(outcome: AttemptOutcome | None) -> bool:
    return outcome in REACHING


def _ratio(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


def percentile(values: Sequence[float], share: float) -> float | None:
    """The value below which ``share`` (0..1) of ``values`` fall, interpolated between the
    two nearest (the inclusive method; one value is its own percentile); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def add_month(day: dt.date) -> dt.date:
    """The same day a month later, or the month's last day (Jan 31 -> Feb 28)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- return visits ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountFact:
    """An account that owes a return visit: when it opened, whose it is, and the local day
    its return visit was completed (None: not completed)."""

    client_id: int
    opened_on: dt.date
    branch_id: int
    advisor_id: int | None
    completed_on: dt.date | None = None
    closed_on: dt.date | None = None  # the account closed: no visit owed from that day

    def owes(self, deadline: dt.date) -> bool:
        """Whether a visit by ``deadline`` is owed: not if the account closed by then and
        none was made."""
        return self.closed_on is None or self.closed_on > deadline or self.completed_on is not None

    @property
    def center_deadline(self) -> dt.date:
        return self.opened_on + dt.timedelta(days=CENTER_DAYS)

    @property
    def month_deadline(self) -> dt.date:
        return add_month(self.opened_on)


@dataclass(frozen=True)
class ReturnVisitFigures:
    group_id: int | None  # the branch's or advisor's id; None for no advisor, and the total
    due_14_days: int  # accounts whose 14-day deadline falls in the period
    done_14_days: int  # of those, completed by it
    due_month: int  # accounts whose one-month deadline falls in the period
    done_month: int

    @property
    def rate_14_days(self) -> float | None:
        return _ratio(self.done_14_days, self.due_14_days)

    @property
    def rate_month(self) -> float | None:
        return _ratio(self.done_month, self.due_month)


def _in(day: dt.date, first: dt.date, last: dt.date) -> bool:
    return first <= day <= last


def _return_visit_figures(
    group: int | None, facts: Iterable[AccountFact], first: dt.date, last: dt.date
) -> ReturnVisitFigures:
    due_14 = [f for f in facts if _in(f.center_deadline, first, last) and f.owes(f.center_deadline)]
    due_month = [
        f for f in facts if _in(f.month_deadline, first, last) and f.owes(f.month_deadline)
    ]
    return ReturnVisitFigures(
        group_id=group,
        due_14_days=len(due_14),
        done_14_days=sum(
            f.completed_on is not None and f.completed_on <= f.center_deadline for f in due_14
        ),
        due_month=len(due_month),
        done_month=sum(
            f.completed_on is not None and f.completed_on <= f.month_deadline for f in due_month
        ),
    )


def return_visit_report(
    facts: Iterable[AccountFact], first: dt.date, last: dt.date, *, by_advisor: bool
) -> tuple[list[ReturnVisitFigures], ReturnVisitFigures]:
    """Per branch (or advisor; accounts without one in a row of their own, ``group_id``
    None, last) with an account due in the period, and the total."""
    facts = list(facts)
    groups: dict[int | None, list[AccountFact]] = defaultdict(list)
    for fact in facts:
        groups[fact.advisor_id if by_advisor else fact.branch_id].append(fact)
    rows = [_return_visit_figures(g, groups[g], first, last) for g in groups]
    rows = [r for r in rows if r.due_14_days or r.due_month]
    rows.sort(key=lambda r: (r.group_id is None, r.group_id or 0))
    return rows, _return_visit_figures(None, facts, first, last)


# --- callbacks and attempts ------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptFact:
    follow_up_id: int
    kind: FollowUpKind
    started_at: dt.datetime
    outcome: AttemptOutcome | None


@dataclass(frozen=True)
class CallbackFact:
    follow_up_id: int
    requested_at: dt.datetime


@dataclass(frozen=True)
class CallbackDelay:
    requested: int  # callbacks requested in the period
    reached: int  # of those, reached since
    median_seconds: float | None  # request -> first reaching attempt, over the reached
    p90_seconds: float | None


def first_reached(attempts: Iterable[AttemptFact]) -> dict[int, dt.datetime]:
    """Per work item, the start of its first attempt that reached the client."""
    first: dict[int, dt.datetime] = {}
    for a in attempts:
        if reaches(a.outcome) and (
            a.follow_up_id not in first or a.started_at < first[a.follow_up_id]
        ):
            first[a.follow_up_id] = a.started_at
    return first


def callback_delay(
    callbacks: Iterable[CallbackFact], attempts: Iterable[AttemptFact]
) -> CallbackDelay:
    """``attempts``: those of the callbacks (any time after their request)."""
    callbacks = list(callbacks)
    reached_at = first_reached(attempts)
    delays = [
        max(0.0, (reached_at[c.follow_up_id] - c.requested_at).total_seconds())
        for c in callbacks
        if c.follow_up_id in reached_at
    ]
    return CallbackDelay(
        requested=len(callbacks),
        reached=len(delays),
        median_seconds=statistics.median(delays) if delays else None,
        p90_seconds=percentile(delays, 0.9),
    )


@dataclass(frozen=True)
class KindFigures:
    """The attempts started in the period for one kind (None: all kinds)."""

    kind: FollowUpKind | None
    attempts: int  # every attempt, skips included
    dials: int  # of those, dials (is_dial)
    outcomes: Mapping[str, int]  # by outcome ("in_progress" for none yet)
    reached_items: int  # items first reached in the period
    dials_to_reach: int  # the dials those items took, the reaching one included

    @property
    def attempts_per_reached(self) -> float | None:
        return _ratio(self.dials_to_reach, self.reached_items)


IN_PROGRESS = "in_progress"


def _kind_figures(
    kind: FollowUpKind | None,
    in_period: Sequence[AttemptFact],
    history: Mapping[int, Sequence[AttemptFact]],
    start: dt.datetime,
    end: dt.datetime,
) -> KindFigures:
    outcomes = Counter(a.outcome.value if a.outcome else IN_PROGRESS for a in in_period)
    reached_items = 0
    dials_to_reach = 0
    for item_attempts in history.values():
        first = min((a.started_at for a in item_attempts if reaches(a.outcome)), default=None)
        if first is None or not start <= first < end:
            continue
        reached_items += 1
        dials_to_reach += sum(is_dial(a.outcome) for a in item_attempts if a.started_at <= first)
    return KindFigures(
        kind=kind,
        attempts=len(in_period),
        dials=sum(is_dial(a.outcome) for a in in_period),
        outcomes=dict(sorted(outcomes.items())),
        reached_items=reached_items,
        dials_to_reach=dials_to_reach,
    )


def attempt_report(
    attempts: Iterable[AttemptFact], start: dt.datetime, end: dt.datetime
) -> tuple[list[KindFigures], KindFigures]:
    """Per kind (the vocabulary's order, kinds with an attempt only) and in all.

    ``attempts``: every attempt of the items with one in ``[start, end)``, earlier ones
    included (an item first reached in the period counts the dials it took before)."""
    attempts = list(attempts)
    history: dict[int, list[AttemptFact]] = defaultdict(list)
    for a in attempts:
        history[a.follow_up_id].append(a)
    in_period = [a for a in attempts if start <= a.started_at < end]
    rows = [
        _kind_figures(
            kind,
            [a for a in in_period if a.kind is kind],
            {i: h for i, h in history.items() if h[0].kind is kind},
            start,
            end,
        )
        for kind in FollowUpKind
    ]
    rows = [r for r in rows if r.attempts or r.reached_items]
    return rows, _kind_figures(None, in_period, history, start, end)


# --- the wallboard's campaign progress --------------------------------------------------------


@dataclass(frozen=True)
class ItemCounts:
    """What the store counts of one kind's items now (callcenter/persistence/
    outbound_reports.py ``load_campaign_counts``)."""

    open: int = 0
    due_now: int = 0  # open, its window open and its retry time passed
    done_today: int = 0  # done since the center's midnight


@dataclass(frozen=True)
class CampaignProgress:
    kind: FollowUpKind
    open: int
    due_now: int
    done_today: int
    attempts_today: int  # today's dials (is_dial), as the reports count them

    def as_row(self) -> dict[str, object]:
        """The wallboard's row (``floor.snapshot`` ``campaigns``), JSON-ready."""
        return {
            "kind": self.kind.value,
            "open": self.open,
            "due_now": self.due_now,
            "done_today": self.done_today,
            "attempts_today": self.attempts_today,
        }


@dataclass(frozen=True)
class CampaignCounts:
    items: Mapping[FollowUpKind, ItemCounts] = field(default_factory=dict)
    # Today's attempts, by kind and outcome (None: under way).
    attempts: Mapping[tuple[FollowUpKind, AttemptOutcome | None], int] = field(default_factory=dict)


CAMPAIGN_KINDS = (
    FollowUpKind.CALLBACK,
    FollowUpKind.RETURN_VISIT,
    FollowUpKind.CARE_CALL,
    FollowUpKind.BIRTHDAY,
    FollowUpKind.IPO_REMINDER,
    FollowUpKind.INVESTMENT_REPORT,
    FollowUpKind.MARKET_ALERT,
)


def campaign_progress(counts: CampaignCounts) -> list[CampaignProgress]:
    """Per kind, callbacks first, then return visits, then the care kinds; a kind with
    nothing open, done or dialled today is left out (a quiet board stays short)."""
    rows = []
    for kind in CAMPAIGN_KINDS:
        items = counts.items.get(kind, ItemCounts())
        dials = sum(
            n for (k, outcome), n in counts.attempts.items() if k is kind and is_dial(outcome)
        )
        row = CampaignProgress(kind, items.open, items.due_now, items.done_today, dials)
        if row.open or row.done_today or row.attempts_today:
            rows.append(row)
    return rows
