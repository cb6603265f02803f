"""What the ACD service needs from storage: routing facts of a caller, agents' profiles and
states, queue configs, and the call's interaction phases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from callcenter.acd.agents import AgentEvent, AgentStatus
from callcenter.acd.model import AgentProfile, QueueConfig
from callcenter.crm.vocabulary import Tier, ValueClass


@dataclass(frozen=True)
class CallerFacts:
    """What routing and the agent's phone need to know of an identified caller."""

    client_id: int
    name: str
    tier: Tier | None
    value_class: ValueClass | None
    advisor_id: int | None


@dataclass(frozen=True)
class OpenCall:
    """A call a previous run of the service left without an end in its record."""

    interaction_id: int
    uniqueid: str
    agent_id: int | None  # the agent offered or answering it, if any
    queue: str | None
    answered: bool
    client_id: int | None = None
    caller_number: str | None = None


class AcdBackend(Protocol):
    async def open_calls(self, since: dt.datetime, until: dt.datetime) -> list[OpenCall]: ...

    async def queue_configs(self) -> list[QueueConfig]: ...

    async def agents(self) -> list[tuple[AgentProfile, AgentStatus]]: ...

    async def agent(self, agent_id: int) -> tuple[AgentProfile | None, AgentStatus]: ...

    async def caller(self, client_id: int) -> CallerFacts | None: ...

    async def agent_event(
        self,
        agent_id: int,
        event: AgentEvent,
        *,
        at: dt.datetime,
        reason: str | None = None,
        interaction_id: int | None = None,
        pop_client_id: int | None = None,
    ) -> AgentStatus:
        """Apply ``event`` to the agent; an offer with ``pop_client_id`` also audits, in the
        same transaction, that the client's record pops on the agent's screen."""

    async def offered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None: ...

    async def answered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None: ...

    async def ended(self, interaction_id: int, at: dt.datetime) -> None: ...

    async def overflowed(self, interaction_id: int, to_queue: str, path_entry: str) -> None:
        """The call moved to ``to_queue``; ``path_entry`` goes on the end of its path."""

    async def wrapped_up(self, interaction_id: int, at: dt.datetime) -> None: ...
