"""Virtual hold in the ACD (callcenter/acd/kept_places.py): a caller who asks to be called
back keeps their place, and is dialled for the agent whose turn it is.

The same in-memory center as tests/unit/test_acd_service.py; the dialler behind the
``CallBacks`` port is the test's, which answers each call back as the test says.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import pytest

from callcenter.acd import kept_places
from callcenter.acd.model import AgentState, QueueConfig
from callcenter.acd.ports import CallBackResult
from callcenter.ivr.commands import OutcomeKind
from callcenter.ivr.engine import Outcome
from tests.fakes.acd import T0, FakeLeg, settle
from tests.unit.test_acd_service import Center, agent, center

QUEUE = QueueConfig("general", max_wait_seconds=30.0, overflow_node="callback_menu")


class CallBacks:
    """The dialler: each call back is recorded, and ends as ``answer`` says."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []
        self.answer: Callable[[int, int], Awaitable[CallBackResult]] = self._not_reached
        self.release = asyncio.Event()  # a call back waits for this before it ends

    async def _not_reached(self, agent_id: int, item_id: int) -> CallBackResult:
        return CallBackResult.NOT_REACHED

    async def call_back(self, agent_id: int, item_id: int) -> CallBackResult:
        self.calls.append((agent_id, item_id))
        await self.release.wait()
        return await self.answer(agent_id, item_id)


async def waiting_then_back_to_the_ivr(c: Center) -> tuple[FakeLeg, FakeLeg]:
    """c1 waits from t=1000, c2 from t=1010; at t=1035 c1's queue sends it to its IVR node."""
    first = await c.call("c1")
    await c.later(10)
    second = await c.call("c2")
    await c.later(25)
    assert (await c.calls["c1"]) is not None  # back to the flow, at its node
    return first, second


async def test_a_callback_asked_for_at_the_node_keeps_the_callers_place() -> None:
    dialler = CallBacks()
    async with center([QUEUE], [agent(1)]) as c:
        c.acd.places.call_backs = dialler
        await waiting_then_back_to_the_ivr(c)
        assert c.acd.places.waited_in("c1") == "general"
        assert c.acd.live("general")[0].call_id == "c2", "c1 left its queue for the IVR"

        assert c.acd.places.keep("c1", 77)
        await settle()

        # Back in its place, ahead of c2 who queued after it.
        assert [w.call_id for w in c.acd.live("general")] == ["c1", "c2"]
        [kept] = c.of("call.place_kept")
        assert (kept["item_id"], kept["queue"]) == (77, "general")
        assert kept["waiting_since"] == (T0 - dt.timedelta(seconds=35)).isoformat()
        assert c.acd.places.waited_in("c1") is None, "kept once"
        assert not c.acd.places.keep("c1", 78)


async def test_at_its_turn_the_client_is_called_back_and_the_agent_is_held_meanwhile() -> None:
    dialler = CallBacks()
    async with center([QUEUE], [agent(1)]) as c:
        c.acd.places.call_backs = dialler
        _, second = await waiting_then_back_to_the_ivr(c)
        c.acd.places.keep("c1", 77)
        await settle()

        await c.agent_says(1, "ready")

        assert dialler.calls == [(1, 77)], "the kept place's turn: dialled for agent 1"
        assert second.dials == [], "agent 1 is held for the call back, not offered c2"
        assert c.acd.router.agent_state(1) is AgentState.RESERVED
        assert not c.acd.idle(1)
        assert [w.call_id for w in c.acd.live("general")] == ["c2"]

        dialler.release.set()  # the client did not answer
        await settle()

        [left] = c.of("call.place_left")
        assert (left["agent_id"], left["outcome"]) == (1, "not_reached")
        assert second.dialled() == [1], "released: agent 1 takes the next call at once"


