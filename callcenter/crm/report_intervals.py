"""Report ranges and intervals in the center's local time (docs/metrics.md, section 4.1).

A supervisor asks for days as the center lives them (Asia/Shanghai by default), whatever the
server's clock zone: ``from`` and ``to`` are local dates, both inclusive, and intervals are
slots of the local wall clock (08:00-08:15, ...) or whole local days. Times are stored in
UTC; this module turns them into the slot they belong to. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from callcenter.errors import InvalidInput

MAX_REPORT_DAYS = 93  # a quarter and a bit: the longest range one request may cover


class InvalidReportRange(InvalidInput):
    """``detail["field"]`` names the query parameter at fault (from, to)."""

    error_id = "report-range-invalid"


class IntervalKind(StrEnum):
    MIN15 = "15"
    MIN30 = "30"
    MIN60 = "60"
    DAY = "day"

    @property
    def minutes(self) -> int | None:
        return None if self is IntervalKind.DAY else int(self.value)


@dataclass(frozen=True)
class ReportRange:
    """Local days ``first`` to ``last`` (inclusive) in ``timezone``."""

    first: dt.date
    last: dt.date
    timezone: str = "Asia/Shanghai"

    @classmethod
    def of(cls, first: dt.date, last: dt.date, timezone: str = "Asia/Shanghai") -> ReportRange:
        if last < first:
            raise InvalidReportRange(
                f"to ({last}) is before from ({first})", field="to", first=str(first)
            )
        days = (last - first).days + 1
        if days > MAX_REPORT_DAYS:
            raise InvalidReportRange(
                f"{days} days asked; a report covers at most {MAX_REPORT_DAYS}",
                field="to",
                days=days,
            )
        return cls(first, last, timezone)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start(self) -> dt.datetime:
        """The first instant of the range (local midnight of ``first``), in UTC."""
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> dt.datetime:
        """The instant after the range (local midnight after ``last``), in UTC."""
        return local_midnight(self.last + dt.timedelta(days=1), self.zone)

    def contains(self, at: dt.datetime | None) -> bool:
        return at is not None and self.start <= at < self.end


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


@dataclass(frozen=True, order=True)
class Slot:
    """One interval of a report: ``[start, end)``, both UTC."""

    start: dt.datetime
    end: dt.datetime

    def local(self, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        return self.start.astimezone(zone), self.end.astimezone(zone)


def slot_of(at: dt.datetime, kind: IntervalKind, zone: ZoneInfo) -> Slot:
    """The interval ``at`` falls in: its local wall-clock slot (or local day)."""
    if at.tzinfo is None:
        raise ValueError("a naive datetime has no zone; pass an aware one (UTC)")
    local = at.astimezone(zone)
    minutes = kind.minutes
    if minutes is None:
        day = local.date()
        return Slot(local_midnight(day, zone), local_midnight(day + dt.timedelta(days=1), zone))
    floor = local.replace(minute=local.minute // minutes * minutes, second=0, microsecond=0)
    wall_end = floor.replace(tzinfo=None) + dt.timedelta(minutes=minutes)
    start = floor.astimezone(dt.UTC)
    end = wall_end.replace(tzinfo=zone).astimezone(dt.UTC)
    if end <= at:  # a clock change folded the wall clock back: keep slots moving forward
        end = at + dt.timedelta(minutes=minutes)
    return Slot(start, end)


def split_by_slot(
    start: dt.datetime, end: dt.datetime, kind: IntervalKind, zone: ZoneInfo
) -> Iterator[tuple[Slot, float]]:
    """``[start, end)`` cut at interval boundaries: each slot it touches with the seconds
    it spends there."""
    at = start
    while at < end:
        slot = slot_of(at, kind, zone)
        until = min(end, slot.end)
        yield slot, (until - at).total_seconds()
        at = until
