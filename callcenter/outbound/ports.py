"""The dialler's ports: its store of work items and attempts, and the PBX's click-to-dial."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from callcenter.outbound.model import Attempt, AttemptOutcome, DialMode, Party, WorkItem
from callcenter.outbound.retry import ItemAfter


@dataclass(frozen=True)
class EndedDial:
    """A dial's call as its record tells it: answered by the client or not, and its end."""

    interaction_id: int
    answered: bool
    ended_at: dt.datetime


class OutboundStore(Protocol):
    async def candidates(
        self, agent_id: int, queues: Sequence[str], now: dt.datetime, limit: int
    ) -> list[WorkItem]:
        """Open items the agent may take (theirs, their queues', or nobody's), due by their
        window and retry time, not reserved for someone else, in the dialler's order:
        priority (1 first), then due day, then age; the first ``limit`` of them. Runs for
        every look for an agent's next item: kept to one statement."""

    async def work_of(self, agent_id: int, queues: Sequence[str], limit: int) -> list[WorkItem]:
        """The open items that are the agent's own or their queues', in the dialler's order,
        whether due yet or not (the desk's "My work")."""

    async def get(self, item_id: int) -> WorkItem | None: ...

    async def parties(self, items: Sequence[WorkItem], now: dt.datetime) -> dict[int, Party]:
        """What the rules need to know of each item's party (by item id), read for all the
        items at once: the same few statements for one item or a hundred."""

    async def attempts(self, item_id: int) -> list[Attempt]: ...

    async def attempts_of(self, item_ids: Sequence[int]) -> dict[int, list[Attempt]]:
        """Each item's attempts, oldest first (an empty list for an item without any), read
        for all the items at once."""

    async def agent_queues(self, agent_id: int) -> list[str]: ...

    async def reserve(
        self, item_id: int, agent_id: int, until: dt.datetime, now: dt.datetime
    ) -> bool:
        """Hold the item for the agent until ``until``, unless another agent holds it: False."""

    async def release(self, item_id: int, agent_id: int) -> None: ...

    async def postpone(self, item_id: int, until: dt.datetime) -> None:
        """Not to be considered again before ``until``; a later retry time set meanwhile
        stays."""

    async def start_attempt(
        self,
        item_id: int,
        agent_id: int,
        mode: DialMode,
        at: dt.datetime,
        *,
        interaction_id: int | None = None,
        outcome: AttemptOutcome | None = None,
        note: str | None = None,
    ) -> Attempt: ...

    async def attempt_of_call(self, interaction_id: int) -> Attempt | None: ...

    async def unsettled_dials(self, ended_before: dt.datetime) -> list[EndedDial]:
        """Dials whose call ended (before ``ended_before``) with no outcome for the attempt."""
        ...

    async def end_attempt(
        self, attempt_id: int, outcome: AttemptOutcome, at: dt.datetime, note: str | None
    ) -> None: ...

    async def apply(
        self, item_id: int, after: ItemAfter, outcome: AttemptOutcome, at: dt.datetime
    ) -> None:
        """Write the item's state after an attempt, and release its reservation."""


class DialStarted(Protocol):
    """What the PBX's click-to-dial answers: the call's id and its interaction record."""

    @property
    def call_id(self) -> str: ...

    @property
    def interaction_id(self) -> int: ...


class Dialler(Protocol):
    """Click-to-dial (callcenter/pbx/call_control.py): ring the agent's phone, then dial."""

    async def dial(
        self, agent_id: int, number: str, client_id: int | None = None
    ) -> DialStarted: ...


class ProgressiveDialler(Protocol):
    """Progressive dialling (callcenter/pbx/progressive.py): the client first; once they
    answer, the call goes to ``agent_id`` as a waiting call meant for them."""

    async def dial(
        self,
        agent_id: int,
        number: str,
        client_id: int | None,
        queue: str,
        language: str = "zh",
    ) -> DialStarted: ...


class Availability(Protocol):
    """The ACD's view of an agent, for the dialler."""

    def idle(self, agent_id: int) -> bool:
        """Ready, with no waiting call meant for them."""
