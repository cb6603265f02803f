"""Opening hours in the center's zone, whatever the server's."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.ivr.calendar import BusinessCalendar

UTC = dt.UTC


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        ("2026-11-25T00:29:59", False),  # 08:29:59 in Shanghai
        ("2026-11-25T00:30:00", True),  # 08:30 opens
        ("2026-11-25T09:29:59", True),
        ("2026-11-25T09:30:00", False),  # 17:30 closes
        ("2026-11-28T02:00:00", False),  # a Saturday
        ("2026-11-29T20:00:00", False),  # Sunday in UTC, Monday 04:00 in Shanghai: too early
        ("2026-11-30T01:00:00", True),  # Monday 09:00 in Shanghai
    ],
)
def test_hours_are_read_in_the_centers_zone(utc: str, open_: bool) -> None:
    calendar = BusinessCalendar(opens=dt.time(8, 30), closes=dt.time(17, 30))
    assert calendar.is_open(_at(utc)) is open_


def test_holidays_are_dates_in_the_centers_zone() -> None:
    calendar = BusinessCalendar(holidays=frozenset({dt.date(2026, 10, 1)}))
    assert calendar.is_holiday(_at("2026-09-30T16:00:00"))  # 00:00 on 1 October in Shanghai
    assert not calendar.is_holiday(_at("2026-09-30T15:59:59"))


def test_a_night_shift_across_midnight() -> None:
    calendar = BusinessCalendar(
        opens=dt.time(22, 0), closes=dt.time(6, 0), weekdays=frozenset(range(1, 8)), timezone="UTC"
    )
    assert calendar.is_open(_at("2026-11-25T23:00:00"))
    assert calendar.is_open(_at("2026-11-25T05:59:00"))
    assert not calendar.is_open(_at("2026-11-25T12:00:00"))


def test_bad_configuration_fails_at_start() -> None:
    with pytest.raises(ValueError, match="ISO numbers 1-7"):
        BusinessCalendar(weekdays=frozenset({0}))
    with pytest.raises(Exception, match="Mars"):
        BusinessCalendar(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="naive"):
        BusinessCalendar().is_open(dt.datetime(2026, 1, 1))
