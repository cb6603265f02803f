"""Typed bus events for tests: name the fields a test is about, the rest take plain values.

``bus_event("call.answered", agent_id=7, call_id="c1")`` is the :class:`~callcenter.events.
CallAnswered` a test means, built through the registry as a peer's JSON would be (strings
become the fields' enums), so a test names no field the event does not have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from callcenter.events import Event, event_from_data

# What a field holds when a test does not say: a call in "general", of no known client.
DEFAULTS: dict[str, dict[str, Any]] = {
    "agent.state": {"reason": None, "origin": "api"},
    "call.queued": {
        "interaction_id": None,
        "queue": "general",
        "client_id": None,
        "priority": 1,
        "language": "zh",
        "caller_number": None,
        "tier": None,
    },
    "call.offered": {
        "extension": "1001",
        "interaction_id": None,
        "queue": "general",
        "client": None,
        "caller_number": None,
        "language": "zh",
        "priority": 1,
        "authenticated": False,
        "ivr_path": [],
    },
    "call.offer_ended": {
        "interaction_id": None,
        "queue": "general",
        "client_id": None,
        "reason": "no_answer",
    },
    "call.answered": {"interaction_id": None, "queue": "general", "client_id": None},
    "call.ended": {
        "interaction_id": None,
        "queue": "general",
        "client_id": None,
        "transferred": False,
    },
    "call.wrap_up": {
        "interaction_id": None,
        "ends_at": "2026-03-02T09:31:00+00:00",
        "limit_at": "2026-03-02T09:35:00+00:00",
        "extended_seconds": 0,
    },
    "call.abandoned": {"interaction_id": None, "queue": "general", "waited_seconds": None},
    "call.overflowed": {
        "interaction_id": None,
        "queue": "general",
        "to_queue": None,
        "reason": "max_wait",
    },
    "call.place_kept": {
        "interaction_id": None,
        "queue": "general",
        "priority": 1,
        "caller_number": None,
        "tier": None,
    },
    "call.place_left": {"queue": "general", "agent_id": None, "outcome": "reached"},
    "queue.changed": {"queue": "general"},
    "call.control": {"interaction_id": None, "state": "talking"},
    "floor.snapshot": {"day": None, "queues": [], "agents": [], "waiting": [], "calls": []},
}


def bus_event(topic: str, **fields: Any) -> Event:
    data = {**DEFAULTS[topic], **fields}
    if topic == "call.overflowed" and "action" not in data:
        data["action"] = "ivr" if data.get("to_queue") is None else "queue"
    return event_from_data(topic, data)


def summary(client_id: int = 3, **fields: Any) -> dict[str, Any]:
    """A caller's client summary as ``call.offered`` carries it (``client=summary()``)."""
    return {
        "client_id": client_id,
        "name": "张伟",
        "name_latin": "Zhang Wei",
        "tier": "gold",
        "value_class": "core_volume",
        "risk_profile": "balanced",
        "advisor_id": 5,
        "advisor_name": "李娜",
        **fields,
    }


def snapshot(marker: str) -> Event:
    """A ``floor.snapshot`` told apart by its one queue row's name."""
    return bus_event("floor.snapshot", queues=[{"queue": marker}])


def unknown_event(topic: str, **fields: Any) -> Event:
    """An event of a topic no reader knows yet (it is in no registry): a new publisher's."""

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Unknown(Event):
        TOPIC: ClassVar[str] = topic
        VERSION: ClassVar[int] = 1

        agent_id: int | None = None
        call_id: str | None = None

    return Unknown(**fields)
