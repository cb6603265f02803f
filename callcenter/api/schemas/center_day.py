"""The center's calendar day now: what the report pages take as "today" (issue 16)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field


class CenterDayOut(BaseModel):
    day: dt.date = Field(description="today in the center's time zone (the reports' days)")
    month: str = Field(description="the center's current month, YYYY-MM")
    timezone: str = Field(description="the center's time zone (settings.business_timezone)")

    @classmethod
    def at(cls, now: dt.datetime, timezone: str) -> CenterDayOut:
        """The center's day at ``now`` (an aware time): not the browser's, whose calendar may
        be a day apart (a supervisor reading Beijing's reports from Los Angeles)."""
        day = now.astimezone(ZoneInfo(timezone)).date()
        return cls(day=day, month=f"{day.year:04d}-{day.month:02d}", timezone=timezone)
