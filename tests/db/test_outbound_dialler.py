"""The dialler's use cases over the real store, on SQLite and PostgreSQL, with the clock given
and a dialler we own standing in for the PBX (the real one: tests/integration)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from callcenter.acd.dial_outcome import DialOutcome
from callcenter.acd.model import AgentState, QueueConfig
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus, Role
from callcenter.events import AgentStateChanged, EventBus, OutboundCallEnded
from callcenter.outbound import compliance
from callcenter.outbound.model import Attempt, AttemptOutcome, DialMode, DialRules
from callcenter.outbound.retry import ItemAfter
from callcenter.outbound.service import (
    NoDialToReport,
    NotDiallable,
    OutboundService,
    WorkItemTaken,
)
from callcenter.persistence import dnc, queues
from callcenter.persistence.db import Database
from callcenter.persistence.outbound import SqlOutboundStore
from callcenter.persistence.tables import (
    AgentQueue,
    Client,
    FollowUp,
    FollowUpAttempt,
    Interaction,
    User,
)
from tests.support.crm_data import add_branch, add_client, add_interaction
from tests.support.outbound import MONDAY_10, SHANGHAI, Clock, Dialled, FakeDialler


@dataclass
class Floor:
    service: OutboundService
    dialler: FakeDialler
    clock: Clock
    db: Database
    agent: int
    other: int
    client: int


async def add_agent(db: Database, username: str, extension: str) -> int:
    async with db.write() as session:
        user = User(username=username, display_name=username, role=Role.AGENT, extension=extension)
        session.add(user)
        await session.flush()
        return user.id


async def add_item(db: Database, client_id: int | None, **fields: object) -> int:
    values: dict[str, object] = {
        "kind": FollowUpKind.RETURN_VISIT,
        "status": FollowUpStatus.OPEN,
        "due_on": dt.date(2026, 12, 20),
        **fields,
    }
    async with db.write() as session:
        row = FollowUp(client_id=client_id, **values)
        session.add(row)
        await session.flush()
        return row.id


@pytest.fixture
async def floor(database: Database) -> Floor:
    branch = await add_branch(database)
    client = await add_client(database, branch)
    agent = await add_agent(database, "agent01", "1001")
    other = await add_agent(database, "agent02", "1002")
    async with database.write() as session:
        await queues.put_queue(session, QueueConfig("general"), None)
        await queues.put_queue(session, QueueConfig("vip"), None)
        session.add(AgentQueue(agent_id=agent, queue_name="general"))
    clock = Clock()
    dialler = FakeDialler(database)
    service = OutboundService(SqlOutboundStore(database), dialler, DialRules(), clock=clock)
    return Floor(service, dialler, clock, database, agent, other, client)


async def test_the_next_item_is_the_first_by_priority_then_due_day_among_the_agents_own(
    floor: Floor,
) -> None:
    db = floor.db
    late = await add_item(db, floor.client, due_on=dt.date(2026, 12, 19))
    first = await add_item(db, floor.client, priority=2, due_on=dt.date(2026, 12, 25))
    await add_item(db, floor.client, queue="vip", priority=1)  # not a queue of theirs
    theirs = await add_item(db, floor.client, assigned_to_id=floor.other, priority=1)
    await add_item(db, floor.client, priority=1, not_before=MONDAY_10 + dt.timedelta(hours=1))
    view = await floor.service.preview_next(floor.agent)
    assert view is not None
    assert view.item.id == first
    assert (view.item.reserved_by_id, view.item.number) == (floor.agent, "+8613800138000")
    # The other agent gets their own first, then the next one free, never the one held.
    other_view = await floor.service.preview_next(floor.other)
    assert other_view is not None
    assert other_view.item.id == theirs
    await floor.service.skip(floor.other, theirs, "later")
    other_view = await floor.service.preview_next(floor.other)
    assert other_view is not None
    assert other_view.item.id == late


async def test_a_held_item_cannot_be_dialled_by_another_agent(floor: Floor) -> None:
    item = await add_item(floor.db, floor.client)
    assert (await floor.service.preview_next(floor.agent)) is not None
    with pytest.raises(WorkItemTaken):
        await floor.service.dial(floor.other, item)
    # Once the hold runs out, it may be taken.
    floor.clock.now += DialRules().reservation + dt.timedelta(seconds=1)
    dialled = await floor.service.dial(floor.other, item)
    assert floor.dialler.calls == [(floor.other, "+8613800138000", floor.client)]
    assert dialled.item_id == item


async def test_nothing_is_dialled_outside_calling_hours(floor: Floor) -> None:
    item = await add_item(floor.db, floor.client)
    floor.clock.now = dt.datetime(2026, 12, 7, 21, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
    assert await floor.service.preview_next(floor.agent) is None
    with pytest.raises(NotDiallable) as refused:
        await floor.service.dial(floor.agent, item)
    assert refused.value.detail["reason"] == compliance.OUTSIDE_HOURS
    assert refused.value.detail["earliest"] == "2026-12-08T01:00:00+00:00"  # 09:00 Shanghai
    assert floor.dialler.calls == []
    # The item waits for the opening; then it is offered.
    floor.clock.now = dt.datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
    view = await floor.service.preview_next(floor.agent)
    assert view is not None
    assert view.item.id == item


async def test_a_do_not_call_number_is_never_offered_nor_dialled(floor: Floor) -> None:
    item = await add_item(floor.db, floor.client)
    async with floor.db.write() as session:
        await dnc.add_entry(
            session,
            "+8613800138000",
            dnc.DncFields(dnc.DncScope.ALL, "asked on 2026-12-01", None),
            by_user_id=floor.agent,
        )
    assert await floor.service.preview_next(floor.agent) is None
    with pytest.raises(NotDiallable) as refused:
        await floor.service.dial(floor.agent, item)
    assert refused.value.detail["reason"] == compliance.DO_NOT_CALL
    assert floor.dialler.calls == []


async def test_a_care_call_to_a_client_who_opted_out_is_not_dialled(floor: Floor) -> None:
    care = await add_item(floor.db, floor.client, kind=FollowUpKind.BIRTHDAY)
    async with floor.db.write() as session:
        client = await session.get(Client, floor.client)
        assert client is not None
        client.care_calls_opt_out = True
    with pytest.raises(NotDiallable) as refused:
        await floor.service.dial(floor.agent, care)
    assert refused.value.detail["reason"] == compliance.CARE_OPT_OUT


async def test_an_unanswered_dial_is_retried_per_the_rules_until_the_limit(floor: Floor) -> None:
    item = await add_item(floor.db, floor.client)
    service = floor.service
    for n in range(1, 6):
        dialled = await service.dial(floor.agent, item)
        await service.dial_ended(dialled.interaction_id, AttemptOutcome.NO_ANSWER, floor.clock())
        after = await service.store.get(item)
        assert after is not None
        assert after.attempts == n
        if n < 5:
            assert after.next_attempt_at == floor.clock() + dt.timedelta(hours=2)
            with pytest.raises(NotDiallable):  # too soon
                await service.dial(floor.agent, item)
            floor.clock.now += dt.timedelta(hours=2)
            if floor.clock.now.astimezone(SHANGHAI).hour >= 20:
                floor.clock.now += dt.timedelta(hours=13)
    assert after.status is FollowUpStatus.CANCELLED
    async with floor.db.read() as session:
        row = await session.get(FollowUp, item)
        assert row is not None
        assert row.outcome == "not reached after 5 attempts (last: no_answer)"
    with pytest.raises(NotDiallable) as refused:
        await service.dial(floor.agent, item)
    assert refused.value.detail["reason"] == compliance.CLOSED
    assert len(floor.dialler.calls) == 5


async def test_an_answered_dial_is_completed_by_the_agent(floor: Floor) -> None:
    item = await add_item(floor.db, floor.client, kind=FollowUpKind.CALLBACK)
    service = floor.service
    with pytest.raises(NoDialToReport):
        await service.report(floor.agent, item, AttemptOutcome.COMPLETED)
    dialled = await service.dial(floor.agent, item)
    await service.dial_ended(dialled.interaction_id, AttemptOutcome.ANSWERED, floor.clock())
    done = await service.report(floor.agent, item, AttemptOutcome.COMPLETED, "explained the fee")
    assert (done.status, done.attempts, done.reserved_by_id) == (FollowUpStatus.DONE, 1, None)
    async with floor.db.read() as session:
        attempt = await session.get(FollowUpAttempt, dialled.attempt_id)
        assert attempt is not None
        assert (attempt.outcome, attempt.note, attempt.interaction_id) == (
            "completed",
            "explained the fee",
            dialled.interaction_id,
        )


async def test_a_skipped_item_comes_back_later_and_counts_no_attempt(floor: Floor) -> None:
    item = await add_item(floor.db, floor.client)
    view = await floor.service.preview_next(floor.agent)
    assert view is not None
    skipped = await floor.service.skip(floor.agent, item, "client's advisor calls today")
    assert (skipped.attempts, skipped.reserved_by_id, skipped.last_outcome) == (
        0,
        None,
        AttemptOutcome.SKIPPED,
    )
    assert await floor.service.preview_next(floor.agent) is None
    floor.clock.now += dt.timedelta(minutes=30)
    again = await floor.service.preview_next(floor.agent)
    assert again is not None
    assert again.item.id == item
    assert [a.note for a in again.attempts] == ["client's advisor calls today"]


async def test_a_callback_for_an_unidentified_caller_dials_its_own_number(floor: Floor) -> None:
    item = await add_item(floor.db, None, kind=FollowUpKind.CALLBACK, number="+8613911112222")
    view = await floor.service.preview_next(floor.agent)
    assert view is not None
    assert dataclasses.astuple(view.verdict)[0]
    await floor.service.dial(floor.agent, item)
    assert floor.dialler.calls == [(floor.agent, "+8613911112222", None)]


class WatchedStore(SqlOutboundStore):
    """The real store, telling when an attempt's outcome was written."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.applied = asyncio.Event()

    async def apply(
        self, item_id: int, after: ItemAfter, outcome: AttemptOutcome, at: dt.datetime
    ) -> None:
        await super().apply(item_id, after, outcome, at)
        self.applied.set()


