"""A call's record in a state no call produces is closed as an anomaly, on SQLite and on
PostgreSQL: the adoption after a restart must never fail on it (issue 14: a record patched to
wrapped up without an end stopped every later start of the service from handling calls)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from callcenter.acd.model import AgentState
from callcenter.acd.ports import OpenCall
from callcenter.crm import interactions
from callcenter.crm.interactions import NewInteraction, Phase, PhaseUpdate
from callcenter.crm.vocabulary import Channel, Direction, Role
from callcenter.persistence.acd_backend import SqlAcdBackend
from callcenter.persistence.crm import SqlCrm
from callcenter.persistence.db import Database
from callcenter.persistence.tables import AgentStatusRow, Interaction, User
from tests.support.crm_data import T0

MINUTE = dt.timedelta(minutes=1)


async def test_a_record_wrapped_up_but_never_ended_is_closed_before_its_wrap_up(
    database: Database,
) -> None:
    crm = SqlCrm(database)
    record = await interactions.create_interaction(
        crm, NewInteraction(Channel.VOICE, Direction.INBOUND, T0, call_id="1765000000.1")
    )
    await interactions.record_phase(crm, record.id, PhaseUpdate(Phase.QUEUED, T0 + MINUTE))
    # What a staff member's PATCH could leave: wrapped up, never ended.
    async with database.write() as session:
        row = await session.get(Interaction, record.id)
        assert row is not None
        row.wrapup_ended_at = T0 + 3 * MINUTE
    store = SqlAcdBackend(database)

    [open_call] = await store.open_calls(T0 - MINUTE, T0 + 60 * MINUTE)
    assert open_call == OpenCall(
        record.id, "1765000000.1", None, None, False, anomaly="wrapped up, never ended"
    )
    await store.close_as_anomaly(record.id, T0 + 30 * MINUTE, "could not be ended")

    async with database.read() as session:
        row = (await session.execute(select(Interaction))).scalar_one()
        assert row.ended_at == T0 + 3 * MINUTE  # not after its wrap-up
        assert row.anomaly == "could not be ended"
        assert row.wait_seconds == 120  # queued until the caller was gone
    assert await store.open_calls(T0 - MINUTE, T0 + 60 * MINUTE) == []


async def test_an_open_record_with_phases_in_order_ends_at_the_time_given(
    database: Database,
) -> None:
    crm = SqlCrm(database)
    record = await interactions.create_interaction(
        crm, NewInteraction(Channel.VOICE, Direction.INBOUND, T0, call_id="1765000000.2")
    )
    store = SqlAcdBackend(database)

    await store.close_as_anomaly(record.id, T0 + 2 * MINUTE, "x" * 300)

    async with database.read() as session:
        row = (await session.execute(select(Interaction))).scalar_one()
        assert row.ended_at == T0 + 2 * MINUTE
        assert row.anomaly == "x" * 200  # the reason is cut to its column


async def test_a_call_taken_back_from_the_ivr_is_recorded_queued_once(database: Database) -> None:
    """A call a previous run left in the IVR had no queued time: its wait counted nowhere."""
    crm = SqlCrm(database)
    record = await interactions.create_interaction(
        crm, NewInteraction(Channel.VOICE, Direction.INBOUND, T0, call_id="1765000000.3")
    )
    store = SqlAcdBackend(database)

    await store.queued(record.id, "general", T0 + MINUTE)
    await store.queued(record.id, "general", T0 + 2 * MINUTE)  # again: nothing changes

    async with database.read() as session:
        row = (await session.execute(select(Interaction))).scalar_one()
        assert row.queued_at == T0 + MINUTE
        assert row.queue == "general"


async def test_an_open_call_names_the_agent_reserved_for_it_before_its_offer_was_written(
    database: Database,
) -> None:
    """The previous run stopped between the reservation and the dial's record: the agent's
    state names the call, and the adoption must know the agent's phone rings for it."""
    crm = SqlCrm(database)
    record = await interactions.create_interaction(
        crm, NewInteraction(Channel.VOICE, Direction.INBOUND, T0, call_id="1765000000.4")
    )
    async with database.write() as session:
        user = User(username="agent1", display_name="Agent 1", role=Role.AGENT, extension="1001")
        session.add(user)
        await session.flush()
        agent_id = user.id
        session.add(
            AgentStatusRow(
                agent_id=agent_id, state=AgentState.RESERVED, since=T0, interaction_id=record.id
            )
        )
    store = SqlAcdBackend(database)

    [open_call] = await store.open_calls(T0 - MINUTE, T0 + MINUTE)

    assert open_call.agent_id == agent_id
    assert not open_call.answered


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        ({"answered_at": T0 + MINUTE}, "answered, never offered"),
        ({"queued_at": T0 - MINUTE}, "queued at"),  # before the call started
        ({"offered_at": T0 + 2 * MINUTE, "answered_at": T0 + MINUTE}, "answered at"),
        ({}, None),
    ],
    ids=["answered-never-offered", "queued-before-started", "answered-before-offered", "fine"],
)
async def test_an_open_record_in_any_impossible_phase_is_named_at_adoption(
    database: Database, edit: dict[str, dt.datetime], why: str | None
) -> None:
    crm = SqlCrm(database)
    record = await interactions.create_interaction(
        crm, NewInteraction(Channel.VOICE, Direction.INBOUND, T0, call_id="1765000000.5")
    )
    async with database.write() as session:
        row = await session.get(Interaction, record.id)
        assert row is not None
        for name, value in edit.items():
            setattr(row, name, value)

    [open_call] = await SqlAcdBackend(database).open_calls(T0 - 2 * MINUTE, T0 + MINUTE)

    if why is None:
        assert open_call.anomaly is None
    else:
        assert open_call.anomaly is not None
        assert open_call.anomaly.startswith(why)
