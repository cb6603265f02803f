"""Opening hours of the hotline: what a flow's ``business_hours`` and ``holiday`` conditions see.

Times are the center's local time (Asia/Shanghai for a mainland brokerage), whatever the
server's clock zone. Holidays are dates the exchange is closed (Spring Festival, National Day
...), published yearly, so they are configuration, not code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessCalendar:
    opens: dt.time = dt.time(8, 30)
    closes: dt.time = dt.time(17, 30)
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO: Monday is 1
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if not self.weekdays <= set(range(1, 8)):
            raise ValueError(f"weekdays are ISO numbers 1-7, not {sorted(self.weekdays)}")
        ZoneInfo(self.timezone)  # an unknown zone fails at start, not on the first call

    @classmethod
    def of(
        cls,
        *,
        opens: dt.time,
        closes: dt.time,
        weekdays: Collection[int],
        holidays: Collection[dt.date],
        timezone: str,
    ) -> BusinessCalendar:
        return cls(opens, closes, frozenset(weekdays), frozenset(holidays), timezone)

    def local(self, at: dt.datetime) -> dt.datetime:
        if at.tzinfo is None:
            raise ValueError("a naive datetime has no zone; pass an aware one (UTC)")
        return at.astimezone(ZoneInfo(self.timezone))

    def is_holiday(self, at: dt.datetime) -> bool:
        return self.local(at).date() in self.holidays

    def is_open(self, at: dt.datetime) -> bool:
        """Within opening hours on a working weekday (holidays are asked separately, so a
        flow can say something different on a holiday than at night)."""
        local = self.local(at)
        if local.isoweekday() not in self.weekdays:
            return False
        now = local.time()
        if self.opens <= self.closes:
            return self.opens <= now < self.closes
        return now >= self.opens or now < self.closes  # a night shift across midnight
