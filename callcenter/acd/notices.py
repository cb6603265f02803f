"""What the ACD announces on the event bus, one method per fact (the notifier port), each a
typed event (callcenter/events/topics.py).

The screen pop (``call.offered``) is not here: it is a step of the offer, delivered through
the pop port (callcenter/acd/ports.py PopDelivery) before the agent's phone is dialled; nor
are agents' states, which their owner announces (callcenter/acd/agent_states.py).
"""

from __future__ import annotations

from typing import Protocol

from callcenter.acd.calls import QueuedCall
from callcenter.acd.ports import OpenCall
from callcenter.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOfferEnded,
    CallOverflowed,
    CallQueued,
    Event,
    OfferEndReason,
    OverflowReason,
)


class Publisher(Protocol):
    def publish(self, event: Event, /) -> object: ...


class Notices:
    def __init__(self, bus: Publisher) -> None:
        self._bus = bus

    def queued(self, queued: QueuedCall) -> None:
        caller = queued.caller
        self._bus.publish(
            CallQueued(
                call_id=queued.call_id,
                interaction_id=queued.interaction_id,
                queue=queued.queue,
                client_id=queued.waiting.client_id,
                priority=queued.waiting.priority,
                language=queued.waiting.language,
                caller_number=queued.leg.caller_number or None,
                tier=caller.tier if caller else None,
            )
        )

    def offer_ended(self, queued: QueuedCall, agent_id: int, reason: OfferEndReason) -> None:
        self._bus.publish(
            CallOfferEnded(
                agent_id=agent_id,
                call_id=queued.call_id,
                interaction_id=queued.interaction_id,
                queue=queued.queue,
                client_id=queued.waiting.client_id,
                reason=reason,
            )
        )

    def answered(self, queued: QueuedCall, agent_id: int) -> None:
        self._bus.publish(
            CallAnswered(
                agent_id=agent_id,
                call_id=queued.call_id,
                interaction_id=queued.interaction_id,
                queue=queued.queue,
                client_id=queued.waiting.client_id,
            )
        )

    def ended(self, queued: QueuedCall, agent_id: int, *, transferred: bool) -> None:
        self._bus.publish(
            CallEnded(
                agent_id=agent_id,
                call_id=queued.call_id,
                interaction_id=queued.interaction_id,
                queue=queued.queue,
                client_id=queued.waiting.client_id,
                transferred=transferred,
            )
        )

    def abandoned(self, queued: QueuedCall, waited: float) -> None:
        self._bus.publish(
            CallAbandoned(
                call_id=queued.call_id,
                interaction_id=queued.interaction_id,
                queue=queued.queue,
                waited_seconds=round(waited, 3),
            )
        )

    def overflowed(
        self, queued: QueuedCall, from_queue: str, to_queue: str | None, reason: OverflowReason
    ) -> None:
        self._bus.publish(
            CallOverflowed(
                call_id=queued.call_id,
                interaction_id=queued.interaction_id,
                queue=from_queue,
                to_queue=to_queue,
                action="queue" if to_queue is not None else "ivr",
                reason=reason,
            )
        )

    def adopted_end(self, open_call: OpenCall) -> None:
        """The end of a call a previous run left open, for the wallboard that was seeded
        with it: a talk ended, or a caller who hung up while no one was listening (the
        record's end is now, so its wait is left for the listener to count from there)."""
        if open_call.answered and open_call.agent_id is not None:
            self._bus.publish(
                CallEnded(
                    agent_id=open_call.agent_id,
                    call_id=open_call.call_id,
                    interaction_id=open_call.interaction_id,
                    queue=open_call.queue,
                    client_id=open_call.client_id,
                    transferred=False,
                )
            )
        elif not open_call.answered and open_call.queue is not None:
            self._bus.publish(
                CallAbandoned(
                    call_id=open_call.call_id,
                    interaction_id=open_call.interaction_id,
                    queue=open_call.queue,
                    waited_seconds=None,
                    client_id=open_call.client_id,
                )
            )
