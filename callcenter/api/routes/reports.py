"""REST routes: segmentation and KPI reports (formulas in docs/metrics.md).

=======  ==================================  ============================================
method   path                                roles
=======  ==================================  ============================================
GET      /api/reports/deciles                supervisor, admin
GET      /api/reports/profitability          supervisor, admin
GET      /api/reports/kpis                   supervisor, admin; an advisor their own row
                                             of by=advisor, an agent theirs of by=agent
POST     /api/reports/segmentation/{period}  supervisor, admin
=======  ==================================  ============================================

An advisor's or agent's own row keeps the points earned against all their peers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.exceptions import RequestValidationError

from callcenter.api.deps import DbDep, Managers, Staff
from callcenter.api.schemas.common import errors
from callcenter.api.schemas.reports import (
    DecileReportOut,
    KpiReportOut,
    PeriodOut,
    SegmentationOut,
    TierProfitabilityOut,
    TierProfitabilityReportOut,
)
from callcenter.crm.kpi import KpiScope, visible_owner
from callcenter.crm.periods import MONTH_PATTERN, InvalidPeriod, MonthRange
from callcenter.persistence import reports

router = APIRouter(prefix="/reports", tags=["reports"])

MONTH_HELP = "A calendar month, YYYY-MM (account summaries are kept per month)."
PeriodQuery = Annotated[
    str, Query(pattern=MONTH_PATTERN, description=MONTH_HELP, examples=["2024-03"])
]
ToQuery = Annotated[
    str | None,
    Query(pattern=MONTH_PATTERN, description="The last month of a range (inclusive), YYYY-MM."),
]


def report_months(period: PeriodQuery, to: ToQuery = None) -> MonthRange:
    try:
        return MonthRange.parse(period, to)
    except InvalidPeriod as exc:
        # The one check a pattern cannot make: answer like FastAPI does, naming the field.
        error = {"type": "value_error", "loc": ("query", "to"), "msg": exc.message, "input": to}
        raise RequestValidationError([error]) from exc


ReportMonths = Annotated[MonthRange, Depends(report_months)]


@router.get("/deciles", responses=errors(403))
async def deciles(db: DbDep, _principal: Managers, months: ReportMonths) -> DecileReportOut:
    async with db.read() as session:
        report = await reports.load_decile_report(session, months)
    return DecileReportOut.of(report)


@router.get("/profitability", responses=errors(403))
async def profitability(
    db: DbDep, _principal: Managers, months: ReportMonths
) -> TierProfitabilityReportOut:
    """Average client profitability (contribution) by tier, for the period."""
    async with db.read() as session:
        rows = await reports.tier_profitability(session, months)
    return TierProfitabilityReportOut(
        period=PeriodOut.of(months), tiers=[TierProfitabilityOut.of(r) for r in rows]
    )


@router.get("/kpis", responses=errors(403))
async def kpis(
    db: DbDep, principal: Staff, months: ReportMonths, by: Annotated[KpiScope, Query()]
) -> KpiReportOut:
    owner = visible_owner(principal.role, principal.user_id, by)
    async with db.read() as session:
        report = await reports.kpi_report(session, months, by)
    return KpiReportOut.of(report.only(owner))


@router.post("/segmentation/{period}", responses=errors(403))
async def recompute_segmentation(
    db: DbDep,
    principal: Managers,
    period: Annotated[str, Path(pattern=MONTH_PATTERN, description=MONTH_HELP)],
) -> SegmentationOut:
    """Recompute the value classes and the tiers for one month; returns what changed."""
    months = MonthRange.parse(period)
    async with db.write() as session:
        outcome = await reports.recompute_segmentation(
            session, months, changed_by_id=principal.user_id
        )
    return SegmentationOut.of(outcome)
