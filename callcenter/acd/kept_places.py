"""Virtual hold (issue 18, point 2; docs/outbound.md): a waiting caller who asks to be called
back keeps their place, and is dialled when their turn comes.

The story of a kept place:

1. The caller waits; their queue overflows to its IVR node (``overflow_node``), which offers
   a callback. :meth:`KeptPlaces.left` remembers the wait the call leaves: its queue, its
   priority and when it first queued.
2. The caller confirms a callback at a node with ``keep_place: true``. The IVR files the
   callback work item (owned by the queue) and :meth:`KeptPlaces.keep` puts the wait back into
   the router under the call's own id, with its first ``enqueued_at``: the caller hangs up,
   their place stays, and the wallboard counts them as waiting (``call.place_kept``).
3. A decision names an agent for the place, as for any waiting call (the same priorities,
   advisor wait, skills and languages). The agent is held for it in the router (reserved: no
   other call is offered to them) while the client is dialled for them through the
   :class:`~callcenter.acd.ports.CallBacks` port, client first, as a progressive dial.
4. The client answers: their call joins the ACD meant for that agent (:meth:`AcdService.take`
   with ``for_agent``), which releases the hold and routes it to them at once: the pop, then
   the agent's phone. The client does not answer, or nothing may be dialled (calling hours,
   do-not-call): the agent is released, and the work item's own rules go on (its retries).
   Either way the place has been used (``call.place_left``).

Kept places live in memory: after a restart the work items are still there, and the dialler
calls them back as any callback (without their place).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callcenter.acd.calls import NEVER, QueuedCall
from callcenter.acd.model import AgentState, ClientSummary, WaitingCall
from callcenter.acd.policy import CallNotWaiting, UnknownAgent
from callcenter.acd.ports import CallBackResult, CallBacks
from callcenter.events import CallPlaceKept, CallPlaceLeft, PlaceOutcome

if TYPE_CHECKING:
    from callcenter.acd.service import AcdService

log = logging.getLogger(__name__)

LEFT_KEPT_SECONDS = 30 * 60.0  # a wait that went back to the IVR may be kept this long after
REACHED_JOIN_SECONDS = 10.0  # an answered client's call joins the ACD within this
AGENT_BUSY_RETRY_SECONDS = 2.0  # an agent with a dial under way: look again after this

_OUTCOMES: dict[CallBackResult, PlaceOutcome] = {
    CallBackResult.REACHED: "reached",
    CallBackResult.NOT_REACHED: "not_reached",
    CallBackResult.NOT_DIALLED: "not_dialled",
}


@dataclass
class _Left:
    """A wait that went back to the caller's IVR flow (an overflow to its node)."""

    waiting: WaitingCall
    caller: ClientSummary | None
    interaction_id: int | None
    caller_number: str | None
    at: float  # the ACD's clock


@dataclass
class KeptPlace:
    """A place kept for a caller who hung up: waiting in the router under ``call_id``."""

    item_id: int
    waiting: WaitingCall
    caller: ClientSummary | None
    interaction_id: int | None
    agent: int | None = None  # set by a decision: whose turn it is
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def call_id(self) -> str:
        return self.waiting.call_id


