"""The ACD on real calls: queued callers wait on music on hold until the routing policy
(callcenter.acd.policy.Router) picks an agent; the agent's phone is then dialled from the
caller's own Async AGI session.

One task per queued call (the IVR runner's task goes on into :meth:`AcdService.take`); every
decision is taken and applied synchronously on the event loop, so two decisions can never
hand one agent two calls or one call two agents. The service mirrors agents' states into the
Router: its own changes as it makes them, the agents' own (login, ready, not ready) from the
``agent.state`` events the API publishes.

An offer, in order: the agent is reserved (stored), ``call.offered`` is published (the screen
pop can beat the ring), the interaction is marked offered, the caller's name is set as caller
ID (an AMI Setvar), then ``EXEC Dial PJSIP/<extension>,<ring seconds>``. ``DialEnd`` says how
it went: ANSWER (the agent is on call until Dial returns, then in wrap-up), or no answer (the
agent goes not ready, reason "missed", and the call is offered to the next agent, keeping
its place). A caller who hangs up while waiting or ringing is an abandon.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from callcenter.acd.agents import AgentEvent, AgentStatus
from callcenter.acd.model import AgentProfile, AgentState, QueueConfig, WaitingCall, call_priority
from callcenter.acd.policy import CallNotWaiting, Router
from callcenter.acd.ports import AcdBackend, CallerFacts, OpenCall
from callcenter.asterisk.agi import AgiResult, agi_quote
from callcenter.asterisk.client import AmiClient
from callcenter.asterisk.errors import (
    AgiChannelGone,
    AmiActionError,
    AmiConnectionLost,
    AmiError,
    AmiEventsLost,
)
from callcenter.errors import Conflict, InvalidInput, NotFound
from callcenter.events import EventBus
from callcenter.ivr.calendar import BusinessCalendar
from callcenter.ivr.commands import OutcomeKind
from callcenter.ivr.engine import Outcome, Resume, Step
from callcenter.ivr.speech import Utterance, speak_queue_place
from callcenter.pbx.channels import Channel
from callcenter.pbx.link import AgiCall, PbxLink

log = logging.getLogger(__name__)

ORIGIN = "acd"  # agent.state events this service publishes itself (it does not mirror them)
ADOPT_WINDOW = dt.timedelta(hours=12)  # open records older than this are left for a person
LONGEST_CALL = 4 * 3600.0  # seconds an answered call may last before Dial's AGI wait gives up
DEFAULT_QUEUE = "general"  # for a call adopted from the IVR, which had not chosen yet
HANDLE_TIMES_KEPT = 50  # recent calls per queue behind a waiting caller's expected wait
NEVER = math.inf
POP_HEAD_START = 0.1  # the longest the Dial waits for the pop to be written to the desk


class CallNotWaitingHere(NotFound):
    error_id = "call-not-waiting"


class AgentNotReadyForCall(Conflict):
    error_id = "agent-not-ready"


class UnknownQueueName(InvalidInput):
    error_id = "unknown-queue"


class PopGate(Protocol):
    """The CTI hub: publishes a pop and says when it is on its way to the agent's desk."""

    async def __call__(
        self, call_id: str, publish: Callable[[], object], within: float
    ) -> bool: ...


class Conversations(Protocol):
    """Call control (callcenter/pbx/call_control.py), told of each answered call."""

    def connected(
        self, agent_id: int, extension: str, call: AgiCall, interaction_id: int | None
    ) -> None: ...

    async def after_dial(self, call: AgiCall) -> Awaitable[None] | None:
        """None: the call is over. Else it was transferred: the rest of the caller's call."""


class Speaker(Protocol):
    """Turns an utterance into the sound files that say it (the IVR runner's prompts)."""

    def say(self, utterance: Utterance, call_id: str) -> list[str]: ...


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Offer(Enum):
    DONE = "done"  # answered and over
    CALLER_GONE = "caller_gone"
    RETRY = "retry"  # the agent did not take it: offer again


