"""The ACD service: queued callers wait until the routing policy (callcenter.acd.policy.Router)
picks an agent; the agent's phone is then dialled from the caller's own leg.

One task per queued call (the IVR's task goes on into :meth:`AcdService.take`); every decision
is taken and applied synchronously on the event loop, so two decisions can never hand one
agent two calls or one call two agents. The service keeps the Router's picture of agents: its
own changes as it makes them, the agents' own (login, ready, not ready) from the
``agent.state`` events of the API.

The story of one call, each step in its own collaborator:

* waiting (callcenter/acd/waiting.py): music, announcements, overflow, until a decision;
* the offer (callcenter/acd/offer.py): reserve the agent, deliver the screen pop, then dial;
  answered: the conversation, then wrap-up; not answered: back to waiting in its place;
* wrap-up (callcenter/acd/wrap_up.py): the agent's wrap-up timer, which the agent may
  extend up to a limit, then ready and the next call.

It depends only on ports: the caller's leg (acd/leg.py), its store, pop delivery and the
speaker (acd/ports.py), and its notices on the event bus (acd/notices.py). It never spells a
PBX command: callcenter/pbx implements the leg over Asterisk's Async AGI.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import math
from collections import deque
from collections.abc import Callable

from callcenter.acd.agent_states import AgentStates
from callcenter.acd.agents import AgentEvent, AgentRecord, AgentStatus, profile_of
from callcenter.acd.calls import NEVER, QueuedCall
from callcenter.acd.kept_places import KeptPlaces
from callcenter.acd.leg import CallerLeg, LinkLost
from callcenter.acd.model import (
    AgentProfile,
    AgentState,
    ClientSummary,
    QueueConfig,
    WaitingCall,
    call_priority,
)
from callcenter.acd.notices import Notices
from callcenter.acd.offer import Offers
from callcenter.acd.policy import CallNotWaiting, Router, UnknownAgent
from callcenter.acd.ports import AcdStore, CallBacks, OpenCall, PopDelivery, Speaker
from callcenter.acd.waiting import WaitingLoop
from callcenter.acd.wrap_up import WrapUp, WrapUpRules, WrapUps
from callcenter.errors import Conflict, InvalidInput, NotFound
from callcenter.events import AgentStateOrigin, EventBus, QueueChanged
from callcenter.ivr.calendar import BusinessCalendar
from callcenter.ivr.commands import OutcomeKind
from callcenter.ivr.engine import Outcome, Resume, Step

log = logging.getLogger(__name__)

ORIGIN: AgentStateOrigin = "acd"
DEFAULT_QUEUE = "general"  # for a call adopted from the IVR, which had not chosen yet
HANDLE_TIMES_KEPT = 50  # recent calls per queue behind a waiting caller's expected wait


class CallNotWaitingHere(NotFound):
    error_id = "call-not-waiting"


class AgentNotReadyForCall(Conflict):
    error_id = "agent-not-ready"


class UnknownQueueName(InvalidInput):
    error_id = "unknown-queue"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AcdService:
    def __init__(
        self,
        store: AcdStore,
        events: EventBus,
        agent_states: AgentStates,
        *,
        pops: PopDelivery | None = None,
        speaker: Speaker | None = None,
        calendar: BusinessCalendar | None = None,
        clock: Callable[[], float] | None = None,
        wallclock: Callable[[], dt.datetime] = utcnow,
        wrap_up: WrapUpRules | None = None,
        call_backs: CallBacks | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.agent_states = agent_states
        self.notices = Notices(events)
        self.calendar = calendar or BusinessCalendar()
        self.router = Router()
        self._clock = clock
        self._wallclock = wallclock
        self._queues: dict[str, QueueConfig] = {}
        self._profiles: dict[int, AgentProfile] = {}
        self._queued: dict[str, QueuedCall] = {}
        self._handle_times: dict[str, deque[float]] = {}
        self._followed: dict[str, asyncio.Task[None]] = {}  # calls outliving a lost PBX link
        self._early: dict[int, AgentRecord] = {}  # agents' changes told before the start
        self.offers = Offers(self, pops)
        self.waiting = WaitingLoop(self, self.offers, speaker)
        self.wrap_ups = WrapUps(self, wrap_up or WrapUpRules())
        # Callers who asked to be called back keeping their place (virtual hold).
        self.places = KeptPlaces(self, call_backs)
        self.started = asyncio.Event()
        agent_states.watch(self)  # the agents' own changes, told in process

    def now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def wallclock(self) -> dt.datetime:
        return self._wallclock()

    # --- start and the agents' own changes -----------------------------------------------

    async def run(self) -> None:
        """Load queues and logged-in agents, then follow queue changes until cancelled."""
        with self.events.subscribe(lambda e: isinstance(e.payload, QueueChanged)) as changes:
            if not self.started.is_set():  # a restart after a failure keeps what it has
                await self.load_queues()
                for profile, status in await self.store.agents():
                    self._mirror(profile, status)
                    if status.state is AgentState.WRAP_UP:
                        self._resume_wrap_up(profile, status)
                # Changes told while the agents were being read are newer than what was read.
                early, self._early = self._early, {}
                for record in early.values():
                    self._apply_record(record)
                self.started.set()
            try:
                while True:
                    await changes.get()
                    try:
                        await self.load_queues()
                    except Exception:  # the database: the queues in use stay in use
                        log.exception("queues not reloaded; the ones in use stay")
            except asyncio.CancelledError:  # the service stops: no timer outlives it
                for task in [
                    *self.wrap_ups.cancel_all(),
                    *self.places.cancel_all(),
                    *self._followed.values(),
                ]:
                    task.cancel()
                raise

    async def load_queues(self) -> None:
        for config in await self.store.queue_configs():
            if self._queues.get(config.name) != config:
                self._queues[config.name] = config
                self.router.set_queue(config)

    def agent_changed(self, record: AgentRecord) -> None:
        """An agent logged in or out or changed state outside the ACD (told by the owner of
        agents' states, callcenter/acd/agent_states.py): a ready agent takes the best
        waiting call at once."""
        if not self.started.is_set():
            self._early[record.agent_id] = record  # applied over the start-up read
            return
        self._apply_record(record)

    def _apply_record(self, record: AgentRecord) -> None:
        if record.status.state is not AgentState.WRAP_UP:  # ended early: ready, a break, out
            self._cancel_wrap_up(record.agent_id)
        self._mirror(profile_of(record) if record.extension else None, record.status)

    async def refresh_agent(self, agent_id: int) -> None:
        """Read the agent again (an offer found them changed under it)."""
        profile, status = await self.store.agent(agent_id)
        if status.state is not AgentState.WRAP_UP:
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
            self.assign(call_id, agent_id)

    def assign(self, call_id: str, agent_id: int) -> None:
        """A decision: ``call_id`` goes to ``agent_id``; the call's task makes the offer (a
        kept place's task dials the caller back for them)."""
        self.router.assign(call_id, agent_id)
        if self.places.is_kept(call_id):
            self.places.assigned(call_id, agent_id)
            return
        queued = self._queued[call_id]
        queued.agent = agent_id
        queued.wake.set()
        self.waiting.hush(queued)

    def profile(self, agent_id: int) -> AgentProfile:
        return self._profiles[agent_id]

    def queue_config(self, name: str) -> QueueConfig | None:
        return self._queues.get(name)

    def idle(self, agent_id: int) -> bool:
        """Ready, with no waiting call meant for them: free for the dialler to dial for."""
        try:
            state = self.router.agent_state(agent_id)
        except UnknownAgent:
            return False
        return state is AgentState.READY and self.router.best_call_for(agent_id, self.now()) is None

    def serves(self, agent_id: int) -> bool:
        """Whether the agent is logged in as the ACD sees it (routable, in any state)."""
        return agent_id in self._profiles

    def staffed(self, queue: str) -> int:
        """Agents logged in to ``queue``, in any state."""
        return sum(1 for profile in self._profiles.values() if queue in profile.queues)

    def live(self, queue: str) -> list[WaitingCall]:
        """The queue's waiting calls in routing order (for the live queue view)."""
        return self.router.waiting_calls(queue)

    def expected_wait_minutes(self, queue: str, ahead: int) -> int | None:
        """About how long a caller with ``ahead`` callers before them waits: the calls ahead
        and half of one more, each taking the recent mean handle time (talk and wrap-up),
        shared among the agents logged in to the queue. None before any call was handled."""
        times = self._handle_times.get(queue)
        if not times:
            return None
        mean = sum(times) / len(times)
        seconds = (ahead + 0.5) * mean / max(1, self.staffed(queue))
        return 0 if seconds < 60 else math.ceil(seconds / 60)

    def handled(self, queue: str, seconds: float) -> None:
        """A call of ``queue`` took ``seconds`` of an agent's time (talk and wrap-up)."""
        times = self._handle_times.setdefault(queue, deque(maxlen=HANDLE_TIMES_KEPT))
        times.append(seconds)

    def is_open(self, config: QueueConfig) -> bool:
        """Whether the queue takes calls now (its own hours; None: always, as the hotline's
        own hours are the IVR flow's business)."""
        if config.hours is None:
            return True
        at = self._wallclock()
        return config.hours.is_open(self.calendar.local(at), self.calendar.is_holiday(at))

    def recheck(self) -> None:
        """Every waiting call looks at its clocks again now (advisor wait, overflow,
        announcement): for a clock that jumps rather than runs (tests)."""
        for queued in self._queued.values():
            queued.wake.set()
        self.wrap_ups.recheck()

    # --- a queued call ---------------------------------------------------------------------

    async def take(
        self,
        leg: CallerLeg,
        outcome: Outcome,
        interaction_id: int | None,
        *,
        resumable: bool = True,
        for_agent: int | None = None,
    ) -> Resume | None:
        """The IVR queued this call: wait, offer, until answered or gone. A Resume hands the
        call back to its IVR flow (the queue overflowed to a node); a call that has no IVR
        run to go back to (adopted after a restart) is not ``resumable`` and waits on.
        ``for_agent``: the call is meant for this agent (a client the dialler reached for
        them), routed as a client's own advisor is: to them at once when ready."""
        await self.started.wait()
        self.places.forget(leg.call_id)  # queued again: the wait it left is not kept
        queue = outcome.queue or ""
        config = self._queues.get(queue)
        if config is None:
            log.error("call %s queued to unknown queue %r; releasing it", leg.call_id, queue)
            await leg.hang_up()
            await self.ended(interaction_id)
            return None
        # The caller's client record, read once as the call joins the queue (nothing waits on
        # it yet): routing weighs it, and every offer's pop shows and audits this summary.
        # Only a caller sent back to the IVR flow who queues again is read again.
        caller = None
        if outcome.client_id is not None:
            caller = await self.store.caller(outcome.client_id)
        now = self.now()
        waiting = WaitingCall(
            call_id=leg.call_id,
            queue=queue,
            enqueued_at=now,
            priority=self.priority(config, caller),
            language=outcome.language,
            client_id=caller.client_id if caller else None,
            advisor_id=for_agent
            if for_agent is not None
            else (caller.advisor_id if caller else None),
        )
        queued = QueuedCall(leg, interaction_id, waiting, caller, outcome, config, resumable)
        self.enter(queued, config, now)
        if for_agent is not None:
            # A client the dialler reached is not sent away because the queue keeps shorter
            # hours (the calling hours are the dialler's rule): the longest wait still holds.
            queued.overflow_at = now + config.max_wait_seconds
        self._queued[leg.call_id] = queued
        if for_agent is not None:
            self.places.joined(for_agent)  # held for this client's dial: free for the call
        self.router.add_call(waiting)
        log.info("call %s waits in %s (priority %d)", leg.call_id, queue, waiting.priority)
        self.notices.queued(queued)
        try:
            return await self.waiting.serve(queued)
        finally:
            if queued.announcement is not None:
                queued.announcement.cancel()
            self._queued.pop(leg.call_id, None)
            with contextlib.suppress(CallNotWaiting):
                self.router.remove_call(leg.call_id)

    def priority(self, config: QueueConfig, caller: ClientSummary | None) -> int:
        return call_priority(
            config, caller.tier if caller else None, caller.value_class if caller else None
        )

    def enter(self, queued: QueuedCall, config: QueueConfig, now: float) -> None:
        """The call starts waiting in ``config``'s queue: its overflow clock (at once when
        the queue is closed) and its first announcement (on joining)."""
        queued.config = config
        queued.overflow_at = now if not self.is_open(config) else now + config.max_wait_seconds
        speaks = config.announce_position and self.waiting.speaks
        queued.announce_at = now if speaks else NEVER

    def move(self, queued: QueuedCall, target: QueueConfig, step: Step) -> None:
        """The call waits on in ``target`` (an overflow or a supervisor's move), keeping its
        ``enqueued_at``: the wait so far."""
        queued.steps.append(step)
        self.router.remove_call(queued.call_id)
        queued.waiting = dataclasses.replace(
            queued.waiting, queue=target.name, priority=self.priority(target, queued.caller)
        )
        self.enter(queued, target, self.now())
        self.router.add_call(queued.waiting)

    # --- agents' states and wrap-up ----------------------------------------------------------

    async def agent_event(
        self,
        agent_id: int,
        event: AgentEvent,
        *,
        interaction_id: int | None = None,
        announce: bool = True,
        pop_client_id: int | None = None,
    ) -> AgentStatus:
        """Change the agent's state (through its owner), keep the Router's picture, and
        announce it unless told not to."""
        status = await self.agent_states.apply(
            agent_id,
            event,
            interaction_id=interaction_id,
            pop_client_id=pop_client_id,
            announce=announce,
        )
        if agent_id in self._profiles:
            self.router.set_agent_state(agent_id, status.state, self.now())
        return status

    def announce_state(self, agent_id: int, status: AgentStatus) -> None:
        self.agent_states.announce(agent_id, status, origin=ORIGIN)

    def ready_again(self, agent_id: int) -> None:
        """An agent the ACD made ready takes the best waiting call at once."""
        if agent_id in self._profiles and self.router.agent_state(agent_id) is AgentState.READY:
            self._dispatch_agent(agent_id)

    def start_wrap_up(self, agent_id: int, interaction_id: int | None, seconds: float) -> None:
        self.wrap_ups.start(agent_id, interaction_id, seconds)

    def extend_wrap_up(self, agent_id: int, seconds: float | None = None) -> WrapUp:
        """The agent, still writing notes, extends their wrap-up (callcenter/acd/wrap_up.py)."""
        return self.wrap_ups.extend(agent_id, seconds)

    def _resume_wrap_up(self, profile: AgentProfile, status: AgentStatus) -> None:
        """An agent a previous run left in wrap-up: its timer died with that run. What is
        left of the longest wrap-up of the agent's queues runs now (none: ready at once)."""
        base = max(
            (self._queues[name].wrap_up_seconds for name in profile.queues if name in self._queues),
            default=QueueConfig("").wrap_up_seconds,
        )
        seconds = base
        if status.since is not None:
            seconds -= (self._wallclock() - status.since).total_seconds()
        log.info("agent %s: wrap-up resumed, %.0f s left", status.agent_id, max(seconds, 0.0))
        self.wrap_ups.start(
            status.agent_id, status.interaction_id, max(seconds, 0.0), base_seconds=base
        )

    def _cancel_wrap_up(self, agent_id: int) -> None:
        self.wrap_ups.cancel(agent_id)

    # --- the ends of calls ------------------------------------------------------------------

    async def abandoned(self, queued: QueuedCall) -> None:
        waited = self.now() - queued.waiting.enqueued_at
        log.info("call %s abandoned after %.1f s in %s", queued.call_id, waited, queued.queue)
        self.notices.abandoned(queued, waited)
        await self.ended(queued.interaction_id)

    async def ended(self, interaction_id: int | None) -> None:
        """The call's record ends now. A record in a state no call produces (wrapped up but
        never ended, after an edit) refuses the end: it is closed as an anomaly, flagged and
        logged, and the agent still moves on as the call justifies."""
        if interaction_id is None:
            return
        at = self._wallclock()
        try:
            await self.store.ended(interaction_id, at)
        except Conflict as exc:
            await self.store.close_as_anomaly(
                interaction_id, at, f"the call's end was refused: {exc}"
            )

    def follow_after_link_loss(self, queued: QueuedCall, agent_id: int, *, answered: bool) -> None:
        """The PBX link dropped during an offer or a conversation: the call goes on in the
        PBX. The leg follows it once the link is back; its record and agent are finished as
        after a restart (if the service stops first, the next run adopts it)."""
        if queued.interaction_id is None:
            return
        open_call = OpenCall(
            queued.interaction_id, queued.call_id, agent_id, queued.queue, answered
        )
        log.warning("call %s: PBX link lost mid-call; following it after resync", queued.call_id)

        async def follow() -> None:
            try:
                await queued.leg.outlive_link_loss()
            except LinkLost:
                return  # the service is stopping: the next run adopts the call
            else:
                await self.finish_adopted(open_call)
            finally:
                self._followed.pop(open_call.call_id, None)

        self._followed[open_call.call_id] = asyncio.create_task(
            follow(), name=f"lost-{open_call.call_id}"
        )

    async def finish_adopted(self, open_call: OpenCall) -> None:
        """A call a previous run left open (or this run lost with the PBX link) is over: its
        record ends now, and its agent goes to wrap-up as after any call. A record in a state
        no call produces (wrapped up but never ended, after an edit) is closed as an anomaly:
        flagged and logged, never an error that stops the adoption of the others."""
        if open_call.anomaly is not None:
            await self.store.close_as_anomaly(
                open_call.interaction_id,
                self._wallclock(),
                f"found at a restart: {open_call.anomaly}",
            )
        else:
            await self.ended(open_call.interaction_id)
        self.notices.adopted_end(open_call)
        agent_id = open_call.agent_id
        if agent_id is None:
            return
        _, status = await self.store.agent(agent_id)
        if status.interaction_id != open_call.interaction_id:
            # The record names an agent who is on another call now (a stale record): that
            # call is not this one's to end.
            log.info(
                "adopted call %s: agent %s has moved on (%s)",
                open_call.call_id,
                agent_id,
                status.state.value,
            )
            return
        event = AgentEvent.HANG_UP if open_call.answered else AgentEvent.CALLER_GONE
        try:
            status = await self.agent_event(agent_id, event)
        except (Conflict, NotFound) as exc:  # the agent moved on meanwhile
            log.info("adopted call %s: agent %s: %s", open_call.call_id, agent_id, exc)
            return
        if status.state is AgentState.WRAP_UP:
            config = self._queues.get(open_call.queue or "")
            seconds = config.wrap_up_seconds if config else QueueConfig("").wrap_up_seconds
            self.start_wrap_up(agent_id, open_call.interaction_id, seconds)
        else:
            self.ready_again(agent_id)

    async def answered_adopted(self, open_call: OpenCall, agent_id: int) -> None:
        """A call a previous run was ringing ``agent_id`` for was answered since: on call. Its
        offer is recorded if the previous run stopped before it could."""
        at = self._wallclock()
        await self.store.offered(open_call.interaction_id, agent_id, at)
        await self.store.answered(open_call.interaction_id, agent_id, at)
        await self._adopted_agent_event(open_call, agent_id, AgentEvent.ANSWER)

    async def missed_adopted(self, open_call: OpenCall, agent_id: int) -> None:
        """A call a previous run was ringing ``agent_id`` for was not answered: missed."""
        await self.store.offered(open_call.interaction_id, agent_id, self._wallclock())
        await self._adopted_agent_event(open_call, agent_id, AgentEvent.RING_NO_ANSWER)

    async def _adopted_agent_event(
        self, open_call: OpenCall, agent_id: int, event: AgentEvent
    ) -> None:
        try:
            await self.agent_event(agent_id, event)
        except (Conflict, NotFound) as exc:  # the agent moved on meanwhile
            log.info("adopted call %s: agent %s: %s", open_call.call_id, agent_id, exc)

    async def requeue(self, leg: CallerLeg, open_call: OpenCall) -> None:
        """A call a previous run left in the IVR or waiting goes back into its queue, keeping
        its record (it has no IVR run to go back to)."""
        queue = open_call.queue or DEFAULT_QUEUE
        outcome = Outcome(
            kind=OutcomeKind.QUEUED, path=(), client_id=open_call.client_id, queue=queue
        )
        # A call taken from the IVR was never recorded queued: its wait counts from now.
        await self.store.queued(open_call.interaction_id, queue, self._wallclock())
        await self.take(leg, outcome, open_call.interaction_id, resumable=False)

    # --- supervisors' moves (issue 7) -------------------------------------------------------

    def _waiting_call(self, call_id: str) -> QueuedCall:
        queued = self._queued.get(call_id)
        if queued is None or queued.agent is not None or self.router.waiting_call(call_id) is None:
            raise CallNotWaitingHere("the call is not waiting in a queue", call_id=call_id)
        return queued

    async def move_call(self, call_id: str, queue: str) -> WaitingCall:
        """A supervisor moves a waiting call to ``queue``: it keeps its wait so far (its
        ``enqueued_at``), takes the queue's priority, hours and overflow clock, and is put
        through at once if an agent there is ready."""
        queued = self._waiting_call(call_id)
        target = self._queues.get(queue)
        if target is None:
            raise UnknownQueueName(f"no queue {queue!r}", field="queue")
        from_queue = queued.queue
        step = Step(f"moved:{from_queue}", (target.name,))
        self.move(queued, target, step)
        log.info("call %s moved from %s to %s", call_id, from_queue, target.name)
        self.notices.overflowed(queued, from_queue, target.name, "moved")
        agent = self.router.best_agent_for(call_id, self.now())
        if agent is not None:
            self.assign(call_id, agent)
        if queued.interaction_id is not None:
            await self.store.overflowed(queued.interaction_id, target.name, step.entry())
        return queued.waiting

    def offer_to(self, call_id: str, agent_id: int) -> WaitingCall:
        """A supervisor hands a waiting call to a named ready agent (skills and queues are the
        supervisor's call); if the agent does not answer, the call waits on in its place."""
        queued = self._waiting_call(call_id)
        if (
            agent_id not in self._profiles
            or self.router.agent_state(agent_id) is not AgentState.READY
        ):
            raise AgentNotReadyForCall("the agent is not ready", agent_id=agent_id)
        self.assign(call_id, agent_id)
        log.info("call %s offered to agent %s by a supervisor", call_id, agent_id)
        return queued.waiting
