"""The ACD routing policy (callcenter/acd/policy.py).

``NaiveRouter`` below is the reference: the rules written as plain scans over every agent and
every call, too slow for a live center and obviously right. A hypothesis state machine drives it
and the fast ``Router`` through the same random operations and checks that they decide the same
after every step. The properties the issue names, and an example for each rule, follow.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from callcenter.acd.model import (
    MIN_SKILL_LEVEL,
    AgentProfile,
    AgentState,
    QueueConfig,
    WaitingCall,
)
from callcenter.acd.policy import (
    AgentAlreadyKnown,
    AgentNotReady,
    CallAlreadyWaiting,
    CallNotWaiting,
    Router,
    UnknownAgent,
    UnknownQueue,
)

READY = AgentState.READY

# --- the reference ---------------------------------------------------------------------------


@dataclass
class NaiveAgent:
    profile: AgentProfile
    state: AgentState
    idle_since: float


class NaiveRouter:
    """The routing rules as plain scans (the same operations as ``Router``)."""

    def __init__(self, queues: Iterable[QueueConfig] = ()) -> None:
        self.queues = {config.name: config for config in queues}
        self.agents: dict[int, NaiveAgent] = {}
        self.calls: dict[str, WaitingCall] = {}

    def set_queue(self, config: QueueConfig) -> None:
        self.queues[config.name] = config

    def add_call(self, call: WaitingCall) -> None:
        self.calls[call.call_id] = call

    def remove_call(self, call_id: str) -> WaitingCall:
        return self.calls.pop(call_id)

    def add_agent(
        self, profile: AgentProfile, now: float, state: AgentState = AgentState.LOGGED_OUT
    ) -> None:
        self.agents[profile.agent_id] = NaiveAgent(profile, AgentState.LOGGED_OUT, now)
        self.set_agent_state(profile.agent_id, state, now)

    def update_agent(self, profile: AgentProfile) -> None:
        self.agents[profile.agent_id].profile = profile

    def remove_agent(self, agent_id: int) -> None:
        del self.agents[agent_id]

    def set_agent_state(self, agent_id: int, state: AgentState, now: float) -> None:
        agent = self.agents[agent_id]
        if state is READY and agent.state is not READY:
            agent.idle_since = now
        agent.state = state

    def assign(self, call_id: str, agent_id: int) -> WaitingCall:
        self.agents[agent_id].state = AgentState.RESERVED
        return self.calls.pop(call_id)

    def best_agent_for(self, call_id: str, now: float) -> int | None:
        call = self.calls[call_id]
        advisor = self.agents.get(call.advisor_id) if call.advisor_id is not None else None
        if advisor is not None and advisor.state is READY:
            return advisor.profile.agent_id
        if self.held(call, now):
            return None
        ready = [
            agent
            for agent in self.agents.values()
            if agent.state is READY and self.eligible(agent.profile, call)
        ]
        if not ready:
            return None
        return min(
            ready, key=lambda agent: (agent.idle_since, agent.profile.agent_id)
        ).profile.agent_id

    def best_call_for(self, agent_id: int, now: float) -> str | None:
        agent = self.agents[agent_id]
        if agent.state is not READY:
            return None
        own = [call for call in self.calls.values() if call.advisor_id == agent_id]
        pool = own or [
            call
            for call in self.calls.values()
            if self.eligible(agent.profile, call) and not self.held(call, now)
        ]
        if not pool:
            return None
        return min(pool, key=lambda call: (-call.priority, call.enqueued_at, call.call_id)).call_id

    def held(self, call: WaitingCall, now: float) -> bool:
        """Only the call's advisor may take it: they are logged in and the wait is not over."""
        advisor = self.agents.get(call.advisor_id) if call.advisor_id is not None else None
        return (
            advisor is not None
            and advisor.state is not AgentState.LOGGED_OUT
            and now - call.enqueued_at < self.queues[call.queue].advisor_wait_seconds
        )

    def eligible(self, profile: AgentProfile, call: WaitingCall) -> bool:
        required = (*self.queues[call.queue].required_skills, *call.skills)
        return (
            call.queue in profile.queues
            and call.language in profile.languages
            and all(profile.skills.get(skill, 0) >= MIN_SKILL_LEVEL for skill in required)
        )


# --- vocabulary for the tests ----------------------------------------------------------------

