"""Response models of the call-center reports (formulas in docs/metrics.md, section 4), and
their CSV form. Every row is flat, so a row of the JSON and a line of the CSV hold the same
fields in the same order."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from callcenter.crm.agent_time import AgentTime
from callcenter.crm.callstats import AgentRow, CallFigures, CallReport, CenterRow, QueueRow
from callcenter.crm.casestats import ComplaintFigures, FollowUpFigures
from callcenter.crm.report_intervals import IntervalKind, ReportRange, Slot
from callcenter.crm.vocabulary import FollowUpKind

# Excel reads a CSV as the machine's ANSI code page unless it starts with a byte-order mark;
# with it, Chinese names (客户, 营业部) open as written.
UTF8_BOM = "\ufeff"


class ReportBy(StrEnum):
    QUEUE = "queue"
    AGENT = "agent"


def _slot(slot: Slot, zone: ZoneInfo) -> dict[str, Any]:
    start, end = slot.local(zone)
    return {"interval_start": start, "interval_end": end}


def _calls(f: CallFigures) -> dict[str, Any]:
    return {
        "offered": f.offered,
        "answered": f.answered,
        "answered_in_threshold": f.answered_in_threshold,
        "abandoned": f.abandoned,
        "short_abandoned": f.short_abandoned,
        "to_ivr": f.to_ivr,
        "waiting": f.waiting,
        "overflowed_out": f.overflowed_out,
        "service_level": f.service_level,
        "abandon_rate": f.abandon_rate,
        "asa_seconds": f.asa_seconds,
        "handled": f.handled,
        "aht_seconds": f.aht_seconds,
        "average_talk_seconds": f.average_talk_seconds,
        "average_hold_seconds": f.average_hold_seconds,
        "average_wrapup_seconds": f.average_wrapup_seconds,
        "fcr_eligible": f.fcr_eligible,
        "fcr_resolved": f.fcr_resolved,
        "fcr_rate": f.fcr_rate,
    }


def _time(t: AgentTime) -> dict[str, Any]:
    return {
        "logged_in_seconds": t.logged_in_seconds,
        "available_seconds": t.available_seconds,
        "busy_seconds": t.busy_seconds,
        "not_ready_seconds": t.not_ready_seconds,
        "occupancy": t.occupancy,
        "missed": t.missed,
    }


class CallFiguresOut(BaseModel):
    offered: int
    answered: int
    answered_in_threshold: int
    abandoned: int
    short_abandoned: int
    to_ivr: int
    waiting: int
    overflowed_out: int
    service_level: float | None
    abandon_rate: float | None
    asa_seconds: float | None
    handled: int
    aht_seconds: float | None
    average_talk_seconds: float | None
    average_hold_seconds: float | None
    average_wrapup_seconds: float | None
    fcr_eligible: int
    fcr_resolved: int
    fcr_rate: float | None


class IntervalOut(CallFiguresOut):
    """The whole center in one interval (as the total: over the whole range)."""

    interval_start: dt.datetime
    interval_end: dt.datetime
    ivr_entered: int
    self_served: int
    ivr_containment: float | None
    logged_in_seconds: float
    available_seconds: float
    busy_seconds: float
    not_ready_seconds: float
    occupancy: float | None
    missed: int

    @classmethod
    def of(cls, row: CenterRow, zone: ZoneInfo) -> IntervalOut:
        return cls(
            **_slot(row.slot, zone),
            **_calls(row.figures),
            ivr_entered=row.ivr_entered,
            self_served=row.self_served,
            ivr_containment=row.ivr_containment,
            **_time(row.time),
        )


class QueueRowOut(BaseModel):
    interval_start: dt.datetime
    interval_end: dt.datetime
    queue: str
    service_level_seconds: float
    offered: int
    answered: int
    answered_in_threshold: int
    abandoned: int
    short_abandoned: int
    to_ivr: int
    waiting: int
    overflowed_out: int
    service_level: float | None
    abandon_rate: float | None
    asa_seconds: float | None
    handled: int
    aht_seconds: float | None
    average_talk_seconds: float | None
    average_hold_seconds: float | None
    average_wrapup_seconds: float | None
    fcr_eligible: int
    fcr_resolved: int
    fcr_rate: float | None

    @classmethod
    def of(cls, row: QueueRow, zone: ZoneInfo) -> QueueRowOut:
        return cls(
            **_slot(row.slot, zone),
            queue=row.queue,
            service_level_seconds=row.service_level_seconds,
            **_calls(row.figures),
        )


AGENT_CALL_FIELDS = (
    "answered",
    "handled",
    "asa_seconds",
    "aht_seconds",
    "average_talk_seconds",
    "average_hold_seconds",
    "average_wrapup_seconds",
    "fcr_eligible",
    "fcr_resolved",
    "fcr_rate",
)


class AgentRowOut(BaseModel):
    """An agent's answered calls (counted in the interval they were queued) and their time
    in each kind of state."""

    interval_start: dt.datetime
    interval_end: dt.datetime
    agent_id: int
    agent_name: str | None
    answered: int
    handled: int
    asa_seconds: float | None
    aht_seconds: float | None
    average_talk_seconds: float | None
    average_hold_seconds: float | None
    average_wrapup_seconds: float | None
    fcr_eligible: int
    fcr_resolved: int
    fcr_rate: float | None
    logged_in_seconds: float
    available_seconds: float
    busy_seconds: float
    not_ready_seconds: float
    occupancy: float | None
    missed: int

    @classmethod
    def of(cls, row: AgentRow, zone: ZoneInfo) -> AgentRowOut:
        calls = _calls(row.figures)
        return cls(
            **_slot(row.slot, zone),
            agent_id=row.agent_id,
            agent_name=row.agent_name,
            **{name: calls[name] for name in AGENT_CALL_FIELDS},
            **_time(row.time),
        )


class CallReportOut(BaseModel):
    first: dt.date
    last: dt.date
    timezone: str
    interval: IntervalKind
    by: ReportBy
    fcr_final: bool  # False: calls in the next 7 days may still turn "resolved" into repeats
    intervals: list[IntervalOut]
    rows: list[QueueRowOut] | list[AgentRowOut]
    total: IntervalOut

    @classmethod
    def of(cls, report: CallReport, by: ReportBy) -> CallReportOut:
        zone = report.range.zone
        rows: list[QueueRowOut] | list[AgentRowOut]
        if by is ReportBy.QUEUE:
            rows = [QueueRowOut.of(r, zone) for r in report.queues]
        else:
            rows = [AgentRowOut.of(r, zone) for r in report.agents]
        return cls(
            first=report.range.first,
            last=report.range.last,
            timezone=report.range.timezone,
            interval=report.interval,
            by=by,
            fcr_final=report.fcr_final,
            intervals=[IntervalOut.of(r, zone) for r in report.intervals],
            rows=rows,
            total=IntervalOut.of(report.total, zone),
        )


def rows_csv(rows: Sequence[BaseModel], columns: Sequence[str]) -> bytes:
    """The rows as CSV (a header line of ``columns`` first), UTF-8 with a byte-order mark.
    Values as in the JSON; a null is an empty field."""
    out = io.StringIO()
    out.write(UTF8_BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        values = row.model_dump(mode="json")
        writer.writerow(csv_cell(values[c]) for c in columns)
    return out.getvalue().encode("utf-8")


# A spreadsheet runs a cell that begins with one of these as a formula ("CSV injection"):
# names come from people (an agent's display name, a category), so such text is quoted.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A JSON value as a CSV field: null is empty; text a spreadsheet would run as a formula
    gets a leading apostrophe (numbers, negative ones included, stay numbers)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def call_report_csv(report: CallReportOut) -> bytes:
    model = QueueRowOut if report.by is ReportBy.QUEUE else AgentRowOut
    return rows_csv(report.rows, list(model.model_fields))


def csv_filename(report: CallReportOut) -> str:
    return (
        f"calls-by-{report.by.value}-{report.first.isoformat()}-{report.last.isoformat()}"
        f"-{report.interval.value}.csv"
    )


# --- complaints and follow-ups ---------------------------------------------------------------


class ComplaintRowOut(BaseModel):
    category_code: str  # "*" in the total
    category_name: str | None
    category_name_en: str | None
    opened: int
    closed: int
    open: int
    responded_on_time: int
    responded_on_time_rate: float | None
    mean_seconds_to_close: float | None
    median_seconds_to_close: float | None

    @classmethod
    def of(cls, f: ComplaintFigures) -> ComplaintRowOut:
        return cls(
            category_code=f.category_code,
            category_name=f.category_name,
            category_name_en=f.category_name_en,
            opened=f.opened,
            closed=f.closed,
            open=f.open,
            responded_on_time=f.responded_on_time,
            responded_on_time_rate=f.responded_on_time_rate,
            mean_seconds_to_close=f.mean_seconds_to_close,
            median_seconds_to_close=f.median_seconds_to_close,
        )


class ComplaintReportOut(BaseModel):
    first: dt.date
    last: dt.date
    timezone: str
    categories: list[ComplaintRowOut]  # only categories with a complaint opened in the range
    total: ComplaintRowOut

    @classmethod
    def of(
        cls, report: ReportRange, rows: Sequence[ComplaintFigures], total: ComplaintFigures
    ) -> ComplaintReportOut:
        return cls(
            first=report.first,
            last=report.last,
            timezone=report.timezone,
            categories=[ComplaintRowOut.of(r) for r in rows],
            total=ComplaintRowOut.of(total),
        )


class FollowUpRowOut(BaseModel):
    kind: FollowUpKind | None  # null in the total
    due: int
    done: int
    done_on_time: int
    cancelled: int
    open: int
    overdue: int
    completion_rate: float | None
    on_time_rate: float | None

    @classmethod
    def of(cls, f: FollowUpFigures) -> FollowUpRowOut:
        return cls(
            kind=f.kind,
            due=f.due,
            done=f.done,
            done_on_time=f.done_on_time,
            cancelled=f.cancelled,
            open=f.open,
            overdue=f.overdue,
            completion_rate=f.completion_rate,
            on_time_rate=f.on_time_rate,
        )


class FollowUpReportOut(BaseModel):
    first: dt.date
    last: dt.date
    timezone: str
    kinds: list[FollowUpRowOut]  # every kind, return visits first
    total: FollowUpRowOut

    @classmethod
    def of(
        cls, report: ReportRange, rows: Sequence[FollowUpFigures], total: FollowUpFigures
    ) -> FollowUpReportOut:
        return cls(
            first=report.first,
            last=report.last,
            timezone=report.timezone,
            kinds=[FollowUpRowOut.of(r) for r in rows],
            total=FollowUpRowOut.of(total),
        )
