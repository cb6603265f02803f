"""The ACD service's story of a call, with an in-memory caller's leg and store.

Each test places calls into the service, acts as the agents' phones and the callers (answer,
ring out, hang up), and reads what the service decided: who was dialled, the agents' states,
the record's phases and the events. The clock is the test's: it jumps, it never runs, and
nothing sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from callcenter.acd.agent_states import AgentStates, OwnState
from callcenter.acd.agents import AgentStatus
from callcenter.acd.model import AgentProfile, AgentState, ClientSummary, QueueConfig, QueueHours
from callcenter.acd.ports import OpenCall
from callcenter.acd.service import AcdService, CallNotWaitingHere
from callcenter.crm.vocabulary import RiskProfile, Tier, ValueClass
from callcenter.events import Envelope, Event, EventBus
from callcenter.ivr.commands import OutcomeKind
from callcenter.ivr.engine import Outcome, Resume, Step
from tests.fakes.acd import T0, FakeAcdStore, FakeLeg, RecordingPops, settle

GENERAL = QueueConfig("general", wrap_up_seconds=30.0, max_wait_seconds=120.0)


@dataclass
class Clock:
    t: float = 1000.0


@dataclass
class Center:
    acd: AcdService
    states: AgentStates
    store: FakeAcdStore
    pops: RecordingPops
    clock: Clock
    events: list[Envelope[Event]] = field(default_factory=list)
    calls: dict[str, asyncio.Task[Resume | None]] = field(default_factory=dict)
    next_interaction: int = 100

    async def call(
        self,
        call_id: str,
        queue: str = "general",
        *,
        client_id: int | None = None,
        language: str = "zh",
    ) -> FakeLeg:
        """A caller the IVR queued: the service takes their leg."""
        leg = FakeLeg(call_id)
        self.pops.legs[call_id] = leg
        self.next_interaction += 1
        outcome = Outcome(
            kind=OutcomeKind.QUEUED,
            path=(Step("main_menu", ("1",)),),
            client_id=client_id,
            language=language,  # type: ignore[arg-type]
            queue=queue,
        )
        self.calls[call_id] = asyncio.create_task(
            self.acd.take(leg, outcome, self.next_interaction)
        )
        await settle()
        return leg

    async def later(self, seconds: float) -> None:
        """The clock jumps; every waiting call looks at its clocks."""
        self.clock.t += seconds
        self.acd.recheck()
        await settle()

    async def agent_says(self, agent_id: int, state: OwnState, reason: str | None = None) -> None:
        """The agent's own change (REST or websocket), through the owner of agents' states."""
        await self.states.set_own(agent_id, state, reason)
        await settle()

    def topics(self, call_id: str) -> list[str]:
        return [e.topic for e in self.events if getattr(e.payload, "call_id", None) == call_id]

    def of(self, topic: str) -> list[dict[str, Any]]:
        return [e.payload.to_data() for e in self.events if e.topic == topic]


def client(
    client_id: int,
    name: str,
    tier: Tier,
    value_class: ValueClass = ValueClass.ORDINARY,
    advisor_id: int | None = None,
) -> ClientSummary:
    """A caller's client summary, as the store reads it when the call joins a queue."""
    return ClientSummary(
        client_id=client_id,
        name=name,
        name_latin=name,
        tier=tier,
        value_class=value_class,
        risk_profile=RiskProfile.BALANCED,
        advisor_id=advisor_id,
        advisor_name=None if advisor_id is None else f"Advisor {advisor_id}",
    )


def agent(agent_id: int, queues: tuple[str, ...] = ("general",), **kw: Any) -> AgentProfile:
    return AgentProfile(agent_id, str(1000 + agent_id), queues=frozenset(queues), **kw)


@contextlib.asynccontextmanager
async def center(
    queues: list[QueueConfig],
    agents: list[AgentProfile],
    *,
    stored: tuple[AgentStatus, ...] = (),
    **store_kw: Any,
) -> AsyncIterator[Center]:
    """The ACD started over the store; ``stored``: agents' states a previous run left."""
    store = FakeAcdStore(queues, **store_kw)
    for profile in agents:
        store.add_agent(profile, AgentState.NOT_READY)
    for status in stored:
        store.statuses[status.agent_id] = status
    bus = EventBus(clock=lambda: T0)
    clock = Clock()
    pops = RecordingPops(store)
    states = AgentStates(store, bus, clock=lambda: T0)
    acd = AcdService(store, bus, states, pops=pops, clock=lambda: clock.t, wallclock=lambda: T0)
    c = Center(acd, states, store, pops, clock)
    sub = bus.subscribe(maxsize=10_000)

    async def collect() -> None:
        while True:
            c.events.append(await sub.get())

    tasks = [asyncio.create_task(acd.run()), asyncio.create_task(collect())]
    await acd.started.wait()
    try:
        yield c
    finally:
        for task in [*tasks, *c.calls.values()]:
            task.cancel()
        await asyncio.gather(*tasks, *c.calls.values(), return_exceptions=True)
        sub.close()


