"""What a websocket sends of each bus event: a projection that names the fields a desk gets.

An event is the service's internal fact (callcenter/events/topics.py); the ``data`` of a
websocket message is chosen here, field by field, so that a field added to an event reaches
no screen until it is named below. An event without a projection never reaches a socket
(routing.py decides who, among those that have one):

- ``call.queued`` carries the caller's number for the wallboard, which masks it, and the
  wallboard's ``floor.snapshot`` is what managers get; ``call.abandoned``,
  ``call.overflowed`` and ``queue.changed`` are folded into the same snapshot.
- The screen pop (``call.offered``) carries the known caller's client summary, the fields of
  :data:`~callcenter.acd.model.POP_SHOWS` and its id (not the advisor's id, which is the
  ACD's): they were audited with the agent's reservation, and it goes to that agent alone.

docs/events.md lists these fields; tests/unit/test_events_doc.py checks it against this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from callcenter.acd.model import POP_SHOWS
from callcenter.events import (
    AgentStateChanged,
    CallAnswered,
    CallControlChanged,
    CallEnded,
    CallOffered,
    CallOfferEnded,
    CallRecordingChanged,
    CallWrapUp,
    Event,
    FloorSnapshot,
    RecordingAlarmChanged,
)


@dataclass(frozen=True)
class Projection:
    fields: tuple[str, ...]  # the event's fields a desk gets, in this order
    # Of a field holding an object: the object's fields a desk gets, in this order.
    parts: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def data(self, event: Event) -> dict[str, Any]:
        everything = event.to_data()
        data = {name: everything[name] for name in self.fields}
        for name, names in self.parts.items():
            whole = data[name]
            if whole is not None:
                data[name] = {part: whole[part] for part in names}
        return data


@dataclass(frozen=True)
class CallControlProjection(Projection):
    """A click-to-dial call's end has no call yet: it carries the agent, the interaction and
    the state alone, as it always has."""

    def data(self, event: Event) -> dict[str, Any]:
        if isinstance(event, CallControlChanged) and event.call_id is None:
            return {
                "agent_id": event.agent_id,
                "interaction_id": event.interaction_id,
                "state": event.state,
            }
        return super().data(event)


_CALL = ("agent_id", "call_id", "interaction_id", "queue", "client_id")

PROJECTIONS: Mapping[type[Event], Projection] = MappingProxyType(
    {
        AgentStateChanged: Projection(("agent_id", "state", "reason", "origin")),
        CallOffered: Projection(
            (
                "agent_id",
                "extension",
                "call_id",
                "interaction_id",
                "queue",
                "client",
                "caller_number",
                "language",
                "priority",
                "authenticated",
                "ivr_path",
                "ivr_steps",
            ),
            parts=MappingProxyType({"client": ("client_id", *POP_SHOWS)}),
        ),
        CallOfferEnded: Projection((*_CALL, "reason")),
        CallAnswered: Projection(_CALL),
        CallEnded: Projection((*_CALL, "transferred")),
        CallWrapUp: Projection(
            ("agent_id", "interaction_id", "ends_at", "limit_at", "extended_seconds")
        ),
        CallControlChanged: CallControlProjection(
            ("agent_id", "call_id", "interaction_id", "state", "target", "hold_seconds")
        ),
        CallRecordingChanged: Projection(
            (
                "agent_id",
                "call_id",
                "interaction_id",
                "recording_id",
                "state",
                "paused_seconds",
                "limit_seconds",
                "resumed_by",
            )
        ),
        FloorSnapshot: Projection(("day", "queues", "agents", "waiting", "calls", "campaigns")),
        RecordingAlarmChanged: Projection(
            ("active", "reason", "since", "calls_affected", "free_bytes", "cleared_at")
        ),
    }
)


def projection_of(event: Event) -> Projection | None:
    """How ``event`` shows on a websocket; None: it never goes to one."""
    return PROJECTIONS.get(type(event))
