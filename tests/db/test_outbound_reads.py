"""The dialler's reads over the real store, on SQLite and PostgreSQL: the next items as one
statement with their numbers joined in, read a few at a time (more only when the rules hold
the first ones back), and "My work" read in the same few statements however many items the
agent has (docs/benchmarks.md, "Outbound: next due work item")."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from callcenter.acd.model import QueueConfig
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus, Role
from callcenter.outbound import compliance
from callcenter.outbound.model import AttemptOutcome, DialMode, DialRules, WorkItem
from callcenter.outbound.service import LOOKS, OutboundService
from callcenter.persistence import dnc, queues
from callcenter.persistence.db import Database
from callcenter.persistence.outbound import SqlOutboundStore
from callcenter.persistence.tables import AgentQueue, Client, ClientPhone, FollowUp, User
from tests.support.crm_data import add_branch, add_client
from tests.support.outbound import MONDAY_10, Clock, FakeDialler

DUE = dt.date(2026, 12, 20)


async def add_agent(db: Database, username: str, queue_names: Sequence[str] = ()) -> int:
    async with db.write() as session:
        user = User(username=username, display_name=username, role=Role.AGENT)
        session.add(user)
        await session.flush()
        session.add_all(AgentQueue(agent_id=user.id, queue_name=name) for name in queue_names)
        return user.id


async def add_queues(db: Database, *names: str) -> None:
    async with db.write() as session:
        for name in names:
            await queues.put_queue(session, QueueConfig(name), None)


async def add_item(db: Database, client_id: int | None, **fields: object) -> int:
    values: dict[str, object] = {
        "kind": FollowUpKind.RETURN_VISIT,
        "status": FollowUpStatus.OPEN,
        "due_on": DUE,
        **fields,
    }
    async with db.write() as session:
        row = FollowUp(client_id=client_id, **values)
        session.add(row)
        await session.flush()
        return row.id


async def add_numbered_client(db: Database, branch: int, n: int, phones: Sequence[str]) -> int:
    return await add_client(
        db,
        branch,
        account_no=f"10020000{n:02d}",
        id_number=f"3101011990010100{n:02d}",
        phones=phones,
    )


class LookingStore(SqlOutboundStore):
    """The real store, noting each look's limit and each postponement."""

    def __init__(self, db: Database, *, postpones: bool = True) -> None:
        super().__init__(db)
        self.limits: list[int] = []
        self.postponed: list[int] = []
        self.postpones = postpones

    async def candidates(
        self, agent_id: int, queues: Sequence[str], now: dt.datetime, limit: int
    ) -> list[WorkItem]:
        self.limits.append(limit)
        return await super().candidates(agent_id, queues, now, limit)

    async def postpone(self, item_id: int, until: dt.datetime) -> None:
        self.postponed.append(item_id)
        if self.postpones:
            await super().postpone(item_id, until)


async def test_each_item_is_read_with_its_own_number_else_its_clients_primary_else_the_first(
    database: Database,
) -> None:
    branch = await add_branch(database)
    primary_second = await add_numbered_client(
        database, branch, 1, ("+8613800000001", "+8613800000002")
    )
    async with database.write() as session:  # the second number made the primary one
        for phone in await session.scalars(
            select(ClientPhone).where(ClientPhone.client_id == primary_second)
        ):
            phone.is_primary = phone.e164 == "+8613800000002"
    no_primary = await add_numbered_client(database, branch, 2, ())
    async with database.write() as session:
        session.add_all(
            ClientPhone(client_id=no_primary, e164=e164, kind="home", is_primary=False)
            for e164 in ("+862100000003", "+862100000004")
        )
    no_phone = await add_numbered_client(database, branch, 3, ())
    agent = await add_agent(database, "agent01")
    expected = {
        await add_item(database, primary_second, priority=1): "+8613800000002",
        await add_item(database, no_primary, priority=2): "+862100000003",
        await add_item(database, no_phone, priority=3): None,
        await add_item(database, primary_second, priority=4, number="+8613999999999"): (
            "+8613999999999"
        ),
        await add_item(database, primary_second, priority=5, number=""): "+8613800000002",
        await add_item(database, None, priority=6, number="+8613911112222"): "+8613911112222",
    }
    store = SqlOutboundStore(database)
    read = await store.candidates(agent, [], MONDAY_10, 50)
    assert {item.id: item.number for item in read} == expected
    assert [item.id for item in read] == list(expected)  # the dialler's order
    for item in read:
        assert await store.get(item.id) == item
    assert await store.get(max(expected) + 1) is None


