"""The dialler's use cases: an agent's work, the preview of the next item, dialling it,
skipping it, and what each attempt's outcome does (docs/outbound.md).

Each use case checks, then acts, then says what it did: the rules (compliance.py) are checked
when an item is offered and again when it is dialled, by the service, never by the page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from callcenter.acd.model import AgentState
from callcenter.crm.vocabulary import FollowUpStatus
from callcenter.errors import Conflict, InvalidInput, NotFound
from callcenter.events import AgentStateChanged, EventBus, OutboundCallEnded
from callcenter.outbound.compliance import Verdict, may_dial
from callcenter.outbound.model import (
    AGENT_OUTCOMES,
    Attempt,
    AttemptOutcome,
    DialMode,
    DialRules,
    WorkItem,
)
from callcenter.outbound.ports import Availability, Dialler, OutboundStore, ProgressiveDialler
from callcenter.outbound.retry import after_attempt
from callcenter.outbound.web_callbacks import WebCallbackLimits

log = logging.getLogger(__name__)

# Items read per look for the next one the rules allow: a few first (in calling hours the
# first is nearly always allowed, and those held back are postponed, so the next look does
# not read them again); more only when the rules held all of those back. Each look is one
# statement whose rows are built into work items: 50 at every look cost milliseconds.
LOOKS = (8, 50)
DAY = dt.timedelta(days=1)
PROGRESSIVE_LOOK_SECONDS = 15.0  # ready agents are looked at again this often (items fall due)
# A dial whose call ended this long ago with no outcome heard is settled from its record.
UNHEARD_GRACE = dt.timedelta(minutes=1)
SETTLE_EVERY_SECONDS = 300.0


class WorkItemNotFound(NotFound):
    error_id = "work-item-not-found"


class WorkItemTaken(Conflict):
    """Another agent holds the item (their preview), or it is not the agent's to take."""

    error_id = "work-item-taken"


class DialUnderWay(Conflict):
    """A dial for the agent is under way already: one at a time per agent."""

    error_id = "dial-under-way"


class NotDiallable(Conflict):
    """The rules forbid dialling the item now; the detail names the rule and, when waiting
    helps, from when it may be dialled."""

    error_id = "work-item-not-diallable"


class NoDialToReport(Conflict):
    """An outcome for an item the agent has not reached on a call."""

    error_id = "no-dial-to-report"


class NotAnAgentOutcome(InvalidInput):
    error_id = "not-an-agent-outcome"


class NoDialler(Conflict):
    """The service runs without a PBX: nothing can be dialled."""

    error_id = "no-dialler"


@dataclass(frozen=True)
class WorkView:
    item: WorkItem
    attempts: list[Attempt]
    verdict: Verdict


