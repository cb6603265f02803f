"""In-memory ports of the ACD service: a caller's leg the test drives (answer, no answer,
hang up), a store that applies the real agent state machine, and pop delivery that records.

Nothing here sleeps: a test moves the story on by acting on a leg, then lets the service's
tasks run until they wait again (:func:`settle`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from dataclasses import dataclass, field

from callcenter.acd.agent_states import StateChange
from callcenter.acd.agents import AgentEvent, AgentRecord, AgentStatus, status_after, transition
from callcenter.acd.leg import AgentLine, CallerGone, DialOutcome, LinkLost, TalkEnd
from callcenter.acd.model import AgentProfile, AgentState, ClientSummary, QueueConfig
from callcenter.acd.ports import OpenCall
from callcenter.crm.interactions import PhaseOutOfOrder
from callcenter.crm.vocabulary import Role
from callcenter.errors import NotFound
from callcenter.events import CallOffered

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing, a Monday


async def settle(rounds: int = 50) -> None:
    """Let every ready task run until all of them wait on something (no time passes)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class FakeRinging:
    def __init__(self, leg: FakeLeg, line: AgentLine) -> None:
        self.leg = leg
        self.line = line
        self._outcome: asyncio.Future[DialOutcome] = asyncio.get_running_loop().create_future()
        self._talk: asyncio.Future[TalkEnd] = asyncio.get_running_loop().create_future()

    # --- what the test does -----------------------------------------------------------------

    def answer(self) -> None:
        self._outcome.set_result(DialOutcome.ANSWERED)

    def ring_out(self) -> None:
        self._outcome.set_result(DialOutcome.NO_ANSWER)

    def lose_link(self) -> None:
        self._outcome.set_result(DialOutcome.LINK_LOST)

    def not_dialled(self) -> None:
        self._outcome.set_result(DialOutcome.NOT_DIALLED)

    def agent_hangs_up(self, rest: Awaitable[None] | None = None) -> None:
        self._talk.set_result(TalkEnd(rest=rest))

    def caller_gone(self) -> None:
        if not self._outcome.done():
            self._outcome.set_result(DialOutcome.CALLER_GONE)
        elif not self._talk.done():
            self._talk.set_result(TalkEnd())

    # --- the port -----------------------------------------------------------------------------

    async def outcome(self) -> DialOutcome:
        return await self._outcome

    async def conversation(self) -> TalkEnd:
        return await self._talk


@dataclass
class FakeLeg:
    call_id: str
    caller_number: str = "+8613800138000"
    actions: list[str] = field(default_factory=list)
    dials: list[FakeRinging] = field(default_factory=list)
    link_back: asyncio.Event = field(default_factory=asyncio.Event)
    _gone: asyncio.Event = field(default_factory=asyncio.Event)

    def hang_up_by_caller(self) -> None:
        self._gone.set()
        for ringing in self.dials:
            ringing.caller_gone()

    @property
    def ringing(self) -> FakeRinging:
        """The dial now in progress (the last one)."""
        assert self.dials, f"call {self.call_id} was never dialled to an agent"
        return self.dials[-1]

    def dialled(self) -> list[int]:
        return [ringing.line.agent_id for ringing in self.dials]

    @property
    def gone(self) -> bool:
        return self._gone.is_set()

    async def wait_gone(self) -> None:
        await self._gone.wait()

    def _check(self) -> None:
        if self.gone:
            raise CallerGone(f"call {self.call_id}: the caller hung up")

    async def music_on(self) -> None:
        self._check()
        self.actions.append("music_on")

    async def music_off(self) -> None:
        self._check()
        self.actions.append("music_off")

    async def play(self, sound: str) -> None:
        self._check()
        self.actions.append(f"play:{sound}")

    async def stop_playback(self) -> None:
        self.actions.append("stop_playback")

    async def set_caller_name(self, name: str) -> None:
        self.actions.append(f"name:{name}")

    async def dial(self, line: AgentLine, ring_seconds: float) -> FakeRinging:
        self._check()
        self.actions.append(f"dial:{line.extension}")
        ringing = FakeRinging(self, line)
        self.dials.append(ringing)
        return ringing

    async def outlive_link_loss(self) -> None:
        await self.link_back.wait()
        if not self.gone:
            raise LinkLost("stopping")

    async def hang_up(self) -> None:
        self.actions.append("hang_up")
        self._gone.set()