async def test_the_higher_priority_goes_first_then_the_longest_waiting() -> None:
    callers = {
        7: client(7, "Wang Fang", Tier.VIP),
        8: client(8, "Li Lei", Tier.GOLD, ValueClass.TOP_PROFIT),
    }
    async with center([GENERAL], [agent(1)], callers=callers) as c:
        first = await c.call("c-first")
        await c.later(5)
        gold = await c.call("c-gold", client_id=8)
        await c.later(5)
        vip = await c.call("c-vip", client_id=7)
        second = await c.call("c-second")
        assert [w.call_id for w in c.acd.live("general")] == [
            "c-vip",  # 4 points
            "c-gold",  # 2 + 1 points
            "c-first",  # 0 points, waiting longest
            "c-second",
        ]
        order = []
        for _ in range(4):
            await c.agent_says(1, "ready")
            leg = next(leg for leg in (vip, gold, first, second) if leg.dials and not leg.gone)
            order.append(leg.call_id)
            leg.ringing.answer()
            await settle()
            leg.ringing.agent_hangs_up()
            await settle()
            assert c.store.state(1) is AgentState.WRAP_UP
        assert order == ["c-vip", "c-gold", "c-first", "c-second"]


async def test_a_caller_waits_for_their_advisor_then_goes_to_anyone() -> None:
    queue = QueueConfig("general", advisor_wait_seconds=20.0)
    callers = {7: client(7, "Wang Fang", Tier.VIP, advisor_id=2)}
    async with center([queue], [agent(1), agent(2, queues=())], callers=callers) as c:
        await c.agent_says(1, "ready")
        await c.agent_says(2, "not_ready", "break")
        leg = await c.call("c-vip", client_id=7)
        await c.later(19)
        assert leg.dials == [], "the advisor is logged in: the call waits for them"
        await c.later(2)
        assert leg.dialled() == [1], "after the advisor wait anyone eligible takes it"

    async with center([queue], [agent(1), agent(2, queues=())], callers=callers) as c:
        await c.agent_says(1, "ready")
        leg = await c.call("c-vip", client_id=7)
        await c.agent_says(2, "ready")
        assert leg.dialled() == [2], "the advisor who becomes ready takes their client first"


async def test_a_call_overflows_after_the_longest_wait_keeping_its_wait() -> None:
    general = QueueConfig("general", max_wait_seconds=60.0, overflow_queue="backup")
    backup = QueueConfig("backup")
    async with center([general, backup], [agent(1), agent(2, queues=("backup",))]) as c:
        leg = await c.call("c1")
        enqueued_at = c.acd.live("general")[0].enqueued_at
        await c.later(59)
        assert [w.call_id for w in c.acd.live("general")] == ["c1"]
        await c.later(1)
        assert c.acd.live("general") == []
        [moved] = c.acd.live("backup")
        assert moved.enqueued_at == enqueued_at, "its wait runs from the first queue"
        assert c.of("call.overflowed") == [
            {
                "call_id": "c1",
                "interaction_id": 101,
                "queue": "general",
                "to_queue": "backup",
                "action": "queue",
                "reason": "max_wait",
            }
        ]
        assert c.store.routes == [(101, "backup", "overflow:general=backup")]
        await c.agent_says(2, "ready")
        assert leg.dialled() == [2]
        assert c.pops.delivered[-1].ivr_path == ("main_menu=1", "overflow:general=backup")


async def test_a_queue_overflows_back_to_the_ivr_flow_at_its_node() -> None:
    general = QueueConfig("general", max_wait_seconds=30.0, overflow_node="callback_menu")
    async with center([general], [agent(1)]) as c:
        leg = await c.call("c1")
        await c.later(30)
        resume = await c.calls["c1"]
        assert resume is not None
        assert resume.node == "callback_menu"
        assert resume.steps == (Step("overflow:general", ("max_wait",)),)
        assert leg.actions[-1] == "music_off"
        assert c.acd.live("general") == []


