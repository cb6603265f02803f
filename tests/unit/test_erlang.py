"""Erlang C against published values, and its properties (docs/metrics.md, section 5)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.crm.erlang import (
    InvalidStaffingInput,
    StaffingInterval,
    StaffingTargetUnreachable,
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    occupancy,
    service_level,
)

# --- known values ---------------------------------------------------------------------------


def test_ten_erlangs_on_fourteen_agents_answer_88_8_percent_in_20_seconds() -> None:
    assert service_level(10, 14, 180, 20) == pytest.approx(0.888, abs=0.0005)
    assert average_speed_of_answer(10, 14, 180) == pytest.approx(7.8, abs=0.05)
    assert occupancy(10, 14) == pytest.approx(10 / 14)


def test_thirteen_agents_answer_79_6_percent() -> None:
    assert service_level(10, 13, 180, 20) == pytest.approx(0.796, abs=0.0005)


def test_the_probability_of_waiting_matches_the_closed_form() -> None:
    # C(N, A) = (A^N/N! · N/(N-A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N-A)), for small N exactly
    a, n = 10.0, 14
    top = a**n / math.factorial(n) * n / (n - a)
    closed = top / (sum(a**k / math.factorial(k) for k in range(n)) + top)
    assert erlang_c(a, n) == pytest.approx(closed, rel=1e-12)
    assert erlang_b(2.0, 3) == pytest.approx((8 / 6) / (1 + 2 + 2 + 8 / 6), rel=1e-12)


def test_ten_erlangs_at_80_in_20_seconds_need_fourteen_agents() -> None:
    # 200 calls in 60 minutes at 180 s = 10 Erlangs; 13 agents give 79.6%, just short.
    result = agents_needed(StaffingInterval(200, 180, 0.8, 20, 60))
    assert (result.traffic, result.agents) == (10.0, 14)
    assert result.service_level == pytest.approx(0.888, abs=0.0005)
    assert result.asa_seconds == pytest.approx(7.84, abs=0.01)
    assert result.occupancy == pytest.approx(10 / 14)


def test_a_maximum_occupancy_adds_agents() -> None:
    result = agents_needed(StaffingInterval(200, 180, 0.8, 20, 60, max_occupancy=0.6))
    assert result.agents == 17  # 10/17 = 0.588; 10/16 = 0.625 is too busy


def test_large_traffic_stays_finite() -> None:
    # 5,000 Erlangs: A^N/N! overflows a float long before; the recursion does not.
    result = agents_needed(StaffingInterval(100_000, 180, 0.8, 20, 60))
    assert result.traffic == 5000.0
    assert 5000 < result.agents < 5100
    assert 0 <= result.probability_of_waiting <= 1


def test_no_calls_need_no_agents() -> None:
    result = agents_needed(StaffingInterval(0, 180))
    assert (result.agents, result.service_level, result.occupancy) == (0, 1.0, None)


def test_too_few_agents_wait_for_ever() -> None:
    assert erlang_c(10, 10) == 1.0
    assert service_level(10, 9, 180, 20) == 0.0
    assert average_speed_of_answer(10, 10, 180) is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"volume": -1}, "volume"),
        ({"target_service_level": 1.0}, "target_service_level"),
        ({"target_seconds": -1}, "target_seconds"),
        ({"interval_minutes": 0}, "interval_minutes"),
        ({"max_occupancy": 0}, "max_occupancy"),
        ({"aht_seconds": 0}, "aht_seconds"),
    ],
)
def test_bad_input_is_refused_naming_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidStaffingInput) as caught:
        StaffingInterval(**{"volume": 100, "aht_seconds": 180, **kwargs})
    assert caught.value.detail["field"] == field


def test_traffic_beyond_any_center_is_unreachable() -> None:
    with pytest.raises(StaffingTargetUnreachable):
        agents_needed(StaffingInterval(1_000_000, 3600, 0.8, 20, 15))


# --- properties -----------------------------------------------------------------------------

traffic = st.floats(min_value=0.01, max_value=500, allow_nan=False)
aht = st.floats(min_value=5, max_value=1800, allow_nan=False)
target = st.floats(min_value=0, max_value=120, allow_nan=False)


@given(traffic, st.integers(min_value=1, max_value=600), aht, target)
def test_more_agents_never_lower_the_service_level_or_raise_the_wait(
    a: float, n: int, h: float, t: float
) -> None:
    p_now, p_more = erlang_c(a, n), erlang_c(a, n + 1)
    assert 0 <= p_more <= p_now <= 1
    assert service_level(a, n + 1, h, t) >= service_level(a, n, h, t) - 1e-12
    now, more = average_speed_of_answer(a, n, h), average_speed_of_answer(a, n + 1, h)
    if now is not None:  # None: unbounded, the queue never empties
        assert more is not None
        assert more <= now + 1e-9


@given(
    st.floats(min_value=0.5, max_value=5000, allow_nan=False),
    aht,
    st.floats(min_value=0.05, max_value=0.99),
    target,
    st.sampled_from([15, 30, 60]),
)
def test_agents_needed_is_the_fewest_that_meet_the_target(
    volume: float, h: float, level: float, t: float, minutes: int
) -> None:
    interval = StaffingInterval(volume, h, level, t, minutes)
    result = agents_needed(interval)
    assert result.service_level >= level
    assert 0 <= result.probability_of_waiting <= 1
    assert result.agents > result.traffic
    fewer = result.agents - 1
    assert fewer <= result.traffic or service_level(result.traffic, fewer, h, t) < level
