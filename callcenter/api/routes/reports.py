"""REST routes: segmentation and KPI reports (formulas in docs/metrics.md).

=======  ==================================  ============================================
method   path                                roles
=======  ==================================  ============================================
GET      /api/reports/deciles                supervisor, admin (JSON, or format=csv)
GET      /api/reports/profitability          supervisor, admin
GET      /api/reports/kpis                   supervisor, admin; an advisor their own row
                                             of by=advisor, an agent theirs of by=agent
                                             (JSON, or format=csv)
POST     /api/reports/segmentation/{period}  supervisor, admin
GET      /api/reports/calls                  supervisor, admin (JSON, or format=csv)
GET      /api/reports/complaints             supervisor, admin (JSON, or format=csv)
GET      /api/reports/follow-ups             supervisor, admin (JSON, or format=csv)
GET      /api/reports/outbound               supervisor, admin (JSON, or format=csv: the
                                             return visits by branch or advisor)
GET      /api/reports/today                  supervisor, admin
=======  ==================================  ============================================

An advisor's or agent's own row keeps the points earned against all their peers. The CSV form
of a report holds the rows of its JSON answer (api/schemas/report_csv.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.exceptions import RequestValidationError

from callcenter.api.deps import ClockDep, DbDep, Managers, SettingsDep, Staff
from callcenter.api.schemas.callstats import (
    CallReportOut,
    ComplaintReportOut,
    FollowUpReportOut,
    ReportBy,
    call_report_csv,
    csv_filename,
)
from callcenter.api.schemas.center_day import CenterDayOut
from callcenter.api.schemas.common import errors
from callcenter.api.schemas.outbound_reports import (
    OutboundReportBy,
    OutboundReportOut,
    outbound_csv_filename,
    outbound_report_csv,
)
from callcenter.api.schemas.report_csv import (
    complaint_csv_filename,
    complaint_report_csv,
    decile_csv_filename,
    decile_report_csv,
    follow_up_csv_filename,
    follow_up_report_csv,
    kpi_csv_filename,
    kpi_report_csv,
)
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
from callcenter.crm.report_intervals import IntervalKind, InvalidReportRange, ReportRange
from callcenter.persistence import callstats, outbound_reports, reports

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
FormatQuery = Annotated[Literal["json", "csv"], Query(description="json, or csv for a file")]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}
}


def csv_response(content: bytes, filename: str) -> Response:
    return Response(
        content=content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/deciles", response_model=DecileReportOut, responses={**errors(403), **CSV_RESPONSE})
async def deciles(
    db: DbDep, _principal: Managers, months: ReportMonths, format: FormatQuery = "json"
) -> DecileReportOut | Response:
    async with db.read() as session:
        report = await reports.load_decile_report(session, months)
    body = DecileReportOut.of(report)
    if format == "json":
        return body
    return csv_response(decile_report_csv(body), decile_csv_filename(body))


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


@router.get("/kpis", response_model=KpiReportOut, responses={**errors(403), **CSV_RESPONSE})
async def kpis(
    db: DbDep,
    principal: Staff,
    months: ReportMonths,
    by: Annotated[KpiScope, Query()],
    format: FormatQuery = "json",
) -> KpiReportOut | Response:
    owner = visible_owner(principal.role, principal.user_id, by)
    async with db.read() as session:
        report = await reports.kpi_report(session, months, by)
    body = KpiReportOut.of(report.only(owner))
    if format == "json":
        return body
    return csv_response(kpi_report_csv(body), kpi_csv_filename(body))


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


# --- call-center figures (docs/metrics.md, section 4) ----------------------------------------

DAY_HELP = "A day in the center's time zone, YYYY-MM-DD; from and to are both included."
FromQuery = Annotated[dt.date, Query(alias="from", description=DAY_HELP, examples=["2026-03-02"])]
ToDayQuery = Annotated[dt.date, Query(alias="to", description=DAY_HELP, examples=["2026-03-02"])]


def report_range(settings: SettingsDep, first: FromQuery, last: ToDayQuery) -> ReportRange:
    try:
        return ReportRange.of(first, last, settings.business_timezone)
    except InvalidReportRange as exc:
        # Answer like FastAPI does for a malformed parameter, naming the field.
        field = exc.detail["field"]
        error = {
            "type": "value_error",
            "loc": ("query", field),
            "msg": exc.message,
            "input": str(last if field == "to" else first),
        }
        raise RequestValidationError([error]) from exc


ReportDays = Annotated[ReportRange, Depends(report_range)]


@router.get("/today", responses=errors(403))
async def center_today(
    _principal: Managers, settings: SettingsDep, clock: ClockDep
) -> CenterDayOut:
    """The center's day now, in its time zone: the report pages' default day and month."""
    return CenterDayOut.at(clock(), settings.business_timezone)


@router.get("/calls", response_model=CallReportOut, responses={**errors(403), **CSV_RESPONSE})
async def call_figures(
    db: DbDep,
    _principal: Managers,
    days: ReportDays,
    clock: ClockDep,
    interval: Annotated[IntervalKind, Query(description="Minutes (15, 30, 60) or day.")] = (
        IntervalKind.MIN60
    ),
    by: Annotated[ReportBy, Query()] = ReportBy.QUEUE,
    format: FormatQuery = "json",
) -> CallReportOut | Response:
    """Offered, answered, abandoned, service level, ASA, AHT, occupancy, IVR containment and
    first-contact resolution per interval and queue (or agent)."""
    async with db.read() as session:
        report = await callstats.load_call_report(session, days, interval, clock())
    body = CallReportOut.of(report, by)
    if format == "json":
        return body
    return csv_response(call_report_csv(body), csv_filename(body))


@router.get(
    "/complaints", response_model=ComplaintReportOut, responses={**errors(403), **CSV_RESPONSE}
)
async def complaint_figures(
    db: DbDep, _principal: Managers, days: ReportDays, format: FormatQuery = "json"
) -> ComplaintReportOut | Response:
    """The complaints opened in the range by category: closed, answered on time, time to
    close."""
    async with db.read() as session:
        rows, total = await callstats.load_complaint_report(session, days)
    body = ComplaintReportOut.of(days, rows, total)
    if format == "json":
        return body
    return csv_response(complaint_report_csv(body), complaint_csv_filename(body))


@router.get(
    "/follow-ups", response_model=FollowUpReportOut, responses={**errors(403), **CSV_RESPONSE}
)
async def follow_up_figures(
    db: DbDep, _principal: Managers, days: ReportDays, clock: ClockDep, format: FormatQuery = "json"
) -> FollowUpReportOut | Response:
    """The follow-ups due in the range by kind: done, on time, cancelled, overdue."""
    async with db.read() as session:
        rows, total = await callstats.load_follow_up_report(session, days, clock())
    body = FollowUpReportOut.of(days, rows, total)
    if format == "json":
        return body
    return csv_response(follow_up_report_csv(body), follow_up_csv_filename(body))


@router.get(
    "/outbound", response_model=OutboundReportOut, responses={**errors(403), **CSV_RESPONSE}
)
async def outbound_figures(
    db: DbDep,
    _principal: Managers,
    days: ReportDays,
    by: Annotated[OutboundReportBy, Query()] = OutboundReportBy.BRANCH,
    format: FormatQuery = "json",
) -> OutboundReportOut | Response:
    """The dialler's figures for the range: return visits completed within 14 days and
    within a month of the opening (by branch or advisor), callback delay, attempts per
    reached client, outcomes by kind."""
    async with db.read() as session:
        report = await outbound_reports.load_outbound_report(
            session, days, by_advisor=by is OutboundReportBy.ADVISOR
        )
    body = OutboundReportOut.of(report, by)
    if format == "json":
        return body
    return csv_response(outbound_report_csv(body), outbound_csv_filename(body))
