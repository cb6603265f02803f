"""Report periods: months named YYYY-MM, ranges of them, and the period before."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.crm.periods import InvalidPeriod, MonthRange, add_months, parse_month


def test_a_month_is_named_by_its_first_day() -> None:
    assert parse_month("2024-03") == dt.date(2024, 3, 1)


@pytest.mark.parametrize("text", ["2024-13", "2024-00", "2024-3", "24-03", "0999-01", "2024-03-01"])
def test_anything_but_yyyy_mm_is_refused(text: str) -> None:
    with pytest.raises(InvalidPeriod):
        parse_month(text)


def test_a_single_month_spans_its_days() -> None:
    march = MonthRange.parse("2024-03")
    assert (march.start, march.end, march.months, march.label) == (
        dt.date(2024, 3, 1),
        dt.date(2024, 4, 1),
        1,
        "2024-03",
    )


def test_a_range_runs_from_its_first_month_to_its_last_inclusive() -> None:
    span = MonthRange.parse("2023-11", "2024-02")
    assert (span.start, span.end, span.months, span.label) == (
        dt.date(2023, 11, 1),
        dt.date(2024, 3, 1),
        4,
        "2023-11..2024-02",
    )


def test_the_previous_period_has_the_same_length() -> None:
    assert MonthRange.parse("2024-03").previous() == MonthRange.parse("2024-02")
    assert MonthRange.parse("2024-01", "2024-03").previous() == MonthRange.parse(
        "2023-10", "2023-12"
    )


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidPeriod, match="ends"):
        MonthRange.parse("2024-03", "2024-02")


def test_add_months_crosses_years() -> None:
    assert add_months(dt.date(2024, 12, 1), 1) == dt.date(2025, 1, 1)
    assert add_months(dt.date(2024, 1, 1), -13) == dt.date(2022, 12, 1)
