"""Report periods: calendar months, as the back office keeps account summaries (one row per
client per month, keyed by the month's first day), or a run of consecutive months."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from callcenter.errors import InvalidInput

# Years from 1000 on: four digits, and ``previous()`` of any valid range stays a valid date.
MONTH_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)


class InvalidPeriod(InvalidInput):
    error_id = "report-invalid-period"


def parse_month(text: str) -> dt.date:
    """``"2024-03"`` -> the month's first day."""
    if not _MONTH.match(text):
        raise InvalidPeriod(f"not a month (YYYY-MM): {text!r}", period=text)
    year, month = text.split("-")
    return dt.date(int(year), int(month), 1)


def month_label(first_day: dt.date) -> str:
    return f"{first_day.year:04d}-{first_day.month:02d}"


def add_months(first_day: dt.date, count: int) -> dt.date:
    index = first_day.year * 12 + first_day.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class MonthRange:
    """The months ``first`` .. ``last`` inclusive, each named by its first day."""

    first: dt.date
    last: dt.date

    def __post_init__(self) -> None:
        if self.first.day != 1 or self.last.day != 1:
            raise InvalidPeriod("a period is named by the first day of its months")
        if self.last < self.first:
            raise InvalidPeriod(
                f"the period ends ({month_label(self.last)}) before it starts "
                f"({month_label(self.first)})",
                to=month_label(self.last),
            )

    @classmethod
    def parse(cls, period: str, to: str | None = None) -> MonthRange:
        first = parse_month(period)
        return cls(first, parse_month(to) if to is not None else first)

    @classmethod
    def month(cls, first_day: dt.date) -> MonthRange:
        return cls(first_day, first_day)

    @property
    def start(self) -> dt.date:
        """The first day in the period."""
        return self.first

    @property
    def end(self) -> dt.date:
        """The first day after the period (exclusive bound)."""
        return add_months(self.last, 1)

    @property
    def months(self) -> int:
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1

    def previous(self) -> MonthRange:
        """The period of the same length just before this one (Jan-Mar -> Oct-Dec)."""
        return MonthRange(add_months(self.first, -self.months), add_months(self.first, -1))

    @property
    def label(self) -> str:
        if self.first == self.last:
            return month_label(self.first)
        return f"{month_label(self.first)}..{month_label(self.last)}"
