"""Who receives which event: the one role filter of the CTI websocket.

==========================  ====================================  ==============================
topic                       agent, advisor                        supervisor, admin
==========================  ====================================  ==============================
floor.snapshot              no                                    yes (the wallboard)
recording.alarm             no                                    yes (the wallboard)
agent.state                 their own                             their own only
call.offered, answered...   their own (agent_id is theirs)        their own only
queue.changed, other call.  no                                    no: in floor.snapshot
any other topic             call.* about them, else no            call.* about them, else no
==========================  ====================================  ==============================

Supervisors follow the floor through ``floor.snapshot`` alone (cti/floor.py): one message a
second at most, whatever the traffic, so a hundred wallboards open do not put a hundred
messages per event between the hub and the next screen pop. The snapshot is folded from
every raw event, so it misses nothing; it masks callers' numbers.

A screen pop names the caller and their client record, so it goes to the agent whose phone
is about to ring and to no one else: a supervisor opens a record through the audited REST
view when needed. Topics not in the table are refused by default, so a new topic reaches
nobody until it is added here.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.crm.vocabulary import Role
from callcenter.events import (
    AgentStateChanged,
    Envelope,
    Event,
    FloorSnapshot,
    RecordingAlarmChanged,
)

AGENT_ROLES = frozenset({Role.AGENT, Role.ADVISOR})
MANAGER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})

# What supervisors and admins see of every agent and queue: the wallboard's picture
# (once a second at most, cti/floor.py), and the recording storage's alarm (on each change).
FLOOR_TOPICS = frozenset({FloorSnapshot.TOPIC, RecordingAlarmChanged.TOPIC})


@dataclass(frozen=True)
class Viewer:
    """The person behind one connection."""

    user_id: int
    username: str
    role: Role


def about(viewer: Viewer, event: Envelope[Event]) -> bool:
    """Whether ``event`` is a call event or a state change of this viewer's own."""
    if event.topic != AgentStateChanged.TOPIC and not event.topic.startswith("call."):
        return False
    agent_id = event.payload.about_agent  # never True for user 1: a bool is no agent id
    return agent_id is not None and agent_id == viewer.user_id


def delivers(viewer: Viewer, event: Envelope[Event]) -> bool:
    """Whether ``viewer`` may receive ``event`` (the table in this module's docstring)."""
    if about(viewer, event):
        return True
    return viewer.role in MANAGER_ROLES and event.topic in FLOOR_TOPICS
