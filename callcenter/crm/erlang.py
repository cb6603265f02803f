"""Erlang C staffing: how many agents an interval needs to answer a forecast volume within a
target service level. Pure; the formulas and a worked example are in docs/metrics.md,
section 5.

The model (M/M/N): calls arrive at random (Poisson), handle times are exponential, callers
wait as long as it takes (no abandons) and every agent takes any call. It errs on the safe
side: real callers who give up shorten the queue for the others.

Numerically: Erlang C is computed from Erlang B by the recursion
``B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1))``, which stays in [0, 1] at every step, so
thousands of Erlangs neither overflow (A^N / N! would) nor lose precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from callcenter.errors import InvalidInput

MAX_AGENTS = 20_000  # a search that gets here has been asked for the impossible


class InvalidStaffingInput(InvalidInput):
    error_id = "staffing-input-invalid"


class StaffingTargetUnreachable(InvalidInput):
    error_id = "staffing-target-unreachable"


def erlang_b(traffic: float, agents: int) -> float:
    """The probability that a call finds all ``agents`` busy in a loss system (Erlang B)."""
    if traffic < 0 or agents < 0:
        raise InvalidStaffingInput("traffic and agents cannot be negative")
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return blocking


def _c_from_b(traffic: float, agents: int, blocking: float) -> float:
    if agents <= traffic:
        return 1.0  # the queue grows without end: every call waits
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def erlang_c(traffic: float, agents: int) -> float:
    """The probability that a call has to wait (Erlang C); 1 when ``agents`` <= ``traffic``."""
    return _c_from_b(traffic, agents, erlang_b(traffic, agents))


def _service_level(
    traffic: float, agents: int, p_wait: float, aht: float, target_seconds: float
) -> float:
    if traffic == 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    return 1.0 - p_wait * math.exp(-(agents - traffic) * target_seconds / aht)


def _asa(traffic: float, agents: int, p_wait: float, aht: float) -> float | None:
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return None  # unbounded
    return p_wait * aht / (agents - traffic)


def service_level(traffic: float, agents: int, aht_seconds: float, target_seconds: float) -> float:
    """The share of calls answered within ``target_seconds``."""
    _check_aht(aht_seconds)
    p_wait = erlang_c(traffic, agents)
    return _service_level(traffic, agents, p_wait, aht_seconds, target_seconds)


def average_speed_of_answer(traffic: float, agents: int, aht_seconds: float) -> float | None:
    """The mean wait of all calls, in seconds; None when the queue never empties."""
    _check_aht(aht_seconds)
    return _asa(traffic, agents, erlang_c(traffic, agents), aht_seconds)


def occupancy(traffic: float, agents: int) -> float | None:
    """The share of the agents' time on calls: traffic / agents, at most 1; None for none."""
    if agents == 0:
        return None
    return min(1.0, traffic / agents)


def _check_aht(aht_seconds: float) -> None:
    if not aht_seconds > 0:
        raise InvalidStaffingInput("the average handle time must be positive", field="aht_seconds")


@dataclass(frozen=True)
class StaffingInterval:
    """A forecast interval and its target: answer ``target_service_level`` (0..1) of the
    calls within ``target_seconds``."""

    volume: float  # calls forecast in the interval
    aht_seconds: float
    target_service_level: float = 0.8
    target_seconds: float = 10.0
    interval_minutes: int = 30
    max_occupancy: float | None = None  # e.g. 0.85: never plan agents busier than this

    def __post_init__(self) -> None:
        _check_aht(self.aht_seconds)
        checks = {
            "volume": self.volume >= 0 and math.isfinite(self.volume),
            "target_service_level": 0 < self.target_service_level < 1,
            "target_seconds": self.target_seconds >= 0 and math.isfinite(self.target_seconds),
            "interval_minutes": self.interval_minutes > 0,
            "max_occupancy": self.max_occupancy is None or 0 < self.max_occupancy <= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise InvalidStaffingInput(f"{name} is out of range", field=name)

    @property
    def traffic(self) -> float:
        """Offered load in Erlangs: arrivals per second times the handle time."""
        return self.volume * self.aht_seconds / (self.interval_minutes * 60)


@dataclass(frozen=True)
class Staffing:
    interval: StaffingInterval
    traffic: float  # Erlangs
    agents: int
    probability_of_waiting: float
    service_level: float
    asa_seconds: float
    occupancy: float | None


def agents_needed(interval: StaffingInterval) -> Staffing:
    """The fewest agents that answer the target share within the target time (and, with a
    maximum occupancy, keep occupancy at or under it). No calls: no agents."""
    traffic = interval.traffic
    if traffic == 0:
        return Staffing(interval, 0.0, 0, 0.0, 1.0, 0.0, None)
    if traffic >= MAX_AGENTS:
        raise StaffingTargetUnreachable(
            f"{traffic:.0f} Erlangs need more than {MAX_AGENTS} agents", traffic=traffic
        )
    blocking = 1.0
    for agents in range(1, MAX_AGENTS + 1):
        blocking = traffic * blocking / (agents + traffic * blocking)
        if agents <= traffic:
            continue
        p_wait = _c_from_b(traffic, agents, blocking)
        level = _service_level(
            traffic, agents, p_wait, interval.aht_seconds, interval.target_seconds
        )
        busy = traffic / agents
        if level >= interval.target_service_level and (
            interval.max_occupancy is None or busy <= interval.max_occupancy
        ):
            asa = p_wait * interval.aht_seconds / (agents - traffic)
            return Staffing(interval, traffic, agents, p_wait, level, asa, busy)
    raise StaffingTargetUnreachable(
        f"no staffing up to {MAX_AGENTS} agents meets the target", traffic=traffic
    )
