"""The one owner of agents' states: every change, whoever asks, goes through here.

The REST routes and the websocket (an agent's own login, logout, ready and not ready; a
supervisor forcing a state) and the ACD (offer, answer, ring-no-answer, hang-up, wrap-up)
all call :class:`AgentStates`. Each use case runs in the same three steps:

1. check and act in one transaction of the store: the state machine
   (callcenter/acd/agents.py) decides, the change is stored (and audited where it must be:
   a supervisor's force, the client record that pops with an offer);
2. tell the ACD at once, in process (its :class:`AgentWatcher`), with the agent's profile and
   status: the ACD keeps its routing picture without reading the database again, and a
   ready agent takes the best waiting call;
3. announce ``agent.state`` on the bus, for the agents' desks and the wallboard.

The ACD's own changes skip step 2 (it applies them to its picture itself, in the order its
story needs) and may defer step 3 (an offer's state change goes out after the dial, off the
path to the ring).

Before step 1, a change that makes the agent ready (login, ready, a supervisor's ready)
checks that the agent's phone is registered (callcenter/acd/phones.py, when the service has a
PBX): 409 ``phone-not-registered`` or ``phone-state-unknown``. The system's own change when a
ready agent's phone goes is :meth:`AgentStates.phone_lost`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from callcenter.acd.agents import (
    DEFAULT_NOT_READY_REASONS,
    AgentEvent,
    AgentRecord,
    AgentStatus,
    ReasonNotExpected,
    ready_event,
)
from callcenter.acd.model import AgentState
from callcenter.acd.phones import NO_PHONE, PhoneCheck
from callcenter.events import AgentStateChanged, AgentStateOrigin, Event

log = logging.getLogger(__name__)

DESK_CLOSED = "desk_closed"  # the not-ready reason the system sets when the desk is gone

OwnState = Literal["ready", "not_ready"]
ForcedState = Literal["ready", "not_ready", "logged_out"]


@dataclass(frozen=True)
class StateChange:
    """One change for the store to check, apply and store in one transaction."""

    agent_id: int
    # The event, or how to choose it given the state before ("ready" in wrap-up ends it).
    event: AgentEvent | Callable[[AgentState], AgentEvent]
    at: dt.datetime
    by_user_id: int | None = None  # the agent, a supervisor; None: the ACD
    reason: str | None = None
    reasons: frozenset[str] = DEFAULT_NOT_READY_REASONS
    interaction_id: int | None = None
    pop_client_id: int | None = None  # an offer: the client's record pops, audited with it
    forced: bool = False  # by a supervisor (``by_user_id``): audited
    urgent: bool = False  # an offer waits for it before the agent's phone is dialled


class AgentStateStore(Protocol):
    async def apply(self, change: StateChange) -> AgentStatus:
        """Check, apply and store ``change``; the agent's status after it."""

    async def apply_and_read(self, change: StateChange) -> AgentRecord:
        """The same, and the agent's whole record after it, in the same transaction."""


class AgentWatcher(Protocol):
    """The ACD, told of every change it did not make itself."""

    def agent_changed(self, record: AgentRecord) -> None: ...


class Publisher(Protocol):
    def publish(self, event: Event, /) -> object: ...


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _NotReady(Exception):
    """Raised inside the store's transaction (rolling it back): the agent is not ready, so a
    lost phone changes nothing."""


