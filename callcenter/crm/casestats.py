"""Complaint and follow-up figures for a report range (docs/metrics.md, sections 4.8-4.9).
Pure.

* Complaints: the complaints opened in the range, by category: how many, how many closed,
  answered within the 2-day deadline, and the mean and median time from opening to closing
  of the closed ones.
* Follow-ups: the follow-ups due in the range, by kind: done, done by the due day,
  cancelled, still open; the completion rate (return visits: 回访 completion).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus


def _ratio(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


@dataclass(frozen=True)
class ComplaintFact:
    category_code: str
    created_at: dt.datetime
    response_due_at: dt.datetime
    responded_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None


@dataclass(frozen=True)
class ComplaintFigures:
    category_code: str  # "*" for the total
    category_name: str | None
    category_name_en: str | None
    opened: int
    closed: int
    responded_on_time: int  # first response at or before the 2-day deadline
    mean_seconds_to_close: float | None
    median_seconds_to_close: float | None

    @property
    def open(self) -> int:
        return self.opened - self.closed

    @property
    def responded_on_time_rate(self) -> float | None:
        return _ratio(self.responded_on_time, self.opened)


def _complaint_figures(
    code: str, facts: list[ComplaintFact], names: Mapping[str, tuple[str, str]]
) -> ComplaintFigures:
    to_close = [
        (f.closed_at - f.created_at).total_seconds() for f in facts if f.closed_at is not None
    ]
    name, name_en = names.get(code, (None, None))
    return ComplaintFigures(
        category_code=code,
        category_name=name,
        category_name_en=name_en,
        opened=len(facts),
        closed=len(to_close),
        responded_on_time=sum(
            f.responded_at is not None and f.responded_at <= f.response_due_at for f in facts
        ),
        mean_seconds_to_close=statistics.fmean(to_close) if to_close else None,
        median_seconds_to_close=statistics.median(to_close) if to_close else None,
    )


ALL = "*"


def complaint_report(
    facts: Iterable[ComplaintFact], names: Mapping[str, tuple[str, str]]
) -> tuple[list[ComplaintFigures], ComplaintFigures]:
    """Per category (by code), and the total over all of them."""
    facts = list(facts)
    by_category: dict[str, list[ComplaintFact]] = defaultdict(list)
    for fact in facts:
        by_category[fact.category_code].append(fact)
    rows = [_complaint_figures(code, by_category[code], names) for code in sorted(by_category)]
    return rows, _complaint_figures(ALL, facts, {})


@dataclass(frozen=True)
class FollowUpFact:
    kind: FollowUpKind
    status: FollowUpStatus
    due_on: dt.date
    done_at: dt.datetime | None = None


@dataclass(frozen=True)
class FollowUpFigures:
    kind: FollowUpKind | None  # None for the total
    due: int
    done: int
    done_on_time: int  # done on or before the due day (the center's local date)
    cancelled: int
    overdue: int  # still open after their due day

    @property
    def open(self) -> int:
        return self.due - self.done - self.cancelled

    @property
    def completion_rate(self) -> float | None:
        return _ratio(self.done, self.due - self.cancelled)

    @property
    def on_time_rate(self) -> float | None:
        return _ratio(self.done_on_time, self.due - self.cancelled)


def _follow_up_figures(
    kind: FollowUpKind | None, facts: list[FollowUpFact], today: dt.date, zone: ZoneInfo
) -> FollowUpFigures:
    done = [f for f in facts if f.status is FollowUpStatus.DONE]
    return FollowUpFigures(
        kind=kind,
        due=len(facts),
        done=len(done),
        done_on_time=sum(
            f.done_at is not None and f.done_at.astimezone(zone).date() <= f.due_on for f in done
        ),
        cancelled=sum(f.status is FollowUpStatus.CANCELLED for f in facts),
        overdue=sum(f.status is FollowUpStatus.OPEN and f.due_on < today for f in facts),
    )


def follow_up_report(
    facts: Iterable[FollowUpFact], today: dt.date, timezone: str
) -> tuple[list[FollowUpFigures], FollowUpFigures]:
    """Per kind (every kind listed, in the vocabulary's order), and the total."""
    facts = list(facts)
    zone = ZoneInfo(timezone)
    rows = [
        _follow_up_figures(kind, [f for f in facts if f.kind is kind], today, zone)
        for kind in FollowUpKind
    ]
    return rows, _follow_up_figures(None, facts, today, zone)