class KeptPlaces:
    def __init__(self, acd: AcdService, call_backs: CallBacks | None = None) -> None:
        self._acd = acd
        self.call_backs = call_backs  # None: no dialler (no PBX): no place is kept
        self._left: dict[str, _Left] = {}
        self._kept: dict[str, KeptPlace] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Agents held for a kept place's dial, by agent: the place's call id; and the event
        # set when the answered client's call reached the ACD (it releases the hold).
        self._holds: dict[int, str] = {}
        self._joined: dict[int, asyncio.Event] = {}

    # --- the ACD's calls in --------------------------------------------------------------

    def left(self, queued: QueuedCall) -> None:
        """The call's wait goes back to its IVR flow (an overflow to its node): remembered, so
        that a callback asked for there keeps its place."""
        now = self._acd.now()
        for call_id in [k for k, v in self._left.items() if now - v.at > LEFT_KEPT_SECONDS]:
            del self._left[call_id]
        self._left[queued.call_id] = _Left(
            queued.waiting,
            queued.caller,
            queued.interaction_id,
            queued.leg.caller_number or None,
            now,
        )

    def forget(self, call_id: str) -> None:
        """The call queues again (its caller chose to wait on): its old wait is not kept, and
        a place already kept for it (a flow that queues a caller after booking their call
        back) gives way to the caller in person."""
        self._left.pop(call_id, None)
        place = self._kept.get(call_id)
        if place is not None and place.task is not None:
            log.info("call %s queues again in person: its kept place ends", call_id)
            place.task.cancel()
            self._kept.pop(call_id, None)
            with contextlib.suppress(CallNotWaiting):
                self._acd.router.remove_call(call_id)

    def waited_in(self, call_id: str) -> str | None:
        """The queue ``call_id`` waited in before its IVR node, if a place may be kept."""
        if self.call_backs is None:
            return None
        left = self._left.get(call_id)
        return None if left is None else left.waiting.queue

    def keep(self, call_id: str, item_id: int) -> bool:
        """The caller of ``call_id`` asked for callback ``item_id`` keeping their place: the
        wait goes back into its queue, from its first ``enqueued_at``. False when there is no
        wait to keep (not sent here by a queue, or kept already)."""
        left = self._left.pop(call_id, None)
        if left is None or self.call_backs is None or call_id in self._kept:
            return False
        acd = self._acd
        place = KeptPlace(item_id, left.waiting, left.caller, left.interaction_id)
        try:
            acd.router.add_call(place.waiting)
        except Exception:  # the queue is gone, or the call id waits already
            log.exception("call %s: its place could not be kept", call_id)
            return False
        self._kept[call_id] = place
        waited = acd.now() - place.waiting.enqueued_at
        acd.events.publish(
            CallPlaceKept(
                call_id=call_id,
                interaction_id=place.interaction_id,
                item_id=item_id,
                queue=place.waiting.queue,
                priority=place.waiting.priority,
                waiting_since=acd.wallclock() - dt.timedelta(seconds=max(0.0, waited)),
                caller_number=left.caller_number,
                tier=left.caller.tier if left.caller else None,
            )
        )
        log.info(
            "call %s keeps its place in %s (work item %s, waited %.1f s)",
            call_id,
            place.waiting.queue,
            item_id,
            waited,
        )
        task = asyncio.get_running_loop().create_task(self._serve(place), name=f"kept-{call_id}")
        place.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def is_kept(self, call_id: str) -> bool:
        return call_id in self._kept

    def assigned(self, call_id: str, agent_id: int) -> None:
        """A decision named ``agent_id`` for the kept place ``call_id`` (the router reserved
        them)."""
        place = self._kept[call_id]
        place.agent = agent_id
        place.wake.set()

    def joined(self, agent_id: int) -> None:
        """A client dialled for ``agent_id`` joins the ACD (``take`` with ``for_agent``): if
        the agent is held for a kept place's dial, the hold ends here, so that the call goes
        to them (they are ready again in the router, without being offered anything else)."""
        if self._holds.pop(agent_id, None) is None:
            return
        joined = self._joined.pop(agent_id, None)
        if joined is not None:
            joined.set()
        self._unreserve(agent_id)

    def cancel_all(self) -> list[asyncio.Task[None]]:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        return tasks

    # --- a kept place's task --------------------------------------------------------------

    async def _serve(self, place: KeptPlace) -> None:
        acd = self._acd
        outcome: PlaceOutcome = "not_dialled"
        agent_id: int | None = None
        try:
            while True:
                now = acd.now()
                if place.agent is None:
                    agent = acd.router.best_agent_for(place.call_id, now)
                    if agent is not None:
                        acd.assign(place.call_id, agent)
                if place.agent is None:
                    await self._wait(place)
                    continue
                agent_id, place.agent = place.agent, None
                place.wake.clear()
                result = await self._call_back(place, agent_id)
                if result is CallBackResult.AGENT_BUSY:
                    # That agent's own dial is under way: the place waits on for another.
                    acd.router.add_call(place.waiting)
                    await asyncio.sleep(AGENT_BUSY_RETRY_SECONDS)
                    continue
                outcome = _OUTCOMES[result]
                return
        finally:
            if self._kept.get(place.call_id) is place:
                del self._kept[place.call_id]
                with contextlib.suppress(CallNotWaiting):
                    acd.router.remove_call(place.call_id)
            acd.events.publish(
                CallPlaceLeft(
                    call_id=place.call_id,
                    item_id=place.item_id,
                    queue=place.waiting.queue,
                    agent_id=agent_id,
                    outcome=outcome,
                )
            )
            log.info("kept place of call %s: %s", place.call_id, outcome)

    async def _wait(self, place: KeptPlace) -> None:
        """Until a decision names an agent, or the advisor's wait ends."""
        acd = self._acd
        place.wake.clear()
        widens = acd.router.widens_at(place.call_id)
        timeout = None if widens is None or widens == NEVER else max(0.0, widens - acd.now())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await place.wake.wait()

    async def _call_back(self, place: KeptPlace, agent_id: int) -> CallBackResult:
        """The place's turn came for ``agent_id`` (held in the router): dial the client for
        them, and end the hold unless the client's call took it over."""
        assert self.call_backs is not None
        acd = self._acd
        self._holds[agent_id] = place.call_id
        joined = self._joined[agent_id] = asyncio.Event()
        log.info("kept place of call %s: its turn, for agent %s", place.call_id, agent_id)
        result = CallBackResult.NOT_DIALLED
        try:
            result = await self.call_backs.call_back(agent_id, place.item_id)
            if result is CallBackResult.REACHED:
                # Their call is on its way into the ACD, which ends the hold; if it never
                # comes (the client hung up at once), the agent is released here.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(REACHED_JOIN_SECONDS):
                        await joined.wait()
        except Exception:
            log.exception("kept place of call %s: the call back failed", place.call_id)
        finally:
            if self._holds.get(agent_id) == place.call_id:
                del self._holds[agent_id]
                self._joined.pop(agent_id, None)
                self._unreserve(agent_id)
                if result is not CallBackResult.AGENT_BUSY:
                    acd.ready_again(agent_id)
        return result

    def _unreserve(self, agent_id: int) -> None:
        """The router's hold on the agent ends: ready again if they still are (their own
        state changes meanwhile were mirrored over the hold and stand)."""
        acd = self._acd
        try:
            if acd.router.agent_state(agent_id) is AgentState.RESERVED:
                acd.router.set_agent_state(agent_id, AgentState.READY, acd.now())
        except UnknownAgent:  # logged out meanwhile
            pass
