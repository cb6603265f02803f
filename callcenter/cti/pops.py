"""Screen pops still ringing, per agent: what a desk that reconnects gets again.

A pop is *pending* from its ``call.offered`` until the offer is over: ``call.offer_ended``
(no answer, the caller gone), ``call.answered`` or ``call.ended`` for that agent and call;
``call.abandoned`` or ``call.overflowed`` of the call; or an ``agent.state`` that takes the
agent out of ``reserved`` (the state of an agent whose phone rings: it is published before
the pop, so any later state means the ringing is over). A pop older than the time-to-live is
dropped too, in case an ending was missed. A resuming client gets the pending pops again,
each its first message as it was (the client summary in it), from memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.acd.model import AgentState
from callcenter.events import (
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallOfferEnded,
    CallOverflowed,
    Envelope,
    Event,
)

RINGING_STATE = AgentState.RESERVED  # a call is being offered
POP_TOPIC = CallOffered.TOPIC  # the screen pop
MAX_PENDING_PER_AGENT = 4  # one ring at a time; a few more only if endings went missing


@dataclass
class PendingPop:
    event: Envelope[CallOffered]
    text: str  # its message, encoded once
    since: float  # on the hub's clock

    @property
    def agent_id(self) -> int:
        return self.event.payload.agent_id

    @property
    def call_id(self) -> str:
        return self.event.payload.call_id


@dataclass
class PendingPops:
    """The pops still ringing, per agent, in the order offered."""

    ttl: float
    clock: Callable[[], float]
    _by_agent: dict[int, dict[str, PendingPop]] = field(default_factory=dict)

    def offered(self, event: Envelope[CallOffered], text: str) -> PendingPop:
        """Track a screen pop (``text``: its message) until its offer ends."""
        offer = event.payload
        pops = self._by_agent.setdefault(offer.agent_id, {})
        pops.pop(offer.call_id, None)
        pop = PendingPop(event, text, self.clock())
        pops[offer.call_id] = pop
        while len(pops) > MAX_PENDING_PER_AGENT:
            del pops[next(iter(pops))]
        return pop

    def follow(self, event: Envelope[Event]) -> None:
        """End the pending pops ``event`` ends."""
        match event.payload:
            case CallOfferEnded() | CallAnswered() | CallEnded() as offer_over:
                self._end(offer_over.agent_id, offer_over.call_id)
            case CallAbandoned() | CallOverflowed() as call_gone:
                for agent in list(self._by_agent):
                    self._end(agent, call_gone.call_id)
            case AgentStateChanged() as change if change.state != RINGING_STATE:
                self._by_agent.pop(change.agent_id, None)

    def _end(self, agent_id: int, call_id: str) -> None:
        pops = self._by_agent.get(agent_id)
        if pops is not None:
            pops.pop(call_id, None)
            if not pops:
                del self._by_agent[agent_id]

    def of(self, agent_id: int) -> list[PendingPop]:
        """The agent's pending pops, oldest first; expired ones are dropped."""
        pops = self._by_agent.get(agent_id)
        if not pops:
            return []
        oldest = self.clock() - self.ttl
        for call_id in [c for c, pop in pops.items() if pop.since < oldest]:
            del pops[call_id]
        if not pops:
            del self._by_agent[agent_id]
        return list(pops.values())

    def is_pending(self, pop: PendingPop) -> bool:
        return self._by_agent.get(pop.agent_id, {}).get(pop.call_id) is pop

    def __len__(self) -> int:
        return sum(len(pops) for pops in self._by_agent.values())