async def test_the_pbxs_end_of_a_dial_reaches_the_item_through_the_event_bus(floor: Floor) -> None:
    item = await add_item(floor.db, floor.client)
    store = WatchedStore(floor.db)
    service = OutboundService(store, floor.dialler, DialRules(), clock=floor.clock)
    bus = EventBus()
    follower = asyncio.create_task(service.follow(bus))
    try:
        await asyncio.sleep(0)  # subscribed
        dialled = await service.dial(floor.agent, item)
        bus.publish(
            OutboundCallEnded(
                agent_id=floor.agent,
                interaction_id=dialled.interaction_id,
                call_id=dialled.call_id,
                number_masked="+86138****8000",
                outcome=DialOutcome.BUSY,
                answered_at=None,
                ended_at=floor.clock(),
            )
        )
        async with asyncio.timeout(10):
            await store.applied.wait()
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)  # unwound before teardown
    after = await store.get(item)
    assert after is not None
    assert (after.attempts, after.last_outcome, after.next_attempt_at) == (
        1,
        AttemptOutcome.BUSY,
        floor.clock() + dt.timedelta(minutes=15),
    )


@dataclass
class FakeProgressive:
    """The PBX's progressive dialling: an outbound interaction per client dialled."""

    db: Database
    dialled: asyncio.Queue[tuple[int, str, str]] = field(default_factory=asyncio.Queue)

    async def dial(
        self,
        agent_id: int,
        number: str,
        client_id: int | None,
        queue: str,
        language: str = "zh",
    ) -> Dialled:
        interaction_id = await add_interaction(self.db, client_id)
        await self.dialled.put((agent_id, number, queue))
        return Dialled(f"prog-{interaction_id}", interaction_id)