@dataclass
class _Queued:
    call: AgiCall
    interaction_id: int | None
    waiting: WaitingCall
    caller: CallerFacts | None
    outcome: Outcome  # how the IVR ended: who, authenticated, the path
    config: QueueConfig  # of the queue it waits in now (overflow moves it)
    resumable: bool  # an IVR run waits for it: an overflow may go back to the flow
    overflow_at: float = NEVER
    announce_at: float = NEVER
    steps: list[Step] = field(default_factory=list)  # overflows, added to the IVR path
    announcing: bool = False  # an announcement is playing: a decision stops it
    announcement: asyncio.Task[bool] | None = None  # it plays beside the call's own task
    hush: bool = False  # stop the announcement: no more of its files
    agent: int | None = None  # set by a decision: the agent this call is to be offered to
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class AcdService:
    def __init__(
        self,
        ami: AmiClient,
        backend: AcdBackend,
        events: EventBus,
        *,
        clock: Callable[[], float] | None = None,
        wallclock: Callable[[], dt.datetime] = utcnow,
        calendar: BusinessCalendar | None = None,
        say_with: Speaker | None = None,
    ) -> None:
        self.ami = ami
        self.backend = backend
        self.events = events
        self.calendar = calendar or BusinessCalendar()
        self.say_with = say_with  # None: no announcements (no prompts to say them with)
        self.pop_gate: PopGate | None = None  # set by the app: dial once the pop is out
        self._handle_times: dict[str, deque[float]] = {}
        self.router = Router()
        self._clock = clock
        self._wallclock = wallclock
        self._queues: dict[str, QueueConfig] = {}
        self._profiles: dict[int, AgentProfile] = {}
        self._queued: dict[str, _Queued] = {}
        self._timers: dict[int, asyncio.Task[None]] = {}
        self._adopted: dict[str, asyncio.Task[None]] = {}
        self._link: PbxLink | None = None
        self.conversations: Conversations | None = None  # call control, set by the app
        self.started = asyncio.Event()

    def now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    # --- start and the agents' own changes -----------------------------------------------

    async def run(self) -> None:
        """Load queues and logged-in agents, then follow ``agent.state`` until cancelled."""
        topics = {"agent.state", "queue.changed"}
        with self.events.subscribe(lambda e: e.topic in topics) as changes:
            await self.load_queues()
            for profile, status in await self.backend.agents():
                self._mirror(profile, status)
            self.started.set()
            try:
                while True:
                    event = await changes.get()
                    if event.topic == "queue.changed":
                        await self.load_queues()
                    elif event.data.get("origin") != ORIGIN:
                        await self.agent_changed(int(event.data["agent_id"]))
            finally:
                for task in [*self._timers.values(), *self._adopted.values()]:
                    task.cancel()

    async def load_queues(self) -> None:
        for config in await self.backend.queue_configs():
            if self._queues.get(config.name) != config:
                self._queues[config.name] = config
                self.router.set_queue(config)

    async def agent_changed(self, agent_id: int) -> None:
        """An agent logged in or out or changed state outside the ACD: mirror it, and a ready
        agent takes the best waiting call at once."""
        profile, status = await self.backend.agent(agent_id)
        if status.state is AgentState.READY:
            self._cancel_wrap_up(agent_id)
        self._mirror(profile, status)

    def _mirror(self, profile: AgentProfile | None, status: AgentStatus) -> None:
        agent_id = status.agent_id
        known = agent_id in self._profiles
        if profile is None or status.state is AgentState.LOGGED_OUT:
            if known:
                self.router.remove_agent(agent_id)
                del self._profiles[agent_id]
            return
        self._profiles[agent_id] = profile
        if known:
            self.router.update_agent(profile)
            self.router.set_agent_state(agent_id, status.state, self.now())
        else:
            self.router.add_agent(profile, self.now(), status.state)
        if status.state is AgentState.READY:
            self._dispatch_agent(agent_id)

    def _dispatch_agent(self, agent_id: int) -> None:
        call_id = self.router.best_call_for(agent_id, self.now())
        if call_id is not None:
            self._assign(call_id, agent_id)

    def _assign(self, call_id: str, agent_id: int) -> None:
        self.router.assign(call_id, agent_id)
        queued = self._queued[call_id]
        queued.agent = agent_id
        queued.wake.set()
        self._hush(queued)

    def _hush(self, queued: _Queued) -> None:
        """Stop an announcement at once: the agent must not wait for the end of a sentence
        (the Dial, sent meanwhile, waits in the channel's AGI queue only until it stops)."""
        queued.hush = True
        if queued.announcing:
            asyncio.get_running_loop().create_task(self._stop_playback(queued.call))

    # --- a queued call ---------------------------------------------------------------------

    async def take(
        self,
        call: AgiCall,
        outcome: Outcome,
        interaction_id: int | None,
        *,
        resumable: bool = True,
    ) -> Resume | None:
        """The IVR queued this call (its QueuedHandler): wait, offer, until answered or gone.
        A Resume hands the call back to its IVR flow (the queue overflowed to a node); a
        call that has no IVR run to go back to (adopted after a restart) is not
        ``resumable`` and waits on instead."""
        await self.started.wait()
        queue = outcome.queue or ""
        config = self._queues.get(queue)
        if config is None:
            log.error("call %s queued to unknown queue %r; releasing it", call.uniqueid, queue)
            await _release(call)
            await self._ended(interaction_id)
            return None
        caller = None
        if outcome.client_id is not None and outcome.client_id.isdigit():
            caller = await self.backend.caller(int(outcome.client_id))
        now = self.now()
        waiting = WaitingCall(
            call_id=call.uniqueid,
            queue=queue,
            enqueued_at=now,
            priority=self._priority(config, caller),
            language=outcome.language,
            client_id=caller.client_id if caller else None,
            advisor_id=caller.advisor_id if caller else None,
        )
        queued = _Queued(call, interaction_id, waiting, caller, outcome, config, resumable)
        self._enter(queued, config, now)
        self._queued[call.uniqueid] = queued
        self.router.add_call(waiting)
        log.info("call %s waits in %s (priority %d)", call.uniqueid, queue, waiting.priority)
        self.events.publish(
            "call.queued",
            {
                "call_id": call.uniqueid,
                "interaction_id": interaction_id,
                "queue": queue,
                "client_id": waiting.client_id,
                "priority": waiting.priority,
                "language": waiting.language,
                # For the wallboard, which masks the number (no socket gets this event).
                "caller_number": call.caller_number or None,
                "tier": caller.tier if caller else None,
            },
        )
        try:
            return await self._serve(queued)
        finally:
            if queued.announcement is not None:
                queued.announcement.cancel()
            self._queued.pop(call.uniqueid, None)
            with contextlib.suppress(CallNotWaiting):
                self.router.remove_call(call.uniqueid)

    def _priority(self, config: QueueConfig, caller: CallerFacts | None) -> int:
        return call_priority(
            config, caller.tier if caller else None, caller.value_class if caller else None
        )

    def _enter(self, queued: _Queued, config: QueueConfig, now: float) -> None:
        """The call starts waiting in ``config``'s queue: its overflow clock (at once when
        the queue is closed) and its first announcement (on joining)."""
        queued.config = config
        queued.overflow_at = now if not self.is_open(config) else now + config.max_wait_seconds
        queued.announce_at = now if config.announce_position and self.say_with else NEVER

    def is_open(self, config: QueueConfig) -> bool:
        """Whether the queue takes calls now (its own hours; None: always, as the hotline's
        own hours are the IVR flow's business)."""
        if config.hours is None:
            return True
        at = self._wallclock()
        return config.hours.is_open(self.calendar.local(at), self.calendar.is_holiday(at))

    async def _serve(self, queued: _Queued) -> Resume | None:
        call = queued.call
        on_hold = False
        while True:
            announcement = queued.announcement
            if announcement is not None and announcement.done():
                queued.announcement = None
                if not announcement.cancelled() and not announcement.result():
                    await self._abandoned(queued)  # the caller left during it
                    return None
            now = self.now()
            if queued.agent is None and now < queued.overflow_at:
                agent = self.router.best_agent_for(call.uniqueid, now)
                if agent is not None:
                    self._assign(call.uniqueid, agent)
            if queued.agent is None:
                if now >= queued.overflow_at:
                    resume = await self._overflow(queued)
                    if resume is not None:
                        return resume
                    continue
                if now >= queued.announce_at and queued.announcement is None:
                    on_hold = False  # a playback stops the music
                    queued.announce_at = now + queued.config.announce_every_seconds
                    queued.hush = False
                    queued.announcement = asyncio.create_task(self._announce(queued))
                    continue
                if not on_hold and queued.announcement is None:
                    # Only a caller who has to wait hears music: one who can be put through
                    # at once is, without an AGI command (and its frame wait) in between.
                    on_hold = True
                    try:
                        await call.execute(f"EXEC StartMusicOnHold {agi_quote('default')}")
                    except AgiChannelGone:
                        await self._abandoned(queued)
                        return None
                    continue
                if not await self._wait(queued):
                    await self._abandoned(queued)
                    return None
                continue
            agent_id, queued.agent = queued.agent, None
            queued.wake.clear()
            result = await self._offer(queued, agent_id, queued.config)
            if result is not _Offer.RETRY:
                return None
            on_hold = False  # the Dial stopped the music
            self.router.add_call(queued.waiting)  # its place in the queue is kept

    async def _wait(self, queued: _Queued) -> bool:
        """Until a decision wakes the call, the advisor wait ends, it is time to overflow or
        to announce, or the caller leaves; False when the caller left."""
        widens = self.router.widens_at(queued.call.uniqueid)
        due = min(NEVER if widens is None else widens, queued.overflow_at, queued.announce_at)
        timeout = None if due == NEVER else max(0.0, due - self.now())
        woken = asyncio.ensure_future(queued.wake.wait())
        gone = asyncio.ensure_future(queued.call.ended.wait())
        waits: set[asyncio.Future[Any]] = {woken, gone}
        if queued.announcement is not None:
            waits.add(queued.announcement)  # when it ends, the music comes back
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            gone.cancel()
        return not queued.call.ended.is_set()

    # --- overflow and announcements ---------------------------------------------------------

    async def _overflow(self, queued: _Queued) -> Resume | None:
        """The call waited its queue's longest (or the queue is closed): on into the overflow
        queue, or back to its IVR flow at the overflow node; with neither, it waits on."""
        call, config = queued.call, queued.config
        now = self.now()
        reason = "closed" if not self.is_open(config) else "max_wait"
        target = self._queues.get(config.overflow_queue or "")
        if target is not None:
            step = Step(f"overflow:{config.name}", (target.name,))
            queued.steps.append(step)
            self.router.remove_call(call.uniqueid)
            queued.waiting = dataclasses.replace(
                queued.waiting, queue=target.name, priority=self._priority(target, queued.caller)
            )
            self._enter(queued, target, now)
            self.router.add_call(queued.waiting)  # keeps its enqueued_at: the wait so far
            log.info(
                "call %s overflows (%s) from %s to %s",
                call.uniqueid,
                reason,
                config.name,
                target.name,
            )
            self._publish_overflow(queued, config.name, target.name, reason)
            if queued.interaction_id is not None:
                await self.backend.overflowed(queued.interaction_id, target.name, step.entry())
            return None
        if config.overflow_node is not None and queued.resumable:
            self._hush(queued)  # the flow's own prompt comes next
            self.router.remove_call(call.uniqueid)
            queued.steps.append(Step(f"overflow:{config.name}", (reason,)))
            log.info(
                "call %s overflows (%s) from %s to IVR node %s",
                call.uniqueid,
                reason,
                config.name,
                config.overflow_node,
            )
            self._publish_overflow(queued, config.name, None, reason)
            with contextlib.suppress(AgiChannelGone):
                await call.execute("EXEC StopMusicOnHold")
            return Resume(config.overflow_node, queued.outcome, tuple(queued.steps))
        if config.overflow_queue is not None:
            log.error(
                "call %s: overflow queue %r of %s is gone; the call waits on",
                call.uniqueid,
                config.overflow_queue,
                config.name,
            )
        queued.overflow_at = NEVER  # nowhere to go: the longest wait is only a figure
        return None

    def _publish_overflow(
        self, queued: _Queued, from_queue: str, to_queue: str | None, reason: str
    ) -> None:
        self.events.publish(
            "call.overflowed",
            {
                "call_id": queued.call.uniqueid,
                "interaction_id": queued.interaction_id,
                "queue": from_queue,
                "to_queue": to_queue,
                "action": "queue" if to_queue is not None else "ivr",
                "reason": reason,
            },
        )

    async def _announce(self, queued: _Queued) -> bool:
        """Tell the caller how many are ahead and about how long the wait is; a decision
        stops it at once (ControlPlayback). False when the caller left."""
        call, config = queued.call, queued.config
        if self.say_with is None:
            return True
        order = [waiting.call_id for waiting in self.router.waiting_calls(config.name)]
        if call.uniqueid not in order:
            return True
        ahead = order.index(call.uniqueid)
        utterance = speak_queue_place(
            ahead, self.expected_wait_minutes(config.name, ahead), queued.outcome.language
        )
        queued.announcing = True
        try:
            for name in self.say_with.say(utterance, call.uniqueid):
                if queued.hush:
                    break
                await call.execute(f"STREAM FILE {agi_quote(name)} {agi_quote('')}")
        except AgiChannelGone:
            return False
        finally:
            queued.announcing = False
        return not call.ended.is_set()

    async def _stop_playback(self, call: AgiCall) -> None:
        with contextlib.suppress(AmiError):
            await self.ami.action("ControlPlayback", {"Channel": call.channel, "Control": "stop"})

    def expected_wait_minutes(self, queue: str, ahead: int) -> int | None:
        """About how long a caller with ``ahead`` callers before them waits: the calls ahead
        and half of one more, each taking the recent mean handle time (talk and wrap-up),
        shared among the agents logged in to the queue. None before any call was handled."""
        times = self._handle_times.get(queue)
        if not times:
            return None
        staffed = sum(1 for profile in self._profiles.values() if queue in profile.queues)
        mean = sum(times) / len(times)
        seconds = (ahead + 0.5) * mean / max(1, staffed)
        return 0 if seconds < 60 else math.ceil(seconds / 60)

    def _handled(self, queue: str, seconds: float) -> None:
        times = self._handle_times.setdefault(queue, deque(maxlen=HANDLE_TIMES_KEPT))
        times.append(seconds)

    # --- an offer --------------------------------------------------------------------------

    async def _offer(self, queued: _Queued, agent_id: int, config: QueueConfig) -> _Offer:
        call, interaction_id = queued.call, queued.interaction_id
        profile = self._profiles[agent_id]
        try:
            reserved = await self._agent_event(
                agent_id,
                AgentEvent.OFFER,
                interaction_id=interaction_id,
                announce=False,
                pop_client_id=queued.waiting.client_id,
            )
        except (Conflict, NotFound) as exc:  # the agent changed meanwhile (went not ready)
            log.info("call %s: agent %s cannot take it now: %s", call.uniqueid, agent_id, exc)
            await self.agent_changed(agent_id)
            return _Offer.RETRY
        # The pop first: every wallboard also gets the state change, and a pop queued behind
        # hundreds of those could lose its race with the ring. The phone is dialled once the
        # pop is written to the agent's desk (or after POP_HEAD_START at most).
        data = self._offered_data(queued, profile)
        if self.pop_gate is None:
            self.events.publish("call.offered", data)
        elif not await self.pop_gate(
            call.uniqueid, lambda: self.events.publish("call.offered", data), POP_HEAD_START
        ):
            log.warning(
                "call %s: agent %s's desk is slow; dialling anyway", call.uniqueid, agent_id
            )
        offered_at = self._wallclock()
        dial_end = self.ami.expect_event("DialEnd", "Channel", call.channel)
        named: asyncio.Future[Any] | None = None
        try:
            if queued.caller is not None:
                # An AMI action, not an AGI command: no wait for the channel's next frame.
                # Asterisk runs one session's actions in order, so it is set before the Dial
                # below is queued, without waiting here for its answer.
                named = asyncio.ensure_future(
                    self.ami.action(
                        "Setvar",
                        {
                            "Channel": call.channel,
                            "Variable": "CALLERID(name)",
                            "Value": queued.caller.name,
                        },
                    )
                )
            target = f"PJSIP/{profile.extension},{round(config.ring_seconds)}"
            dial = asyncio.ensure_future(
                call.execute(f"EXEC Dial {agi_quote(target)}", timeout=LONGEST_CALL)
            )
            await asyncio.sleep(0)  # both actions go out before anything else is done
            # Then the wallboards' news: the fan-out to every supervisor's socket stays off
            # the path to the ring.
            self._announce_state(agent_id, reserved)
            if named is not None:
                # Refused only for a channel already gone, which the Dial then reports.
                with contextlib.suppress(AmiActionError):
                    await named
            if interaction_id is not None:
                await self.backend.offered(interaction_id, agent_id, offered_at)
            either: set[asyncio.Future[Any]] = {dial, dial_end}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            status = dial_end.result().get("DialStatus", "") if dial_end.done() else ""
            if status == "ANSWER":
                return await self._answered(queued, agent_id, dial, config)
            await dial
        except AmiConnectionLost:
            self._lost_track(queued, agent_id, answered=False)
            return _Offer.DONE
        except (AgiChannelGone, AmiError) as exc:
            log.info("call %s left while agent %s was rung: %s", call.uniqueid, agent_id, exc)
        finally:
            dial_end.cancel()
        if call.ended.is_set():
            self._publish_call("call.offer_ended", queued, agent_id, reason="caller_gone")
            await self._agent_event(agent_id, AgentEvent.CALLER_GONE)
            self._ready_again(agent_id)
            await self._abandoned(queued)
            return _Offer.CALLER_GONE
        log.info("call %s: agent %s did not answer (%s)", call.uniqueid, agent_id, status)
        self._publish_call("call.offer_ended", queued, agent_id, reason="no_answer")
        await self._agent_event(agent_id, AgentEvent.RING_NO_ANSWER)
        return _Offer.RETRY

    async def _answered(
        self, queued: _Queued, agent_id: int, dial: asyncio.Future[AgiResult], config: QueueConfig
    ) -> _Offer:
        call, interaction_id = queued.call, queued.interaction_id
        self._publish_call("call.answered", queued, agent_id)
        answered_at = self.now()
        await self._agent_event(agent_id, AgentEvent.ANSWER)
        if interaction_id is not None:
            await self.backend.answered(interaction_id, agent_id, self._wallclock())
        if self.conversations is not None:
            self.conversations.connected(
                agent_id, self._profiles[agent_id].extension, call, interaction_id
            )
        try:
            await dial  # the conversation
        except AmiConnectionLost:
            # The PBX link went, not the call: follow it once the link is back.
            self._lost_track(queued, agent_id, answered=True)
            return _Offer.DONE
        except (AgiChannelGone, AmiError):
            pass
        # Call control may have taken the agent's leg out of the Dial (hold, transfers): it
        # drives the caller until the agent's part is over. A transferred caller talks on
        # (``rest``) after the agent's part is recorded and their wrap-up has started.
        rest = await self.conversations.after_dial(call) if self.conversations else None
        if rest is None:
            await _release(call)
        self._handled(config.name, self.now() - answered_at + config.wrap_up_seconds)
        self._publish_call("call.ended", queued, agent_id, transferred=rest is not None)
        await self._ended(interaction_id)
        await self._agent_event(agent_id, AgentEvent.HANG_UP)
        self._start_wrap_up(agent_id, interaction_id, config.wrap_up_seconds)
        if rest is not None:
            await rest
            await _release(call)
        return _Offer.DONE

    def _publish_call(self, topic: str, queued: _Queued, agent_id: int, **extra: object) -> None:
        self.events.publish(
            topic,
            {
                "agent_id": agent_id,
                "call_id": queued.call.uniqueid,
                "interaction_id": queued.interaction_id,
                "queue": queued.waiting.queue,
                "client_id": queued.waiting.client_id,
                **extra,
            },
        )

    def _offered_data(self, queued: _Queued, profile: AgentProfile) -> dict[str, object]:
        return {
            "agent_id": profile.agent_id,
            "extension": profile.extension,
            "call_id": queued.call.uniqueid,
            "interaction_id": queued.interaction_id,
            "queue": queued.waiting.queue,
            "client_id": queued.waiting.client_id,
            "caller_number": queued.call.caller_number,
            "language": queued.waiting.language,
            "priority": queued.waiting.priority,
            # Named already: the pop was audited with the agent's reservation.
            "client_name": queued.caller.name if queued.caller else None,
            "tier": queued.caller.tier if queued.caller else None,
            "value_class": queued.caller.value_class if queued.caller else None,
            "authenticated": queued.outcome.authenticated,
            "ivr_path": [step.entry() for step in (*queued.outcome.path, *queued.steps)],
        }

    # --- wrap-up ---------------------------------------------------------------------------

    def _start_wrap_up(self, agent_id: int, interaction_id: int | None, seconds: float) -> None:
        self._cancel_wrap_up(agent_id)
        self._timers[agent_id] = asyncio.create_task(
            self._wrap_up(agent_id, interaction_id, seconds), name=f"wrap-up-{agent_id}"
        )

    def _cancel_wrap_up(self, agent_id: int) -> None:
        timer = self._timers.pop(agent_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _wrap_up(self, agent_id: int, interaction_id: int | None, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._timers.pop(agent_id, None)
        try:
            await self._agent_event(agent_id, AgentEvent.WRAP_UP_DONE)
        except Conflict:
            return  # the agent ended it first, or went not ready
        if interaction_id is not None:
            await self.backend.wrapped_up(interaction_id, self._wallclock())
        self._ready_again(agent_id)

    # --- adopting calls after a restart ----------------------------------------------------

    async def adopt(self, link: PbxLink, started_at: dt.datetime) -> None:
        """Finish the records of calls a previous run left open (issue: lose no call).

        Once the channel view is rebuilt: a call still up in Asterisk is followed until it
        ends (the conversation goes on; the other leg hanging up hangs up the caller, whose
        Async AGI session nobody drives any more); a call already gone is ended now. Either
        way its agent goes to wrap-up as after any call.
        """
        self._link = link
        await link.resynced.wait()
        await self.started.wait()
        open_calls = await self.backend.open_calls(started_at - ADOPT_WINDOW, started_at)
        for open_call in open_calls:
            channel = _live(link, open_call.uniqueid)
            if channel is None:
                log.info("call %s ended while the service was down", open_call.uniqueid)
                await self._finish_adopted(open_call)
            elif open_call.answered or open_call.agent_id is not None:
                log.info("adopting call %s (%s)", open_call.uniqueid, channel.name)
                self._adopted[open_call.uniqueid] = asyncio.create_task(
                    self._follow(link, open_call, channel), name=f"adopted-{open_call.uniqueid}"
                )
            else:  # it was in the IVR or waiting: back into its queue, keeping its record
                log.info("call %s back into queue %s", open_call.uniqueid, open_call.queue)
                self._adopted[open_call.uniqueid] = asyncio.create_task(
                    self._requeue(link, open_call, channel), name=f"requeued-{open_call.uniqueid}"
                )

    async def _requeue(self, link: PbxLink, open_call: OpenCall, channel: Channel) -> None:
        call = link.adopt_call(
            channel.name, open_call.uniqueid, channel.linkedid, open_call.caller_number or ""
        )
        outcome = Outcome(
            kind=OutcomeKind.QUEUED,
            path=(),
            client_id=None if open_call.client_id is None else str(open_call.client_id),
            queue=open_call.queue or DEFAULT_QUEUE,
        )
        try:
            await self.take(call, outcome, open_call.interaction_id, resumable=False)
        finally:
            link.release_call(call)
            self._adopted.pop(open_call.uniqueid, None)

    def _lost_track(self, queued: _Queued, agent_id: int, *, answered: bool) -> None:
        """The AMI link dropped during an offer or a conversation: the call goes on in
        Asterisk. Once the link is back and the channel view rebuilt, follow it as after a
        restart (if the service is stopping instead, the next run adopts it)."""
        if queued.interaction_id is None or self._link is None:
            return
        open_call = OpenCall(
            queued.interaction_id, queued.call.uniqueid, agent_id, queued.waiting.queue, answered
        )
        log.warning(
            "call %s: PBX link lost mid-call; following it after resync", open_call.uniqueid
        )
        self._adopted[open_call.uniqueid] = asyncio.create_task(
            self._after_resync(self._link, open_call, self.ami.generation),
            name=f"lost-{open_call.uniqueid}",
        )

    async def _after_resync(self, link: PbxLink, open_call: OpenCall, generation: int) -> None:
        await link.resynced_after(generation)
        channel = _live(link, open_call.uniqueid)
        if channel is None:
            self._adopted.pop(open_call.uniqueid, None)
            await self._finish_adopted(open_call)
        else:
            await self._follow(link, open_call, channel)

    async def _follow(self, link: PbxLink, open_call: OpenCall, channel: Channel) -> None:
        with self.ami.subscribe({"hangup"}) as events:
            if _live(link, open_call.uniqueid) is not None:  # not gone while subscribing
                while True:
                    try:
                        message = await events.get()
                    except AmiEventsLost:
                        if _live(link, open_call.uniqueid) is None:
                            break
                        continue
                    except StopAsyncIteration:
                        return  # the service is stopping: the next run adopts it again
                    uniqueid = message.get("Uniqueid")
                    if uniqueid == open_call.uniqueid:
                        break
                    if message.get("Linkedid") == channel.linkedid:
                        # The agent's leg ended: the caller's channel must not wait forever.
                        with contextlib.suppress(AmiError):
                            await self.ami.action("Hangup", {"Channel": channel.name})
        self._adopted.pop(open_call.uniqueid, None)
        await self._finish_adopted(open_call)

    async def _finish_adopted(self, open_call: OpenCall) -> None:
        await self._ended(open_call.interaction_id)
        self._announce_adopted_end(open_call)
        agent_id = open_call.agent_id
        if agent_id is None:
            return
        event = AgentEvent.HANG_UP if open_call.answered else AgentEvent.CALLER_GONE
        try:
            status = await self._agent_event(agent_id, event)
        except (Conflict, NotFound) as exc:  # the agent moved on meanwhile
            log.info("adopted call %s: agent %s: %s", open_call.uniqueid, agent_id, exc)
            return
        if status.state is AgentState.WRAP_UP:
            config = self._queues.get(open_call.queue or "")
            seconds = config.wrap_up_seconds if config else QueueConfig("").wrap_up_seconds
            self._start_wrap_up(agent_id, open_call.interaction_id, seconds)
        else:
            self._ready_again(agent_id)

    def _announce_adopted_end(self, open_call: OpenCall) -> None:
        """The end of a call a previous run left open, for the wallboard that was seeded
        with it: a talk ended, or a caller who hung up while no one was listening (the
        record's end is now, so its wait is left for the listener to count from there)."""
        data: dict[str, object] = {
            "call_id": open_call.uniqueid,
            "interaction_id": open_call.interaction_id,
            "queue": open_call.queue,
            "client_id": open_call.client_id,
        }
        if open_call.answered and open_call.agent_id is not None:
            self.events.publish(
                "call.ended", {**data, "agent_id": open_call.agent_id, "transferred": False}
            )
        elif not open_call.answered and open_call.queue is not None:
            self.events.publish("call.abandoned", {**data, "waited_seconds": None})

    # --- helpers ---------------------------------------------------------------------------

    async def _agent_event(
        self,
        agent_id: int,
        event: AgentEvent,
        *,
        interaction_id: int | None = None,
        announce: bool = True,
        pop_client_id: int | None = None,
    ) -> AgentStatus:
        status = await self.backend.agent_event(
            agent_id,
            event,
            at=self._wallclock(),
            interaction_id=interaction_id,
            pop_client_id=pop_client_id,
        )
        if agent_id in self._profiles:
            self.router.set_agent_state(agent_id, status.state, self.now())
        if announce:
            self._announce_state(agent_id, status)
        return status

    def _announce_state(self, agent_id: int, status: AgentStatus) -> None:
        self.events.publish(
            "agent.state",
            {
                "agent_id": agent_id,
                "state": status.state.value,
                "reason": status.reason,
                "origin": ORIGIN,
            },
        )

    def _ready_again(self, agent_id: int) -> None:
        if agent_id in self._profiles and self.router.agent_state(agent_id) is AgentState.READY:
            self._dispatch_agent(agent_id)

    async def _abandoned(self, queued: _Queued) -> None:
        waited = self.now() - queued.waiting.enqueued_at
        queue = queued.waiting.queue
        log.info("call %s abandoned after %.1f s in %s", queued.call.uniqueid, waited, queue)
        self.events.publish(
            "call.abandoned",
            {
                "call_id": queued.call.uniqueid,
                "interaction_id": queued.interaction_id,
                "queue": queue,
                "waited_seconds": round(waited, 3),
            },
        )
        await self._ended(queued.interaction_id)

    async def _ended(self, interaction_id: int | None) -> None:
        if interaction_id is not None:
            await self.backend.ended(interaction_id, self._wallclock())

    def queue_config(self, name: str) -> QueueConfig | None:
        return self._queues.get(name)

    def serves(self, agent_id: int) -> bool:
        """Whether the agent is logged in as the ACD sees it (routable, in any state)."""
        return agent_id in self._profiles

    def live(self, queue: str) -> list[WaitingCall]:
        """The queue's waiting calls in routing order (for the live queue view)."""
        return self.router.waiting_calls(queue)

    # --- supervisors' moves (issue 7) -------------------------------------------------------

    def _waiting(self, call_id: str) -> _Queued:
        queued = self._queued.get(call_id)
        if queued is None or queued.agent is not None or self.router.waiting_call(call_id) is None:
            raise CallNotWaitingHere("the call is not waiting in a queue", call_id=call_id)
        return queued

    async def move_call(self, call_id: str, queue: str) -> WaitingCall:
        """A supervisor moves a waiting call to ``queue``: it keeps its wait so far (its
        ``enqueued_at``), takes the queue's priority, hours and overflow clock, and is put
        through at once if an agent there is ready."""
        queued = self._waiting(call_id)
        target = self._queues.get(queue)
        if target is None:
            raise UnknownQueueName(f"no queue {queue!r}", field="queue")
        from_queue = queued.waiting.queue
        step = Step(f"moved:{from_queue}", (target.name,))
        queued.steps.append(step)
        self.router.remove_call(call_id)
        queued.waiting = dataclasses.replace(
            queued.waiting, queue=target.name, priority=self._priority(target, queued.caller)
        )
        self._enter(queued, target, self.now())
        self.router.add_call(queued.waiting)
        log.info("call %s moved from %s to %s", call_id, from_queue, target.name)
        self._publish_overflow(queued, from_queue, target.name, "moved")
        agent = self.router.best_agent_for(call_id, self.now())
        if agent is not None:
            self._assign(call_id, agent)
        if queued.interaction_id is not None:
            await self.backend.overflowed(queued.interaction_id, target.name, step.entry())
        return queued.waiting

    def offer_to(self, call_id: str, agent_id: int) -> WaitingCall:
        """A supervisor hands a waiting call to a named ready agent (skills and queues are the
        supervisor's call); if the agent does not answer, the call waits on in its place."""
        queued = self._waiting(call_id)
        if (
            agent_id not in self._profiles
            or self.router.agent_state(agent_id) is not AgentState.READY
        ):
            raise AgentNotReadyForCall("the agent is not ready", agent_id=agent_id)
        self._assign(call_id, agent_id)
        log.info("call %s offered to agent %s by a supervisor", call_id, agent_id)
        return queued.waiting


def _live(link: PbxLink, uniqueid: str) -> Channel | None:
    return link.tracker.channels.get(uniqueid)


async def _release(call: AgiCall) -> None:
    """Hang up the caller, also when the PBX link is down (the record must still be written)."""
    with contextlib.suppress(AmiError):
        await call.hang_up()
