"""The CSV form of the reports besides the call figures (those are in ``callstats.py``): the
same pattern, one line per row of the JSON answer, the same columns in the same order, UTF-8
with a byte-order mark for Excel, and a file name that says what and when.

Complaints and follow-ups end with their total line (category ``*``, an empty kind): a median
time to close cannot be added up from the category lines in a spreadsheet.
"""

from __future__ import annotations

from callcenter.api.schemas.callstats import (
    ComplaintReportOut,
    ComplaintRowOut,
    FollowUpReportOut,
    FollowUpRowOut,
    rows_csv,
)
from callcenter.api.schemas.reports import DecileOut, DecileReportOut, KpiReportOut, KpiRowOut


def complaint_report_csv(report: ComplaintReportOut) -> bytes:
    return rows_csv([*report.categories, report.total], list(ComplaintRowOut.model_fields))


def complaint_csv_filename(report: ComplaintReportOut) -> str:
    return f"complaints-{report.first.isoformat()}-{report.last.isoformat()}.csv"


def follow_up_report_csv(report: FollowUpReportOut) -> bytes:
    return rows_csv([*report.kinds, report.total], list(FollowUpRowOut.model_fields))


def follow_up_csv_filename(report: FollowUpReportOut) -> str:
    return f"follow-ups-{report.first.isoformat()}-{report.last.isoformat()}.csv"


def kpi_report_csv(report: KpiReportOut) -> bytes:
    return rows_csv(report.rows, list(KpiRowOut.model_fields))


def kpi_csv_filename(report: KpiReportOut) -> str:
    return f"kpis-by-{report.by.value}-{report.period.first}-{report.period.last}.csv"


def decile_report_csv(report: DecileReportOut) -> bytes:
    return rows_csv(report.deciles, list(DecileOut.model_fields))


def decile_csv_filename(report: DecileReportOut) -> str:
    return f"deciles-{report.period.first}-{report.period.last}.csv"