QUEUES = (
    QueueConfig("trading", required_skills=("trading",), advisor_wait_seconds=20.0),
    QueueConfig("margin", required_skills=("trading", "margin"), advisor_wait_seconds=0.0),
    QueueConfig("complaints", advisor_wait_seconds=10.0),
)
QUEUE_NAMES = tuple(config.name for config in QUEUES)
SKILLS = ("trading", "margin", "options", "complaints")
LANGUAGES = ("zh", "en")
AGENT_IDS = tuple(range(1, 7))
ADVISOR_IDS = (1, 2)  # few advisors with many calls each, so that their calls meet
UNKNOWN_ADVISOR = 99

EVERYTHING = {skill: 3 for skill in SKILLS}


def agent(
    agent_id: int,
    queues: Iterable[str] = QUEUE_NAMES,
    skills: dict[str, int] | None = None,
    languages: Iterable[str] = ("zh",),
) -> AgentProfile:
    return AgentProfile(
        agent_id,
        extension=f"PJSIP/{1000 + agent_id}",
        skills=EVERYTHING if skills is None else skills,
        languages=frozenset(languages),
        queues=frozenset(queues),
    )


def call(
    call_id: str,
    queue: str = "trading",
    enqueued_at: float = 0.0,
    priority: int = 0,
    language: str = "zh",
    advisor_id: int | None = None,
    skills: tuple[str, ...] = (),
) -> WaitingCall:
    return WaitingCall(
        call_id,
        queue,
        enqueued_at,
        priority=priority,
        language=language,
        advisor_id=advisor_id,
        skills=skills,
    )


def center(
    *agents: tuple[AgentProfile, AgentState, float], calls: Iterable[WaitingCall] = ()
) -> Router:
    router = Router(QUEUES)
    for profile, state, since in agents:
        router.add_agent(profile, since, state)
    for waiting in calls:
        router.add_call(waiting)
    return router


@st.composite
def profiles(draw: st.DrawFn, agent_id: int) -> AgentProfile:
    # Mostly capable agents, so that many are eligible for many calls and decisions have real
    # choices to make; sometimes a sparse one, with missing skills and no queue.
    skills = st.fixed_dictionaries(
        {skill: st.integers(0, 5) for skill in SKILLS}
    ) | st.dictionaries(st.sampled_from(SKILLS), st.integers(0, 5))
    return AgentProfile(
        agent_id,
        extension=f"PJSIP/{1000 + agent_id}",
        skills=draw(skills),
        languages=draw(
            st.sampled_from([frozenset({"zh"}), frozenset({"en"}), frozenset(LANGUAGES)])
        ),
        queues=draw(st.frozensets(st.sampled_from(QUEUE_NAMES), min_size=1) | st.just(frozenset())),
    )


@st.composite
def waiting_calls(draw: st.DrawFn, call_id: str, now: float) -> WaitingCall:
    # Whole seconds and few priorities, so that ties in time and priority are common.
    return WaitingCall(
        call_id,
        draw(st.sampled_from(QUEUE_NAMES)),
        now - draw(st.integers(0, 12)),
        priority=draw(st.integers(0, 3)),
        language=draw(st.sampled_from(LANGUAGES)),
        advisor_id=draw(st.none() | st.sampled_from((*ADVISOR_IDS, UNKNOWN_ADVISOR))),
        skills=draw(st.just(()) | st.tuples(st.sampled_from(SKILLS))),
    )


# --- the fast router decides exactly as the reference ----------------------------------------