class AgentStates:
    def __init__(
        self,
        store: AgentStateStore,
        bus: Publisher,
        *,
        reasons: frozenset[str] = DEFAULT_NOT_READY_REASONS,
        clock: Callable[[], dt.datetime] = utcnow,
        phones: PhoneCheck | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self.reasons = reasons  # the configured not-ready reasons
        self._clock = clock
        self._watchers: list[AgentWatcher] = []
        # Whether an agent's phone can ring; None: no PBX, no check (callcenter/acd/phones.py).
        # Public so that a test of the API can give a service without a PBX one.
        self.phones = phones

    def watch(self, watcher: AgentWatcher) -> None:
        """``watcher`` hears of every change from now on (the ACD, as it is built)."""
        self._watchers.append(watcher)

    # --- the agents' own changes and supervisors' --------------------------------------------

    async def login(self, agent_id: int) -> AgentRecord:
        """Logged in and ready (a user without a phone is refused: ``agent-no-extension``;
        one whose phone is not registered: ``phone-not-registered``)."""
        return await self._person(agent_id, AgentEvent.LOGIN, by=agent_id, needs_phone=True)

    async def logout(self, agent_id: int) -> AgentRecord:
        return await self._person(agent_id, AgentEvent.LOGOUT, by=agent_id)

    async def set_own(self, agent_id: int, state: OwnState, reason: str | None) -> AgentRecord:
        """Ready (in wrap-up: end it now) or not ready with a reason."""
        if state == "ready":
            if reason is not None:
                raise ReasonNotExpected("ready takes no reason", field="reason")
            return await self._person(agent_id, ready_event, by=agent_id, needs_phone=True)
        return await self._person(agent_id, AgentEvent.NOT_READY, by=agent_id, reason=reason)

    async def force(
        self, supervisor_id: int, agent_id: int, state: ForcedState, reason: str | None
    ) -> AgentRecord:
        """A supervisor sets an agent ready, not ready (with a reason) or logged out, through
        the same state machine (an illegal move is the same refusal as the agent's own),
        recorded as done by the supervisor and audited."""
        if state != "not_ready" and reason is not None:
            raise ReasonNotExpected(f"{state} takes no reason", field="reason")
        event: AgentEvent | Callable[[AgentState], AgentEvent] = ready_event
        if state == "not_ready":
            event = AgentEvent.FORCE_NOT_READY  # the state machine's supervisor events
        elif state == "logged_out":
            event = AgentEvent.FORCE_LOGOUT
        return await self._person(
            agent_id,
            event,
            by=supervisor_id,
            reason=reason,
            forced=True,
            needs_phone=state == "ready",
        )

    async def phone_lost(self, agent_id: int) -> bool:
        """The system takes a ready agent whose phone is not registered out of ready (not
        ready, reason ``no_phone``); False when the agent was not ready any more (on a call,
        gone on a break) and nothing changed. Stored as the supervisors' ``force_not_ready``
        event with no one named as its author, as the ACD's changes are, and announced as
        any other change (callcenter/acd/phones.py)."""
        return await self._taken_out(agent_id, NO_PHONE)

    async def desk_closed(self, agent_id: int) -> bool:
        """The system takes a ready agent whose desk is closed out of ready (not ready, reason
        ``desk_closed``; callcenter/cti/desk_watch.py), as :meth:`phone_lost` does."""
        return await self._taken_out(agent_id, DESK_CLOSED)

    async def _taken_out(self, agent_id: int, reason: str) -> bool:

        def only_from_ready(state: AgentState) -> AgentEvent:
            if state is not AgentState.READY:
                raise _NotReady
            return AgentEvent.FORCE_NOT_READY

        change = StateChange(
            agent_id,
            only_from_ready,
            self._clock(),
            reason=reason,
            reasons=self.reasons | {reason},
        )
        try:
            record = await self._store.apply_and_read(change)
        except _NotReady:
            return False
        for watcher in self._watchers:
            watcher.agent_changed(record)
        self.announce(record.agent_id, record.status, origin="acd")
        return True

    async def _person(
        self,
        agent_id: int,
        event: AgentEvent | Callable[[AgentState], AgentEvent],
        *,
        by: int,
        reason: str | None = None,
        forced: bool = False,
        needs_phone: bool = False,
    ) -> AgentRecord:
        if needs_phone and self.phones is not None:
            # Check before the change's transaction: a phone that unregisters after this
            # check is caught by the PhoneWatch, which hears the agent's "ready".
            await self.phones.require(agent_id)
        change = StateChange(
            agent_id,
            event,
            self._clock(),
            by_user_id=by,
            reason=reason,
            reasons=self.reasons,
            forced=forced,
        )
        record = await self._store.apply_and_read(change)  # check, act
        for watcher in self._watchers:  # the ACD's picture first: a ready agent is routed
            watcher.agent_changed(record)
        self.announce(record.agent_id, record.status, origin="api")
        return record

    # --- the ACD's changes --------------------------------------------------------------------

    async def apply(
        self,
        agent_id: int,
        event: AgentEvent,
        *,
        interaction_id: int | None = None,
        pop_client_id: int | None = None,
        announce: bool = True,
    ) -> AgentStatus:
        """A change the ACD makes in a call's story; ``announce=False`` leaves the
        announcement to the ACD (:meth:`announce`), once the phone is dialled."""
        change = StateChange(
            agent_id,
            event,
            self._clock(),
            interaction_id=interaction_id,
            pop_client_id=pop_client_id,
            urgent=event is AgentEvent.OFFER,
        )
        status = await self._store.apply(change)
        if announce:
            self.announce(agent_id, status, origin="acd")
        return status

    def announce(self, agent_id: int, status: AgentStatus, *, origin: AgentStateOrigin) -> None:
        self._bus.publish(
            AgentStateChanged(
                agent_id=agent_id, state=status.state, reason=status.reason, origin=origin
            )
        )