async def test_ring_no_answer_goes_to_the_next_agent_and_the_first_is_missed() -> None:
    async with center([GENERAL], [agent(1), agent(2)]) as c:
        await c.agent_says(1, "ready")
        await c.later(1)
        await c.agent_says(2, "ready")
        leg = await c.call("c1")
        assert leg.dialled() == [1], "the longest idle agent first"
        assert c.store.state(1) is AgentState.RESERVED
        leg.ringing.ring_out()
        await settle()
        assert c.store.statuses[1].state is AgentState.NOT_READY
        assert c.store.statuses[1].reason == "missed"
        assert leg.dialled() == [1, 2]
        assert c.of("call.offer_ended")[0]["reason"] == "no_answer"
        leg.ringing.answer()
        await settle()
        assert c.store.state(2) is AgentState.ON_CALL
        assert c.store.phases_of(101) == ["offered", "offered", "answered"]


async def test_a_dial_the_pbx_link_refused_is_no_missed_call_and_the_call_is_offered_again() -> (
    None
):
    async with center([GENERAL], [agent(1)]) as c:
        await c.agent_says(1, "ready")
        leg = await c.call("c1")
        leg.ringing.not_dialled()
        await settle()
        assert c.of("call.offer_ended")[0]["reason"] == "not_dialled"
        assert leg.dialled() == [1, 1], "the same agent, once the link lets the dial out"
        assert c.store.state(1) is AgentState.RESERVED  # never NOT_READY (missed)
        leg.ringing.answer()
        await settle()
        assert c.store.state(1) is AgentState.ON_CALL


async def test_a_caller_who_hangs_up_while_waiting_is_an_abandon() -> None:
    async with center([GENERAL], [agent(1)]) as c:
        leg = await c.call("c1")
        assert leg.actions == ["music_on"], "a caller who must wait hears music"
        await c.later(12)
        leg.hang_up_by_caller()
        await settle()
        assert await c.calls["c1"] is None
        [abandon] = c.of("call.abandoned")
        assert abandon["waited_seconds"] == 12.0
        assert c.store.phases_of(101) == ["ended"]
        assert c.acd.live("general") == []


async def test_a_caller_who_hangs_up_while_the_agent_rings_frees_the_agent() -> None:
    async with center([GENERAL], [agent(1)]) as c:
        leg = await c.call("c1")
        await c.call("c2")
        await c.agent_says(1, "ready")
        assert leg.dialled() == [1]
        leg.hang_up_by_caller()
        await settle()
        assert c.of("call.offer_ended")[0]["reason"] == "caller_gone"
        assert c.of("call.abandoned")[0]["call_id"] == "c1"
        assert c.store.phases_of(101) == ["offered", "ended"]
        # Ready again at once, the agent takes the next caller.
        assert c.store.state(1) is AgentState.RESERVED
        assert c.pops.delivered[-1].call_id == "c2"


async def test_the_pop_is_delivered_before_the_phone_is_dialled_and_names_the_caller() -> None:
    callers = {7: client(7, "Wang Fang", Tier.VIP, ValueClass.TOP_PROFIT, advisor_id=2)}
    async with center([GENERAL], [agent(1)], callers=callers) as c:
        leg = await c.call("c1", client_id=7)
        await c.agent_says(1, "ready")
        [pop] = c.pops.delivered
        assert (pop.agent_id, pop.extension, pop.call_id, pop.interaction_id) == (
            1,
            "1001",
            "c1",
            101,
        )
        assert pop.client == callers[7], "the whole summary: name, tier, advisor, ..."
        assert c.pops.actions_before == [["music_on"]], "no dial before the pop"
        assert leg.actions[1:] == ["name:Wang Fang", "dial:1001"]
        assert c.store.audits == [(1, 7)], "the pop is audited once, with the reservation"