class RoutingMachine(RuleBasedStateMachine):
    """A live center in miniature: agents come and go and change state, calls queue and leave,
    queues are reconfigured, time passes, decisions are applied."""

    def __init__(self) -> None:
        super().__init__()
        self.router = Router(QUEUES)
        self.naive = NaiveRouter(QUEUES)
        self.now = 0.0
        self.serial = itertools.count()

    @initialize(data=st.data())
    def a_staffed_center(self, data: st.DataObject) -> None:
        # Every run starts with all the agents logged in or not, so that the rules below spend
        # their steps on routing rather than on building up a center.
        for agent_id in AGENT_IDS:
            profile = data.draw(profiles(agent_id))
            state = data.draw(st.sampled_from(AgentState))
            self.router.add_agent(profile, self.now, state)
            self.naive.add_agent(profile, self.now, state)

    @rule(seconds=st.integers(0, 6))
    def time_passes(self, seconds: int) -> None:
        self.now += seconds

    @rule(data=st.data(), agent_id=st.sampled_from(AGENT_IDS), state=st.sampled_from(AgentState))
    def an_agent_is_added_or_changes_profile(
        self, data: st.DataObject, agent_id: int, state: AgentState
    ) -> None:
        profile = data.draw(profiles(agent_id))
        if agent_id in self.naive.agents:
            self.router.update_agent(profile)
            self.naive.update_agent(profile)
        else:
            self.router.add_agent(profile, self.now, state)
            self.naive.add_agent(profile, self.now, state)

    @precondition(lambda self: self.naive.agents)
    @rule(data=st.data(), state=st.sampled_from(AgentState))
    def an_agent_changes_state(self, data: st.DataObject, state: AgentState) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.naive.agents)))
        self.router.set_agent_state(agent_id, state, self.now)
        self.naive.set_agent_state(agent_id, state, self.now)

    @rule(advisor_id=st.sampled_from(ADVISOR_IDS), logged_in=st.booleans())
    def an_advisor_logs_in_or_out(self, advisor_id: int, logged_in: bool) -> None:
        # Logging in holds their clients' calls for them again; logging out opens them.
        if advisor_id in self.naive.agents:
            state = AgentState.NOT_READY if logged_in else AgentState.LOGGED_OUT
            self.router.set_agent_state(advisor_id, state, self.now)
            self.naive.set_agent_state(advisor_id, state, self.now)

    @precondition(lambda self: self.naive.agents)
    @rule(data=st.data())
    def an_agent_is_removed(self, data: st.DataObject) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.naive.agents)))
        self.router.remove_agent(agent_id)
        self.naive.remove_agent(agent_id)

    @rule(data=st.data())
    def a_call_is_queued(self, data: st.DataObject) -> None:
        waiting = data.draw(waiting_calls(f"c{next(self.serial)}", self.now))
        self.router.add_call(waiting)
        self.naive.add_call(waiting)

    @precondition(lambda self: self.naive.calls)
    @rule(data=st.data())
    def a_caller_hangs_up(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.naive.calls)))
        assert self.router.remove_call(call_id) == self.naive.remove_call(call_id)

    @rule(
        queue=st.sampled_from(QUEUE_NAMES),
        required=st.lists(st.sampled_from(SKILLS), max_size=2, unique=True),
        wait=st.sampled_from((0.0, 5.0, 20.0)),
    )
    def a_queue_is_reconfigured(self, queue: str, required: list[str], wait: float) -> None:
        config = QueueConfig(queue, required_skills=tuple(required), advisor_wait_seconds=wait)
        self.router.set_queue(config)
        self.naive.set_queue(config)

    @precondition(lambda self: self.naive.calls)
    @rule(data=st.data())
    def a_queued_call_is_routed(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.naive.calls)))
        chosen = self.router.best_agent_for(call_id, self.now)
        assert chosen == self.naive.best_agent_for(call_id, self.now)
        if chosen is not None:
            self.router.assign(call_id, chosen)
            self.naive.assign(call_id, chosen)

    @precondition(lambda self: self.naive.agents)
    @rule(data=st.data())
    def an_agent_takes_a_call(self, data: st.DataObject) -> None:
        agent_id = data.draw(st.sampled_from(sorted(self.naive.agents)))
        self.router.set_agent_state(agent_id, READY, self.now)
        self.naive.set_agent_state(agent_id, READY, self.now)
        chosen = self.router.best_call_for(agent_id, self.now)
        assert chosen == self.naive.best_call_for(agent_id, self.now)
        if chosen is not None:
            self.router.assign(chosen, agent_id)
            self.naive.assign(chosen, agent_id)

    @invariant()
    def every_decision_is_the_references(self) -> None:
        for call_id in self.naive.calls:
            assert self.router.best_agent_for(call_id, self.now) == self.naive.best_agent_for(
                call_id, self.now
            ), call_id
        for agent_id in self.naive.agents:
            assert self.router.best_call_for(agent_id, self.now) == self.naive.best_call_for(
                agent_id, self.now
            ), agent_id
            assert self.router.agent_state(agent_id) is self.naive.agents[agent_id].state


RoutingMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestRouterDecidesAsTheReference = RoutingMachine.TestCase


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_long_churn_with_many_dead_heap_entries_decides_as_the_reference(seed: int) -> None:
    # Hundreds of calls in few heaps, most removed out of order: the heaps' rebuilds run.
    rng = random.Random(seed)
    router, naive = Router(QUEUES), NaiveRouter(QUEUES)
    for agent_id in AGENT_IDS:
        profile = agent(agent_id, languages=rng.choice((("zh",), ("en",), ("zh", "en"))))
        router.add_agent(profile, 0.0, READY)
        naive.add_agent(profile, 0.0, READY)
    for step in range(3000):
        now = float(step)
        if rng.random() < 0.55 or not naive.calls:
            waiting = call(
                f"c{step}",
                queue=rng.choice(QUEUE_NAMES),
                enqueued_at=now - rng.randrange(40),
                priority=rng.randrange(4),
                language=rng.choice(LANGUAGES),
                advisor_id=rng.choice((None, None, 1, 2)),
            )
            router.add_call(waiting)
            naive.add_call(waiting)
        else:
            gone = rng.choice(sorted(naive.calls))
            router.remove_call(gone)
            naive.remove_call(gone)
        if step % 7 == 0:
            agent_id = rng.choice(AGENT_IDS)
            state = rng.choice((READY, AgentState.ON_CALL, AgentState.LOGGED_OUT))
            router.set_agent_state(agent_id, state, now)
            naive.set_agent_state(agent_id, state, now)
        for agent_id in AGENT_IDS:
            assert router.best_call_for(agent_id, now) == naive.best_call_for(agent_id, now)
    assert len(naive.calls) > 200


# --- the properties the issue names ----------------------------------------------------------


@st.composite
def centers(draw: st.DrawFn) -> tuple[Router, float]:
    router = Router(QUEUES)
    for agent_id in draw(st.lists(st.sampled_from(AGENT_IDS), unique=True, max_size=6)):
        since = float(draw(st.integers(0, 30)))
        router.add_agent(draw(profiles(agent_id)), since, draw(st.sampled_from(AgentState)))
    now = 40.0
    for serial in range(draw(st.integers(0, 12))):
        router.add_call(draw(waiting_calls(f"c{serial}", now)))
    return router, now


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(centers())
def test_never_a_call_for_an_agent_who_is_not_ready(center_now: tuple[Router, float]) -> None:
    router, now = center_now
    for agent_id in AGENT_IDS:
        try:
            state = router.agent_state(agent_id)
        except UnknownAgent:
            continue
        if state is not READY:
            assert router.best_call_for(agent_id, now) is None
    for queue in QUEUE_NAMES:
        for waiting in router.waiting_calls(queue):
            chosen = router.best_agent_for(waiting.call_id, now)
            assert chosen is None or router.agent_state(chosen) is READY


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 20), st.sampled_from(QUEUE_NAMES)),
        min_size=1,
        max_size=25,
    )
)
def test_calls_are_taken_by_priority_then_waiting_time(
    calls: list[tuple[int, int, str]],
) -> None:
    waiting = [
        call(f"c{n:02}", queue=queue, enqueued_at=float(at), priority=priority)
        for n, (priority, at, queue) in enumerate(calls)
    ]
    router = center((agent(1), READY, 0.0), calls=waiting)
    taken = []
    for _ in waiting:
        call_id = router.best_call_for(1, 100.0)
        assert call_id is not None
        taken.append(router.assign(call_id, 1))
        router.set_agent_state(1, READY, 100.0)

    assert taken == sorted(waiting, key=lambda c: (-c.priority, c.enqueued_at, c.call_id))
    assert router.best_call_for(1, 100.0) is None


@settings(max_examples=200, deadline=None)
@given(
    idle=st.lists(st.integers(0, 10), min_size=1, max_size=6),
    states=st.lists(st.sampled_from(AgentState), min_size=6, max_size=6),
)
def test_a_call_goes_to_the_longest_idle_ready_agent(
    idle: list[int], states: list[AgentState]
) -> None:
    router = center(
        *((agent(n + 1), states[n], float(since)) for n, since in enumerate(idle)),
        calls=[call("c1", enqueued_at=50.0)],
    )
    ready = [(float(since), n + 1) for n, since in enumerate(idle) if states[n] is READY]

    assert router.best_agent_for("c1", 50.0) == (min(ready)[1] if ready else None)


