"""Agents' time by kind of state, per report interval, from their state changes: what
occupancy is computed from (docs/metrics.md, section 4.6). Pure."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from callcenter.acd.model import AgentState
from callcenter.crm.report_intervals import (
    IntervalKind,
    ReportRange,
    Slot,
    slot_of,
    split_by_slot,
)

AVAILABLE = frozenset({AgentState.READY, AgentState.RESERVED})  # ringing counts as available
BUSY = frozenset({AgentState.ON_CALL, AgentState.WRAP_UP})
MISSED = "missed"  # the not-ready reason of a call that rang out


def _ratio(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


@dataclass(frozen=True)
class StateChange:
    """An agent entered ``state`` at ``at`` (a row of agent_state_changes)."""

    agent_id: int
    at: dt.datetime
    state: AgentState
    reason: str | None = None


@dataclass(frozen=True)
class AgentTime:
    """Logged-in time of one agent (or all) in an interval, by what they were doing."""

    available_seconds: float = 0.0  # ready, or a call ringing
    busy_seconds: float = 0.0  # on a call or in wrap-up
    not_ready_seconds: float = 0.0  # any not-ready reason (break, lunch, missed, ...)
    missed: int = 0  # calls that rang out (not ready, reason "missed")

    def __add__(self, other: AgentTime) -> AgentTime:
        return AgentTime(
            self.available_seconds + other.available_seconds,
            self.busy_seconds + other.busy_seconds,
            self.not_ready_seconds + other.not_ready_seconds,
            self.missed + other.missed,
        )

    @property
    def logged_in_seconds(self) -> float:
        return self.available_seconds + self.busy_seconds + self.not_ready_seconds

    @property
    def occupancy(self) -> float | None:
        return _ratio(self.busy_seconds, self.available_seconds + self.busy_seconds)


def _time_in(state: AgentState, seconds: float) -> AgentTime:
    if state in AVAILABLE:
        return AgentTime(available_seconds=seconds)
    if state in BUSY:
        return AgentTime(busy_seconds=seconds)
    if state is AgentState.NOT_READY:
        return AgentTime(not_ready_seconds=seconds)
    return AgentTime()


def agent_time(
    changes: Iterable[StateChange],
    report: ReportRange,
    kind: IntervalKind,
    now: dt.datetime,
) -> dict[tuple[Slot, int], AgentTime]:
    """Per (interval, agent): the time in each kind of state within the range. An agent is
    in the state of their latest change until their next one; the last state lasts until
    the range's end or ``now``, whichever is first. ``changes`` must include each agent's
    latest change before the range (the state they were in when it began)."""
    zone = report.zone
    until = min(report.end, now)
    by_agent: dict[int, list[StateChange]] = defaultdict(list)
    for change in sorted(changes, key=lambda c: (c.agent_id, c.at)):
        by_agent[change.agent_id].append(change)
    time: dict[tuple[Slot, int], AgentTime] = defaultdict(AgentTime)
    for agent_id, rows in by_agent.items():
        for change, following in zip(rows, [*rows[1:], None], strict=True):
            missed = change.state is AgentState.NOT_READY and change.reason == MISSED
            if missed and report.contains(change.at) and change.at < until:
                time[(slot_of(change.at, kind, zone), agent_id)] += AgentTime(missed=1)
            start = max(change.at, report.start)
            end = min(until, following.at if following is not None else until)
            if change.state is AgentState.LOGGED_OUT or start >= end:
                continue
            for slot, seconds in split_by_slot(start, end, kind, zone):
                time[(slot, agent_id)] += _time_in(change.state, seconds)
    return dict(time)