@dataclass(frozen=True)
class DialedItem:
    item_id: int
    attempt_id: int
    call_id: str
    interaction_id: int


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OutboundService:
    def __init__(
        self,
        store: OutboundStore,
        dialler: Dialler | None,
        rules: DialRules | None = None,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        default_queue: str = "general",
    ) -> None:
        self.store = store
        self.dialler = dialler
        self.rules = rules or DialRules()
        self.clock = clock
        self.default_queue = default_queue
        # Progressive mode (docs/outbound.md): the agents who asked for it, and the item the
        # dialler is dialling for each (one at a time per agent). In memory: after a restart
        # agents turn it on again.
        self.progressive_agents: set[int] = set()
        self._dialling: dict[int, int] = {}
        self.web_limits = WebCallbackLimits(clock=clock)  # the public callback form's

    async def _views(self, items: list[WorkItem], now: dt.datetime) -> list[WorkView]:
        """Each item with its attempts and the rules' verdict: the attempts and the parties
        read for all the items at once, never per item."""
        if not items:
            return []
        attempts = await self.store.attempts_of([item.id for item in items])
        parties = await self.store.parties(items, now)
        views = []
        for item in items:
            tried = attempts.get(item.id, [])
            verdict = may_dial(item, parties[item.id], tried, now, self.rules)
            views.append(WorkView(item, tried, verdict))
        return views

    async def _view(self, item: WorkItem, now: dt.datetime) -> WorkView:
        return (await self._views([item], now))[0]

    async def my_work(self, agent_id: int, limit: int = 100) -> list[WorkView]:
        """The agent's own items and their queues', each with whether it may be dialled now."""
        now = self.clock()
        queues = await self.store.agent_queues(agent_id)
        return await self._views(await self.store.work_of(agent_id, queues, limit), now)

    async def preview_next(self, agent_id: int) -> WorkView | None:
        """The next item the rules allow, held for the agent (``DialRules.reservation``);
        None when there is none. Items the rules hold back wait until they may go."""
        view = await self._next_allowed(agent_id)
        if view is not None:
            log.info("work item %s previewed by agent %s", view.item.id, agent_id)
        return view

    async def _next_allowed(self, agent_id: int) -> WorkView | None:
        """The next item the rules allow, held for the agent; items held back are postponed."""
        now = self.clock()
        queues = await self.store.agent_queues(agent_id)
        seen: set[int] = set()  # judged in an earlier look (a store may not postpone them)
        for limit in LOOKS:
            items = await self.store.candidates(agent_id, queues, now, limit)
            for item in items:
                if item.id in seen:
                    continue
                seen.add(item.id)
                view = await self._view(item, now)
                if not view.verdict.allowed:
                    # Not looked at again before it may go (a do-not-call entry: a day later).
                    await self.store.postpone(item.id, view.verdict.earliest or now + DAY)
                    continue
                if await self.store.reserve(item.id, agent_id, now + self.rules.reservation, now):
                    held = await self.store.get(item.id)
                    return dataclasses.replace(view, item=held or item)
            if len(items) < limit:
                return None  # read them all
        return None

    # --- progressive mode ------------------------------------------------------------------

    def set_progressive(self, agent_id: int, on: bool) -> bool:
        """The agent asks for (or stops) progressive dialling while ready."""
        if on:
            self.progressive_agents.add(agent_id)
        else:
            self.progressive_agents.discard(agent_id)
        log.info("agent %s: progressive dialling %s", agent_id, "on" if on else "off")
        return on

    def dialling_for(self, agent_id: int) -> int | None:
        """The item the dialler is dialling for the agent now, if any."""
        return self._dialling.get(agent_id)

    async def dial_for(self, agent_id: int, dialler: ProgressiveDialler) -> DialedItem | None:
        """Progressive: dial the next item the rules allow for ``agent_id`` (ready and idle),
        client first. None when there is nothing to dial or a dial for them is under way."""
        if agent_id in self._dialling:
            return None
        self._dialling[agent_id] = 0  # claimed before the first await: one dial per agent
        try:
            view = await self._next_allowed(agent_id)
            if view is None:
                del self._dialling[agent_id]
                return None
            item = view.item
            if agent_id not in self.progressive_agents:
                # Turned off while the item was picked: nothing goes out.
                await self.store.release(item.id, agent_id)
                del self._dialling[agent_id]
                return None
            assert item.number is not None  # may_dial refuses an item without one
            self._dialling[agent_id] = item.id
            dialled = await self._dial_progressively(agent_id, item, self.clock(), dialler)
        except Exception:
            self._dialling.pop(agent_id, None)
            raise
        log.info(
            "work item %s: dialled progressively for agent %s (attempt %s, call %s)",
            item.id,
            agent_id,
            dialled.attempt_id,
            dialled.call_id,
        )
        return dialled

    async def call_back_for(
        self, agent_id: int, item_id: int, dialler: ProgressiveDialler
    ) -> DialedItem:
        """Virtual hold: a caller who kept their place has their turn, with ``agent_id``: dial
        their callback item for that agent now, client first (as a progressive dial, whether
        or not the agent dials progressively). The rules are checked as for any dial:
        NotDiallable (calling hours, do-not-call...), WorkItemTaken (held by another's preview,
        or a dial for the agent is under way), WorkItemNotFound, or the dialler's own errors."""
        if agent_id in self._dialling:
            raise DialUnderWay(f"a dial for agent {agent_id} is under way")
        self._dialling[agent_id] = item_id  # claimed before the first await
        try:
            item = await self._get(item_id)
            now = self.clock()
            await self._clear(item, agent_id, now)
            dialled = await self._dial_progressively(agent_id, item, now, dialler)
        except Exception:
            self._dialling.pop(agent_id, None)
            raise
        log.info(
            "work item %s: called back at its kept place, for agent %s (attempt %s, call %s)",
            item_id,
            agent_id,
            dialled.attempt_id,
            dialled.call_id,
        )
        return dialled

    async def _dial_progressively(
        self, agent_id: int, item: WorkItem, now: dt.datetime, dialler: ProgressiveDialler
    ) -> DialedItem:
        """Dial ``item`` (cleared by the rules, held for the agent) client first, and record
        the attempt."""
        assert item.number is not None  # may_dial refuses an item without one
        started = await dialler.dial(
            agent_id,
            item.number,
            item.client_id,
            item.queue or self.default_queue,
            item.language or "zh",
        )
        attempt = await self.store.start_attempt(
            item.id, agent_id, DialMode.PROGRESSIVE, now, interaction_id=started.interaction_id
        )
        return DialedItem(item.id, attempt.id, started.call_id, started.interaction_id)

    async def _clear(self, item: WorkItem, agent_id: int, now: dt.datetime) -> None:
        """Check the rules for dialling ``item`` now, then hold it for the agent:
        NotDiallable (with the rule and when it may go) or WorkItemTaken otherwise."""
        view = await self._view(item, now)
        if not view.verdict.allowed:
            raise NotDiallable(
                f"work item {item.id} may not be dialled now: {view.verdict.reason}",
                reason=view.verdict.reason,
                earliest=view.verdict.earliest.isoformat() if view.verdict.earliest else None,
            )
        if not await self.store.reserve(item.id, agent_id, now + self.rules.reservation, now):
            raise WorkItemTaken(f"work item {item.id} is held by another agent")

    async def run_progressive(
        self,
        events: EventBus,
        dialler: ProgressiveDialler,
        availability: Availability,
        every_seconds: float = PROGRESSIVE_LOOK_SECONDS,
    ) -> None:
        """Dial for each progressive agent who is ready and idle: when they become ready,
        when their dial ends, and every ``every_seconds`` (items fall due as time passes)."""

        def wakes(envelope: object) -> bool:
            payload = getattr(envelope, "payload", None)
            return isinstance(payload, OutboundCallEnded) or (
                isinstance(payload, AgentStateChanged) and payload.state is AgentState.READY
            )

        with events.subscribe(wakes) as woken:
            while True:
                for agent_id in sorted(self.progressive_agents):
                    if agent_id in self._dialling or not availability.idle(agent_id):
                        continue
                    try:
                        await self.dial_for(agent_id, dialler)
                    except Exception:  # the PBX or the database: tried again next round
                        log.exception("progressive dial for agent %s failed", agent_id)
                try:
                    async with asyncio.timeout(every_seconds):
                        envelope = await woken.get()
                except TimeoutError:
                    continue
                except StopAsyncIteration:
                    return
                if isinstance(envelope.payload, OutboundCallEnded):
                    # That agent's dial is over (follow() applies its outcome): free them here
                    # too, whichever of the two reads the event first.
                    self._dialling.pop(envelope.payload.agent_id, None)

    async def _own(self, agent_id: int, item_id: int) -> WorkItem:
        item = await self.store.get(item_id)
        if item is None:
            raise WorkItemNotFound(f"no work item {item_id}")
        now = self.clock()
        held_by_other = (
            item.reserved_by_id not in (None, agent_id)
            and item.reserved_until is not None
            and item.reserved_until > now
        )
        if held_by_other:
            raise WorkItemTaken(f"work item {item_id} is held by another agent")
        if item.assigned_to_id not in (None, agent_id):
            queues = await self.store.agent_queues(agent_id)
            if item.queue is None or item.queue not in queues:
                raise WorkItemTaken(f"work item {item_id} is another agent's")
        return item

    async def dial(self, agent_id: int, item_id: int) -> DialedItem:
        """Check the rules again, then ring the agent's phone and dial the client."""
        if self.dialler is None:
            raise NoDialler("the service runs without a PBX")
        item = await self._own(agent_id, item_id)
        now = self.clock()
        await self._clear(item, agent_id, now)
        assert item.number is not None  # may_dial refuses an item without one
        started = await self.dialler.dial(agent_id, item.number, item.client_id)
        attempt = await self.store.start_attempt(
            item_id,
            agent_id,
            DialMode.PREVIEW,
            now,
            interaction_id=started.interaction_id,
        )
        log.info(
            "work item %s: agent %s dials (attempt %s, call %s)",
            item_id,
            agent_id,
            attempt.id,
            started.call_id,
        )
        return DialedItem(item_id, attempt.id, started.call_id, started.interaction_id)

    async def skip(self, agent_id: int, item_id: int, reason: str) -> WorkItem:
        """Preview: the agent passes the item on, saying why; it comes back later."""
        item = await self._own(agent_id, item_id)
        now = self.clock()
        outcome = AttemptOutcome.SKIPPED
        await self.store.start_attempt(
            item_id, agent_id, DialMode.PREVIEW, now, outcome=outcome, note=reason
        )
        await self.store.apply(item_id, after_attempt(item, outcome, now, self.rules), outcome, now)
        log.info("work item %s skipped by agent %s", item_id, agent_id)
        return await self._get(item_id)

    async def dial_ended(
        self, interaction_id: int, outcome: AttemptOutcome, at: dt.datetime
    ) -> None:
        """The PBX's end of a dial (OutboundCallEnded). Not answered: the retry rules apply
        now. Answered: counted, held back a day, until the agent says how it went."""
        attempt = await self.store.attempt_of_call(interaction_id)
        if attempt is None or attempt.outcome is not None:
            return  # not a work item's call, or the agent has told already
        item = await self.store.get(attempt.follow_up_id)
        if item is None:
            return
        await self.store.end_attempt(attempt.id, outcome, at, None)
        if item.status is not FollowUpStatus.OPEN:
            # Closed while the call was up (a return visit's answers recorded during it): the
            # attempt keeps its outcome; the item is not reopened.
            log.info("work item %s: closed during attempt %s", item.id, attempt.id)
            return
        await self.store.apply(item.id, after_attempt(item, outcome, at, self.rules), outcome, at)
        log.info("work item %s: attempt %s ended %s", item.id, attempt.id, outcome.value)

    async def settle_unheard(self, grace: dt.timedelta = UNHEARD_GRACE) -> int:
        """Give an outcome to the dials whose call ended without its end being heard (the
        service stopped, or lost the PBX link, during the call; a restart adopted and ended
        the call's record): answered if the record says the client answered, else failed,
        with the retry rules as for any end. Only calls that ended ``grace`` ago: the live
        end of a call is applied by :meth:`follow`. The number settled."""
        settled = 0
        for dial in await self.store.unsettled_dials(self.clock() - grace):
            outcome = AttemptOutcome.ANSWERED if dial.answered else AttemptOutcome.FAILED
            await self.dial_ended(dial.interaction_id, outcome, dial.ended_at)
            settled += 1
        if settled:
            log.info("dials settled from their calls' records: %d", settled)
        return settled

    async def keep_settled(self, every_seconds: float = SETTLE_EVERY_SECONDS) -> None:
        """Settle unheard dials at the start and then every ``every_seconds``."""
        while True:
            try:
                await self.settle_unheard()
            except Exception:  # the database: tried again next round
                log.exception("unheard dials not settled")
            await asyncio.sleep(every_seconds)

    async def follow(self, events: EventBus) -> None:
        """Apply each dial's end as the PBX reports it (``call.outbound_ended``), for as long
        as the service runs."""
        with events.subscribe(lambda e: isinstance(e.payload, OutboundCallEnded)) as ended:
            while True:
                try:
                    envelope = await ended.get()
                except StopAsyncIteration:
                    return
                event = envelope.payload
                assert isinstance(event, OutboundCallEnded)
                if self._dialling.get(event.agent_id) is not None:
                    self._dialling.pop(event.agent_id, None)  # free for the next dial
                try:
                    await self.dial_ended(
                        event.interaction_id, AttemptOutcome(event.outcome.value), event.ended_at
                    )
                except Exception:  # the database: that item is found again by its reservation
                    log.exception("work item of call %s: its dial's end not applied", event.call_id)

    async def report(
        self,
        agent_id: int,
        item_id: int,
        outcome: AttemptOutcome,
        note: str | None = None,
        call_again_at: dt.datetime | None = None,
    ) -> WorkItem:
        """After talking: completed, reached (call again, at ``call_again_at`` if given),
        refused, or wrong number."""
        if outcome not in AGENT_OUTCOMES:
            raise NotAnAgentOutcome(
                f"an agent reports one of {sorted(o.value for o in AGENT_OUTCOMES)}",
                field="outcome",
            )
        item = await self._own(agent_id, item_id)
        attempts = [a for a in await self.store.attempts(item_id) if a.agent_id == agent_id]
        last = max(attempts, key=lambda a: a.started_at, default=None)
        if (
            last is None
            or last.interaction_id is None
            or last.outcome
            not in (
                None,
                AttemptOutcome.ANSWERED,
            )
        ):
            raise NoDialToReport(f"agent {agent_id} has not reached work item {item_id}")
        now = self.clock()
        if last.outcome is AttemptOutcome.ANSWERED:
            # Counted when the call ended answered: not counted twice.
            item = dataclasses.replace(item, attempts=item.attempts - 1)
        await self.store.end_attempt(last.id, outcome, now, note)
        after = after_attempt(item, outcome, now, self.rules, call_again_at=call_again_at)
        await self.store.apply(item_id, after, outcome, now)
        log.info("work item %s: agent %s reports %s", item_id, agent_id, outcome.value)
        return await self._get(item_id)

    async def _get(self, item_id: int) -> WorkItem:
        item = await self.store.get(item_id)
        if item is None:
            raise WorkItemNotFound(f"no work item {item_id}")
        return item
