"""The one rule of the journaled stores, and how their arguments are kept."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from callcenter.acd.agent_states import StateChange
from callcenter.persistence.journal.file import WriteJournal
from callcenter.persistence.journal.unavailable import describe, is_unavailable

DEFAULT_WRITE_TIMEOUT = 5.0  # a live write that hangs longer goes to the journal
T = TypeVar("T")


def time_text(at: dt.datetime) -> str:
    return at.isoformat()


def time_of(value: object) -> dt.datetime:
    """A time from an entry's arguments, aware as it was written."""
    at = dt.datetime.fromisoformat(str(value))
    if at.tzinfo is None:
        raise ValueError(f"journal time without an offset: {value!r}")
    return at


class ReplayChecks(Protocol):
    """What a replay asks the database first, for the writes that would otherwise land
    twice (callcenter/persistence/journal/__init__.py, "Landing twice stores once")."""

    async def route_recorded(self, interaction_id: int, queue: str, path_entry: str) -> bool:
        """Whether the record is in ``queue`` with ``path_entry`` last on its path."""

    async def agent_change_stored(self, change: StateChange) -> bool:
        """Whether the agent has a change of this event at or after its time (for its call,
        when it names one)."""


class JournaledWrites:
    """The one rule of the journaled stores: a write goes straight to the database while the
    journal is empty; behind the journal's entries when it is not (nothing overtakes them),
    and when the database cannot take it now (or takes longer than ``timeout``)."""

    def __init__(self, journal: WriteJournal, timeout: float = DEFAULT_WRITE_TIMEOUT) -> None:
        self.journal = journal
        self.timeout = timeout

    async def timed(self, write: Awaitable[T]) -> T:
        # A write cut off here may still have landed: its replay then finds it stored.
        async with asyncio.timeout(self.timeout):
            return await write

    async def write(
        self,
        op: str,
        args: Mapping[str, Any],
        write: Callable[[], Awaitable[None]],
        *,
        interaction_id: int,
        ends_call: bool = False,
    ) -> None:
        error: str | None = None
        if not self.journal.pending:
            try:
                await self.timed(write())
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                error = describe(exc)
            else:
                return
        await self.journal.append(
            op, args, interaction_id=interaction_id, ends_call=ends_call, error=error
        )
