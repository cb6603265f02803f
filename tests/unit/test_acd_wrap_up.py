"""Wrap-up extended by the agent still writing notes, up to the call's limit (the ACD with an
in-memory leg and store; the clock is the test's and jumps)."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.acd.model import AgentState, QueueConfig
from callcenter.acd.wrap_up import NotInWrapUp, WrapUpLimitReached, WrapUpRules
from tests.fakes.acd import T0, settle
from tests.unit.test_acd_service import Center, agent, center

QUEUE = QueueConfig("general", wrap_up_seconds=30.0, max_wait_seconds=120.0)


async def talk_then_hang_up(c: Center, call_id: str = "c1") -> None:
    leg = await c.call(call_id)
    await c.agent_says(1, "ready")
    leg.ringing.answer()
    await settle()
    leg.ringing.agent_hangs_up()
    await settle()
    assert c.store.state(1) is AgentState.WRAP_UP


def at(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).isoformat()


async def test_an_extension_moves_the_end_and_the_desk_hears_the_new_deadline() -> None:
    async with center([QUEUE], [agent(1)]) as c:
        c.acd.wrap_ups.rules = WrapUpRules(extend_seconds=None, limit_seconds=120.0)
        await talk_then_hang_up(c)
        assert c.of("call.wrap_up") == [
            {
                "agent_id": 1,
                "interaction_id": 101,
                "ends_at": at(30),
                "limit_at": at(120),
                "extended_seconds": 0,
            }
        ]
        await c.later(20)
        wrap = c.acd.extend_wrap_up(1)  # by the queue's own wrap-up time
        await settle()
        assert wrap.ends_at == T0 + dt.timedelta(seconds=60)
        assert c.of("call.wrap_up")[-1]["ends_at"] == at(60)
        assert c.of("call.wrap_up")[-1]["extended_seconds"] == 30
        await c.later(15)  # 35 s in: past the first deadline
        assert c.store.state(1) is AgentState.WRAP_UP, "extended: still wrapping up"
        assert "wrapped_up" not in c.store.phases_of(101)
        await c.later(26)  # 61 s in
        assert c.store.state(1) is AgentState.READY
        assert c.store.phases_of(101)[-1] == "wrapped_up"


async def test_extensions_stop_at_the_limit_and_the_timer_ends_it_there() -> None:
    async with center([QUEUE], [agent(1)]) as c:
        c.acd.wrap_ups.rules = WrapUpRules(extend_seconds=40.0, limit_seconds=90.0)
        await talk_then_hang_up(c)
        assert c.acd.extend_wrap_up(1).ends_at == T0 + dt.timedelta(seconds=70)
        # The next 40 s would pass the limit: the extension stops at it.
        assert c.acd.extend_wrap_up(1).ends_at == T0 + dt.timedelta(seconds=90)
        with pytest.raises(WrapUpLimitReached) as refused:
            c.acd.extend_wrap_up(1)
        assert refused.value.error_id == "wrap-up-limit-reached"
        await settle()
        assert c.of("call.wrap_up")[-1]["extended_seconds"] == 60
        await c.later(89)
        assert c.store.state(1) is AgentState.WRAP_UP
        await c.later(2)
        assert c.store.state(1) is AgentState.READY


async def test_an_amount_asked_for_is_added_and_only_in_wrap_up() -> None:
    async with center([QUEUE], [agent(1)]) as c:
        with pytest.raises(NotInWrapUp):
            c.acd.extend_wrap_up(1)  # not ready, no call
        await talk_then_hang_up(c)
        assert c.acd.extend_wrap_up(1, 10).ends_at == T0 + dt.timedelta(seconds=40)
        await c.agent_says(1, "ready")  # the agent ends it early
        with pytest.raises(NotInWrapUp):
            c.acd.extend_wrap_up(1)
        await c.later(60)
        assert c.store.state(1) is AgentState.READY


async def test_a_wrap_up_resumed_after_a_restart_keeps_its_limit_from_its_start() -> None:
    async with center([QUEUE], [agent(1)]) as c:
        c.acd.wrap_ups.rules = WrapUpRules(limit_seconds=100.0)
        wrap = c.acd.wrap_ups.start(1, 9, 10.0, base_seconds=30.0)  # 20 s gone already
        assert (wrap.ends_at, wrap.limit_at) == (
            T0 + dt.timedelta(seconds=10),
            T0 + dt.timedelta(seconds=80),
        )


async def test_a_wrap_up_ended_by_a_break_cannot_be_extended_and_makes_no_one_ready() -> None:
    async with center([QUEUE], [agent(1)]) as c:
        await talk_then_hang_up(c)
        await c.agent_says(1, "not_ready", "after_call_work")
        assert c.acd.wrap_ups.of(1) is None
        with pytest.raises(NotInWrapUp):
            c.acd.extend_wrap_up(1)
        await c.later(60)
        assert c.store.state(1) is AgentState.NOT_READY
