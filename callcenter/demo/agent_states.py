"""The demo agents' state history, drawn from the demo's calls: what occupancy and the agents'
logged-in time are computed from (docs/metrics.md 4.6), so that the reports show them for the
demo's past days as they do for days the service ran.

Every day an agent answered a call, they log in at 08:00 Beijing time (or before their first
call), are ready between calls, reserved while their phone rings, on the call from the answer to
the end, in wrap-up until it is done, and log out at 21:00 (or after their last wrap-up). Each
row is a move of the state machine (callcenter/acd/agents.py ``TRANSITIONS``), in order. No
random draw: the same calls give the same rows, so the same seed gives the same history.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from callcenter.acd.agents import AgentEvent as E
from callcenter.acd.model import AgentState as S
from callcenter.crm.vocabulary import Channel
from callcenter.demo.history import BEIJING, Row, RowIds

SHIFT_START = dt.time(8)  # Beijing time: the demo's calls come from 08:00 to 21:00
SHIFT_END = dt.time(21)


@dataclass(frozen=True, order=True)
class AgentCall:
    """What an agent's states follow of one call they answered."""

    agent_id: int
    offered_at: dt.datetime
    answered_at: dt.datetime
    ended_at: dt.datetime
    wrapup_ended_at: dt.datetime
    interaction_id: int

    @classmethod
    def of(cls, row: Row) -> AgentCall | None:
        """The call of an interaction row, if it is a call an agent answered and wrapped up."""
        offered, answered = row["offered_at"], row["answered_at"]
        ended, wrapped = row["ended_at"], row["wrapup_ended_at"]
        if row["channel"] != Channel.VOICE.value or row["agent_id"] is None:
            return None
        if offered is None or answered is None or ended is None or wrapped is None:
            return None
        return cls(row["agent_id"], offered, answered, ended, wrapped, row["id"])


@dataclass(frozen=True)
class _Move:
    at: dt.datetime
    event: E
    from_state: S
    to_state: S
    interaction_id: int | None = None


def agent_state_rows(calls: Iterable[AgentCall], ids: RowIds) -> list[Row]:
    """The ``agent_state_changes`` rows of every agent's working days."""
    days: dict[tuple[int, dt.date], list[AgentCall]] = defaultdict(list)
    for call in calls:
        days[(call.agent_id, call.offered_at.astimezone(BEIJING).date())].append(call)
    rows: list[Row] = []
    for (agent_id, day), day_calls in sorted(days.items()):
        for move in _working_day(day, sorted(day_calls)):
            rows.append(
                {
                    "id": ids.next("agent_state_changes"),
                    "agent_id": agent_id,
                    "event": move.event.value,
                    "from_state": move.from_state.value,
                    "to_state": move.to_state.value,
                    "reason": None,
                    "at": move.at,
                    "interaction_id": move.interaction_id,
                    "by_user_id": agent_id if move.event in (E.LOGIN, E.LOGOUT) else None,
                }
            )
    return rows


def _working_day(day: dt.date, calls: list[AgentCall]) -> list[_Move]:
    start = dt.datetime.combine(day, SHIFT_START, BEIJING).astimezone(dt.UTC)
    moves = [_Move(min(start, calls[0].offered_at), E.LOGIN, S.LOGGED_OUT, S.READY)]
    busy_until: dt.datetime | None = None
    for call in calls:
        if busy_until is not None and call.offered_at < busy_until:
            # The demo draws each call's agent on its own, so one agent's calls may overlap:
            # the agent stays busy (in the first call's wrap-up) until the last is wrapped up.
            if call.wrapup_ended_at > busy_until:
                done = moves.pop()
                moves.append(_Move(call.wrapup_ended_at, E.WRAP_UP_DONE, S.WRAP_UP, S.READY,
                                   done.interaction_id))  # fmt: skip
                busy_until = call.wrapup_ended_at
            continue
        moves += [
            _Move(call.offered_at, E.OFFER, S.READY, S.RESERVED, call.interaction_id),
            _Move(call.answered_at, E.ANSWER, S.RESERVED, S.ON_CALL, call.interaction_id),
            _Move(call.ended_at, E.HANG_UP, S.ON_CALL, S.WRAP_UP, call.interaction_id),
            _Move(call.wrapup_ended_at, E.WRAP_UP_DONE, S.WRAP_UP, S.READY, call.interaction_id),
        ]
        busy_until = call.wrapup_ended_at
    end = dt.datetime.combine(day, SHIFT_END, BEIJING).astimezone(dt.UTC)
    assert busy_until is not None  # a working day has a call
    moves.append(_Move(max(end, busy_until), E.LOGOUT, S.READY, S.LOGGED_OUT))
    return moves
