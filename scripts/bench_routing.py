"""Benchmark: the ACD routing decision with 1,000 agents and 10,000 waiting calls.

A realistic center, built from a seed: ten queues with their required skills, agents who serve
one to three of them with skill levels, two languages, 5% dedicated advisors with a book of
clients each, callers of every tier and value class (priority from ``call_priority``), some with
extra skills asked for by the IVR. The center starts settled (no ready agent could take a
waiting call) and then lives: calls arrive and abandon, agents become ready, answer, hang up,
take breaks, advisors log in and out, and timers re-ask for calls held for their advisor. The
number of waiting calls stays around the target.

Timed, one call at a time: each decision (``best_agent_for`` when a call is queued or its
advisor wait ends, ``best_call_for`` when an agent becomes ready) and each update that the
service applies (add or remove a call, a state change, an assignment). The baseline in the same
run is the naive reference of tests/unit/test_acd_policy.py (plain scans, obviously right), fed
the same operations; its decisions are timed on every ``--baseline-every``-th decision (it is
slow) and checked to be the same as the Router's.

Usage:
    .venv/bin/python scripts/bench_routing.py [--agents 1000] [--calls 10000] \
        [--decisions 20000] [--baseline-every 10] [--seed 7]
Report the printed table in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.acd.model import AgentProfile, AgentState, QueueConfig, WaitingCall, call_priority
from callcenter.acd.policy import Router
from callcenter.crm.vocabulary import Tier, ValueClass
from tests.unit.test_acd_policy import NaiveRouter

T = TypeVar("T")

# name, required skills, share of the calls, share of the staff, overloaded. The 10,000 waiting
# calls are in the overloaded queues; the others have agents to spare, who wait ready for their
# next call (in a real center the backlog is never spread evenly either).
QUEUES: tuple[tuple[str, tuple[str, ...], float, float, bool], ...] = (
    ("trading", ("trading",), 0.30, 0.25, True),
    ("wealth", ("advisor",), 0.10, 0.00, True),  # the VIP desk: advisors only
    ("margin", ("trading", "margin"), 0.10, 0.08, True),
    ("funds", ("funds",), 0.10, 0.08, True),
    ("complaints", ("complaints",), 0.10, 0.08, True),
    ("options", ("trading", "options"), 0.08, 0.07, True),
    ("ipo", ("trading",), 0.07, 0.04, True),
    ("accounts", ("accounts",), 0.07, 0.18, False),
    ("tech", ("tech",), 0.06, 0.16, False),
    ("bonds", ("bonds",), 0.02, 0.06, False),
)
EXTRA_SKILLS = (("hk_market", 0.05), ("futures", 0.03))  # asked for by the IVR, per call
TIERS = ((Tier.STANDARD, 0.70), (Tier.SILVER, 0.15), (Tier.GOLD, 0.10), (Tier.VIP, 0.05))
VALUE_CLASSES = (
    (None, 0.6),
    (ValueClass.TOP_PROFIT, 0.1),
    (ValueClass.DECLINING, 0.1),
    (ValueClass.CORE_VOLUME, 0.1),
    (ValueClass.ORDINARY, 0.1),
)
ADVISOR_SHARE = 0.05
# How a picked agent moves on from each state (cumulative odds): a call lasts several picks,
# an answer one; idle agents sometimes take a break; some of those log out, and come back.
MOVES: dict[AgentState, tuple[tuple[float, AgentState], ...]] = {
    AgentState.RESERVED: ((1.0, AgentState.ON_CALL),),
    AgentState.ON_CALL: ((0.25, AgentState.WRAP_UP),),
    AgentState.WRAP_UP: ((0.55, AgentState.READY), (0.60, AgentState.NOT_READY)),
    AgentState.READY: ((0.03, AgentState.NOT_READY),),
    AgentState.NOT_READY: ((0.30, AgentState.READY), (0.35, AgentState.LOGGED_OUT)),
    AgentState.LOGGED_OUT: ((0.20, AgentState.NOT_READY),),
}
BOOK_SIZE = 200  # clients per advisor


def weighted(rng: random.Random, table: tuple[tuple[T, float], ...]) -> T:
    return rng.choices([item for item, _ in table], [weight for _, weight in table])[0]


class Bag(Generic[T]):
    """A set with a uniform random pick in O(1)."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self.where: dict[T, int] = {}

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: T) -> None:
        self.where[item] = len(self.items)
        self.items.append(item)

    def remove(self, item: T) -> None:
        index = self.where.pop(item)
        last = self.items.pop()
        if index < len(self.items):
            self.items[index] = last
            self.where[last] = index

    def pick(self, rng: random.Random) -> T:
        return self.items[rng.randrange(len(self.items))]


