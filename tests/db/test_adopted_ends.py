"""Records of calls that ended while no service ran, ended from Asterisk's record
(callcenter/persistence/adopted_ends.py) and marked with where their end came from, on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from callcenter.pbx.adoption import EndSource
from callcenter.persistence.adopted_ends import AsteriskEnds
from callcenter.persistence.cel_import import import_calls
from callcenter.persistence.db import Database
from callcenter.persistence.tables import Interaction
from tests.db.test_cel_import import the_call
from tests.support.crm_data import T0, add_interaction
from tests.unit.test_cel import QUEUE


async def answered_at(database: Database, started: dt.datetime, call_id: str) -> int:
    interaction_id = await add_interaction(database, None, started, call_id)
    async with database.write() as session:
        await session.execute(
            update(Interaction)
            .where(Interaction.id == interaction_id)
            .values(
                queued_at=started + dt.timedelta(seconds=1),
                offered_at=started + dt.timedelta(seconds=2),
                answered_at=started + dt.timedelta(seconds=3),
            )
        )
    return interaction_id


async def row(database: Database, interaction_id: int) -> Interaction:
    async with database.read() as session:
        found = await session.scalar(select(Interaction).where(Interaction.id == interaction_id))
        assert found is not None
        session.expunge(found)
        return found


async def test_a_call_gone_at_a_restart_ends_at_asterisks_hang_up_with_its_talk_time(
    database: Database,
) -> None:
    call = the_call(QUEUE)
    assert call.ended_at is not None
    interaction_id = await answered_at(database, call.started_at, call.call_id)
    ends = AsteriskEnds(database, QUEUE)

    found = await ends.channel_ends([call.call_id])
    assert found == {call.call_id: call.ended_at}
    assert await ends.close(interaction_id, found[call.call_id], EndSource.ASTERISK) is True

    record = await row(database, interaction_id)
    assert record.ended_at == call.ended_at
    assert record.end_source == "asterisk"
    assert record.answered_at is not None
    talk = round((call.ended_at - record.answered_at).total_seconds())
    assert record.talk_seconds == talk
    assert record.wait_seconds == 2
    assert record.version == 2


async def test_an_end_is_never_written_before_a_phase_the_record_has(database: Database) -> None:
    interaction_id = await answered_at(database, T0, "skewed-1")
    ends = AsteriskEnds(database, QUEUE)
    assert await ends.close(interaction_id, T0 + dt.timedelta(seconds=2), EndSource.ASTERISK)
    record = await row(database, interaction_id)
    assert record.ended_at == T0 + dt.timedelta(seconds=3)  # its answer
    assert record.talk_seconds == 0


async def test_a_record_ended_meanwhile_is_left_as_it_is(database: Database) -> None:
    interaction_id = await answered_at(database, T0, "ended-1")
    ended = T0 + dt.timedelta(seconds=40)
    async with database.write() as session:
        await session.execute(
            update(Interaction).where(Interaction.id == interaction_id).values(ended_at=ended)
        )
    ends = AsteriskEnds(database, QUEUE)
    assert (
        await ends.close(interaction_id, T0 + dt.timedelta(seconds=60), EndSource.RESTART) is False
    )
    record = await row(database, interaction_id)
    assert (record.ended_at, record.end_source) == (ended, None)


async def test_the_restart_time_is_marked_as_such(database: Database) -> None:
    interaction_id = await answered_at(database, T0, "unrecorded-1")
    found_gone = T0 + dt.timedelta(minutes=5)
    ends = AsteriskEnds(database, QUEUE)
    assert await ends.channel_ends(["unrecorded-1"]) == {}
    assert await ends.close(interaction_id, found_gone, EndSource.RESTART)
    record = await row(database, interaction_id)
    assert (record.ended_at, record.end_source) == (found_gone, "restart")


async def test_the_import_marks_an_end_it_sets_to_asterisks(database: Database) -> None:
    call = the_call(QUEUE)
    assert call.ended_at is not None
    interaction_id = await answered_at(database, call.started_at, call.call_id)
    async with database.write() as session:
        await session.execute(
            update(Interaction)
            .where(Interaction.id == interaction_id)
            .values(ended_at=call.ended_at + dt.timedelta(minutes=3))
        )
    assert (await import_calls(database, [call])).ends_fixed == 1
    record = await row(database, interaction_id)
    assert (record.ended_at, record.end_source) == (call.ended_at, "asterisk")
