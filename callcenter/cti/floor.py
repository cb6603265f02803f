"""The floor as a supervisor's wallboard shows it, folded from the bus's events. Pure.

:class:`FloorState` follows ``agent.state``, ``call.queued``, ``call.offered``,
``call.answered``, ``call.ended``, ``call.abandoned``, ``call.overflowed`` and
``queue.changed`` into the current picture (calls waiting per queue with the time they
entered, agents with state, reason and since when, calls being talked) and keeps today's
figures per queue as running counters.

The counters are the reports' own (:class:`~callcenter.crm.callstats.CallFigures`), and so
are the rules that move them: the state is seeded at start from the report of today so far
(computed from the interaction records), and each event then re-counts the call it is about
with the functions the report counts with (callcenter/crm/counting.py: which queue and day a
call counts in, its outcome and wait, short abandons, service level, overflows): the call's
old count is taken out of the counters and its new one put in. The floor reads events; what
a call counts as is never decided here.

The wallboard is pushed when the floor changes, at most 5 times a second
(cti/floor_publisher.py; :attr:`FloorState.changed` says whether anything moved since the
last snapshot), so 100 supervisors cost a few snapshots a second, not one message per event
each. The caller's number is masked: a
supervisor follows the floor, and opens a client record through the audited REST view.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcenter.crm.callstats import CallFigures
from callcenter.crm.counting import (
    CallCount,
    QueueTally,
    business_day,
    call_count,
    hop,
    tally_call,
)
from callcenter.cti.floor_model import (
    AgentView,
    LiveCall,
    SeedCall,
    WaitingCall,
    mask_number,
)
from callcenter.events import (
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallOverflowed,
    CallPlaceKept,
    CallPlaceLeft,
    CallQueued,
    Envelope,
    Event,
    FloorSnapshot,
    QueueChanged,
)

__all__ = ["FLOOR_TOPIC", "AgentView", "FloorState", "LiveCall", "SeedCall", "mask_number"]

log = logging.getLogger(__name__)

FLOOR_TOPIC = FloorSnapshot.TOPIC
# The events the floor folds (the handlers at the end of this module).
FOLDED = (
    AgentStateChanged,
    CallQueued,
    CallOffered,
    CallAnswered,
    CallEnded,
    CallAbandoned,
    CallOverflowed,
    CallPlaceKept,
    CallPlaceLeft,
    QueueChanged,
)
FOLDED_TOPICS = frozenset(kind.TOPIC for kind in FOLDED)
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
    _tallies: dict[str, QueueTally] = field(default_factory=dict)
    # Calls an overflow sent back to the IVR: queued again, they are the same call.
    _parked: dict[str, WaitingCall] = field(default_factory=dict)
    # Places kept for callers who hung up asking to be called back (virtual hold), by call:
    # waiting on the board, from when they first queued, but not in today's counters again
    # (their call counts as its record says).
    kept: dict[str, WaitingCall] = field(default_factory=dict)
    # The outbound campaigns' progress as last read (set_campaigns), JSON-ready rows.
    campaigns: list[dict[str, Any]] = field(default_factory=list)
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
        queues: Iterable[str] = (),
    ) -> None:
        """Start from the report of ``day`` so far (per queue), the calls waiting and being
        talked now, and the agents' stored states (logged-out agents stay off the board).

        ``queues`` are the configured queues (the queue store's): each is on the board from
        the start, with zero figures until its first call, so that a supervisor sees a quiet
        queue as quiet rather than missing. A queue added later comes with its
        ``queue.changed``; a queue once on the board stays there, across midnight too."""
        self.day = day
        for name in queues:
            self._waiting(name)
        self._tallies = {queue: f.counts() for queue, f in figures.items()}
        for seeded in waiting:
            call = WaitingCall(
                seeded.call_id,
                seeded.queue,
                seeded.enqueued_at,
                None,
                caller=seeded.caller,
                tier=seeded.tier,
                route=seeded.route,
            )
            if self._day_of(call.enqueued_at) == day:
                # In the report's figures already (waiting, or the IVR's): remember how.
                call.counted = self._count(call)
            self._waiting(call.queue)[call.call_id] = call
        for talk in live:
            self.live[talk.call_id] = talk
        for agent in agents:
            if agent.state != LOGGED_OUT:
                self.agents[agent.agent_id] = agent
        self._changed = True

    # -- folding -----------------------------------------------------------------------

    def apply(self, event: Envelope[Event]) -> None:
        """Fold one bus event in; topics the floor does not follow are ignored."""
        self.roll_day(event.at)
        handler = _HANDLERS.get(type(event.payload))
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
        return business_day(at, self.tz)

    def roll_day(self, at: dt.datetime) -> None:
        """Start a new business day's figures if ``at`` is past the current one."""
        today = self._day_of(at)
        if self.day is None:
            self.day = today
        elif today > self.day:
            # A new business day: the figures start again; calls waiting across midnight,
            # or back in the IVR, belong to yesterday's figures (the report counts a call
            # by its first queued_at). A call the IVR has had since before yesterday ended
            # there long ago (which leaves no event): forget it.
            self.day = today
            self._tallies = {}
            self._parked = {k: c for k, c in self._parked.items() if c.counted is not None}
            for call in self._open_calls():
                call.counted = None
            self._changed = True

    def _open_calls(self) -> list[WaitingCall]:
        """The calls in a queue or back in the IVR: the ones a later event may re-count."""
        return [
            *self._parked.values(),
            *(c for calls in self.queues.values() for c in calls.values()),
        ]

    def _waiting(self, queue: str) -> dict[str, WaitingCall]:
        return self.queues.setdefault(queue, {})

    def _tally(self, queue: str) -> QueueTally:
        return self._tallies.setdefault(queue, QueueTally())

    def _take_waiting(self, call_id: str) -> WaitingCall | None:
        for calls in self.queues.values():
            call = calls.pop(call_id, None)
            if call is not None:
                return call
        return None

    def _count(
        self,
        call: WaitingCall,
        answered_at: dt.datetime | None = None,
        ended_at: dt.datetime | None = None,
    ) -> CallCount:
        return call_count(
            call.queue,
            call.route,
            call.enqueued_at,
            self.service_level_seconds,
            answered_at=answered_at,
            ended_at=ended_at,
        )

    def _recount(
        self,
        call: WaitingCall,
        *,
        answered_at: dt.datetime | None = None,
        ended_at: dt.datetime | None = None,
    ) -> None:
        """Count ``call`` in today's counters as the report will count its record, from
        what is known of it now: its old count out, its new one in."""
        if call.counted is None:
            return  # queued on an earlier day: that day's figures
        tally_call(self._tally, call.counted, times=-1)
        call.counted = self._count(call, answered_at, ended_at)
        tally_call(self._tally, call.counted)

    def _agent_state(self, event: Envelope[AgentStateChanged]) -> None:
        agent_id = event.payload.agent_id
        state = event.payload.state.value
        if state == LOGGED_OUT:
            self.agents.pop(agent_id, None)
            return
        reason = event.payload.reason
        self.agents[agent_id] = AgentView(agent_id, state, _opt_str(reason), event.at)

    def _queued(self, event: Envelope[CallQueued]) -> None:
        call_id, queue = event.payload.call_id, event.payload.queue
        priority = event.payload.priority
        again = self._take_waiting(call_id) or self._parked.pop(call_id, None)
        if again is not None:
            # The same call again: one a restart left waiting, or one the IVR queues again
            # after an overflow sent it there. Its record keeps the first queued_at, so the
            # report counts it once, from then.
            again.queue = queue
            again.priority = priority
            self._waiting(queue)[call_id] = again
            self._recount(again)
            return
        caller = mask_number(event.payload.caller_number)
        tier = _opt_str(event.payload.tier)
        call = WaitingCall(
            call_id,
            queue,
            event.at,
            counted=None,
            priority=priority,
            caller=caller,
            tier=tier,
        )
        self._waiting(queue)[call_id] = call
        if self._day_of(event.at) == self.day:  # not a late event of a day gone by
            call.counted = self._count(call)
            tally_call(self._tally, call.counted)

    def _offered(self, event: Envelope[CallOffered]) -> None:
        call_id = event.payload.call_id
        # call.queued named them already; the offer may know the client better by now.
        caller = mask_number(event.payload.caller_number)
        client = event.payload.client
        tier = _opt_str(client.tier if client else None)
        for calls in self.queues.values():
            if call_id in calls:
                call = calls[call_id]
                call.caller, call.tier = caller or call.caller, tier or call.tier

    def _answered(self, event: Envelope[CallAnswered]) -> None:
        call_id, agent_id = event.payload.call_id, event.payload.agent_id
        call = self._take_waiting(call_id)
        queue = event.payload.queue or (call.queue if call else "")
        if call is not None:
            self._recount(call, answered_at=event.at)
        self.live[call_id] = LiveCall(
            call_id,
            queue,
            agent_id,
            event.at,
            caller=None if call is None else call.caller,
            tier=None if call is None else call.tier,
        )

    def _ended(self, event: Envelope[CallEnded]) -> None:
        call_id = event.payload.call_id
        live = self.live.get(call_id)
        # Only the agent whose part ended leaves the board. (After a transfer the caller
        # talks on with the target, but call control announces no call.answered for the
        # target yet: the call leaves the board with the first agent's part.)
        if live is not None and live.agent_id == event.payload.agent_id:
            del self.live[call_id]

    def _abandoned(self, event: Envelope[CallAbandoned]) -> None:
        call_id = event.payload.call_id
        call = self._take_waiting(call_id)
        if call is None:
            return
        # The wait runs from the first queued_at, as the report counts: the event's
        # waited_seconds runs from the ACD's last take (after a restart, or the IVR queueing
        # it again), so it can only be shorter; null when the caller hung up while the
        # service was down.
        waited = event.payload.waited_seconds
        ended = event.at
        if waited is not None:
            ended = max(ended, call.enqueued_at + dt.timedelta(seconds=float(waited)))
        self._recount(call, ended_at=ended)

    def _overflowed(self, event: Envelope[CallOverflowed]) -> None:
        call_id = event.payload.call_id
        call = self._take_waiting(call_id)
        if call is None:
            return
        to_queue = event.payload.to_queue
        reason = event.payload.reason
        call.route = call.route.then(hop(call.queue, _opt_str(to_queue), _opt_str(reason)))
        if to_queue is None:  # back to the caller's IVR flow, which may queue it again
            self._parked[call_id] = call
        else:  # an overflow, or a supervisor's move
            call.queue = str(to_queue)
            self._waiting(call.queue)[call_id] = call
        self._recount(call)

    def _place_kept(self, event: Envelope[CallPlaceKept]) -> None:
        kept = event.payload
        self._waiting(kept.queue)  # its queue is on the board
        self.kept[kept.call_id] = WaitingCall(
            kept.call_id,
            kept.queue,
            kept.waiting_since,
            None,
            priority=kept.priority,
            caller=mask_number(kept.caller_number),
            tier=_opt_str(kept.tier),
        )

    def _place_left(self, event: Envelope[CallPlaceLeft]) -> None:
        self.kept.pop(event.payload.call_id, None)

    def _queue_changed(self, event: Envelope[QueueChanged]) -> None:
        self._waiting(event.payload.queue)

    def set_campaigns(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """The outbound campaigns' progress per kind (callcenter/outbound/stats.py
        ``campaign_progress``, its rows), as the publisher last read it from the database.
        Read, not folded from events: an item is opened, dialled and closed in many places
        (the dialler, the return-visit script, the follow-ups API, the hourly return visits),
        and the reports count the same rows. Marks the floor changed only if they moved."""
        fresh = [dict(row) for row in rows]
        if fresh != self.campaigns:
            self.campaigns = fresh
            self._changed = True

    # -- the wallboard -----------------------------------------------------------------

    @property
    def changed(self) -> bool:
        """Whether anything moved since the last :meth:`snapshot`."""
        return self._changed

    def figures(self, queue: str) -> CallFigures:
        """Today's figures of ``queue`` as the report computes them."""
        return CallFigures.of_counts(self._tally(queue))

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
                    "kept_place": w.call_id in self.kept,
                }
                for w in sorted(
                    (
                        *(w for calls in self.queues.values() for w in calls.values()),
                        *self.kept.values(),
                    ),
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
            "campaigns": [dict(row) for row in self.campaigns],
        }

    def _queue_row(self, name: str, now: dt.datetime) -> dict[str, Any]:
        kept = [c for c in self.kept.values() if c.queue == name]
        waiting = [*self.queues.get(name, {}).values(), *kept]
        oldest = min((c.enqueued_at for c in waiting), default=None)
        figures = self.figures(name)
        return {
            "queue": name,
            "waiting": len(waiting),  # kept places too: they wait for their turn
            "kept_places": len(kept),
            "longest_wait_seconds": None if oldest is None else _elapsed(oldest, now),
            # The page counts the wait on by itself between two snapshots.
            "longest_waiting_since": None if oldest is None else oldest.isoformat(),
            "offered": figures.offered,
            "answered": figures.answered,
            "service_level": _round(figures.service_level, 4),
            "asa_seconds": _round(figures.asa_seconds, 1),
            "abandon_rate": _round(figures.abandon_rate, 4),
        }


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _elapsed(since: dt.datetime, now: dt.datetime) -> int:
    return max(0, int((now - since).total_seconds()))


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# By the event's class: each handler reads the fields of its own.
_HANDLERS: Mapping[type[Event], Callable[[FloorState, Envelope[Any]], None]] = {
    AgentStateChanged: FloorState._agent_state,
    CallQueued: FloorState._queued,
    CallOffered: FloorState._offered,
    CallAnswered: FloorState._answered,
    CallEnded: FloorState._ended,
    CallAbandoned: FloorState._abandoned,
    CallOverflowed: FloorState._overflowed,
    CallPlaceKept: FloorState._place_kept,
    CallPlaceLeft: FloorState._place_left,
    QueueChanged: FloorState._queue_changed,
}
