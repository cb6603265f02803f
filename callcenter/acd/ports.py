"""The ACD service's ports besides the caller's leg (callcenter/acd/leg.py): its store
(the caller's client summary, agents' profiles and states, queue configs, the call's
interaction phases), the delivery of the pop (``call.offered``) to agents' desks, and the
speaker of queue announcements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from callcenter.acd.agents import AgentStatus
from callcenter.acd.model import AgentProfile, ClientSummary, QueueConfig
from callcenter.events import CallOffered
from callcenter.ivr.speech import Utterance


@dataclass(frozen=True)
class OpenCall:
    """A call a previous run of the service left without an end in its record."""

    interaction_id: int
    call_id: str
    agent_id: int | None  # the agent offered or answering it, if any
    queue: str | None
    answered: bool
    client_id: int | None = None
    caller_number: str | None = None
    anomaly: str | None = None  # why its phases cannot come from a call, if they cannot


class AcdStore(Protocol):
    async def open_calls(self, since: dt.datetime, until: dt.datetime) -> list[OpenCall]: ...

    async def queue_configs(self) -> list[QueueConfig]: ...

    async def agents(self) -> list[tuple[AgentProfile, AgentStatus]]: ...

    async def agent(self, agent_id: int) -> tuple[AgentProfile | None, AgentStatus]: ...

    async def caller(self, client_id: int) -> ClientSummary | None:
        """The caller's client record, read once per call, when it joins a queue (None: no
        such client any more)."""

    async def queued(self, interaction_id: int, queue: str, at: dt.datetime) -> None:
        """The call joined ``queue`` at ``at``, unless its record says so already (a call a
        previous run left in the IVR: the IVR never recorded it queued)."""

    async def offered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None: ...

    async def answered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None: ...

    async def ended(self, interaction_id: int, at: dt.datetime) -> None: ...

    async def overflowed(self, interaction_id: int, to_queue: str, path_entry: str) -> None:
        """The call moved to ``to_queue``; ``path_entry`` goes on the end of its path."""

    async def wrapped_up(self, interaction_id: int, at: dt.datetime) -> None: ...

    async def close_as_anomaly(self, interaction_id: int, at: dt.datetime, reason: str) -> None:
        """End a record the phases cannot end (it is in a state no call produces), flagged
        with ``reason``."""


class PopDelivery(Protocol):
    """The agents' desks (the CTI hub): deliver the pop, the ``call.offered`` event, to the
    agent's open desks."""

    async def deliver(self, pop: CallOffered, within: float) -> bool:
        """Return once the pop is written to (one of) the agent's desks, or at once if none
        is open; False when ``within`` seconds ran out first (a desk too slow to wait for)."""


class Speaker(Protocol):
    """Turns an utterance into the prompt files that say it (the IVR's rendered prompts)."""

    def say(self, utterance: Utterance, call_id: str) -> list[str]: ...


class PhoneWatcher(Protocol):
    """Told when a phone may have gone: one unregistered, or the whole picture was replaced
    (a new link to the PBX). Called synchronously: it must only take note, never wait."""

    def phones_changed(self) -> None: ...


class PhoneRegistry(Protocol):
    """Which phones (users' extensions) are registered, as the PBX sees them
    (callcenter/pbx/registrations.py). The ACD routes no call to a phone that is not."""

    async def registered(self, extension: str) -> bool | None:
        """True: registered; False: not; None: cannot tell now (no link to the PBX)."""

    def watch(self, watcher: PhoneWatcher) -> None:
        """``watcher`` hears of every change that may have taken a phone away."""


class CallBackResult(Enum):
    """How calling back a caller who kept their place went (virtual hold)."""

    REACHED = "reached"  # the client answered: their call joins the ACD for the agent
    NOT_REACHED = "not_reached"  # dialled, not answered: the work item's retry rules apply
    NOT_DIALLED = "not_dialled"  # the rules, the item or the PBX refused: nothing went out
    AGENT_BUSY = "agent_busy"  # a dial for the agent is under way already: another agent


class CallBacks(Protocol):
    """Dials a kept place's callback for the agent whose turn it is (client first, as a
    progressive dial): callcenter/pbx/virtual_hold.py over the dialler."""

    async def call_back(self, agent_id: int, item_id: int) -> CallBackResult:
        """Dial the work item for ``agent_id`` and return once the client answered or the
        dial ended (or never started)."""
        ...
