"""No "ready" without a desk (issue 19, point 3): an agent who closes the desktop (or whose
every page went silent) is taken out of ready.

A ready agent with no desk open is offered calls whose pop nobody sees and whose wrap-up
nobody writes; with the browser softphone the phone goes with the page too. So when the last
of an agent's connections to ``/ws`` closes (the page closed or reloaded, the network gone:
the hub closes a connection silent for three heartbeats), a timer of
``agent_desk_grace_seconds`` starts; a page that comes back meanwhile (a reload, a short
network drop) stops it. When it runs out and the agent is still ready with no desk open, the
system sets them not ready with reason ``desk_closed`` (``AgentStates.desk_closed``, stored
and announced as any change of the system's). An agent on a call or in wrap-up keeps it, and
is checked again whenever ``agent.state`` says they became ready (wrap-up ended by itself, a
supervisor made them ready): that starts the same timer when they have no desk open.

At the service's start no desk is connected yet: every agent already ready gets a longer
first grace (the heartbeat window), so that desks reconnecting after a restart keep their
agents ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from callcenter.acd.model import AgentState
from callcenter.events import AgentStateChanged, EventBus, EventSubscription

log = logging.getLogger(__name__)


class DeskLoser(Protocol):
    """The owner of agents' states (callcenter/acd/agent_states.py AgentStates)."""

    async def desk_closed(self, agent_id: int) -> bool: ...


class DeskWatch:
    """Told by the hub when a user's first desk opens and their last one closes."""

    def __init__(
        self,
        states: DeskLoser,
        events: EventBus,
        *,
        grace_seconds: float,
        start_grace_seconds: float,
        ready_agents: Callable[[], Awaitable[list[int]]],
    ) -> None:
        self.states = states
        self.events = events
        self.grace_seconds = grace_seconds
        self.start_grace_seconds = max(start_grace_seconds, grace_seconds)
        self.ready_agents = ready_agents  # who is ready now (at the start)
        self._open: dict[int, int] = {}  # user id -> desks open
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._checks: set[asyncio.Task[None]] = set()
        self.taken_out = 0

    # --- told by the hub -------------------------------------------------------------------

    def opened(self, user_id: int) -> None:
        self._open[user_id] = self._open.get(user_id, 0) + 1
        timer = self._timers.pop(user_id, None)
        if timer is not None:
            timer.cancel()

    def closed(self, user_id: int) -> None:
        left = self._open.get(user_id, 0) - 1
        if left > 0:
            self._open[user_id] = left
            return
        self._open.pop(user_id, None)
        self._arm(user_id, self.grace_seconds)

    def has_desk(self, user_id: int) -> bool:
        return user_id in self._open

    # --- the service's task ----------------------------------------------------------------

    async def run(self) -> None:
        """Arm the first grace of every agent ready at the start, then arm a grace for each
        agent who becomes ready with no desk open; until cancelled."""
        with self.events.subscribe(
            lambda e: (
                isinstance(e.payload, AgentStateChanged) and e.payload.state is AgentState.READY
            )
        ) as ready:
            try:
                for agent_id in await self.ready_agents():
                    if not self.has_desk(agent_id):
                        self._arm(agent_id, self.start_grace_seconds)
                await self._follow(ready)
            finally:
                for timer in self._timers.values():
                    timer.cancel()
                self._timers.clear()
                for check in list(self._checks):
                    check.cancel()

    async def _follow(self, ready: EventSubscription) -> None:
        while True:
            try:
                envelope = await ready.get()
            except StopAsyncIteration:
                return
            payload = envelope.payload
            assert isinstance(payload, AgentStateChanged)
            if not self.has_desk(payload.agent_id) and payload.agent_id not in self._timers:
                self._arm(payload.agent_id, self.grace_seconds)

    def _arm(self, agent_id: int, seconds: float) -> None:
        old = self._timers.pop(agent_id, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[agent_id] = loop.call_later(seconds, self._expired, agent_id)

    def _expired(self, agent_id: int) -> None:
        self._timers.pop(agent_id, None)
        if self.has_desk(agent_id):
            return
        check = asyncio.get_running_loop().create_task(
            self._take_out(agent_id), name=f"desk-gone-{agent_id}"
        )
        self._checks.add(check)
        check.add_done_callback(self._checks.discard)

    async def _take_out(self, agent_id: int) -> None:
        try:
            if not self.has_desk(agent_id) and await self.states.desk_closed(agent_id):
                self.taken_out += 1
                log.info("agent %s: no desk open: not ready (desk_closed)", agent_id)
        except Exception:  # the database: the agent's next ready checks again
            log.exception("agent %s: not taken out of ready for a closed desk", agent_id)
