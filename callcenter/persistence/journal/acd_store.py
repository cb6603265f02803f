"""The ACD's store behind the journal: the record's phases and overflows are journaled; the
reads of agents and open calls add what still waits in the journal (the rules are in
callcenter/persistence/journal/__init__.py)."""

from __future__ import annotations

import datetime as dt
import logging

from callcenter.acd.agents import AgentStatus
from callcenter.acd.model import AgentProfile, ClientSummary, QueueConfig
from callcenter.acd.ports import AcdStore, OpenCall
from callcenter.persistence.journal.agent_states import KnownStatuses, moved_on
from callcenter.persistence.journal.file import JournalEntry
from callcenter.persistence.journal.writes import (
    JournaledWrites,
    ReplayChecks,
    time_of,
    time_text,
)

log = logging.getLogger(__name__)


class JournaledAcdStore:
    """The ACD's store (callcenter/acd/ports.py AcdStore) behind the journal."""

    def __init__(
        self,
        inner: AcdStore,
        writes: JournaledWrites,
        statuses: KnownStatuses,
        checks: ReplayChecks,
    ) -> None:
        self._inner = inner
        self._writes = writes
        self._journal = writes.journal
        self._statuses = statuses
        self._checks = checks
        for op, replay in {
            "acd.queued": self._replay_queued,
            "acd.offered": self._replay_offered,
            "acd.answered": self._replay_answered,
            "acd.ended": self._replay_ended,
            "acd.overflowed": self._replay_overflowed,
            "acd.wrapped_up": self._replay_wrapped_up,
            "acd.close_as_anomaly": self._replay_close_as_anomaly,
        }.items():
            self._journal.handle(op, replay)

    # --- reads: what the database says, and what still waits in the journal ------------------

    async def open_calls(self, since: dt.datetime, until: dt.datetime) -> list[OpenCall]:
        async with self._journal.settled():
            calls = await self._inner.open_calls(since, until)
            ended = {e.interaction_id for e in self._journal.entries() if e.ends_call}
        return [call for call in calls if call.interaction_id not in ended]

    async def agents(self) -> list[tuple[AgentProfile, AgentStatus]]:
        async with self._journal.settled():
            found = await self._inner.agents()
            waiting = self._journal.entries()
        agents = [(profile, moved_on(status, waiting)) for profile, status in found]
        for _, status in agents:
            self._statuses.saw(status)
        return agents

    async def agent(self, agent_id: int) -> tuple[AgentProfile | None, AgentStatus]:
        async with self._journal.settled():
            profile, status = await self._inner.agent(agent_id)
            status = moved_on(status, self._journal.entries())
        self._statuses.saw(status)
        return profile, status

    async def queue_configs(self) -> list[QueueConfig]:
        return await self._inner.queue_configs()

    async def caller(self, client_id: int) -> ClientSummary | None:
        return await self._inner.caller(client_id)

    # --- writes --------------------------------------------------------------------------------

    async def queued(self, interaction_id: int, queue: str, at: dt.datetime) -> None:
        # Safe twice: a phase already recorded is not recorded again.
        args = {"interaction_id": interaction_id, "queue": queue, "at": time_text(at)}
        await self._writes.write(
            "acd.queued",
            args,
            lambda: self._inner.queued(interaction_id, queue, at),
            interaction_id=interaction_id,
        )

    async def offered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None:
        args = {"interaction_id": interaction_id, "agent_id": agent_id, "at": time_text(at)}
        await self._writes.write(
            "acd.offered",
            args,
            lambda: self._inner.offered(interaction_id, agent_id, at),
            interaction_id=interaction_id,
        )

    async def answered(self, interaction_id: int, agent_id: int, at: dt.datetime) -> None:
        args = {"interaction_id": interaction_id, "agent_id": agent_id, "at": time_text(at)}
        await self._writes.write(
            "acd.answered",
            args,
            lambda: self._inner.answered(interaction_id, agent_id, at),
            interaction_id=interaction_id,
        )

    async def ended(self, interaction_id: int, at: dt.datetime) -> None:
        await self._writes.write(
            "acd.ended",
            {"interaction_id": interaction_id, "at": time_text(at)},
            lambda: self._inner.ended(interaction_id, at),
            interaction_id=interaction_id,
            ends_call=True,
        )

    async def overflowed(self, interaction_id: int, to_queue: str, path_entry: str) -> None:
        args = {"interaction_id": interaction_id, "to_queue": to_queue, "path_entry": path_entry}
        await self._writes.write(
            "acd.overflowed",
            args,
            lambda: self._inner.overflowed(interaction_id, to_queue, path_entry),
            interaction_id=interaction_id,
        )

    async def wrapped_up(self, interaction_id: int, at: dt.datetime) -> None:
        await self._writes.write(
            "acd.wrapped_up",
            {"interaction_id": interaction_id, "at": time_text(at)},
            lambda: self._inner.wrapped_up(interaction_id, at),
            interaction_id=interaction_id,
        )

    async def close_as_anomaly(self, interaction_id: int, at: dt.datetime, reason: str) -> None:
        # Safe twice: the end is kept once set, the flag is set to the same reason.
        await self._writes.write(
            "acd.close_as_anomaly",
            {"interaction_id": interaction_id, "at": time_text(at), "reason": reason},
            lambda: self._inner.close_as_anomaly(interaction_id, at, reason),
            interaction_id=interaction_id,
            ends_call=True,
        )

    # --- replays -------------------------------------------------------------------------------

    async def _replay_queued(self, entry: JournalEntry) -> None:
        a = entry.args
        await self._inner.queued(a["interaction_id"], a["queue"], time_of(a["at"]))

    async def _replay_offered(self, entry: JournalEntry) -> None:
        a = entry.args
        await self._inner.offered(a["interaction_id"], a["agent_id"], time_of(a["at"]))

    async def _replay_answered(self, entry: JournalEntry) -> None:
        a = entry.args
        await self._inner.answered(a["interaction_id"], a["agent_id"], time_of(a["at"]))

    async def _replay_ended(self, entry: JournalEntry) -> None:
        await self._inner.ended(entry.args["interaction_id"], time_of(entry.args["at"]))

    async def _replay_overflowed(self, entry: JournalEntry) -> None:
        a = entry.args
        if await self._checks.route_recorded(a["interaction_id"], a["to_queue"], a["path_entry"]):
            log.info("journal: #%d: the overflow is on the path already", entry.seq)
            return
        await self._inner.overflowed(a["interaction_id"], a["to_queue"], a["path_entry"])

    async def _replay_wrapped_up(self, entry: JournalEntry) -> None:
        await self._inner.wrapped_up(entry.args["interaction_id"], time_of(entry.args["at"]))

    async def _replay_close_as_anomaly(self, entry: JournalEntry) -> None:
        a = entry.args
        await self._inner.close_as_anomaly(a["interaction_id"], time_of(a["at"]), a["reason"])
