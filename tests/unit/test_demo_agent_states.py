"""The demo agents' state history (callcenter/demo/agent_states.py): drawn from the demo's
calls, each agent's day a walk of the state machine that is busy exactly while a call of theirs
rings, talks or is wrapped up; the same seed gives the same history (issue 16)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from functools import cache

from callcenter.acd.agents import TRANSITIONS, AgentEvent
from callcenter.acd.model import AgentState
from callcenter.demo.agent_states import AgentCall
from callcenter.demo.brokerage import DemoBrokerage, Row
from tests.unit.test_demo import AS_OF, CATEGORIES

CLIENTS = 1_500
BEIJING = dt.timezone(dt.timedelta(hours=8))


def generate(seed: int) -> tuple[list[Row], list[Row]]:
    """The interactions and the agents' state changes of ``CLIENTS`` clients."""
    brokerage = DemoBrokerage(seed=seed, as_of=AS_OF, categories=CATEGORIES)
    brokerage.staff_rows()
    interactions = [*brokerage.client_rows(1_000)["interactions"]]
    interactions += brokerage.client_rows(CLIENTS - 1_000)["interactions"]  # in two chunks
    return interactions, brokerage.agent_state_rows()["agent_state_changes"]


@cache
def sample() -> tuple[list[Row], list[Row]]:
    return generate(42)


def by_agent(changes: list[Row]) -> dict[int, list[Row]]:
    moves: dict[int, list[Row]] = defaultdict(list)
    for row in sorted(changes, key=lambda r: r["id"]):
        moves[row["agent_id"]].append(row)
    return moves


def test_the_same_seed_gives_the_same_states_and_another_seed_others() -> None:
    _, changes = sample()
    assert changes
    assert generate(42)[1] == changes
    assert generate(43)[1] != changes


def test_each_agents_day_walks_the_state_machine_in_time_order() -> None:
    _, changes = sample()
    for agent_id, moves in by_agent(changes).items():
        state = AgentState.LOGGED_OUT
        previous = None
        for move in moves:
            event = AgentEvent(move["event"])
            assert move["from_state"] == state.value, (agent_id, move)
            state = TRANSITIONS[(state, event)]
            assert move["to_state"] == state.value, (agent_id, move)
            assert previous is None or move["at"] >= previous, (agent_id, move)
            previous = move["at"]
        assert state is AgentState.LOGGED_OUT  # every day ends logged out


def test_the_agent_is_busy_through_each_call_they_answered_and_logged_in_only_on_call_days() -> (
    None
):
    interactions, changes = sample()
    calls = [c for row in interactions if (c := AgentCall.of(row)) is not None]
    assert len(calls) > 1_000
    moves = by_agent(changes)
    times = {agent: [m["at"] for m in rows] for agent, rows in moves.items()}

    def state_at(agent_id: int, at: dt.datetime) -> str:
        index = bisect.bisect_right(times[agent_id], at) - 1
        return str(moves[agent_id][index]["to_state"]) if index >= 0 else "logged_out"

    for call in calls:
        middle = call.answered_at + (call.ended_at - call.answered_at) / 2
        assert state_at(call.agent_id, middle) in {"on_call", "wrap_up"}, call
        assert state_at(call.agent_id, call.offered_at) in {"reserved", "on_call", "wrap_up"}
    call_days = {(c.agent_id, c.offered_at.astimezone(BEIJING).date()) for c in calls}
    login_days = {
        (m["agent_id"], m["at"].astimezone(BEIJING).date())
        for m in changes
        if m["event"] == "login"
    }
    assert login_days == call_days