async def test_the_client_is_read_once_per_call_and_each_pop_audited_once() -> None:
    callers = {7: client(7, "Wang Fang", Tier.VIP, advisor_id=2)}
    queue = QueueConfig("general", advisor_wait_seconds=0.0)
    async with center([queue], [agent(1), agent(2)], callers=callers) as c:
        leg = await c.call("c1", client_id=7)
        assert c.store.caller_reads == [7], "read as the call joins the queue"
        await c.agent_says(1, "ready")
        assert c.store.audits == [(1, 7)], "audited with the reservation, before the pop"
        leg.ringing.ring_out()
        await c.agent_says(2, "ready")
        assert leg.dialled() == [1, 2]
        assert [pop.client for pop in c.pops.delivered] == [callers[7], callers[7]]
        assert c.store.caller_reads == [7], "not read again for the second offer"
        assert c.store.audits == [(1, 7), (2, 7)], "one audit entry per pop"
        # Each pop's entry was stored before the pop left for the desk.
        assert c.pops.audits_before == [[(1, 7)], [(1, 7), (2, 7)]]


async def test_an_unknown_caller_pops_without_a_client_and_is_not_audited() -> None:
    async with center([GENERAL], [agent(1)]) as c:
        withheld = await c.call("c1")
        gone = await c.call("c2", client_id=99)  # identified by the IVR, record since deleted
        await c.agent_says(1, "ready")
        withheld.ringing.answer()
        await settle()
        withheld.ringing.agent_hangs_up()
        await settle()
        await c.agent_says(1, "ready")
        assert gone.dialled() == [1]
        assert [(pop.call_id, pop.client) for pop in c.pops.delivered] == [
            ("c1", None),
            ("c2", None),
        ]
        assert c.store.caller_reads == [99]
        assert c.store.audits == []
        assert "name:" not in " ".join(withheld.actions + gone.actions)


async def test_an_agent_hang_up_starts_wrap_up_then_ready_takes_the_next_call() -> None:
    async with center([GENERAL], [agent(1)]) as c:
        first = await c.call("c1")
        second = await c.call("c2")
        await c.agent_says(1, "ready")
        first.ringing.answer()
        await settle()
        assert c.store.state(1) is AgentState.ON_CALL
        first.ringing.agent_hangs_up()
        await settle()
        assert first.actions[-1] == "hang_up"
        assert c.store.state(1) is AgentState.WRAP_UP
        assert c.store.phases_of(101) == ["offered", "answered", "ended"]
        assert c.topics("c1") == ["call.queued", "call.answered", "call.ended"]
        assert second.dials == [], "no call during wrap-up"
        await c.agent_says(1, "ready")  # the agent ends it early
        assert second.dialled() == [1]


async def test_the_wrap_up_timer_makes_the_agent_ready_and_closes_the_wrap_up() -> None:
    queue = QueueConfig("general", wrap_up_seconds=0.0)
    async with center([queue], [agent(1)]) as c:
        first = await c.call("c1")
        second = await c.call("c2")
        await c.agent_says(1, "ready")
        first.ringing.answer()
        await settle()
        first.ringing.agent_hangs_up()
        await settle()
        assert c.store.phases_of(101) == ["offered", "answered", "ended", "wrapped_up"]
        assert second.dialled() == [1]
        assert [e["state"] for e in c.of("agent.state") if e["origin"] == "acd"] == [
            "reserved",
            "on_call",
            "wrap_up",
            "ready",
            "reserved",
        ]


async def test_a_supervisor_moves_a_waiting_call_and_it_is_put_through() -> None:
    async with center(
        [GENERAL, QueueConfig("complaints")], [agent(2, queues=("complaints",))]
    ) as c:
        await c.agent_says(2, "not_ready", "break")
        leg = await c.call("c1")
        await c.later(40)
        moved = await c.acd.move_call("c1", "complaints")
        await settle()
        assert moved.queue == "complaints"
        assert moved.enqueued_at == 1000.0, "it keeps its wait so far"
        assert c.of("call.overflowed")[0]["reason"] == "moved"
        await c.agent_says(2, "ready")
        assert leg.dialled() == [2]
        with pytest.raises(CallNotWaitingHere):
            await c.acd.move_call("c1", "general")  # being offered: no longer waiting


async def test_after_a_restart_an_answered_call_is_finished_and_its_agent_wraps_up() -> None:
    open_calls = [OpenCall(55, "old-1", 1, "general", answered=True)]
    async with center([GENERAL], [agent(1)], open=open_calls) as c:
        c.store.statuses[1] = dataclasses.replace(
            c.store.statuses[1], state=AgentState.ON_CALL, interaction_id=55
        )
        await c.acd.finish_adopted(open_calls[0])
        await settle()
        assert c.store.phases_of(55) == ["ended"]
        assert c.store.state(1) is AgentState.WRAP_UP
        assert c.of("call.ended")[0]["call_id"] == "old-1"


