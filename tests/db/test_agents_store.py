"""Agents and queues in the database, on SQLite and PostgreSQL: every transition is stored with
its time, the current status follows it in the same transaction, concurrent transitions of
one agent run one after the other, and queue edits are versioned."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from callcenter.acd.agents import (
    AgentEvent,
    AgentHasNoPhone,
    AgentNotFound,
    IllegalAgentTransition,
    ReasonNotExpected,
)
from callcenter.acd.model import AgentProfile, AgentState, QueueConfig
from callcenter.acd.queues import InvalidAgentProfile, InvalidQueueConfig, QueueExists
from callcenter.crm.vocabulary import Role, Tier
from callcenter.demo.acd import DEMO_QUEUES
from callcenter.errors import DomainError, StaleVersion
from callcenter.persistence import agents, queues
from callcenter.persistence.agents import StoredChange
from callcenter.persistence.db import Database
from callcenter.persistence.seed import seed_demo
from callcenter.persistence.tables import AgentStateChange, User
from tests.support.crm_data import add_branch, add_interaction

S = AgentState
E = AgentEvent
T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
WRITERS = 50
WALKERS, ROUNDS = 8, 4


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class Staff:
    agent: int
    advisor: int
    supervisor: int
    no_phone: int


async def add_user(db: Database, username: str, role: Role, extension: str | None) -> int:
    async with db.write() as session:
        user = User(username=username, display_name=username, role=role, extension=extension)
        session.add(user)
        await session.flush()
        return user.id


@pytest.fixture
async def staff(database: Database) -> Staff:
    await add_branch(database)
    return Staff(
        agent=await add_user(database, "agent01", Role.AGENT, "1001"),
        advisor=await add_user(database, "advisor01", Role.ADVISOR, "1002"),
        supervisor=await add_user(database, "lead", Role.SUPERVISOR, "1901"),
        no_phone=await add_user(database, "agent99", Role.AGENT, None),
    )


async def history(db: Database, agent_id: int) -> list[StoredChange]:
    async with db.read() as session:
        return await agents.state_changes(session, agent_id)


async def apply(db: Database, agent_id: int, event: AgentEvent, **kwargs: object) -> None:
    async with db.write() as session:
        await agents.apply_event(session, agent_id, event, **kwargs)  # type: ignore[arg-type]


# --- transitions ------------------------------------------------------------------------------


async def test_each_transition_is_stored_with_its_time_and_the_status_follows(
    database: Database, staff: Staff
) -> None:
    async with database.write() as session:
        await agents.login(session, staff.agent, at=at(0))
    async with database.write() as session:
        await agents.set_not_ready(session, staff.agent, "break", at=at(60))
    async with database.write() as session:
        await agents.set_not_ready(session, staff.agent, "meeting", at=at(600))
    async with database.write() as session:
        applied = await agents.set_ready(session, staff.agent, at=at(900))

    rows = [
        (c.event, c.from_state, c.to_state, c.reason, c.at)
        for c in await history(database, staff.agent)
    ]
    assert rows == [
        (E.LOGIN, S.LOGGED_OUT, S.READY, None, at(0)),
        (E.NOT_READY, S.READY, S.NOT_READY, "break", at(60)),
        (E.NOT_READY, S.NOT_READY, S.NOT_READY, "meeting", at(600)),
        (E.READY, S.NOT_READY, S.READY, None, at(900)),
    ]
    assert applied.status.state is S.READY
    async with database.read() as session:
        record = await agents.get_agent(session, staff.agent)
    assert (record.status.state, record.status.since, record.status.reason) == (
        S.READY,
        at(900),
        None,
    )


async def test_time_in_each_state_follows_from_the_stored_rows(
    database: Database, staff: Staff
) -> None:
    async with database.write() as session:
        await agents.login(session, staff.agent, at=at(0))
        await agents.set_not_ready(session, staff.agent, "lunch", at=at(30))
        await agents.set_ready(session, staff.agent, at=at(30 + 1800))
        await agents.logout(session, staff.agent, at=at(2000))
    changes = await history(database, staff.agent)
    spent: dict[tuple[str, str | None], float] = {}
    for change, following in itertools.pairwise(changes):
        key = (change.to_state.value, change.reason)
        spent[key] = spent.get(key, 0) + (following.at - change.at).total_seconds()
    assert spent == {("ready", None): 30 + 170, ("not_ready", "lunch"): 1800}


async def test_a_call_names_its_interaction_from_offer_to_wrap_up_done(
    database: Database, staff: Staff
) -> None:
    call = await add_interaction(database, None)
    async with database.write() as session:
        await agents.login(session, staff.agent, at=at(0))
        await agents.apply_event(session, staff.agent, E.OFFER, at=at(5), interaction_id=call)
        await agents.apply_event(session, staff.agent, E.ANSWER, at=at(9))
        hung_up = await agents.apply_event(session, staff.agent, E.HANG_UP, at=at(200))
    assert (hung_up.status.state, hung_up.status.interaction_id) == (S.WRAP_UP, call)
    async with database.write() as session:
        done = await agents.set_ready(session, staff.agent, at=at(215))  # ends wrap-up early

    assert done.change.event is E.WRAP_UP_DONE
    assert (done.status.state, done.status.interaction_id, done.interaction_id) == (
        S.READY,
        None,
        call,
    )
    rows = [(c.event, c.interaction_id, c.by_user_id) for c in await history(database, staff.agent)]
    assert rows == [
        (E.LOGIN, None, staff.agent),
        (E.OFFER, call, None),
        (E.ANSWER, call, None),
        (E.HANG_UP, call, None),
        (E.WRAP_UP_DONE, call, staff.agent),
    ]


async def test_ring_no_answer_leaves_the_agent_not_ready_missed(
    database: Database, staff: Staff
) -> None:
    call = await add_interaction(database, None)
    async with database.write() as session:
        await agents.login(session, staff.advisor, at=at(0))
        await agents.apply_event(session, staff.advisor, E.OFFER, at=at(1), interaction_id=call)
        missed = await agents.apply_event(session, staff.advisor, E.RING_NO_ANSWER, at=at(16))
    assert (missed.status.state, missed.status.reason, missed.interaction_id) == (
        S.NOT_READY,
        "missed",
        call,
    )


async def test_a_refused_transition_stores_nothing(database: Database, staff: Staff) -> None:
    async with database.write() as session:
        await agents.login(session, staff.agent, at=at(0))
        await agents.apply_event(session, staff.agent, E.OFFER, at=at(1))
    with pytest.raises(IllegalAgentTransition):
        async with database.write() as session:
            await agents.logout(session, staff.agent, at=at(2))

    async def answer_then_a_bad_reason() -> None:
        async with database.write() as session:
            await agents.apply_event(session, staff.agent, E.ANSWER, at=at(3))
            await agents.apply_event(session, staff.agent, E.HANG_UP, at=at(4), reason="nap")

    with pytest.raises(ReasonNotExpected):
        await answer_then_a_bad_reason()  # rolls back the answer too
    assert [c.event for c in await history(database, staff.agent)] == [E.LOGIN, E.OFFER]
    async with database.read() as session:
        record = await agents.get_agent(session, staff.agent)
    assert record.status.state is S.RESERVED


async def test_supervisors_force_and_are_named_on_the_change(
    database: Database, staff: Staff
) -> None:
    async with database.write() as session:
        await agents.login(session, staff.agent, at=at(0))
        await agents.apply_event(
            session,
            staff.agent,
            E.FORCE_NOT_READY,
            reason="meeting",
            by_user_id=staff.supervisor,
            at=at(10),
        )
    last = (await history(database, staff.agent))[-1]
    assert (last.event, last.reason, last.by_user_id) == (
        E.FORCE_NOT_READY,
        "meeting",
        staff.supervisor,
    )


async def test_only_agents_with_a_phone_log_in(database: Database, staff: Staff) -> None:
    with pytest.raises(AgentHasNoPhone):
        async with database.write() as session:
            await agents.login(session, staff.no_phone)
    with pytest.raises(AgentNotFound):
        async with database.write() as session:
            await agents.login(session, staff.supervisor)
    with pytest.raises(AgentNotFound):
        async with database.write() as session:
            await agents.login(session, 9_999)


async def test_an_earlier_clock_never_makes_a_negative_time_in_state(
    database: Database, staff: Staff
) -> None:
    async with database.write() as session:
        await agents.login(session, staff.agent, at=at(10))
        applied = await agents.set_not_ready(session, staff.agent, "break", at=at(9))
    assert applied.status.since == at(10)


# --- concurrency ------------------------------------------------------------------------------


async def test_fifty_concurrent_offers_reserve_the_agent_exactly_once(
    database: Database, staff: Staff
) -> None:
    async with database.write() as session:
        await agents.login(session, staff.agent, at=at(0))

    async def offer(number: int) -> str:
        try:
            await apply(database, staff.agent, E.OFFER, at=at(1 + number))
        except IllegalAgentTransition as refused:
            return refused.error_id
        return "reserved"

    outcomes = await asyncio.gather(*(offer(n) for n in range(WRITERS)))

    assert outcomes.count("reserved") == 1
    assert set(outcomes) - {"reserved"} == {"agent-illegal-transition"}
    async with database.read() as session:
        offers = await session.scalar(
            select(func.count())
            .select_from(AgentStateChange)
            .where(AgentStateChange.event == E.OFFER)
        )
    assert offers == 1


async def test_concurrent_mixed_events_leave_an_unbroken_chain(
    database: Database, staff: Staff
) -> None:
    """Whatever order they land in, each stored change starts where the previous one ended
    and the status is the last change: no transition worked from a stale state."""
    async with database.write() as session:
        await agents.login(session, staff.agent, at=at(0))
    cycle = [E.OFFER, E.ANSWER, E.HANG_UP, E.WRAP_UP_DONE, E.NOT_READY, E.READY, E.LOGOUT]
    cycle.append(E.LOGIN)  # in every state one of these is legal

    async def send(event: AgentEvent) -> bool:
        reason = "break" if event is E.NOT_READY else None
        try:
            await apply(database, staff.agent, event, reason=reason)
        except DomainError:
            return False
        return True

    async def walk(rounds: int) -> int:
        return sum([await send(event) for _ in range(rounds) for event in cycle])

    applied = sum(await asyncio.gather(*(walk(ROUNDS) for _ in range(WALKERS))))

    changes = await history(database, staff.agent)
    assert len(changes) == 1 + applied
    assert applied >= ROUNDS  # each round of any walker applies one at least
    for previous, change in itertools.pairwise(changes):
        assert change.from_state is previous.to_state
        assert change.at >= previous.at
    async with database.read() as session:
        status = (await agents.get_agent(session, staff.agent)).status
    assert (status.state, status.since) == (changes[-1].to_state, changes[-1].at)


# --- profiles ---------------------------------------------------------------------------------


async def add_queue(db: Database, name: str, **settings: object) -> None:
    async with db.write() as session:
        await queues.put_queue(session, QueueConfig(name, **settings), None)  # type: ignore[arg-type]


async def test_profiles_are_loaded_for_logged_in_agents_only(
    database: Database, staff: Staff
) -> None:
    await add_queue(database, "general")
    await add_queue(database, "advisors", required_skills=("advisor",))
    async with database.write() as session:
        await agents.set_agent_profile(
            session,
            staff.advisor,
            skills={"advisor": 5, "trading": 3},
            languages=frozenset({"zh", "en"}),
            queues=frozenset({"advisors", "general"}),
        )
        await agents.set_agent_profile(
            session,
            staff.agent,
            skills={"general": 2},
            languages=frozenset({"zh"}),
            queues=frozenset({"general"}),
        )
        await agents.login(session, staff.advisor, at=at(0))

    async with database.read() as session:
        profiles = await agents.load_agent_profiles(session)
    assert profiles == [
        AgentProfile(
            agent_id=staff.advisor,
            extension="1002",
            skills={"advisor": 5, "trading": 3},
            languages=frozenset({"zh", "en"}),
            queues=frozenset({"advisors", "general"}),
        )
    ]


async def test_a_profile_naming_a_missing_queue_or_level_is_refused(
    database: Database, staff: Staff
) -> None:
    with pytest.raises(InvalidAgentProfile, match="no queues"):
        async with database.write() as session:
            await agents.set_agent_profile(
                session,
                staff.agent,
                skills={},
                languages=frozenset({"zh"}),
                queues=frozenset({"nowhere"}),
            )
    with pytest.raises(InvalidAgentProfile):
        async with database.write() as session:
            await agents.set_agent_profile(
                session,
                staff.agent,
                skills={"trading": 9},
                languages=frozenset({"zh"}),
                queues=frozenset(),
            )


async def test_agents_are_listed_with_their_state(database: Database, staff: Staff) -> None:
    async with database.write() as session:
        await agents.login(session, staff.agent, at=at(0))
    async with database.read() as session:
        everyone = await agents.list_agents(session)
        ready = await agents.list_agents(session, state=S.READY)
        out = await agents.list_agents(session, state=S.LOGGED_OUT)
    assert [r.agent_id for r in everyone] == [staff.agent, staff.advisor, staff.no_phone]
    assert [r.agent_id for r in ready] == [staff.agent]
    assert [r.agent_id for r in out] == [staff.advisor, staff.no_phone]
    assert out[0].status.since is None


# --- queues -----------------------------------------------------------------------------------


async def test_queues_are_created_changed_by_version_and_read_back(
    database: Database, staff: Staff
) -> None:
    await add_queue(database, "general")
    trading = QueueConfig(
        "trading_support",
        required_skills=("trading",),
        tier_priority={Tier.VIP: 8},
        overflow_queue="general",
    )
    async with database.write() as session:
        created, was_created = await queues.put_queue(
            session, trading, None, by_user_id=staff.supervisor
        )
    assert (was_created, created.version, created.updated_by_id) == (True, 1, staff.supervisor)

    changed = QueueConfig("trading_support", required_skills=("trading", "margin"))
    async with database.write() as session:
        record, was_created = await queues.put_queue(session, changed, 1)
    assert (was_created, record.version) == (False, 2)
    with pytest.raises(StaleVersion):
        async with database.write() as session:
            await queues.put_queue(session, trading, 1)
    with pytest.raises(QueueExists):
        async with database.write() as session:
            await queues.put_queue(session, trading, None)

    async with database.read() as session:
        configs = await queues.load_queue_configs(session)
    assert configs == [QueueConfig("general"), changed]


async def test_an_overflow_loop_is_refused(database: Database, staff: Staff) -> None:
    await add_queue(database, "general")
    await add_queue(database, "english", overflow_queue="general")
    with pytest.raises(InvalidQueueConfig, match="comes back round"):
        async with database.write() as session:
            await queues.put_queue(session, QueueConfig("general", overflow_queue="english"), 1)


async def test_fifty_concurrent_edits_of_one_version_succeed_exactly_once(
    database: Database, staff: Staff
) -> None:
    await add_queue(database, "general")

    async def edit(number: int) -> str:
        try:
            async with database.write() as session:
                config = QueueConfig("general", ring_seconds=10 + number)
                await queues.put_queue(session, config, 1)
        except StaleVersion as refused:
            return refused.error_id
        return "changed"

    outcomes = await asyncio.gather(*(edit(n) for n in range(WRITERS)))

    assert outcomes.count("changed") == 1
    assert set(outcomes) - {"changed"} == {"stale-version"}
    async with database.read() as session:
        assert (await queues.get_queue(session, "general")).version == 2


# --- the demo ---------------------------------------------------------------------------------


async def test_the_demo_seeds_the_queues_and_what_its_agents_can_take(database_url: str) -> None:
    await seed_demo(database_url, clients=5, as_of=dt.date(2026, 11, 25), history=False)
    db = Database(database_url)
    try:
        async with db.write() as session:
            agent01 = await session.scalar(select(User.id).where(User.username == "agent01"))
            assert agent01 is not None
            await agents.login(session, agent01, at=at(0))
        async with db.read() as session:
            configs = await queues.load_queue_configs(session)
            profiles = await agents.load_agent_profiles(session)
            everyone = await agents.list_agents(session)
    finally:
        await db.dispose()

    assert configs == sorted(DEMO_QUEUES, key=lambda q: q.name)
    hotline = {"general", "trading_support", "complaints", "advisors"}  # ivr_flows/hotline.yaml
    assert hotline <= {q.name for q in configs}
    assert profiles == [
        AgentProfile(
            agent_id=agent01,
            extension="1001",
            skills={"general": 4, "trading": 4, "margin": 3},
            languages=frozenset({"zh"}),
            queues=frozenset({"general", "trading_support"}),
        )
    ]
    advisor = next(r for r in everyone if r.username == "advisor.bj01.01")
    assert (advisor.skills["advisor"], advisor.languages, advisor.queues) == (
        4,
        frozenset({"zh", "en"}),
        frozenset({"advisors"}),
    )