async def test_the_candidates_are_the_agents_own_their_queues_and_nobodys_in_dial_order(
    database: Database,
) -> None:
    branch = await add_branch(database)
    client = await add_client(database, branch)
    await add_queues(database, "general", "vip", "care")
    both = await add_agent(database, "agent01", ["vip", "general"])
    one = await add_agent(database, "agent02", ["care"])
    none = await add_agent(database, "agent03")
    mine = await add_item(database, client, assigned_to_id=both, priority=5)
    general = await add_item(database, client, queue="general", priority=3)
    vip = await add_item(database, client, queue="vip", priority=4)
    care = await add_item(database, client, queue="care", priority=2)
    nobodys = await add_item(database, client, priority=6)
    nobodys_early = await add_item(database, client, priority=6, due_on=DUE - dt.timedelta(days=1))
    ones = await add_item(database, client, assigned_to_id=one, queue="general", priority=1)
    await add_item(database, client, priority=1, status=FollowUpStatus.DONE)
    await add_item(database, client, priority=1, next_attempt_at=MONDAY_10 + dt.timedelta(hours=1))
    held_for_one = await add_item(
        database,
        client,
        priority=1,
        reserved_by_id=one,
        reserved_until=MONDAY_10 + dt.timedelta(minutes=2),
    )
    store = SqlOutboundStore(database)

    async def ids(agent: int, limit: int = 50) -> list[int]:
        names = await store.agent_queues(agent)
        return [item.id for item in await store.candidates(agent, names, MONDAY_10, limit)]

    assert await store.agent_queues(both) == ["general", "vip"]
    assert await ids(both) == [general, vip, mine, nobodys_early, nobodys]
    # Their own item (a queue named too), and nobody's item that another preview holds.
    assert await ids(one) == [ones, held_for_one, care, nobodys_early, nobodys]
    assert await ids(none) == [nobodys_early, nobodys]
    assert await ids(both, 2) == [general, vip]
    # The statements are kept per number of queues: read again, in another order of agents.
    assert await ids(none) == [nobodys_early, nobodys]
    assert await ids(both) == [general, vip, mine, nobodys_early, nobodys]
    # My work: their own and their queues' open items, due or not, never nobody's.
    later = await add_item(
        database, client, assigned_to_id=both, next_attempt_at=MONDAY_10 + dt.timedelta(hours=2)
    )

    async def work(agent: int, limit: int = 100) -> list[int]:
        names = await store.agent_queues(agent)
        return [item.id for item in await store.work_of(agent, names, limit)]

    assert await work(both) == [general, vip, mine, later]
    assert await work(one) == [ones, care]
    assert await work(none) == []
    assert await work(both, 3) == [general, vip, mine]


async def test_the_next_item_is_read_a_few_at_a_time_and_more_only_when_the_rules_hold_back(
    database: Database,
) -> None:
    branch = await add_branch(database)
    opted_out = await add_numbered_client(database, branch, 1, ("+8613800000001",))
    willing = await add_numbered_client(database, branch, 2, ("+8613800000002",))
    async with database.write() as session:
        row = await session.get(Client, opted_out)
        assert row is not None
        row.care_calls_opt_out = True
    agent = await add_agent(database, "agent01")
    first_look = LOOKS[0]
    refused = [
        await add_item(database, opted_out, kind=FollowUpKind.BIRTHDAY, priority=1)
        for _ in range(first_look + 1)
    ]
    allowed = await add_item(database, willing, priority=2)
    clock = Clock()
    store = LookingStore(database)
    service = OutboundService(store, FakeDialler(database), DialRules(), clock=clock)
    view = await service.preview_next(agent)
    assert view is not None
    assert (view.item.id, view.item.reserved_by_id) == (allowed, agent)
    # The first look was all held back (postponed, each once), so a second, longer one.
    assert store.limits == list(LOOKS)
    assert store.postponed == refused
    # Those are not read again: the next preview finds the same item (held for the agent)
    # in its first look.
    store.limits.clear()
    again = await service.preview_next(agent)
    assert again is not None
    assert again.item.id == allowed
    assert store.limits == [first_look]


async def test_an_item_held_back_is_judged_once_even_when_the_store_reads_it_again(
    database: Database,
) -> None:
    branch = await add_branch(database)
    client = await add_client(database, branch)
    agent = await add_agent(database, "agent01")
    async with database.write() as session:
        await dnc.add_entry(
            session,
            "+8613800138000",
            dnc.DncFields(dnc.DncScope.ALL, "asked", None),
            by_user_id=agent,
        )
    blocked = [await add_item(database, client, priority=1) for _ in range(LOOKS[0])]
    own_number = await add_item(database, client, priority=2, number="+8613911112222")
    store = LookingStore(database, postpones=False)  # as the benchmark's: nothing written
    service = OutboundService(store, FakeDialler(database), DialRules(), clock=Clock())
    view = await service.preview_next(agent)
    assert view is not None
    assert view.item.id == own_number
    assert store.postponed == blocked
    assert store.limits == list(LOOKS)


async def test_nothing_more_is_read_when_the_first_look_had_every_item(
    database: Database,
) -> None:
    branch = await add_branch(database)
    client = await add_client(database, branch)
    agent = await add_agent(database, "agent01")
    await add_item(database, client, kind=FollowUpKind.CALLBACK)
    store = LookingStore(database)
    clock = Clock(dt.datetime(2026, 12, 7, 13, 0, tzinfo=dt.UTC))  # 21:00 in Shanghai
    service = OutboundService(store, FakeDialler(database), DialRules(), clock=clock)
    assert await service.preview_next(agent) is None
    assert store.limits == [LOOKS[0]]