async def test_after_a_restart_a_waiting_call_goes_back_into_its_queue() -> None:
    open_call = OpenCall(56, "old-2", None, "general", answered=False, client_id=None)
    async with center([GENERAL], [agent(1)]) as c:
        leg = FakeLeg("old-2")
        task = asyncio.create_task(c.acd.requeue(leg, open_call))
        await settle()
        assert [w.call_id for w in c.acd.live("general")] == ["old-2"]
        await c.agent_says(1, "ready")
        assert leg.dialled() == [1]
        leg.ringing.answer()
        await settle()
        leg.ringing.agent_hangs_up()
        await task
        # queued: a call taken from the IVR was never recorded queued (fault runs, issue 14)
        assert c.store.phases_of(56) == ["queued", "offered", "answered", "ended"]


async def test_a_call_whose_pbx_link_drops_is_finished_when_it_ends_there() -> None:
    async with center([GENERAL], [agent(1)]) as c:
        leg = await c.call("c1")
        await c.agent_says(1, "ready")
        leg.ringing.lose_link()
        await settle()
        assert await c.calls["c1"] is None
        assert c.store.state(1) is AgentState.RESERVED, "nothing is decided while unseen"
        leg._gone.set()  # the call ended in the PBX meanwhile
        leg.link_back.set()
        await settle()
        assert c.store.phases_of(101) == ["offered", "ended"]
        assert c.store.state(1) is AgentState.READY


async def test_an_agents_own_ready_reaches_the_acd_in_process_and_is_announced_once() -> None:
    async with center([GENERAL], [agent(1)]) as c:
        leg = await c.call("c1")
        record = await c.states.set_own(1, "ready", None)
        # Decided before the use case returned: no bus round trip, no second read.
        assert c.acd.live("general") == []
        assert c.store.agent_reads == 0
        assert record.status.state is AgentState.READY
        await settle()
        assert leg.dialled() == [1]
        assert [(e["state"], e["origin"]) for e in c.of("agent.state")] == [
            ("ready", "api"),
            ("reserved", "acd"),
        ]


async def test_an_agent_who_logs_out_leaves_the_acds_picture() -> None:
    async with center([GENERAL], [agent(1)]) as c:
        await c.agent_says(1, "ready")
        assert c.acd.serves(1)
        await c.states.logout(1)
        assert not c.acd.serves(1)
        leg = await c.call("c1")
        assert leg.dials == []


async def test_an_agents_change_told_while_the_acd_starts_wins_over_what_it_read() -> None:
    store = FakeAcdStore([GENERAL])
    store.add_agent(agent(1), AgentState.NOT_READY)
    bus = EventBus(clock=lambda: T0)
    states = AgentStates(store, bus, clock=lambda: T0)
    acd = AcdService(store, bus, states, wallclock=lambda: T0)
    read = store.agents

    async def slow_read() -> list[tuple[AgentProfile, AgentStatus]]:
        before = await read()  # the agent is read not ready...
        await states.set_own(1, "ready", None)  # ...and says ready meanwhile
        return before

    store.agents = slow_read  # type: ignore[method-assign]
    task = asyncio.create_task(acd.run())
    await acd.started.wait()
    try:
        assert acd.router.agent_state(1) is AgentState.READY
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_after_a_restart_a_record_no_call_produces_is_closed_as_an_anomaly() -> None:
    """Wrapped up but never ended (a staff member's edit): ending it is refused, and the
    adoption used to fail on it at every start, taking the link and the ACD down with it."""
    open_call = OpenCall(55, "old-1", 1, "general", answered=True)
    async with center([GENERAL], [agent(1)], impossible={55}) as c:
        c.store.statuses[1] = dataclasses.replace(
            c.store.statuses[1], state=AgentState.ON_CALL, interaction_id=55
        )
        await c.acd.finish_adopted(open_call)
        await settle()
        assert c.store.anomalies == [
            (
                55,
                "the call's end was refused: phase ended cannot follow wrapped_up",
            )
        ]
        assert c.store.state(1) is AgentState.WRAP_UP  # the agent is not left on the call


