"""The agent state machine: every (state, event) pair, the reasons, and the status it leaves.
Also the pure checks of agent profiles and queue configurations (callcenter/acd/queues.py)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from callcenter.acd.agents import (
    DEFAULT_NOT_READY_REASONS,
    AgentAlreadyLoggedIn,
    AgentChange,
    AgentEvent,
    AgentNotLoggedIn,
    AgentStatus,
    IllegalAgentTransition,
    ReasonNotExpected,
    ReasonRequired,
    ReasonReserved,
    UnknownReason,
    effective_time,
    logged_out,
    ready_event,
    reason_codes,
    status_after,
    transition,
)
from callcenter.acd.model import AgentState, QueueConfig
from callcenter.acd.queues import (
    InvalidAgentProfile,
    InvalidQueueConfig,
    check_agent_profile,
    check_queue_config,
    config_from_json,
    config_to_json,
)
from callcenter.crm.vocabulary import Tier, ValueClass

S = AgentState
E = AgentEvent
T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)

# Written out from the issue and the brief, independently of callcenter/acd/agents.py: every
# pair not listed here must be refused.
EXPECTED: dict[tuple[AgentState, AgentEvent], AgentState] = {
    (S.LOGGED_OUT, E.LOGIN): S.READY,
    (S.READY, E.LOGOUT): S.LOGGED_OUT,
    (S.NOT_READY, E.LOGOUT): S.LOGGED_OUT,
    (S.WRAP_UP, E.LOGOUT): S.LOGGED_OUT,
    (S.NOT_READY, E.READY): S.READY,
    (S.READY, E.NOT_READY): S.NOT_READY,
    (S.NOT_READY, E.NOT_READY): S.NOT_READY,
    (S.WRAP_UP, E.NOT_READY): S.NOT_READY,
    (S.READY, E.OFFER): S.RESERVED,
    (S.RESERVED, E.ANSWER): S.ON_CALL,
    (S.RESERVED, E.RING_NO_ANSWER): S.NOT_READY,
    (S.RESERVED, E.CALLER_GONE): S.READY,
    (S.ON_CALL, E.HANG_UP): S.WRAP_UP,
    (S.WRAP_UP, E.WRAP_UP_DONE): S.READY,
    (S.READY, E.FORCE_NOT_READY): S.NOT_READY,
    (S.NOT_READY, E.FORCE_NOT_READY): S.NOT_READY,
    (S.WRAP_UP, E.FORCE_NOT_READY): S.NOT_READY,
    (S.READY, E.FORCE_LOGOUT): S.LOGGED_OUT,
    (S.NOT_READY, E.FORCE_LOGOUT): S.LOGGED_OUT,
    (S.WRAP_UP, E.FORCE_LOGOUT): S.LOGGED_OUT,
}
ALL_PAIRS = list(itertools.product(AgentState, AgentEvent))
REASON_FOR = {E.NOT_READY: "break", E.FORCE_NOT_READY: "meeting"}


def pair_id(pair: tuple[AgentState, AgentEvent]) -> str:
    return f"{pair[0].value}-{pair[1].value}"


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=pair_id)
def test_every_state_and_event_moves_as_the_table_says_or_is_refused(
    pair: tuple[AgentState, AgentEvent],
) -> None:
    state, event = pair
    reason = REASON_FOR.get(event)
    if pair in EXPECTED:
        change = transition(state, event, reason)
        assert (change.from_state, change.to_state, change.event) == (state, EXPECTED[pair], event)
    else:
        with pytest.raises(IllegalAgentTransition) as refused:
            transition(state, event, reason)
        assert refused.value.detail["state"] == state.value
        assert refused.value.detail["event"] == event.value


def test_the_refusal_lists_what_the_state_allows() -> None:
    with pytest.raises(IllegalAgentTransition) as refused:
        transition(S.ON_CALL, E.LOGOUT)
    assert refused.value.error_id == "agent-illegal-transition"
    assert refused.value.detail["allowed"] == ["hang_up"]


def test_logging_in_twice_and_acting_while_logged_out_have_their_own_ids() -> None:
    with pytest.raises(AgentAlreadyLoggedIn) as twice:
        transition(S.NOT_READY, E.LOGIN)
    with pytest.raises(AgentNotLoggedIn) as out:
        transition(S.LOGGED_OUT, E.READY)
    assert twice.value.error_id == "agent-already-logged-in"
    assert out.value.error_id == "agent-not-logged-in"


@pytest.mark.parametrize("state", [S.RESERVED, S.ON_CALL])
def test_an_agent_with_a_call_cannot_log_out_or_be_forced_out(state: AgentState) -> None:
    for event in (E.LOGOUT, E.FORCE_LOGOUT, E.NOT_READY, E.FORCE_NOT_READY, E.READY):
        with pytest.raises(IllegalAgentTransition):
            transition(state, event, REASON_FOR.get(event))


def test_ring_no_answer_records_missed() -> None:
    change = transition(S.RESERVED, E.RING_NO_ANSWER)
    assert change == AgentChange(E.RING_NO_ANSWER, S.RESERVED, S.NOT_READY, "missed")


def test_not_ready_needs_a_known_reason() -> None:
    with pytest.raises(ReasonRequired):
        transition(S.READY, E.NOT_READY)
    with pytest.raises(UnknownReason) as unknown:
        transition(S.READY, E.NOT_READY, "nap")
    assert unknown.value.error_id == "agent-unknown-reason"
    assert "break" in unknown.value.detail["known"]


def test_missed_is_the_acds_reason_only() -> None:
    with pytest.raises(ReasonReserved):
        transition(S.READY, E.NOT_READY, "missed")
    with pytest.raises(ReasonReserved):
        transition(S.READY, E.FORCE_NOT_READY, "missed")


def test_events_without_a_reason_refuse_one() -> None:
    with pytest.raises(ReasonNotExpected):
        transition(S.NOT_READY, E.READY, "break")
    with pytest.raises(ReasonNotExpected):
        transition(S.RESERVED, E.RING_NO_ANSWER, "lunch")


def test_the_default_reasons_are_the_briefs() -> None:
    defaults = sorted(DEFAULT_NOT_READY_REASONS)
    assert defaults == ["after_call_work", "break", "lunch", "meeting", "missed", "training"]
    for reason in DEFAULT_NOT_READY_REASONS - {"missed"}:
        assert transition(S.READY, E.NOT_READY, reason).reason == reason


def test_configured_reasons_replace_the_defaults_and_always_know_missed() -> None:
    reasons = reason_codes(["coaching", "system_down"])
    assert reasons == {"coaching", "system_down", "missed"}
    assert transition(S.READY, E.NOT_READY, "coaching", reasons).reason == "coaching"
    with pytest.raises(UnknownReason):
        transition(S.READY, E.NOT_READY, "break", reasons)
    with pytest.raises(ValueError, match="slugs"):
        reason_codes(["Coffee Break"])


def test_ready_in_wrap_up_ends_the_wrap_up() -> None:
    assert ready_event(S.WRAP_UP) is E.WRAP_UP_DONE
    assert ready_event(S.NOT_READY) is E.READY
    assert transition(S.WRAP_UP, ready_event(S.WRAP_UP)).to_state is S.READY


def test_a_call_stays_on_the_status_from_offer_to_the_end_of_wrap_up() -> None:
    status = status_after(logged_out(7), transition(S.LOGGED_OUT, E.LOGIN), T0, None)
    assert status == AgentStatus(7, S.READY, T0, None, None)
    steps = [(E.OFFER, 41), (E.ANSWER, None), (E.HANG_UP, None)]
    for minute, (event, interaction) in enumerate(steps, start=1):
        at = T0 + dt.timedelta(minutes=minute)
        status = status_after(status, transition(status.state, event), at, interaction)
        assert status.interaction_id == 41
    done = T0 + dt.timedelta(minutes=9)
    status = status_after(status, transition(status.state, E.WRAP_UP_DONE), done, None)
    assert status == AgentStatus(7, S.READY, done, None, None)


def test_missed_call_leaves_not_ready_missed_without_the_call() -> None:
    ready = AgentStatus(7, S.RESERVED, T0, None, 41)
    after = status_after(ready, transition(S.RESERVED, E.RING_NO_ANSWER), T0, None)
    assert (after.state, after.reason, after.interaction_id) == (S.NOT_READY, "missed", None)


def test_time_never_runs_backwards_within_an_agents_history() -> None:
    status = AgentStatus(7, S.READY, T0, None, None)
    assert effective_time(status, T0 - dt.timedelta(seconds=2)) == T0
    later = T0 + dt.timedelta(seconds=2)
    assert effective_time(status, later) == later
    assert effective_time(logged_out(7), T0) == T0


# --- queue configuration and agent profiles ---------------------------------------------------


def test_a_config_survives_its_stored_form() -> None:
    config = QueueConfig(
        name="trading_support",
        required_skills=("trading", "margin"),
        service_level_seconds=15.0,
        tier_priority={Tier.VIP: 10, Tier.GOLD: 3},
        value_class_priority={ValueClass.DECLINING: 2},
        advisor_wait_seconds=0.0,
        max_wait_seconds=120.0,
        overflow_queue="general",
        ring_seconds=12.0,
        wrap_up_seconds=45.0,
        announce_position=True,
    )
    assert config_from_json("trading_support", config_to_json(config)) == config


def test_stored_rows_missing_new_fields_or_keeping_old_ones_still_load() -> None:
    loaded = config_from_json("general", {"ring_seconds": 20, "dropped_setting": True})
    assert loaded == QueueConfig(name="general", ring_seconds=20)


def test_overflow_must_exist_and_not_be_the_queue_itself() -> None:
    with pytest.raises(InvalidQueueConfig, match="itself"):
        check_queue_config(QueueConfig("general", overflow_queue="general"), {})
    with pytest.raises(InvalidQueueConfig, match="no queue"):
        check_queue_config(QueueConfig("general", overflow_queue="nowhere"), {})


def test_overflow_that_loops_back_is_refused() -> None:
    stored = {"general": None, "trading_support": "advisors", "advisors": "general"}
    looping = QueueConfig("general", overflow_queue="trading_support")
    with pytest.raises(InvalidQueueConfig, match="comes back round"):
        check_queue_config(looping, stored)
    chain = QueueConfig("english", overflow_queue="trading_support")
    assert check_queue_config(chain, stored) is chain


def test_names_are_slugs() -> None:
    with pytest.raises(InvalidQueueConfig):
        check_queue_config(QueueConfig("General Queue"), {})
    with pytest.raises(InvalidQueueConfig):
        check_queue_config(QueueConfig("general", required_skills=("Trading",)), {})


def test_agent_profiles_have_levels_one_to_five_and_known_languages() -> None:
    check_agent_profile({"trading": 5, "general": 1}, frozenset({"zh", "en"}))
    with pytest.raises(InvalidAgentProfile):
        check_agent_profile({"trading": 6}, frozenset({"zh"}))
    with pytest.raises(InvalidAgentProfile):
        check_agent_profile({"trading": 3}, frozenset({"fr"}))
    with pytest.raises(InvalidAgentProfile):
        check_agent_profile({}, frozenset())
