"""The floor as a supervisor's wallboard shows it, folded from the bus's events. Pure.

:class:`FloorState` follows ``agent.state``, ``call.queued``, ``call.offered``,
``call.answered``, ``call.ended``, ``call.abandoned``, ``call.overflowed`` and
``queue.changed`` into the current picture (calls waiting per queue with the time they
entered, agents with state, reason and since when, calls being talked) and keeps today's
figures per queue as running counters.

The counters are the reports' own (:class:`~callcenter.crm.callstats.CallFigures`): the
state is seeded at start from the report of today so far (computed from the interaction
records), and each event then moves a counter the way the report would count the same
call, so the wallboard and the reports agree:

- a call counts in the day its caller first entered a queue, and in the queue it ended in;
  an overflow into another queue takes it out of the source (``overflowed_out``) and into
  the target, and its wait still runs from the first queue (the ACD keeps ``enqueued_at``);
- service level, ASA and abandon rate are the report's formulas (short abandons, under 5 s,
  are left out of the service level and the abandon rate).

The wallboard is built at most once a second (cti/floor_publisher.py; :attr:`FloorState.
changed` says whether anything moved since the last snapshot), so 100 supervisors cost one
snapshot a second, not one message per event each. The caller's number is masked: a
supervisor follows the floor, and opens a client record through the audited REST view.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from callcenter.crm.callstats import (
    DEFAULT_SERVICE_LEVEL_SECONDS,
    SHORT_ABANDON_SECONDS,
    CallFigures,
)
from callcenter.cti.floor_model import (
    AgentView,
    LiveCall,
    SeedCall,
    Tally,
    WaitingCall,
    mask_number,
)
from callcenter.events import Event

__all__ = ["FLOOR_TOPIC", "AgentView", "FloorState", "LiveCall", "SeedCall", "mask_number"]

log = logging.getLogger(__name__)

FLOOR_TOPIC = "floor.snapshot"
FOLDED_TOPICS = frozenset(
    {
        "agent.state",
        "call.queued",
        "call.offered",
        "call.answered",
        "call.ended",
        "call.abandoned",
        "call.overflowed",
        "queue.changed",
    }
)
LOGGED_OUT = "logged_out"


@dataclass
class FloorState:
    """The floor now and today's figures; feed it every bus event with :meth:`apply`."""

    tz: dt.tzinfo = dt.UTC  # the business day's time zone (settings.business_timezone)
    service_level_seconds: Mapping[str, float] = field(default_factory=dict)  # by queue
    day: dt.date | None = None
    queues: dict[str, dict[str, WaitingCall]] = field(default_factory=dict)
    agents: dict[int, AgentView] = field(default_factory=dict)
    live: dict[str, LiveCall] = field(default_factory=dict)
    _tallies: dict[str, Tally] = field(default_factory=dict)
    # Calls an overflow sent back to the IVR: queued again, they are the same call.
    _parked: dict[str, WaitingCall] = field(default_factory=dict)
    _changed: bool = True

    # -- seeding -----------------------------------------------------------------------

    def seed(
        self,
        day: dt.date,
        figures: Mapping[str, CallFigures],
        waiting: Iterable[SeedCall] = (),
        *,
        live: Iterable[LiveCall] = (),
        agents: Iterable[AgentView] = (),
    ) -> None:
        """Start from the report of ``day`` so far (per queue), the calls waiting and being
        talked now, and the agents' stored states (logged-out agents stay off the board)."""
        self.day = day
        self._tallies = {queue: Tally.of(f) for queue, f in figures.items()}
        for call in waiting:
            counted = self._day_of(call.enqueued_at) == day
            self._waiting(call.queue)[call.call_id] = WaitingCall(
                call.call_id, call.queue, call.enqueued_at, counted, None, call.caller, call.tier
            )
        for talk in live:
            self.live[talk.call_id] = talk
        for agent in agents:
            if agent.state != LOGGED_OUT:
                self.agents[agent.agent_id] = agent
        self._changed = True

    # -- folding -----------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Fold one bus event in; topics the floor does not follow are ignored."""
        self.roll_day(event.at)
        handler = _HANDLERS.get(event.topic)
        if handler is None:
            return
        try:
            handler(self, event)
        except (KeyError, TypeError, ValueError) as exc:
            # A malformed event must not stop the wallboard: it is logged (topic and seq
            # only: the data may name a caller) and the picture stays as it was.
            log.warning("floor: event %s #%d ignored (%s)", event.topic, event.seq, exc)
            return
        self._changed = True

    def _day_of(self, at: dt.datetime) -> dt.date:
        return at.astimezone(self.tz).date()

    def roll_day(self, at: dt.datetime) -> None:
        """Start a new business day's figures if ``at`` is past the current one."""
        today = self._day_of(at)
        if self.day is None:
            self.day = today
        elif today > self.day:
            # A new business day: the figures start again; calls waiting across midnight
            # belong to yesterday's figures (the report counts a call by its queued_at).
            self.day = today
            self._tallies = {}
            self._parked = {}  # calls that ended in the IVR leave no event: forget them
            for calls in self.queues.values():
                for call in calls.values():
                    call.counted_today = False
            self._changed = True

    def _waiting(self, queue: str) -> dict[str, WaitingCall]:
        return self.queues.setdefault(queue, {})

    def _tally(self, queue: str) -> Tally:
        return self._tallies.setdefault(queue, Tally())

    def _take_waiting(self, call_id: str) -> WaitingCall | None:
        for calls in self.queues.values():
            call = calls.pop(call_id, None)
            if call is not None:
                return call
        return None

    def _threshold(self, queue: str) -> float:
        return self.service_level_seconds.get(queue, DEFAULT_SERVICE_LEVEL_SECONDS)

    def _agent_state(self, event: Event) -> None:
        agent_id = _int(event.data["agent_id"])
        state = str(event.data["state"])
        if state == LOGGED_OUT:
            self.agents.pop(agent_id, None)
            return
        reason = event.data.get("reason")
        self.agents[agent_id] = AgentView(agent_id, state, _opt_str(reason), event.at)

    def _queued(self, event: Event) -> None:
        call_id, queue = str(event.data["call_id"]), str(event.data["queue"])
        priority = event.data.get("priority")
        again = self._take_waiting(call_id) or self._parked.pop(call_id, None)
        if again is not None:
            # The same call again: one a restart left waiting, or one the IVR queues again
            # after an overflow sent it there. Its record keeps the first queued_at, so the
            # report counts it once, from then.
            if again.counted_today and queue != again.queue:
                self._tally(again.queue).offered -= 1
                self._tally(queue).offered += 1
                if again.sent_to_ivr:
                    self._tally(again.queue).to_ivr -= 1
                    self._tally(queue).to_ivr += 1
            again.queue = queue
            again.priority = priority if type(priority) is int else again.priority
            self._waiting(queue)[call_id] = again
            return
        caller = mask_number(_opt_str(event.data.get("caller_number")))
        tier = _opt_str(event.data.get("tier"))
        self._waiting(queue)[call_id] = WaitingCall(
            call_id,
            queue,
            event.at,
            counted_today=True,
            priority=priority if type(priority) is int else None,
            caller=caller,
            tier=tier,
        )
        self._tally(queue).offered += 1

    def _offered(self, event: Event) -> None:
        call_id = str(event.data["call_id"])
        # call.queued named them already; the offer may know the client better by now.
        caller = mask_number(_opt_str(event.data.get("caller_number")))
        tier = _opt_str(event.data.get("tier"))
        for calls in self.queues.values():
            if call_id in calls:
                call = calls[call_id]
                call.caller, call.tier = caller or call.caller, tier or call.tier

    def _answered(self, event: Event) -> None:
        call_id, agent_id = str(event.data["call_id"]), _int(event.data["agent_id"])
        call = self._take_waiting(call_id)
        queue = str(event.data.get("queue") or (call.queue if call else ""))
        if call is not None and call.counted_today:
            wait = max(0.0, (event.at - call.enqueued_at).total_seconds())
            tally = self._tally(call.queue)
            if call.sent_to_ivr:  # answered in the end: no longer the IVR's
                tally.to_ivr -= 1
            tally.answered += 1
            tally.answer_wait_seconds += wait
            if wait <= self._threshold(call.queue):
                tally.answered_in_threshold += 1
        self.live[call_id] = LiveCall(
            call_id,
            queue,
            agent_id,
            event.at,
            caller=None if call is None else call.caller,
            tier=None if call is None else call.tier,
        )

    def _ended(self, event: Event) -> None:
        call_id = str(event.data["call_id"])
        live = self.live.get(call_id)
        # Only the agent whose part ended leaves the board. (After a transfer the caller
        # talks on with the target, but call control announces no call.answered for the
        # target yet: the call leaves the board with the first agent's part.)
        if live is not None and live.agent_id == event.data.get("agent_id"):
            del self.live[call_id]

    def _abandoned(self, event: Event) -> None:
        call_id = str(event.data["call_id"])
        call = self._take_waiting(call_id)
        if call is None or not call.counted_today or call.sent_to_ivr:
            return  # a call the IVR had back stays the IVR's (to_ivr), as the report counts
        tally = self._tally(call.queue)
        tally.abandoned += 1
        # From the first queued_at, as the report counts: the event's waited_seconds runs
        # from the ACD's last take (after a restart, or the IVR queueing it again), so it
        # can only be shorter; null when the caller hung up while the service was down.
        waited = event.data.get("waited_seconds")
        seconds = (event.at - call.enqueued_at).total_seconds()
        if waited is not None:
            seconds = max(seconds, float(waited))
        if seconds < SHORT_ABANDON_SECONDS:
            tally.short_abandoned += 1

    def _overflowed(self, event: Event) -> None:
        call_id = str(event.data["call_id"])
        call = self._take_waiting(call_id)
        if call is None:
            return
        to_queue = event.data.get("to_queue")
        if to_queue is None:  # back to the caller's IVR flow: the queue's outcome is to_ivr
            if call.counted_today and not call.sent_to_ivr:
                self._tally(call.queue).to_ivr += 1
            call.sent_to_ivr = True
            self._parked[call_id] = call  # the IVR may queue it again
            return
        target = str(to_queue)
        if call.counted_today:
            source = self._tally(call.queue)
            source.offered -= 1
            source.overflowed_out += 1
            if call.sent_to_ivr:  # the report reads the last overflow: now into a queue
                source.to_ivr -= 1
            self._tally(target).offered += 1
        call.sent_to_ivr = False
        call.queue = target
        self._waiting(target)[call_id] = call

    def _queue_changed(self, event: Event) -> None:
        self._waiting(str(event.data["queue"]))

    # -- the wallboard -----------------------------------------------------------------

    @property
    def changed(self) -> bool:
        """Whether anything moved since the last :meth:`snapshot`."""
        return self._changed

    def figures(self, queue: str) -> CallFigures:
        """Today's figures of ``queue`` as the report computes them."""
        return self._tally(queue).figures(
            sum(c.counted_today and not c.sent_to_ivr for c in self.queues.get(queue, {}).values())
        )

    def snapshot(self, now: dt.datetime) -> dict[str, Any]:
        """The ``floor.snapshot`` message's data (JSON-ready); clears :attr:`changed`."""
        self._changed = False
        return self.view(now)

    def view(self, now: dt.datetime) -> dict[str, Any]:
        """The same picture as :meth:`snapshot`, for one reader (:attr:`changed` stays)."""
        names = sorted(set(self.queues) | set(self._tallies))
        return {
            "day": None if self.day is None else self.day.isoformat(),
            "queues": [self._queue_row(name, now) for name in names],
            "agents": [
                {
                    "agent_id": a.agent_id,
                    "state": a.state,
                    "reason": a.reason,
                    "since": a.since.isoformat(),
                    "seconds_in_state": _elapsed(a.since, now),
                }
                for a in sorted(self.agents.values(), key=lambda a: a.agent_id)
            ],
            "waiting": [
                {
                    "call_id": w.call_id,
                    "caller": w.caller,
                    "tier": w.tier,
                    "queue": w.queue,
                    "priority": w.priority,
                    "waiting_since": w.enqueued_at.isoformat(),
                    "wait_seconds": _elapsed(w.enqueued_at, now),
                }
                for w in sorted(
                    (w for calls in self.queues.values() for w in calls.values()),
                    key=lambda w: w.enqueued_at,
                )
            ],
            "calls": [
                {
                    "call_id": c.call_id,
                    "caller": c.caller,
                    "tier": c.tier,
                    "queue": c.queue,
                    "agent_id": c.agent_id,
                    "answered_at": c.answered_at.isoformat(),
                    "duration_seconds": _elapsed(c.answered_at, now),
                }
                for c in sorted(self.live.values(), key=lambda c: c.answered_at)
            ],
        }

    def _queue_row(self, name: str, now: dt.datetime) -> dict[str, Any]:
        waiting = self.queues.get(name, {})
        oldest = min((c.enqueued_at for c in waiting.values()), default=None)
        figures = self.figures(name)
        return {
            "queue": name,
            "waiting": len(waiting),
            "longest_wait_seconds": None if oldest is None else _elapsed(oldest, now),
            # The page counts the wait on by itself between two snapshots.
            "longest_waiting_since": None if oldest is None else oldest.isoformat(),
            "offered": figures.offered,
            "answered": figures.answered,
            "service_level": _round(figures.service_level, 4),
            "asa_seconds": _round(figures.asa_seconds, 1),
            "abandon_rate": _round(figures.abandon_rate, 4),
        }


def _int(value: object) -> int:
    if type(value) is not int:  # bool is an int in Python: True is not agent 1
        raise TypeError(f"not an id: {type(value).__name__}")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _elapsed(since: dt.datetime, now: dt.datetime) -> int:
    return max(0, int((now - since).total_seconds()))


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


_HANDLERS = {
    "agent.state": FloorState._agent_state,
    "call.queued": FloorState._queued,
    "call.offered": FloorState._offered,
    "call.answered": FloorState._answered,
    "call.ended": FloorState._ended,
    "call.abandoned": FloorState._abandoned,
    "call.overflowed": FloorState._overflowed,
    "queue.changed": FloorState._queue_changed,
}