async def test_adoption_goes_through_every_open_call_whatever_one_of_them_holds() -> None:
    from types import SimpleNamespace

    from callcenter.pbx.adoption import CallAdoption

    broken = OpenCall(57, "old-3", None, "general", answered=False)
    open_calls = [
        OpenCall(55, "old-1", None, "general", answered=True),  # impossible: refused
        broken,  # its store write fails outright
        OpenCall(56, "old-2", None, "general", answered=False),  # an ordinary one
    ]
    async with center([GENERAL], [agent(1)], open=open_calls, impossible={55}) as c:
        real_ended = c.store.ended

        async def ended(interaction_id: int, at: dt.datetime) -> None:
            if interaction_id == broken.interaction_id:
                raise RuntimeError("disk I/O error")
            await real_ended(interaction_id, at)

        c.store.ended = ended  # type: ignore[method-assign]
        resynced = asyncio.Event()
        resynced.set()
        link = SimpleNamespace(resynced=resynced, tracker=SimpleNamespace(channels={}))
        adoption = CallAdoption(link, legs=None, acd=c.acd)  # type: ignore[arg-type]

        await asyncio.wait_for(adoption.run(T0), 5)

        assert c.store.phases_of(56) == ["ended"]
        assert [(iid, reason.split(":")[0]) for iid, reason in c.store.anomalies] == [
            (55, "the call's end was refused"),
            (57, "adoption after a restart failed"),
        ]
        assert "RuntimeError: disk I/O error" in c.store.anomalies[1][1]


async def test_a_call_whose_end_the_store_refuses_still_sends_its_agent_to_wrap_up() -> None:
    """A record edited meanwhile (wrapped up by hand) refuses the call's end: the record is
    closed as an anomaly, and the agent is not left on the call until a restart."""
    async with center([GENERAL], [agent(1)], impossible={101}) as c:
        leg = await c.call("c1")
        await c.agent_says(1, "ready")
        leg.ringing.answer()
        await settle()
        leg.ringing.agent_hangs_up()
        await settle()
        assert [iid for iid, _ in c.store.anomalies] == [101]
        assert c.store.state(1) is AgentState.WRAP_UP


async def test_an_agent_a_previous_run_left_in_wrap_up_is_ready_when_it_would_have_ended() -> None:
    """The wrap-up timer died with the previous run: the agent stayed in wrap-up for good."""
    left = AgentStatus(1, AgentState.WRAP_UP, T0 - dt.timedelta(seconds=29.8), interaction_id=9)
    async with center([GENERAL], [agent(1)], stored=(left,)) as c:
        assert c.store.state(1) is AgentState.WRAP_UP
        await asyncio.sleep(0.5)  # what was left of its 30 s
        assert c.store.state(1) is AgentState.READY
        assert c.store.phases_of(9) == ["wrapped_up"]


async def test_a_stale_adopted_record_does_not_end_the_call_its_agent_is_on_now() -> None:
    """The record names agent 1 as offered, but agent 1 is reserved for another call now."""
    now_on = AgentStatus(1, AgentState.RESERVED, T0, interaction_id=77)
    stale = OpenCall(55, "old-1", 1, "general", answered=False)
    async with center([GENERAL], [agent(1)], stored=(now_on,)) as c:
        await c.acd.finish_adopted(stale)
        await settle()
        assert c.store.phases_of(55) == ["ended"]
        assert c.store.statuses[1] == now_on  # untouched


async def test_an_adopted_record_named_impossible_is_closed_as_an_anomaly() -> None:
    open_call = OpenCall(
        55, "old-1", None, "general", answered=True, anomaly="answered, never offered"
    )
    async with center([GENERAL], [agent(1)]) as c:
        await c.acd.finish_adopted(open_call)
        assert c.store.anomalies == [(55, "found at a restart: answered, never offered")]
        assert c.store.phases_of(55) == []


async def test_a_client_the_dialler_reached_goes_to_their_agent_even_when_the_queue_is_closed() -> (
    None
):
    closed = QueueHours(opens=dt.time(3, 0), closes=dt.time(3, 1), weekdays=frozenset({7}))
    queue = QueueConfig("general", hours=closed, overflow_queue="backup", advisor_wait_seconds=20)
    async with center([queue, QueueConfig("backup")], [agent(1), agent(2)]) as c:
        await c.agent_says(1, "ready")
        await c.agent_says(2, "ready")
        leg = FakeLeg("out-1")
        c.pops.legs["out-1"] = leg
        outcome = Outcome(kind=OutcomeKind.QUEUED, path=(), client_id=None, queue="general")
        c.calls["out-1"] = asyncio.create_task(c.acd.take(leg, outcome, 200, for_agent=2))
        await settle()
        assert leg.dialled() == [2], "the agent it was dialled for, not the first ready"
        assert c.of("call.overflowed") == []
