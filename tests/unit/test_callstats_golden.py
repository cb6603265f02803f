"""The golden day (tests/support/callstats_golden.py, where the hand computation is written
out) through the pure report: every figure exactly as computed by hand."""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.crm.callstats import CallReport, CallReportInput, call_report
from callcenter.crm.report_intervals import IntervalKind, ReportRange
from tests.support import callstats_golden as golden
from tests.support.callstats_golden import assert_figures

CLIENTS = {"C1": 101, "C2": 102}
AGENTS = {"A1": 7, "A2": 8}
NAMES = {7: "王芳", 8: "李强"}


def report(kind: IntervalKind = IntervalKind.MIN60) -> CallReport:
    data = CallReportInput(
        calls=golden.calls(CLIENTS, AGENTS),
        state_changes=golden.state_changes(AGENTS),
        service_level_seconds=golden.THRESHOLDS,
        agent_names=NAMES,
    )
    day = ReportRange.of(golden.DAY, golden.DAY, "Asia/Shanghai")
    return call_report(data, day, kind, golden.NOW)


def local(row: Any) -> str:
    return str(row.slot.start.astimezone(golden.ZONE).isoformat())


def test_queue_rows_match_the_hand_computation() -> None:
    rows = {(local(r), r.queue): r for r in report().queues}
    assert set(rows) == set(golden.QUEUE_ROWS)
    for key, expected in golden.QUEUE_ROWS.items():
        assert_figures(rows[key], expected)


def test_agent_rows_match_the_hand_computation() -> None:
    ids = {v: k for k, v in AGENTS.items()}
    rows = {(local(r), ids[r.agent_id]): r for r in report().agents}
    assert set(rows) == set(golden.AGENT_ROWS)
    for key, expected in golden.AGENT_ROWS.items():
        assert_figures(rows[key], expected, counts=())
    assert rows[(golden.hour("09:00:00"), "A1")].agent_name == "王芳"


def test_center_intervals_match_the_hand_computation() -> None:
    rows = {local(r): r for r in report().intervals}
    assert list(rows) == list(golden.INTERVALS)  # in time order, only intervals with activity
    for key, expected in golden.INTERVALS.items():
        assert_figures(rows[key], expected, counts=())


def test_the_total_matches_the_hand_computation() -> None:
    result = report()
    assert_figures(result.total, golden.TOTAL)
    assert result.fcr_final  # NOW is more than 7 days after the range


@pytest.mark.parametrize("kind", list(IntervalKind))
def test_every_interval_length_adds_up_to_the_same_total(kind: IntervalKind) -> None:
    result = report(kind)
    assert_figures(result.total, golden.TOTAL)
    offered = sum(r.figures.offered for r in result.intervals)
    busy = sum(r.time.busy_seconds for r in result.intervals)
    assert (offered, busy) == (8, 900.0)


def test_a_day_interval_is_the_whole_local_day() -> None:
    [interval] = report(IntervalKind.DAY).intervals
    start, end = interval.slot.local(golden.ZONE)
    assert (start.isoformat(), end.isoformat()) == (
        "2026-03-02T00:00:00+08:00",
        "2026-03-03T00:00:00+08:00",
    )
    assert_figures(interval, golden.TOTAL)


def test_first_contact_figures_are_provisional_until_seven_days_after_the_range() -> None:
    data = CallReportInput(calls=golden.calls(CLIENTS, AGENTS))
    day = ReportRange.of(golden.DAY, golden.DAY)
    early = call_report(data, day, IntervalKind.DAY, golden.at("12:00:00", golden.MAR9))
    assert not early.fcr_final