@dataclass
class Timings:
    router: list[float] = field(default_factory=list)  # microseconds
    naive: list[float] = field(default_factory=list)
    found: int = 0


class Center:
    """The simulated center: the Router and the naive reference fed the same operations."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.rng = random.Random(args.seed)
        self.configs = {
            name: QueueConfig(name, required_skills=skills, advisor_wait_seconds=20.0)
            for name, skills, _, _, _ in QUEUES
        }
        self.router = Router(self.configs.values())
        self.naive = NaiveRouter(self.configs.values())
        self.now = 1000.0
        self.target = args.calls
        self.agents = args.agents
        self.baseline_every = args.baseline_every
        self.serial = 0
        self.waiting: Bag[str] = Bag()
        self.advised: Bag[str] = Bag()  # waiting calls with an advisor
        self.by_state: dict[AgentState, Bag[int]] = {state: Bag() for state in AgentState}
        self.advisors: list[int] = []
        self.timings = {kind: Timings() for kind in ("best_agent_for", "best_call_for", "update")}
        self.decisions = 0
        self.advisor_of = self.build_agents(args.agents)

    # --- the center -------------------------------------------------------------------------

    def build_agents(self, count: int) -> dict[int, int]:
        """Agents and advisors; returns each advised client's advisor."""
        rng = self.rng
        advisor_of: dict[int, int] = {}
        for agent_id in range(1, count + 1):
            if rng.random() < ADVISOR_SHARE:
                profile = self.advisor_profile(agent_id)
                self.advisors.append(agent_id)
                for client in range(BOOK_SIZE):
                    advisor_of[agent_id * 10_000 + client] = agent_id
            else:
                profile = self.agent_profile(agent_id)
            state = weighted(
                rng,
                (
                    (AgentState.ON_CALL, 0.72),
                    (AgentState.WRAP_UP, 0.10),
                    (AgentState.NOT_READY, 0.08),
                    (AgentState.LOGGED_OUT, 0.05),
                    (AgentState.READY, 0.05),
                ),
            )
            since = self.now - rng.uniform(0, 60)
            self.router.add_agent(profile, since, state)
            self.naive.add_agent(profile, since, state)
            self.by_state[state].add(agent_id)
        return advisor_of

    def agent_profile(self, agent_id: int) -> AgentProfile:
        rng = self.rng
        names = [name for name, _, _, _, _ in QUEUES]
        shares = [staff for _, _, _, staff, _ in QUEUES]
        queues = {rng.choices(names, shares)[0] for _ in range(rng.randint(1, 3))}
        skills = {
            skill: rng.randint(1, 5)
            for name in queues
            for skill in self.configs[name].required_skills
        }
        for skill, share in EXTRA_SKILLS:
            if rng.random() < share * 4:
                skills[skill] = rng.randint(1, 5)
        languages = weighted(
            rng,
            ((frozenset({"zh"}), 0.80), (frozenset({"zh", "en"}), 0.15), (frozenset({"en"}), 0.05)),
        )
        return AgentProfile(agent_id, f"PJSIP/{agent_id}", skills, languages, frozenset(queues))

    def advisor_profile(self, agent_id: int) -> AgentProfile:
        rng = self.rng
        skills = {"advisor": rng.randint(3, 5), "trading": rng.randint(3, 5)}
        skills.update({skill: rng.randint(1, 5) for skill, _ in EXTRA_SKILLS})
        languages = frozenset({"zh", "en"}) if rng.random() < 0.4 else frozenset({"zh"})
        return AgentProfile(
            agent_id, f"PJSIP/{agent_id}", skills, languages, frozenset({"wealth", "trading"})
        )

    def new_call(self, enqueued_at: float, backlog: bool = False) -> WaitingCall:
        rng = self.rng
        self.serial += 1
        tier = weighted(rng, TIERS)
        queues = [(name, share) for name, _, share, _, over in QUEUES if over or not backlog]
        queue = rng.choices([name for name, _ in queues], [share for _, share in queues])[0]
        if queue == "wealth":
            tier = rng.choice((Tier.GOLD, Tier.VIP))
        client_id, advisor_id = rng.randrange(1, 10**6), None
        if tier in (Tier.GOLD, Tier.VIP) and rng.random() < 0.6:
            advisor_id = rng.choice(self.advisors)
            client_id = advisor_id * 10_000 + rng.randrange(BOOK_SIZE)
        extra = tuple(skill for skill, share in EXTRA_SKILLS if rng.random() < share)
        return WaitingCall(
            f"call-{self.serial}",
            queue,
            enqueued_at,
            priority=call_priority(self.configs[queue], tier, weighted(rng, VALUE_CLASSES)),
            language="en" if rng.random() < 0.1 else "zh",
            client_id=client_id,
            advisor_id=advisor_id,
            skills=extra,
        )

    # --- operations, applied to both and timed ----------------------------------------------

    def update(self, apply: Callable[[Router | NaiveRouter], object]) -> None:
        start = time.perf_counter_ns()
        apply(self.router)
        self.timings["update"].router.append((time.perf_counter_ns() - start) / 1000)
        start = time.perf_counter_ns()
        apply(self.naive)
        self.timings["update"].naive.append((time.perf_counter_ns() - start) / 1000)

    def decide(self, kind: str, ask: Callable[[Router | NaiveRouter], T | None]) -> T | None:
        timings = self.timings[kind]
        start = time.perf_counter_ns()
        answer = ask(self.router)
        timings.router.append((time.perf_counter_ns() - start) / 1000)
        self.decisions += 1
        if self.decisions % self.baseline_every == 0:
            start = time.perf_counter_ns()
            reference = ask(self.naive)
            timings.naive.append((time.perf_counter_ns() - start) / 1000)
            if reference != answer:
                raise SystemExit(f"{kind}: the Router chose {answer}, the reference {reference}")
        timings.found += answer is not None
        return answer

    def set_state(self, agent_id: int, state: AgentState) -> None:
        before = self.router.agent_state(agent_id)
        self.update(lambda router: router.set_agent_state(agent_id, state, self.now))
        self.by_state[before].remove(agent_id)
        self.by_state[state].add(agent_id)

    def queue_call(self, call: WaitingCall) -> None:
        self.update(lambda router: router.add_call(call))
        self.waiting.add(call.call_id)
        if call.advisor_id is not None:
            self.advised.add(call.call_id)

    def unqueue(self, call_id: str) -> None:
        self.waiting.remove(call_id)
        if call_id in self.advised.where:
            self.advised.remove(call_id)

    def assign(self, call_id: str, agent_id: int) -> None:
        self.update(lambda router: router.assign(call_id, agent_id))
        self.unqueue(call_id)
        self.by_state[AgentState.READY].remove(agent_id)
        self.by_state[AgentState.RESERVED].add(agent_id)

    def abandon(self, call_id: str) -> None:
        self.update(lambda router: router.remove_call(call_id))
        self.unqueue(call_id)

    # --- what happens in a live center ------------------------------------------------------

    def fill(self) -> None:
        """Queue the target of calls, waiting up to ten minutes, then settle: every ready agent
        who may take a call takes it (untimed)."""
        for _ in range(self.target):
            call = self.new_call(self.now - self.rng.uniform(0, 600), backlog=True)
            self.router.add_call(call)
            self.naive.add_call(call)
            self.waiting.add(call.call_id)
            if call.advisor_id is not None:
                self.advised.add(call.call_id)
        for agent_id in list(self.by_state[AgentState.READY].items):
            call_id = self.router.best_call_for(agent_id, self.now)
            if call_id is not None:
                self.router.assign(call_id, agent_id)
                self.naive.assign(call_id, agent_id)
                self.unqueue(call_id)
                self.by_state[AgentState.READY].remove(agent_id)
                self.by_state[AgentState.RESERVED].add(agent_id)

    def call_arrives(self) -> None:
        call = self.new_call(self.now)
        self.queue_call(call)
        agent_id = self.decide("best_agent_for", lambda r: r.best_agent_for(call.call_id, self.now))
        if agent_id is not None:
            self.assign(call.call_id, agent_id)

    def agent_moves(self) -> None:
        """A random agent moves on in their day (or stays where they are)."""
        agent_id = self.rng.randrange(1, self.agents + 1)
        pick = self.rng.random()
        for bound, after in MOVES[self.router.agent_state(agent_id)]:
            if pick < bound:
                self.set_state(agent_id, after)
                if after is AgentState.READY:
                    self.take_a_call(agent_id)
                return

    def take_a_call(self, agent_id: int) -> None:
        call_id = self.decide("best_call_for", lambda r: r.best_call_for(agent_id, self.now))
        if call_id is not None:
            self.assign(call_id, agent_id)

    def advisor_wait_ends(self) -> None:
        if not self.advised:
            return
        call_id = self.advised.pick(self.rng)
        agent_id = self.decide("best_agent_for", lambda r: r.best_agent_for(call_id, self.now))
        if agent_id is not None:
            self.assign(call_id, agent_id)

    def step(self) -> None:
        self.now += self.rng.expovariate(50.0)  # ~50 events a second
        pick = self.rng.random()
        if pick < 0.15:
            if len(self.waiting) < self.target:
                self.call_arrives()
            else:
                self.abandon(self.waiting.pick(self.rng))
        elif pick < 0.20:
            self.advisor_wait_ends()
        else:
            self.agent_moves()


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(center: Center, args: argparse.Namespace, seconds: float) -> None:
    print(
        f"{args.agents:,} agents ({len(center.advisors)} advisors), {len(QUEUES)} queues, "
        f"{len(center.waiting):,} calls waiting at the end (target {args.calls:,}); "
        f"{seconds:.1f} s"
    )
    print(
        f"{'operation':16}{'count':>8}{'found':>7}{'p50 µs':>9}{'p99 µs':>9}{'max µs':>9}"
        f"{'naive n':>9}{'naive p50':>11}{'naive p99':>11}{'x p99':>8}"
    )
    for kind, timings in center.timings.items():
        fast, slow = sorted(timings.router), sorted(timings.naive)
        found = f"{timings.found / len(fast):.0%}" if kind != "update" else "-"
        print(
            f"{kind:16}{len(fast):>8,}{found:>7}{percentile(fast, 0.5):>9.1f}"
            f"{percentile(fast, 0.99):>9.1f}{fast[-1]:>9.1f}{len(slow):>9,}"
            f"{percentile(slow, 0.5):>11.1f}{percentile(slow, 0.99):>11.1f}"
            f"{percentile(slow, 0.99) / percentile(fast, 0.99):>7.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=20_000, help="of each kind")
    parser.add_argument("--baseline-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    center = Center(args)
    center.fill()
    timings = center.timings
    start = time.perf_counter()
    while min(len(timings["best_agent_for"].router), len(timings["best_call_for"].router)) < (
        args.decisions
    ):
        center.step()
    report(center, args, time.perf_counter() - start)


if __name__ == "__main__":
    main()
