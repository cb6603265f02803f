"""The screen pop in the database, on SQLite and PostgreSQL: the caller's client summary as the
ACD reads it when a call joins a queue, and the pop's one audit entry, written in the same
transaction as the agent's reservation (so no pop leaves without it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.acd.agent_states import StateChange
from callcenter.acd.agents import AgentEvent
from callcenter.acd.model import AgentState, ClientSummary
from callcenter.crm.vocabulary import RiskProfile, Role, Tier, ValueClass
from callcenter.persistence import agents, screen_pop
from callcenter.persistence.acd_backend import SqlAcdBackend
from callcenter.persistence.agent_states import SqlAgentStates
from callcenter.persistence.db import Database
from callcenter.persistence.tables import AuditEntry, User
from tests.support.crm_data import add_branch, add_client, add_interaction

AT = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)
POP_FIELDS = ["name", "name_latin", "tier", "value_class", "risk_profile", "advisor_name"]


async def add_user(db: Database, username: str, display_name: str, role: Role) -> int:
    async with db.write() as session:
        user = User(username=username, display_name=display_name, role=role, extension="1001")
        session.add(user)
        await session.flush()
        return user.id


async def ready_agent(db: Database) -> int:
    agent_id = await add_user(db, "agent01", "Agent One", Role.AGENT)
    async with db.write() as session:
        await agents.login(session, agent_id, at=AT - dt.timedelta(minutes=5))
    return agent_id


async def pop_audits(db: Database) -> list[tuple[Any, ...]]:
    async with db.read() as session:
        rows = await session.execute(
            select(
                AuditEntry.actor_id,
                AuditEntry.client_id,
                AuditEntry.interaction_id,
                AuditEntry.detail,
            )
            .where(AuditEntry.action == "call.offered")
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


async def state_of(db: Database, agent_id: int) -> AgentState:
    async with db.read() as session:
        return (await agents.get_agent(session, agent_id)).status.state


async def test_the_summary_holds_what_routing_weighs_and_the_pop_shows(
    database: Database,
) -> None:
    branch_id = await add_branch(database)
    advisor_id = await add_user(database, "advisor01", "李娜", Role.ADVISOR)
    client_id = await add_client(database, branch_id, advisor_id=advisor_id, tier=Tier.VIP)
    alone = await add_client(database, branch_id, account_no="1001000002", name="王芳")

    store = SqlAcdBackend(database)

    assert await store.caller(client_id) == ClientSummary(
        client_id=client_id,
        name="张伟",
        name_latin="Zhang Wei",
        tier=Tier.VIP,
        value_class=ValueClass.CORE_VOLUME,
        risk_profile=RiskProfile.BALANCED,
        advisor_id=advisor_id,
        advisor_name="李娜",
    )
    without_advisor = await store.caller(alone)
    assert without_advisor is not None
    assert (without_advisor.name, without_advisor.advisor_id) == ("王芳", None)
    assert without_advisor.advisor_name is None
    assert await store.caller(alone + 1000) is None  # no such client: an unknown caller


async def test_the_reservation_audits_the_pop_once_with_who_which_client_and_what_it_shows(
    database: Database,
) -> None:
    branch_id = await add_branch(database)
    client_id = await add_client(database, branch_id)
    interaction_id = await add_interaction(database, client_id)
    agent_id = await ready_agent(database)
    states = SqlAgentStates(database)  # the reservation the ACD makes, through the owner

    reserved = await states.apply(
        StateChange(
            agent_id, AgentEvent.OFFER, AT, interaction_id=interaction_id, pop_client_id=client_id
        )
    )

    assert reserved.state is AgentState.RESERVED
    assert await pop_audits(database) == [
        (agent_id, client_id, interaction_id, {"fields": POP_FIELDS})
    ]


async def test_an_unknown_callers_pop_shows_no_record_and_is_not_audited(
    database: Database,
) -> None:
    await add_branch(database)
    interaction_id = await add_interaction(database, None)
    agent_id = await ready_agent(database)
    states = SqlAgentStates(database)

    await states.apply(StateChange(agent_id, AgentEvent.OFFER, AT, interaction_id=interaction_id))

    assert await state_of(database, agent_id) is AgentState.RESERVED
    assert await pop_audits(database) == []


async def test_no_reservation_and_so_no_pop_when_its_audit_cannot_be_written(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    branch_id = await add_branch(database)
    client_id = await add_client(database, branch_id)
    agent_id = await ready_agent(database)
    states = SqlAgentStates(database)

    async def failing_audit(*args: Any, **kwargs: Any) -> None:
        raise OSError("the database went away")

    monkeypatch.setattr(screen_pop, "record_audit", failing_audit)
    with pytest.raises(OSError, match="went away"):
        await states.apply(StateChange(agent_id, AgentEvent.OFFER, AT, pop_client_id=client_id))

    assert await state_of(database, agent_id) is AgentState.READY  # rolled back together
    assert await pop_audits(database) == []