@dataclass
class FakeAcdStore:
    """The ACD's store and the agents' state owner's, in memory, with the real agent state
    machine."""

    queues: list[QueueConfig]
    profiles: dict[int, AgentProfile] = field(default_factory=dict)
    statuses: dict[int, AgentStatus] = field(default_factory=dict)
    callers: dict[int, ClientSummary] = field(default_factory=dict)
    caller_reads: list[int] = field(default_factory=list)  # the clients read, in order
    open: list[OpenCall] = field(default_factory=list)
    phases: list[tuple[int, str]] = field(default_factory=list)  # (interaction, phase)
    audits: list[tuple[int, int]] = field(default_factory=list)  # (agent, client) pops
    routes: list[tuple[int, str, str]] = field(default_factory=list)
    # Records in a state no call produces (wrapped up, never ended): ending them is refused.
    impossible: set[int] = field(default_factory=set)
    anomalies: list[tuple[int, str]] = field(default_factory=list)  # (interaction, reason)
    agent_reads: int = 0  # of one agent's profile and status (the ACD's agent())

    def add_agent(self, profile: AgentProfile, state: AgentState = AgentState.READY) -> None:
        self.profiles[profile.agent_id] = profile
        self.statuses[profile.agent_id] = AgentStatus(profile.agent_id, state, T0)

    def state(self, agent_id: int) -> AgentState:
        return self.statuses[agent_id].state

    def phases_of(self, interaction_id: int) -> list[str]:
        return [phase for iid, phase in self.phases if iid == interaction_id]

    async def open_calls(self, since: dt.datetime, until: dt.datetime) -> list[OpenCall]:
        return list(self.open)

    async def queue_configs(self) -> list[QueueConfig]:
        return list(self.queues)

    async def agents(self) -> list[tuple[AgentProfile, AgentStatus]]:
        return [
            (profile, self.statuses[agent_id])
            for agent_id, profile in self.profiles.items()
            if self.statuses[agent_id].state is not AgentState.LOGGED_OUT
        ]

    async def agent(self, agent_id: int) -> tuple[AgentProfile | None, AgentStatus]:
        self.agent_reads += 1
        return self.profiles.get(agent_id), self.statuses[agent_id]

    async def caller(self, client_id: int) -> ClientSummary | None:
        self.caller_reads.append(client_id)
        return self.callers.get(client_id)

    # --- the agents' state owner's store (callcenter/acd/agent_states.py) ---------------------

    async def apply(self, change: StateChange) -> AgentStatus:
        agent_id = change.agent_id
        if agent_id not in self.statuses:
            raise NotFound(f"no agent {agent_id}")
        status = self.statuses[agent_id]
        event = change.event if isinstance(change.event, AgentEvent) else change.event(status.state)
        moved = transition(status.state, event, change.reason, change.reasons)
        self.statuses[agent_id] = status_after(status, moved, change.at, change.interaction_id)
        if change.pop_client_id is not None and event is AgentEvent.OFFER:
            self.audits.append((agent_id, change.pop_client_id))
        return self.statuses[agent_id]

    async def apply_and_read(self, change: StateChange) -> AgentRecord:
        status = await self.apply(change)
        profile = self.profiles[change.agent_id]
        return AgentRecord(
            agent_id=profile.agent_id,
            username=f"agent{profile.agent_id}",
            display_name=f"Agent {profile.agent_id}",
            role=Role.AGENT,
            extension=profile.extension,
            status=status,
            skills=dict(profile.skills),
            languages=profile.languages,
            queues=profile.queues,
        )

    async def queued(self, interaction_id: int, queue: str, at: dt.datetime) -> None:
        self.phases.append((interaction_id, "queued"))

    async def offered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None:
        self.phases.append((interaction_id, "offered"))

    async def answered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None:
        self.phases.append((interaction_id, "answered"))

    async def ended(self, interaction_id: int, at: dt.datetime) -> None:
        if interaction_id in self.impossible:
            raise PhaseOutOfOrder("phase ended cannot follow wrapped_up", phase="ended")
        self.phases.append((interaction_id, "ended"))

    async def close_as_anomaly(self, interaction_id: int, at: dt.datetime, reason: str) -> None:
        self.anomalies.append((interaction_id, reason))

    async def overflowed(self, interaction_id: int, to_queue: str, path_entry: str) -> None:
        self.routes.append((interaction_id, to_queue, path_entry))

    async def wrapped_up(self, interaction_id: int, at: dt.datetime) -> None:
        self.phases.append((interaction_id, "wrapped_up"))


@dataclass
class RecordingPops:
    """Pop delivery that records each pop, and which leg actions and pop audits (of
    ``store``) came before it."""

    store: FakeAcdStore | None = None
    delivered: list[CallOffered] = field(default_factory=list)
    legs: dict[str, FakeLeg] = field(default_factory=dict)
    actions_before: list[list[str]] = field(default_factory=list)
    audits_before: list[list[tuple[int, int]]] = field(default_factory=list)

    async def deliver(self, pop: CallOffered, within: float) -> bool:
        self.delivered.append(pop)
        leg = self.legs.get(pop.call_id)
        self.actions_before.append(list(leg.actions) if leg else [])
        self.audits_before.append(list(self.store.audits) if self.store else [])
        return True
