"""The agents' state owner's store behind the journal: the ACD's changes are journaled and
answered with the status the state machine gives; people's changes are not (the rules are in
callcenter/persistence/journal/__init__.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from callcenter.acd.agent_states import AgentStateStore, StateChange
from callcenter.acd.agents import (
    AgentEvent,
    AgentRecord,
    AgentStatus,
    effective_time,
    status_after,
    transition,
)
from callcenter.errors import Conflict, DomainError
from callcenter.persistence.journal.file import JournalEntry
from callcenter.persistence.journal.unavailable import describe, is_unavailable
from callcenter.persistence.journal.writes import (
    JournaledWrites,
    ReplayChecks,
    time_of,
    time_text,
)

log = logging.getLogger(__name__)

AGENT_CHANGE = "agent.change"


class AgentWritesPending(Conflict):
    """The agent's earlier changes still wait for the database: try again in a moment."""

    error_id = "agent-writes-pending"


def moved(before: AgentStatus, change: StateChange) -> tuple[AgentEvent, AgentStatus]:
    """What the store does to ``before`` (callcenter/persistence/agents.py ``apply_chosen``),
    in memory: the same state machine and the same time rule. Raises its refusals."""
    event = change.event if isinstance(change.event, AgentEvent) else change.event(before.state)
    step = transition(before.state, event, change.reason, change.reasons)
    at = effective_time(before, change.at)
    return event, status_after(before, step, at, change.interaction_id)


def moved_on(status: AgentStatus, entries: Iterable[JournalEntry]) -> AgentStatus:
    """``status`` as read from the database, moved on by the agent's journaled changes."""
    for entry in entries:
        if entry.op == AGENT_CHANGE and entry.agent_id == status.agent_id:
            try:
                _, status = moved(status, change_of(entry.args))
            except DomainError:
                continue  # its replay is refused too, and set aside
    return status


class KnownStatuses:
    """Each agent's status as last known: the database's answer to every write and read of
    it, moved on by the changes journaled since."""

    def __init__(self) -> None:
        self._known: dict[int, AgentStatus] = {}

    def saw(self, status: AgentStatus) -> None:
        self._known[status.agent_id] = status

    def get(self, agent_id: int) -> AgentStatus | None:
        return self._known.get(agent_id)


def change_args(change: StateChange, event: AgentEvent) -> dict[str, Any]:
    return {
        "agent_id": change.agent_id,
        "event": event.value,
        "at": time_text(change.at),
        "by_user_id": change.by_user_id,
        "reason": change.reason,
        "reasons": sorted(change.reasons),
        "interaction_id": change.interaction_id,
        "pop_client_id": change.pop_client_id,
        "forced": change.forced,
        "urgent": change.urgent,
    }


def change_of(args: Mapping[str, Any]) -> StateChange:
    return StateChange(
        agent_id=int(args["agent_id"]),
        event=AgentEvent(args["event"]),
        at=time_of(args["at"]),
        by_user_id=args["by_user_id"],
        reason=args["reason"],
        reasons=frozenset(args["reasons"]),
        interaction_id=args["interaction_id"],
        pop_client_id=args["pop_client_id"],
        forced=bool(args["forced"]),
        urgent=bool(args["urgent"]),
    )


class JournaledAgentStates:
    """The store of the agents' state owner (callcenter/acd/agent_states.py AgentStateStore)
    behind the journal: the ACD's changes (``apply``) are journaled, people's are not."""

    def __init__(
        self,
        inner: AgentStateStore,
        writes: JournaledWrites,
        statuses: KnownStatuses,
        checks: ReplayChecks,
    ) -> None:
        self._inner = inner
        self._writes = writes
        self._journal = writes.journal
        self._statuses = statuses
        self._checks = checks
        self._journal.handle(AGENT_CHANGE, self._replay)

    async def apply(self, change: StateChange) -> AgentStatus:
        failure: Exception | None = None
        if not self._journal.pending:
            try:
                status = await self._writes.timed(self._inner.apply(change))
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                failure = exc
            else:
                self._statuses.saw(status)
                return status
        before = self._statuses.get(change.agent_id)
        if before is None:  # never seen since the start: nothing to move on from
            if failure is not None:
                raise failure
            if self._journal.holds(agent_id=change.agent_id):
                raise AgentWritesPending("the agent's changes wait for the database")
            # Nothing of this agent waits: its change cannot overtake one.
            status = await self._inner.apply(change)
            self._statuses.saw(status)
            return status
        event, status = moved(before, change)  # refused as the store would refuse it
        await self._journal.append(
            AGENT_CHANGE,
            change_args(change, event),
            agent_id=change.agent_id,
            interaction_id=change.interaction_id,
            error=None if failure is None else describe(failure),
        )
        self._statuses.saw(status)
        log.info("agent %s: %s -> %s, journaled", change.agent_id, before.state, status.state)
        return status

    async def apply_and_read(self, change: StateChange) -> AgentRecord:
        agent_id = change.agent_id
        if self._journal.holds(agent_id=agent_id):
            await self._journal.drain()  # the agent's earlier changes first, if they can
            if self._journal.holds(agent_id=agent_id):
                raise AgentWritesPending(
                    "the agent's earlier changes wait for the database; try again shortly",
                    agent_id=agent_id,
                )
        record = await self._inner.apply_and_read(change)
        self._statuses.saw(record.status)
        return record

    async def _replay(self, entry: JournalEntry) -> None:
        change = change_of(entry.args)
        if await self._checks.agent_change_stored(change):
            log.info("journal: #%d: agent %s's change is stored already", entry.seq, entry.agent_id)
            return
        status = await self._inner.apply(change)
        if self._journal.holds(agent_id=change.agent_id) <= 1:  # this agent's last one
            self._statuses.saw(status)