async def test_a_client_who_answers_goes_to_the_agent_held_for_them() -> None:
    dialler = CallBacks()
    async with center([QUEUE], [agent(1)]) as c:
        c.acd.places.call_backs = dialler
        _, second = await waiting_then_back_to_the_ivr(c)
        c.acd.places.keep("c1", 77)
        client_leg = FakeLeg("prog-77", caller_number="+8613900139000")

        async def answered(agent_id: int, item_id: int) -> CallBackResult:
            # The client's answered channel joins the ACD meant for that agent (as
            # callcenter/pbx/progressive.py does) before the dialler says "reached".
            outcome = Outcome(kind=OutcomeKind.QUEUED, path=(), queue="general")
            c.calls["prog-77"] = asyncio.create_task(
                c.acd.take(client_leg, outcome, 900, resumable=False, for_agent=agent_id)
            )
            await settle()
            return CallBackResult.REACHED

        dialler.answer = answered
        await c.agent_says(1, "ready")
        dialler.release.set()
        await settle(200)  # the dialler's own settle runs beside this one

        assert client_leg.dialled() == [1], "the client's call rings the agent held for it"
        assert second.dials == []
        assert c.store.state(1) is AgentState.RESERVED  # offered: the pop, then the ring
        [left] = c.of("call.place_left")
        assert left["outcome"] == "reached"


async def test_a_place_that_may_not_be_dialled_frees_the_agent_and_ends() -> None:
    dialler = CallBacks()
    dialler.release.set()

    async def refused(agent_id: int, item_id: int) -> CallBackResult:
        return CallBackResult.NOT_DIALLED  # say, outside the calling hours

    dialler.answer = refused
    async with center([QUEUE], [agent(1)]) as c:
        c.acd.places.call_backs = dialler
        _, second = await waiting_then_back_to_the_ivr(c)
        c.acd.places.keep("c1", 77)
        await c.agent_says(1, "ready")

        assert [left["outcome"] for left in c.of("call.place_left")] == ["not_dialled"]
        assert second.dialled() == [1]
        assert c.acd.live("general") == [], "c2 is being offered; the place is gone"


async def test_an_agent_with_a_dial_under_way_leaves_the_place_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kept_places, "AGENT_BUSY_RETRY_SECONDS", 0.0)
    dialler = CallBacks()
    dialler.release.set()
    answers = [CallBackResult.AGENT_BUSY, CallBackResult.NOT_REACHED]

    async def busy_then_not_reached(agent_id: int, item_id: int) -> CallBackResult:
        return answers.pop(0)

    dialler.answer = busy_then_not_reached
    async with center([QUEUE], [agent(1)]) as c:
        c.acd.places.call_backs = dialler
        await waiting_then_back_to_the_ivr(c)
        c.acd.places.keep("c1", 77)
        await c.agent_says(1, "ready")
        await settle()

        assert dialler.calls == [(1, 77), (1, 77)], "still kept: tried again"
        assert [left["outcome"] for left in c.of("call.place_left")] == ["not_reached"]


async def test_a_caller_who_queues_again_has_no_place_to_keep() -> None:
    dialler = CallBacks()
    async with center([QUEUE], [agent(1)]) as c:
        c.acd.places.call_backs = dialler
        await waiting_then_back_to_the_ivr(c)
        await c.call("c1")  # "keep waiting" at the node: queued again, waiting from now

        assert c.acd.places.waited_in("c1") is None
        assert not c.acd.places.keep("c1", 77)
        assert c.of("call.place_kept") == []


async def test_without_a_dialler_no_place_is_kept() -> None:
    async with center([QUEUE], [agent(1)]) as c:
        await waiting_then_back_to_the_ivr(c)
        assert c.acd.places.waited_in("c1") is None
        assert not c.acd.places.keep("c1", 77)


async def test_a_caller_queued_again_after_keeping_their_place_waits_in_person() -> None:
    # A flow that books the call back and then queues the caller anyway: the caller on the
    # line takes their place; the kept one ends, and nothing is dialled.
    dialler = CallBacks()
    async with center([QUEUE], [agent(1)]) as c:
        c.acd.places.call_backs = dialler
        await waiting_then_back_to_the_ivr(c)
        assert c.acd.places.keep("c1", 77)
        await settle()
        again = await c.call("c1")

        assert not c.acd.places.is_kept("c1")
        assert [left["outcome"] for left in c.of("call.place_left")] == ["not_dialled"]
        # In person, waiting from now (behind c2), as any caller who queues again.
        assert [(w.call_id, w.enqueued_at) for w in c.acd.live("general")] == [
            ("c2", 1010.0),
            ("c1", 1035.0),
        ]
        await c.agent_says(1, "ready")
        assert again.dials == []  # c2 first
        assert [w.call_id for w in c.acd.live("general")] == ["c1"]
        assert dialler.calls == []