@settings(max_examples=300, deadline=None)
@given(
    advisor_state=st.sampled_from(AgentState),
    waited=st.integers(0, 40),
    others_ready=st.booleans(),
)
def test_the_advisor_first_then_others_after_the_wait(
    advisor_state: AgentState, waited: int, others_ready: bool
) -> None:
    # The advisor serves no queue and has no skill: they take their own clients anyway.
    others = AgentState.READY if others_ready else AgentState.ON_CALL
    router = center(
        (agent(1, queues=(), skills={}), advisor_state, 0.0),
        (agent(2), others, 0.0),
        (agent(3), others, 1.0),
        calls=[call("vip", enqueued_at=100.0, priority=4, advisor_id=1)],
    )  # trading: advisor_wait_seconds 20
    now = 100.0 + waited

    chosen = router.best_agent_for("vip", now)

    if advisor_state is READY:
        assert chosen == 1
    elif advisor_state is not AgentState.LOGGED_OUT and waited < 20:
        assert chosen is None  # the call waits for its advisor
    else:
        assert chosen == (2 if others_ready else None)  # widened: the longest idle


# --- each rule by example --------------------------------------------------------------------


def test_only_an_agent_with_every_required_skill_is_eligible() -> None:
    router = center(
        (agent(1, skills={"margin": 5}), READY, 0.0),  # no trading
        (agent(2, skills={"trading": 0, "margin": 5}), READY, 1.0),  # level 0 is not a skill
        (agent(3, skills={"trading": 1, "margin": 1}), READY, 2.0),
        calls=[call("m", queue="margin")],
    )

    assert router.best_agent_for("m", 10.0) == 3


def test_the_calls_extra_skills_are_required_too() -> None:
    router = center(
        (agent(1, skills={"trading": 5}), READY, 0.0),
        (agent(2, skills={"trading": 2, "options": 1}), READY, 5.0),
        calls=[call("o", skills=("options",)), call("t", enqueued_at=1.0)],
    )

    assert router.best_agent_for("o", 10.0) == 2
    assert router.best_agent_for("t", 10.0) == 1
    assert router.best_call_for(1, 10.0) == "t"  # "o" is older, but 1 cannot take it


def test_only_an_agent_who_speaks_the_callers_language_is_eligible() -> None:
    router = center(
        (agent(1, languages=("zh",)), READY, 0.0),
        (agent(2, languages=("zh", "en")), READY, 5.0),
        calls=[call("en", language="en")],
    )

    assert router.best_agent_for("en", 10.0) == 2
    assert router.best_call_for(1, 10.0) is None


def test_only_an_agent_who_serves_the_queue_is_eligible() -> None:
    router = center(
        (agent(1, queues=("complaints",)), READY, 0.0),
        (agent(2, queues=("trading",)), READY, 5.0),
        calls=[call("t", queue="trading")],
    )

    assert router.best_agent_for("t", 10.0) == 2


def test_equally_idle_agents_go_by_lowest_id() -> None:
    router = center(
        (agent(5), READY, 3.0), (agent(2), READY, 3.0), (agent(4), READY, 3.0), calls=[call("c")]
    )

    assert router.best_agent_for("c", 10.0) == 2


def test_staying_ready_keeps_the_idle_time_and_becoming_ready_again_restarts_it() -> None:
    router = center((agent(1), READY, 0.0), (agent(2), READY, 5.0), calls=[call("c")])
    router.set_agent_state(1, READY, 8.0)  # no change: still idle since 0
    assert router.best_agent_for("c", 10.0) == 1

    router.set_agent_state(1, AgentState.NOT_READY, 9.0)
    router.set_agent_state(1, READY, 9.0)
    assert router.best_agent_for("c", 10.0) == 2


def test_a_reserved_agent_is_offered_nothing_more() -> None:
    router = center((agent(1), READY, 0.0), (agent(2), READY, 5.0), calls=[call("a"), call("b")])

    router.assign("a", 1)

    assert router.agent_state(1) is AgentState.RESERVED
    assert router.best_call_for(1, 10.0) is None
    assert router.best_agent_for("b", 10.0) == 2