@dataclass
class Ready:
    agents: set[int] = field(default_factory=set)

    def idle(self, agent_id: int) -> bool:
        return agent_id in self.agents


class AttemptWatchedStore(WatchedStore):
    """The real store, telling when an attempt was written (the service writes it after the
    PBX took the dial) and when an outcome was: a test that saw the dial waits for them
    before reading them."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.started = asyncio.Event()

    async def start_attempt(
        self,
        item_id: int,
        agent_id: int,
        mode: DialMode,
        at: dt.datetime,
        *,
        interaction_id: int | None = None,
        outcome: AttemptOutcome | None = None,
        note: str | None = None,
    ) -> Attempt:
        attempt = await super().start_attempt(
            item_id, agent_id, mode, at, interaction_id=interaction_id, outcome=outcome, note=note
        )
        self.started.set()
        return attempt


async def test_progressive_dials_one_item_at_a_time_for_a_ready_agent(floor: Floor) -> None:
    first = await add_item(floor.db, floor.client, priority=2)
    second = await add_item(floor.db, floor.client, number="+8613911112222")
    bus, pbx, ready = EventBus(), FakeProgressive(floor.db), Ready()
    service = floor.service
    store = service.store = AttemptWatchedStore(floor.db)
    service.set_progressive(floor.agent, True)
    dialler = asyncio.create_task(service.run_progressive(bus, pbx, ready, every_seconds=3600))
    follower = asyncio.create_task(service.follow(bus))
    try:
        await asyncio.sleep(0)
        # Ready: the first item's client is dialled, for this agent, in its queue.
        ready.agents.add(floor.agent)
        bus.publish(
            AgentStateChanged(
                agent_id=floor.agent, state=AgentState.READY, reason=None, origin="api"
            )
        )
        async with asyncio.timeout(10):
            assert await pbx.dialled.get() == (floor.agent, "+8613800138000", "general")
            await store.started.wait()
        assert service.dialling_for(floor.agent) == first
        attempts = await service.store.attempts(first)
        assert [(a.mode.value, a.agent_id) for a in attempts] == [("progressive", floor.agent)]
        # Nothing more while that dial is under way, however often the agent is looked at.
        bus.publish(
            AgentStateChanged(
                agent_id=floor.agent, state=AgentState.READY, reason=None, origin="api"
            )
        )
        await asyncio.sleep(0.05)
        assert pbx.dialled.empty()
        # The client did not answer: the next item is dialled.
        bus.publish(
            OutboundCallEnded(
                agent_id=floor.agent,
                interaction_id=attempts[0].interaction_id or 0,
                call_id="prog-1",
                number_masked="+86138****8000",
                outcome=DialOutcome.NO_ANSWER,
                answered_at=None,
                ended_at=floor.clock(),
            )
        )
        async with asyncio.timeout(10):
            assert await pbx.dialled.get() == (floor.agent, "+8613911112222", "general")
            await store.applied.wait()  # the first one's outcome, by the follower
        assert service.dialling_for(floor.agent) == second
    finally:
        dialler.cancel()
        follower.cancel()
        # Unwound (their database work too) before the database is disposed.
        await asyncio.gather(dialler, follower, return_exceptions=True)
    after = await service.store.get(first)
    assert after is not None
    assert (after.attempts, after.last_outcome) == (1, AttemptOutcome.NO_ANSWER)


async def test_progressive_dials_nothing_for_an_agent_who_is_not_idle(floor: Floor) -> None:
    await add_item(floor.db, floor.client)
    pbx = FakeProgressive(floor.db)
    floor.service.set_progressive(floor.agent, True)
    bus = EventBus()
    dialler = asyncio.create_task(
        floor.service.run_progressive(bus, pbx, Ready(), every_seconds=0.01)
    )
    try:
        await asyncio.sleep(0.1)  # several rounds
    finally:
        dialler.cancel()
        await asyncio.gather(dialler, return_exceptions=True)  # unwound before teardown
    assert pbx.dialled.empty()


async def test_a_postponement_never_brings_an_items_retry_time_forward(floor: Floor) -> None:
    item = await add_item(floor.db, floor.client)
    store = floor.service.store
    later = floor.clock() + dt.timedelta(hours=2)
    await store.postpone(item, later)
    await store.postpone(item, floor.clock() + dt.timedelta(minutes=3))  # read before the outcome
    after = await store.get(item)
    assert after is not None
    assert after.next_attempt_at == later


async def test_an_item_closed_while_its_call_was_up_is_not_reopened_when_the_call_ends(
    floor: Floor,
) -> None:
    item = await add_item(floor.db, floor.client)
    dialled = await floor.service.dial(floor.agent, item)
    async with floor.db.write() as session:  # the return visit's answers, recorded mid-call
        row = await session.get(FollowUp, item)
        assert row is not None
        row.status = FollowUpStatus.DONE
        row.outcome = "completed"
    await floor.service.dial_ended(dialled.interaction_id, AttemptOutcome.ANSWERED, floor.clock())
    after = await floor.service.store.get(item)
    assert after is not None
    assert after.status is FollowUpStatus.DONE
    attempts = await floor.service.store.attempts(item)
    assert [a.outcome for a in attempts] == [AttemptOutcome.ANSWERED]


async def test_progressive_turned_off_while_an_item_is_picked_dials_nothing(floor: Floor) -> None:
    item = await add_item(floor.db, floor.client)
    pbx = FakeProgressive(floor.db)
    service = floor.service

    class TurnedOffMeanwhile(SqlOutboundStore):
        async def reserve(
            self, item_id: int, agent_id: int, until: dt.datetime, now: dt.datetime
        ) -> bool:
            service.set_progressive(agent_id, False)  # the agent clicks "off" just now
            return await super().reserve(item_id, agent_id, until, now)

    service.store = TurnedOffMeanwhile(floor.db)
    service.set_progressive(floor.agent, True)
    assert await service.dial_for(floor.agent, pbx) is None
    assert pbx.dialled.empty()
    assert service.dialling_for(floor.agent) is None
    held = await service.store.get(item)
    assert held is not None
    assert held.reserved_by_id is None  # released for the others


async def end_call(db: Database, interaction_id: int, *, answered: bool, at: dt.datetime) -> None:
    """The call's record ended (as a restart's adoption ends it), the end never told."""
    async with db.write() as session:
        row = await session.get(Interaction, interaction_id)
        assert row is not None
        row.answered_at = at - dt.timedelta(seconds=30) if answered else None
        row.ended_at = at


async def test_a_dial_whose_end_was_not_heard_is_settled_from_its_calls_record(
    floor: Floor,
) -> None:
    unanswered = await add_item(floor.db, floor.client)
    answered = await add_item(floor.db, floor.client, due_on=dt.date(2026, 12, 21))
    still_up = await add_item(floor.db, floor.client, due_on=dt.date(2026, 12, 22))
    calls = {}
    for item in (unanswered, answered, still_up):
        calls[item] = (await floor.service.dial(floor.agent, item)).interaction_id
        floor.clock.now += dt.timedelta(seconds=1)
    # The service stopped mid-call; a restart adopted the calls and ended two records.
    ended_at = floor.clock.now + dt.timedelta(minutes=2)
    await end_call(floor.db, calls[unanswered], answered=False, at=ended_at)
    await end_call(floor.db, calls[answered], answered=True, at=ended_at)
    floor.clock.now = ended_at + dt.timedelta(seconds=30)
    assert await floor.service.settle_unheard() == 0, "a live end may still be told"

    floor.clock.now = ended_at + dt.timedelta(minutes=2)
    assert await floor.service.settle_unheard() == 2
    assert await floor.service.settle_unheard() == 0, "settled once"

    async with floor.db.read() as session:
        outcomes = {
            row.follow_up_id: (row.outcome, row.ended_at)
            for row in await session.scalars(select(FollowUpAttempt))
        }
        items = {
            row.id: (row.last_outcome, row.next_attempt_at)
            for row in await session.scalars(select(FollowUp))
        }
    assert outcomes[unanswered] == ("failed", ended_at)
    assert outcomes[answered] == ("answered", ended_at)
    assert outcomes[still_up] == (None, None), "its call is still up"
    # The retry rules applied as for a told end: the failed one comes again later.
    last, again_at = items[unanswered]
    assert last == "failed"
    assert again_at is not None
    assert again_at > ended_at
    assert items[answered][0] == "answered"