@contextlib.contextmanager
def statements_sent() -> Iterator[list[str]]:
    """Every statement any engine sends meanwhile (the SQLite hot path has its own engine)."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", note)


async def test_my_work_reads_the_same_few_statements_for_one_item_or_many(
    database: Database,
) -> None:
    branch = await add_branch(database)
    plain = await add_numbered_client(database, branch, 1, ("+8613800000001",))
    opted_out = await add_numbered_client(database, branch, 2, ("+8613800000002",))
    care_only = await add_numbered_client(database, branch, 3, ("+8613800000003",))
    barred = await add_numbered_client(database, branch, 4, ("+8613800000004",))
    await add_queues(database, "general")
    agent = await add_agent(database, "agent01", ["general"])
    async with database.write() as session:
        row = await session.get(Client, opted_out)
        assert row is not None
        row.care_calls_opt_out = True
        for number, scope in (
            ("+8613800000003", dnc.DncScope.CARE),
            ("+8613800000004", dnc.DncScope.ALL),
        ):
            await dnc.add_entry(
                session, number, dnc.DncFields(scope, "asked", None), by_user_id=agent
            )
    clock = Clock()
    store = SqlOutboundStore(database)
    service = OutboundService(store, FakeDialler(database), DialRules(), clock=clock)
    first = await add_item(database, plain, assigned_to_id=agent, priority=1)
    await service.my_work(agent)  # connections opened, dialects initialised

    with statements_sent() as one_item:
        views = await service.my_work(agent)
    assert [v.item.id for v in views] == [first]

    tried = await add_item(database, plain, queue="general", priority=2)
    for minutes in (30, 20):
        await store.start_attempt(
            tried,
            agent,
            DialMode.PREVIEW,
            MONDAY_10 - dt.timedelta(minutes=minutes),
            outcome=AttemptOutcome.SKIPPED,
            note=f"{minutes} minutes ago",
        )
    opted_care = await add_item(
        database, opted_out, kind=FollowUpKind.BIRTHDAY, queue="general", priority=3
    )
    opted_visit = await add_item(database, opted_out, assigned_to_id=agent, priority=3)
    care_barred = await add_item(
        database, care_only, kind=FollowUpKind.MARKET_ALERT, queue="general", priority=4
    )
    visit_care_entry = await add_item(database, care_only, queue="general", priority=4)
    all_barred = await add_item(database, barred, queue="general", priority=5)
    rest = [await add_item(database, plain, assigned_to_id=agent, priority=6) for _ in range(5)]
    await add_item(database, plain, queue="vip", priority=1)  # not a queue of theirs

    with statements_sent() as many:
        views = await service.my_work(agent)
    assert len(many) == len(one_item)
    by_id = {v.item.id: v for v in views}
    assert [v.item.id for v in views] == [
        first,
        tried,
        opted_care,
        opted_visit,
        care_barred,
        visit_care_entry,
        all_barred,
        *rest,
    ]
    assert [a.note for a in by_id[tried].attempts] == ["30 minutes ago", "20 minutes ago"]
    assert all(by_id[i].attempts == [] for i in by_id if i != tried)
    refusals = {i: v.verdict.reason for i, v in by_id.items() if not v.verdict.allowed}
    assert refusals == {
        opted_care: compliance.CARE_OPT_OUT,
        care_barred: compliance.DO_NOT_CALL,
        all_barred: compliance.DO_NOT_CALL,
    }
    # A care-only entry lets a return visit through; an opt-out too.
    assert by_id[visit_care_entry].verdict.allowed
    assert by_id[opted_visit].verdict.allowed


@pytest.mark.parametrize("items", [0, 3])
async def test_parties_and_attempts_of_no_items_or_unknown_ones_read_nothing_wrong(
    database: Database, items: int
) -> None:
    branch = await add_branch(database)
    client = await add_client(database, branch)
    ids = [await add_item(database, client) for _ in range(items)]
    store = SqlOutboundStore(database)
    found = [item for i in ids if (item := await store.get(i)) is not None]
    assert await store.attempts_of(ids) == {i: [] for i in ids}
    parties = await store.parties(found, MONDAY_10)
    assert set(parties) == set(ids)
    assert all(p.do_not_call is None and not p.care_calls_opt_out for p in parties.values())


async def test_hot_path_reads_on_postgresql_keep_generic_plans_and_units_of_work_do_not(
    database: Database,
) -> None:
    mode = text("SELECT current_setting('plan_cache_mode')")
    if database.sqlite:
        rows = await database.read_rows(text("SELECT 1, 'one'"), {})
        assert [tuple(row) for row in rows] == [(1, "one")]
        return
    # PostgreSQL re-planned the candidates at every run under "auto" (docs/benchmarks.md).
    assert [tuple(row) for row in await database.read_rows(mode, {})] == [("force_generic_plan",)]
    async with database.read() as session:
        assert await session.scalar(mode) == "auto"
