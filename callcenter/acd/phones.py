"""No "ready" without a phone that can ring (issue 16).

An agent who goes ready with no phone registered is offered the next call, which rings
nothing and is counted "missed" against them. So:

* **Refused**: going ready (the agent's own "ready", the login that leads to ready, a
  supervisor forcing ready) while the agent's phone is not registered is refused with 409
  ``phone-not-registered``, naming the extension (:meth:`PhoneCheck.require`).
* **Cannot tell**: while the service cannot see the PBX (the AMI link is down, or its first
  snapshot of registrations has not come), going ready is refused too, with 409
  ``phone-state-unknown``: a call routed to a phone nobody can see is the failure this rule
  exists to prevent, and while the link is down no call reaches the ACD anyway (the
  dialplan's fallback takes them). Agents who were ready stay ready meanwhile: nobody is taken
  out on a guess, and a restart does not disturb the calls it adopts.
* **Taken out**: an agent who is ready when their phone unregisters (or is found
  unregistered by the snapshot of a new AMI session, after a restart) is set not ready with
  reason ``no_phone`` by the system, as a normal state change (``agent.state``, stored with
  the supervisor's event ``force_not_ready`` and no ``by_user_id``, as the ACD's changes
  are). Only ready agents: one on a call or in wrap-up keeps it, and is checked again when
  wrap-up makes them ready (:class:`PhoneWatch` follows every ``agent.state`` that says
  ready).

The registrations come from the PBX through the :class:`PhoneRegistry` port
(callcenter/pbx/registrations.py); the agents' extensions from the :class:`AgentPhones` store.
A service without a PBX (``pbx_enabled=False``: the API tests, a CRM-only deployment) has no
phone to ring and no check (:class:`PhoneCheck` is not built; docs/acd.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from callcenter.acd.model import AgentState
from callcenter.acd.ports import PhoneRegistry
from callcenter.errors import Conflict
from callcenter.events import AgentStateChanged, EventBus, EventSubscription

log = logging.getLogger(__name__)

NO_PHONE = "no_phone"  # the not-ready reason the system sets when the phone goes


class PhoneNotRegistered(Conflict):
    error_id = "phone-not-registered"


class PhoneStateUnknown(Conflict):
    error_id = "phone-state-unknown"


class AgentPhones(Protocol):
    """The agents' phones as stored (users.extension)."""

    async def extension_of(self, agent_id: int) -> str | None:
        """The agent's extension (None: none); AgentNotFound for an unknown agent."""

    async def ready_agents(self) -> list[tuple[int, str | None]]:
        """Every agent ready now, with their extension."""


class PhoneCheck:
    """Asks the PBX whether an agent's phone can ring."""

    def __init__(self, registry: PhoneRegistry, agents: AgentPhones) -> None:
        self.registry = registry
        self.agents = agents

    async def require(self, agent_id: int) -> None:
        """Return if the agent's phone is registered (or the agent has no extension, which
        the state machine refuses on its own: ``agent-no-extension``); else raise."""
        extension = await self.agents.extension_of(agent_id)
        if not extension:
            return
        registered = await self.registry.registered(extension)
        if registered is None:
            raise PhoneStateUnknown(
                f"cannot see whether phone {extension} is registered: the phone system is "
                "not reachable; try again in a moment",
                extension=extension,
            )
        if not registered:
            raise PhoneNotRegistered(
                f"phone {extension} is not registered: register a phone as {extension} "
                "before going ready",
                extension=extension,
            )


class PhoneLoser(Protocol):
    """The owner of agents' states (callcenter/acd/agent_states.py AgentStates)."""

    async def phone_lost(self, agent_id: int) -> bool: ...


ALL = 0  # in the queue: check every ready agent (agent ids start at 1)


class PhoneWatch:
    """Takes ready agents whose phone is not registered out of ready (reason ``no_phone``).

    It checks every ready agent when a phone unregisters or a new snapshot replaced the
    picture (told by the registry), and the one agent named whenever ``agent.state`` says
    someone became ready (wrap-up ended, a caller gave up while it rang, a supervisor...), so
    that no path to ready skips the rule.
    """

    def __init__(self, check: PhoneCheck, states: PhoneLoser, events: EventBus) -> None:
        self.check = check
        self.states = states
        self.events = events
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        check.registry.watch(self)
        self.taken_out = 0

    def phones_changed(self) -> None:
        self._queue.put_nowait(ALL)

    async def run(self) -> None:
        with self.events.subscribe(
            lambda e: (
                isinstance(e.payload, AgentStateChanged) and e.payload.state is AgentState.READY
            )
        ) as ready:
            async with asyncio.TaskGroup() as tasks:
                pump = tasks.create_task(self._pump(ready), name="phones-ready")
                try:
                    while True:
                        agent_id = await self._queue.get()
                        try:
                            await self._check(agent_id)
                        except Exception:  # the database: the next change checks again
                            log.exception("phones of ready agents not checked")
                finally:
                    pump.cancel()

    async def _pump(self, ready: EventSubscription) -> None:
        while True:
            try:
                envelope = await ready.get()
            except StopAsyncIteration:
                return
            payload = envelope.payload
            assert isinstance(payload, AgentStateChanged)
            self._queue.put_nowait(payload.agent_id)

    async def _check(self, agent_id: int) -> None:
        if agent_id == ALL:
            candidates = await self.check.agents.ready_agents()
        else:
            candidates = [(agent_id, await self.check.agents.extension_of(agent_id))]
        for candidate, extension in candidates:
            if not extension:
                continue
            # Only a phone known to be unregistered: "cannot tell" (None) takes nobody out.
            registered = await self.check.registry.registered(extension)
            if registered is False and await self.states.phone_lost(candidate):
                self.taken_out += 1
                log.info("agent %s: phone %s not registered: not ready", candidate, extension)
