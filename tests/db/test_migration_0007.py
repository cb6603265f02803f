"""Migration 0007, one name per concept, over data, on SQLite and PostgreSQL: a database that
holds a call under ``interactions.asterisk_uniqueid`` and an agent under the agent tables'
``user_id`` finds them under ``call_id`` and ``agent_id`` once upgraded, with every row, key
and constraint kept; downgraded, under the old names again. The audit log is append-only, so
its older ``pop.offered`` entries keep that action and are still found as pops."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, DateTime, Insert, column, insert, select, table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import ColumnClause

from callcenter.acd.agents import AgentEvent
from callcenter.acd.model import AgentState
from callcenter.crm.vocabulary import Channel, Direction
from callcenter.persistence import agents, migrate
from callcenter.persistence.db import Database
from callcenter.persistence.screen_pop import CALL_OFFERED_ACTIONS
from callcenter.persistence.tables import AgentSkill, AuditEntry, Base, Interaction

CALL_ID = "1765180800.7"
AT = dt.datetime(2026, 12, 8, 1, 0)  # naive UTC, as the columns store it
AGENT, SUPERVISOR = 5, 6
INTERACTION = 40


def _row(table_name: str, /, **values: Any) -> Insert:
    """A row of a table as revision 0006 has it, without the models (which name the columns
    anew)."""

    def typed(key: str, value: object) -> ColumnClause[Any]:
        if isinstance(value, dt.datetime):
            return column(key, DateTime())
        if isinstance(value, dict | list):
            return column(key, JSON())
        return column(key)

    return insert(table(table_name, *(typed(k, v) for k, v in values.items()))).values(**values)


async def _at_0006_with_a_call(database_url: str, database: Database) -> None:
    """An agent, forced not ready by a supervisor earlier, now reserved for a call that
    popped: as revision 0006 stores them."""
    await database.dispose()
    await migrate.downgrade_async(database_url, "0006")
    user = {"display_name": "Someone", "active": True, "created_at": AT}
    change = {"user_id": AGENT, "from_state": "ready"}
    async with database.write() as session:
        for row in (
            _row("users", id=AGENT, username="agent05", role="agent", extension="1005", **user),
            _row("users", id=SUPERVISOR, username="super06", role="supervisor", **user),
            _row("queues", name="general", config={}, version=1, updated_at=AT),
            _row("agent_skills", user_id=AGENT, skill="trading", level=4),
            _row("agent_languages", user_id=AGENT, language="zh"),
            _row("agent_queues", user_id=AGENT, queue_name="general"),
            _row(
                "interactions",
                id=INTERACTION,
                channel="voice",
                direction="inbound",
                started_at=AT,
                offered_at=AT,
                ivr_path=["main_menu=1"],
                authenticated=False,
                queue="general",
                agent_id=AGENT,
                asterisk_uniqueid=CALL_ID,
                asterisk_linkedid=CALL_ID,
                version=1,
            ),
            _row(
                "agent_state_changes",
                event="force_not_ready",
                to_state="not_ready",
                at=AT - dt.timedelta(minutes=2),
                by_user_id=SUPERVISOR,
                **change,
            ),
            _row(
                "agent_state_changes",
                event="offer",
                to_state="reserved",
                at=AT,
                interaction_id=INTERACTION,
                **change,
            ),
            _row(
                "agent_status",
                user_id=AGENT,
                state="reserved",
                since=AT,
                interaction_id=INTERACTION,
            ),
            _row(
                "audit_log",
                at=AT,
                actor_id=AGENT,
                action="pop.offered",
                interaction_id=INTERACTION,
                detail={"fields": ["name"]},
            ),
        ):
            await session.execute(row)


async def test_upgrading_finds_the_call_under_call_id_and_the_agent_under_agent_id(
    database_url: str, database: Database
) -> None:
    try:
        await _at_0006_with_a_call(database_url, database)
    finally:
        await migrate.upgrade_async(database_url)
    await database.dispose()

    async with database.read() as session:
        call = await session.scalar(select(Interaction).where(Interaction.call_id == CALL_ID))
        assert call is not None
        assert (call.id, call.agent_id, call.asterisk_linkedid) == (INTERACTION, AGENT, CALL_ID)
        agent = await agents.get_agent(session, AGENT)
        changes = await agents.state_changes(session, AGENT)
        popped = (
            await session.scalars(
                select(AuditEntry.interaction_id).where(AuditEntry.action.in_(CALL_OFFERED_ACTIONS))
            )
        ).all()
    assert (agent.status.state, agent.status.interaction_id) == (AgentState.RESERVED, INTERACTION)
    assert (dict(agent.skills), agent.languages, agent.queues) == (
        {"trading": 4},
        frozenset({"zh"}),
        frozenset({"general"}),
    )
    assert [(c.event, c.by_user_id, c.interaction_id) for c in changes] == [
        (AgentEvent.FORCE_NOT_READY, SUPERVISOR, None),
        (AgentEvent.OFFER, None, INTERACTION),
    ]
    assert popped == [INTERACTION]  # written before 0007 as pop.offered, still a pop


async def test_after_upgrading_the_renamed_columns_keep_their_constraints(
    database_url: str, database: Database
) -> None:
    try:
        await _at_0006_with_a_call(database_url, database)
    finally:
        await migrate.upgrade_async(database_url)
    await database.dispose()

    async with database.connect() as conn:  # names included: uq_interactions_call_id, ...
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
        )
    assert diff == []
    with pytest.raises(IntegrityError):  # one record per call
        async with database.write() as session:
            session.add(
                Interaction(
                    channel=Channel.VOICE,
                    direction=Direction.INBOUND,
                    started_at=AT.replace(tzinfo=dt.UTC),
                    call_id=CALL_ID,
                )
            )
    with pytest.raises(IntegrityError):  # an agent's skill names an existing user
        async with database.write() as session:
            session.add(AgentSkill(agent_id=999, skill="trading", level=1))


async def test_downgrading_finds_them_under_the_old_names_again(
    database_url: str, database: Database
) -> None:
    try:
        await _at_0006_with_a_call(database_url, database)
        await migrate.upgrade_async(database_url)
        await migrate.downgrade_async(database_url, "0006")
        async with database.read() as session:
            call: Sequence[Any] = (
                await session.execute(
                    select(column("id"), column("agent_id"))
                    .select_from(table("interactions", column("asterisk_uniqueid")))
                    .where(column("asterisk_uniqueid") == CALL_ID)
                )
            ).all()
            state: Sequence[Any] = (
                await session.execute(
                    select(column("state"))
                    .select_from(table("agent_status"))
                    .where(column("user_id") == AGENT)
                )
            ).all()
    finally:
        await database.dispose()
        await migrate.upgrade_async(database_url)
    assert [tuple(row) for row in call] == [(INTERACTION, AGENT)]
    assert [tuple(row) for row in state] == [(AgentState.RESERVED.value,)]
