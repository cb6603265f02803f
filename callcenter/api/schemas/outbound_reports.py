"""Response model of the outbound report (GET /api/reports/outbound; definitions in
callcenter/outbound/stats.py), and its CSV form: the return-visit rows, then their total,
the same columns as the JSON's rows."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel

from callcenter.api.schemas.callstats import rows_csv
from callcenter.crm.vocabulary import FollowUpKind
from callcenter.outbound.model import AttemptOutcome
from callcenter.outbound.stats import IN_PROGRESS, CallbackDelay, KindFigures, ReturnVisitFigures
from callcenter.persistence.outbound_reports import OutboundReport


class OutboundReportBy(StrEnum):
    BRANCH = "branch"
    ADVISOR = "advisor"


class ReturnVisitRowOut(BaseModel):
    by: OutboundReportBy
    group_id: int | None  # the branch or advisor; null: no advisor, or the total
    group_name: str | None
    group_name_en: str | None  # a branch's English name; an advisor's is their one name
    due_14_days: int  # accounts whose 14-day deadline falls in the range
    done_14_days: int  # of those, visited by it
    rate_14_days: float | None
    due_month: int  # accounts whose one-month deadline falls in the range
    done_month: int
    rate_month: float | None

    @classmethod
    def of(
        cls, f: ReturnVisitFigures, by: OutboundReportBy, names: tuple[str, str] | None
    ) -> ReturnVisitRowOut:
        return cls(
            by=by,
            group_id=f.group_id,
            group_name=None if names is None else names[0],
            group_name_en=None if names is None else names[1],
            due_14_days=f.due_14_days,
            done_14_days=f.done_14_days,
            rate_14_days=f.rate_14_days,
            due_month=f.due_month,
            done_month=f.done_month,
            rate_month=f.rate_month,
        )


class CallbackDelayOut(BaseModel):
    requested: int  # callbacks requested in the range
    reached: int  # of those, reached since
    median_seconds: float | None  # request -> the first attempt that reached the caller
    p90_seconds: float | None

    @classmethod
    def of(cls, d: CallbackDelay) -> CallbackDelayOut:
        return cls(
            requested=d.requested,
            reached=d.reached,
            median_seconds=d.median_seconds,
            p90_seconds=d.p90_seconds,
        )


OUTCOME_NAMES = (*(o.value for o in AttemptOutcome), IN_PROGRESS)


class OutboundKindRowOut(BaseModel):
    kind: FollowUpKind | None  # null in the total
    attempts: int  # started in the range, skips included
    dials: int  # of those, the client dialled
    outcomes: dict[str, int]  # every outcome (and in_progress), zero included
    reached_items: int  # items first reached in the range
    attempts_per_reached: float | None  # the dials those took, the reaching one included

    @classmethod
    def of(cls, f: KindFigures) -> OutboundKindRowOut:
        return cls(
            kind=f.kind,
            attempts=f.attempts,
            dials=f.dials,
            outcomes={name: f.outcomes.get(name, 0) for name in OUTCOME_NAMES},
            reached_items=f.reached_items,
            attempts_per_reached=f.attempts_per_reached,
        )


class OutboundReportOut(BaseModel):
    first: dt.date
    last: dt.date
    timezone: str
    by: OutboundReportBy
    return_visits: list[ReturnVisitRowOut]  # groups with an account due in the range
    return_visits_total: ReturnVisitRowOut
    callbacks: CallbackDelayOut
    kinds: list[OutboundKindRowOut]  # kinds with an attempt in the range
    kinds_total: OutboundKindRowOut

    @classmethod
    def of(cls, report: OutboundReport, by: OutboundReportBy) -> OutboundReportOut:
        return cls(
            first=report.range.first,
            last=report.range.last,
            timezone=report.range.timezone,
            by=by,
            return_visits=[
                ReturnVisitRowOut.of(
                    r, by, None if r.group_id is None else report.names.get(r.group_id)
                )
                for r in report.return_visits
            ],
            return_visits_total=ReturnVisitRowOut.of(report.return_visits_total, by, None),
            callbacks=CallbackDelayOut.of(report.callbacks),
            kinds=[OutboundKindRowOut.of(k) for k in report.kinds],
            kinds_total=OutboundKindRowOut.of(report.kinds_total),
        )


def outbound_report_csv(report: OutboundReportOut) -> bytes:
    rows = [*report.return_visits, report.return_visits_total]
    return rows_csv(rows, list(ReturnVisitRowOut.model_fields))


def outbound_csv_filename(report: OutboundReportOut) -> str:
    return (
        f"return-visits-by-{report.by.value}-{report.first.isoformat()}-"
        f"{report.last.isoformat()}.csv"
    )
