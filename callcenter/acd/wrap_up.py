"""Wrap-up: the agent's after-call work, on a timer the agent may end early or extend.

A call's wrap-up starts when the agent's part of it ends, and lasts the queue's
``wrap_up_seconds``; then the agent is made ready (``wrap_up_done``) and the record's wrap-up
phase closes. An agent still writing their notes extends it (``POST
/api/agents/me/wrap-up/extend``): each extension adds the rules' ``extend_seconds`` (by
default the queue's own wrap-up time) or the amount asked for, but never past the call's
limit, ``limit_seconds`` after the wrap-up began (at least the queue's own wrap-up): nobody
hides in wrap-up for ever, and a supervisor sees each extension (``call.wrap_up`` on the bus,
and the agent's wrap-up over the API). At the limit the extension is refused (409
``wrap-up-limit-reached``); the notes can still be saved once wrap-up is over (the late
disposition, callcenter/crm/interactions.py).

The deadline runs on the ACD's clock (the event loop's in service; a test's jumps), and a
change of it (an extension, a test's jump: :meth:`WrapUps.recheck`) wakes the timer to look
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callcenter.acd.agents import AgentEvent
from callcenter.errors import Conflict
from callcenter.events import CallWrapUp

if TYPE_CHECKING:
    from callcenter.acd.service import AcdService

log = logging.getLogger(__name__)

DEFAULT_LIMIT_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class WrapUpRules:
    """How far wrap-up may be extended (settings ``CALLCENTER_WRAP_UP_EXTEND_SECONDS`` and
    ``CALLCENTER_WRAP_UP_LIMIT_SECONDS``)."""

    extend_seconds: float | None = None  # one extension; None: the queue's wrap-up time
    limit_seconds: float = DEFAULT_LIMIT_SECONDS  # one call's whole wrap-up, extensions included


class NotInWrapUp(Conflict):
    error_id = "agent-not-in-wrap-up"


class WrapUpLimitReached(Conflict):
    error_id = "wrap-up-limit-reached"


@dataclass
class WrapUp:
    """One agent's running wrap-up."""

    agent_id: int
    interaction_id: int | None
    base_seconds: float  # the queue's wrap-up time: what one extension adds by default
    due: float  # on the ACD's clock
    ends_at: dt.datetime  # the same deadline, on the wall clock (what the desk shows)
    limit_at: dt.datetime
    limit_due: float
    extended_seconds: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def event(self) -> CallWrapUp:
        return CallWrapUp(
            agent_id=self.agent_id,
            interaction_id=self.interaction_id,
            ends_at=self.ends_at,
            limit_at=self.limit_at,
            extended_seconds=round(self.extended_seconds),
        )


class WrapUps:
    """The wrap-up timers of the ACD's agents, one per agent at most."""

    def __init__(self, acd: AcdService, rules: WrapUpRules) -> None:
        self._acd = acd
        self.rules = rules
        self._running: dict[int, WrapUp] = {}

    def of(self, agent_id: int) -> WrapUp | None:
        return self._running.get(agent_id)

    def start(
        self,
        agent_id: int,
        interaction_id: int | None,
        seconds: float,
        *,
        base_seconds: float | None = None,
    ) -> WrapUp:
        """Wrap-up for ``seconds`` from now (what is left of one, after a restart)."""
        self.cancel(agent_id)
        acd = self._acd
        now, wall = acd.now(), acd.wallclock()
        base = seconds if base_seconds is None else base_seconds
        # The limit counts from the wrap-up's start; a resumed one started ``base - seconds``
        # ago.
        limit = max(self.rules.limit_seconds, base) - max(base - seconds, 0.0)
        wrap = WrapUp(
            agent_id=agent_id,
            interaction_id=interaction_id,
            base_seconds=base,
            due=now + seconds,
            ends_at=wall + dt.timedelta(seconds=seconds),
            limit_at=wall + dt.timedelta(seconds=limit),
            limit_due=now + limit,
        )
        wrap.task = asyncio.create_task(self._run(wrap), name=f"wrap-up-{agent_id}")
        self._running[agent_id] = wrap
        acd.events.publish(wrap.event())
        return wrap

    def extend(self, agent_id: int, seconds: float | None = None) -> WrapUp:
        """Add ``seconds`` (else the rules' amount, else the queue's wrap-up time), up to the
        limit. Check, act, announce: the new deadline goes to the agent's desk."""
        wrap = self._running.get(agent_id)
        if wrap is None:
            raise NotInWrapUp("you are not in wrap-up", agent_id=agent_id)
        if wrap.due >= wrap.limit_due:
            raise WrapUpLimitReached(
                "the wrap-up of this call is at its limit; save the notes, they are kept "
                "after wrap-up ends",
                limit_at=wrap.limit_at.isoformat(),
            )
        asked = seconds if seconds is not None else self.rules.extend_seconds
        step = min(asked if asked is not None else wrap.base_seconds, wrap.limit_due - wrap.due)
        step = max(step, 0.0)
        wrap.due += step
        wrap.ends_at += dt.timedelta(seconds=step)
        wrap.extended_seconds += step
        wrap.wake.set()
        log.info(
            "agent %s: wrap-up of interaction %s extended by %.0f s (%.0f s in all)",
            agent_id,
            wrap.interaction_id,
            step,
            wrap.extended_seconds,
        )
        self._acd.events.publish(wrap.event())
        return wrap

    def cancel(self, agent_id: int) -> None:
        wrap = self._running.pop(agent_id, None)
        if wrap is not None and wrap.task is not None and wrap.task is not asyncio.current_task():
            wrap.task.cancel()

    def recheck(self) -> None:
        """Every timer looks at the clock again (a clock that jumps: tests)."""
        for wrap in self._running.values():
            wrap.wake.set()

    def cancel_all(self) -> list[asyncio.Task[None]]:
        tasks = [w.task for w in self._running.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        self._running.clear()
        return tasks

    async def _run(self, wrap: WrapUp) -> None:
        acd = self._acd
        while (left := wrap.due - acd.now()) > 0:
            wrap.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wrap.wake.wait(), left)
                continue  # extended, or the clock moved: look again
            break  # the whole time left has passed
        if self._running.get(wrap.agent_id) is wrap:
            del self._running[wrap.agent_id]
        try:
            await acd.agent_event(wrap.agent_id, AgentEvent.WRAP_UP_DONE)
        except Conflict:
            return  # the agent ended it first, or went not ready
        if wrap.interaction_id is not None:
            await acd.store.wrapped_up(wrap.interaction_id, acd.wallclock())
        acd.ready_again(wrap.agent_id)