@pytest.mark.parametrize(
    "state",
    [AgentState.LOGGED_OUT, AgentState.NOT_READY, AgentState.ON_CALL, AgentState.WRAP_UP],
)
def test_no_call_goes_to_an_agent_in_any_other_state(state: AgentState) -> None:
    router = center((agent(1), state, 0.0), calls=[call("c")])

    assert router.best_agent_for("c", 10.0) is None
    assert router.best_call_for(1, 10.0) is None


def test_priority_goes_before_waiting_time() -> None:
    router = center(
        (agent(1), READY, 0.0),
        calls=[call("old", enqueued_at=0.0), call("gold", enqueued_at=9.0, priority=2)],
    )

    assert router.best_call_for(1, 10.0) == "gold"


def test_fair_across_queues_the_best_head_wins_whichever_queue_it_is_in() -> None:
    router = center(
        (agent(1, queues=("trading", "complaints")), READY, 0.0),
        calls=[
            *(call(f"t{n}", queue="trading", enqueued_at=5.0 + n) for n in range(5)),
            call("c0", queue="complaints", enqueued_at=2.0),
            call("c1", queue="complaints", enqueued_at=7.0, priority=1),
        ],
    )
    order = []
    for _ in range(7):
        call_id = router.best_call_for(1, 20.0)
        assert call_id is not None
        order.append(router.assign(call_id, 1).call_id)
        router.set_agent_state(1, READY, 20.0)

    assert order == ["c1", "c0", "t0", "t1", "t2", "t3", "t4"]


def test_a_call_held_for_its_advisor_does_not_block_the_queue() -> None:
    router = center(
        (agent(1), AgentState.ON_CALL, 0.0),  # the advisor, busy
        (agent(2), READY, 0.0),
        calls=[
            call("vip", enqueued_at=5.0, priority=4, advisor_id=1),
            call("next", enqueued_at=6.0),
        ],
    )

    assert router.best_agent_for("vip", 10.0) is None
    assert router.best_call_for(2, 10.0) == "next"
    assert router.best_call_for(2, 25.0) == "vip"  # trading waits 20 s for the advisor


def test_a_held_call_opens_to_others_exactly_when_its_wait_ends() -> None:
    router = center(
        (agent(1), AgentState.WRAP_UP, 0.0),
        (agent(2), READY, 0.0),
        calls=[call("vip", enqueued_at=5.0, advisor_id=1)],
    )

    assert router.widens_at("vip") == 25.0
    assert router.best_agent_for("vip", 24.999) is None
    assert router.best_call_for(2, 24.999) is None
    assert router.best_agent_for("vip", 25.0) == 2
    assert router.best_call_for(2, 25.0) == "vip"


def test_a_call_whose_advisor_wait_is_over_competes_on_equal_terms() -> None:
    router = center(
        (agent(1), AgentState.ON_CALL, 0.0),
        (agent(2), READY, 0.0),
        calls=[
            call("open", enqueued_at=10.0, priority=1),
            call("was held", enqueued_at=0.0, priority=1, advisor_id=1),
            call("urgent", enqueued_at=15.0, priority=2, advisor_id=1, queue="complaints"),
        ],
    )

    assert router.best_call_for(2, 19.0) == "open"
    assert router.best_call_for(2, 20.0) == "was held"  # same priority, waited longer
    assert router.best_call_for(2, 25.0) == "urgent"  # complaints holds 10 s: over at 25


def test_the_advisor_still_comes_first_after_the_wait() -> None:
    router = center(
        (agent(1), READY, 50.0),
        (agent(2), READY, 0.0),  # idle longer
        calls=[call("vip", enqueued_at=0.0, advisor_id=1)],
    )

    assert router.best_agent_for("vip", 60.0) == 1


def test_a_logged_out_advisor_widens_at_once_and_logging_in_holds_again() -> None:
    router = center(
        (agent(1), AgentState.LOGGED_OUT, 0.0),
        (agent(2), READY, 0.0),
        calls=[call("vip", enqueued_at=5.0, advisor_id=1)],
    )
    assert router.widens_at("vip") is None
    assert router.best_agent_for("vip", 6.0) == 2

    router.set_agent_state(1, AgentState.NOT_READY, 6.0)
    assert router.best_agent_for("vip", 6.0) is None
    assert router.best_call_for(2, 6.0) is None

    router.remove_agent(1)
    assert router.best_agent_for("vip", 6.0) == 2


