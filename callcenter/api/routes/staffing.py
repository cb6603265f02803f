"""REST routes: the Erlang C staffing calculator (formulas in docs/metrics.md, section 5).

=======  ==========================  =================
method   path                        roles
=======  ==========================  =================
GET      /api/staffing/erlang-c      supervisor, admin
POST     /api/staffing/erlang-c      supervisor, admin
=======  ==========================  =================

GET answers one interval given as query parameters; POST a list of intervals (a day's
forecast). Nothing is stored: POST is used only because a list does not fit a query string.
The handlers are plain functions: FastAPI runs them in its thread pool, so a long forecast
never holds up the event loop that carries the agents' screen pops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query

from callcenter.api.deps import Managers
from callcenter.api.schemas.common import errors
from callcenter.api.schemas.staffing import (
    StaffingIntervalIn,
    StaffingOut,
    StaffingReportOut,
    StaffingRequest,
)
from callcenter.crm.erlang import agents_needed

router = APIRouter(prefix="/staffing", tags=["staffing"])


def _staffing(intervals: Sequence[StaffingIntervalIn]) -> StaffingReportOut:
    rows = [StaffingOut.of(asked, agents_needed(asked.interval())) for asked in intervals]
    hours = sum(row.agents * row.interval_minutes / 60 for row in rows)
    return StaffingReportOut(intervals=rows, total_agent_hours=hours)


@router.get("/erlang-c", responses=errors(403, 422))
def erlang_c_one(
    _principal: Managers, interval: Annotated[StaffingIntervalIn, Query()]
) -> StaffingReportOut:
    """Agents needed for one interval (e.g. ?volume=200&aht_seconds=180&interval_minutes=30)."""
    return _staffing([interval])


@router.post("/erlang-c", responses=errors(403, 422))
def erlang_c_many(_principal: Managers, body: StaffingRequest) -> StaffingReportOut:
    """Agents needed for each interval of a forecast."""
    return _staffing(body.intervals)