def test_an_advisor_not_known_to_the_router_does_not_hold_the_call() -> None:
    router = center((agent(2), READY, 0.0), calls=[call("vip", advisor_id=UNKNOWN_ADVISOR)])

    assert router.best_agent_for("vip", 1.0) == 2


def test_a_zero_advisor_wait_offers_the_advisor_only_when_ready_now() -> None:
    router = center(
        (agent(1), AgentState.ON_CALL, 0.0),
        (agent(2), READY, 0.0),
        calls=[call("vip", queue="margin", enqueued_at=5.0, advisor_id=1)],
    )

    assert router.best_agent_for("vip", 5.0) == 2


def test_an_advisor_who_becomes_ready_takes_their_own_clients_first() -> None:
    router = center(
        (agent(1, queues=("trading",)), AgentState.ON_CALL, 0.0),
        calls=[
            call("urgent", enqueued_at=0.0, priority=9),
            call("mine", queue="complaints", enqueued_at=8.0, advisor_id=1),
            call("mine too", queue="complaints", enqueued_at=4.0, language="en", advisor_id=1),
        ],
    )
    router.set_agent_state(1, READY, 10.0)

    assert router.best_call_for(1, 10.0) == "mine too"


def test_asking_for_a_decision_changes_nothing() -> None:
    router = center((agent(1), READY, 0.0), calls=[call("a"), call("b", enqueued_at=1.0)])

    assert router.best_call_for(1, 5.0) == "a"
    assert router.best_call_for(1, 5.0) == "a"
    assert router.best_agent_for("b", 5.0) == 1
    assert [c.call_id for c in router.waiting_calls("trading")] == ["a", "b"]
    assert router.agent_state(1) is READY


def test_a_reconfigured_queue_routes_by_its_new_skills_and_wait() -> None:
    router = center(
        (agent(1, skills={"trading": 3}), AgentState.ON_CALL, 0.0),
        (agent(2, skills={"trading": 3}), READY, 0.0),
        calls=[call("vip", enqueued_at=0.0, advisor_id=1)],
    )
    assert router.best_agent_for("vip", 10.0) is None

    router.set_queue(QueueConfig("trading", required_skills=("options",), advisor_wait_seconds=5))
    assert router.best_agent_for("vip", 10.0) is None  # the wait is over, nobody has options

    router.update_agent(agent(2, skills={"options": 1}))
    assert router.best_agent_for("vip", 10.0) == 2
    assert router.best_call_for(2, 10.0) == "vip"


def test_a_call_that_comes_back_to_the_queue_keeps_its_place() -> None:
    # Ring-no-answer: the service puts the same call back with its original enqueued_at.
    router = center(
        (agent(1), READY, 0.0), calls=[call("a", enqueued_at=1.0), call("b", enqueued_at=2.0)]
    )
    taken = router.assign("a", 1)
    router.set_agent_state(1, AgentState.NOT_READY, 20.0)
    router.add_call(taken)
    router.add_agent(agent(2), 20.0, READY)

    assert router.best_call_for(2, 21.0) == "a"


def test_wrong_operations_are_named_errors() -> None:
    router = center((agent(1), AgentState.ON_CALL, 0.0), calls=[call("a")])

    with pytest.raises(UnknownQueue):
        router.add_call(call("x", queue="nowhere"))
    with pytest.raises(CallAlreadyWaiting):
        router.add_call(call("a"))
    with pytest.raises(CallNotWaiting):
        router.best_agent_for("gone", 1.0)
    with pytest.raises(UnknownAgent):
        router.best_call_for(7, 1.0)
    with pytest.raises(AgentAlreadyKnown):
        router.add_agent(agent(1), 1.0)
    with pytest.raises(AgentNotReady):
        router.assign("a", 1)
    assert router.waiting_call("a") == call("a")  # a refused assignment leaves the call queued


def test_setting_a_queue_to_its_own_configuration_keeps_every_decision() -> None:
    router = center((agent(1), READY, 0.0), calls=[call("a", enqueued_at=1.0), call("b")])

    router.set_queue(QUEUES[0])

    assert router.best_call_for(1, 5.0) == "b"
    assert [c.call_id for c in router.waiting_calls("trading")] == ["b", "a"]
