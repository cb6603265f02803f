"""Concurrent creates for one Asterisk call record it once, on SQLite and on PostgreSQL: the
CTI may retry a create whose answer it lost, or two event handlers may both create."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from callcenter.crm import interactions
from callcenter.crm.interactions import DuplicateInteraction, InteractionRecord, NewInteraction
from callcenter.crm.vocabulary import Channel, Direction
from callcenter.persistence.crm import SqlCrm
from callcenter.persistence.db import Database
from callcenter.persistence.tables import Interaction
from tests.support.crm_data import T0

CREATES = 20


async def test_concurrent_creates_with_one_call_id_record_one_interaction(
    database: Database,
) -> None:
    crm = SqlCrm(database)
    new = NewInteraction(Channel.VOICE, Direction.INBOUND, T0, call_id="1741000000.7")

    outcomes = await asyncio.gather(
        *(interactions.create_interaction(crm, new) for _ in range(CREATES)),
        return_exceptions=True,
    )

    created = [o for o in outcomes if isinstance(o, InteractionRecord)]
    duplicates = [o for o in outcomes if isinstance(o, DuplicateInteraction)]
    assert (len(created), len(duplicates)) == (1, CREATES - 1)
    assert {d.detail["interaction_id"] for d in duplicates} == {created[0].id}
    async with database.read() as session:
        assert await session.scalar(select(func.count()).select_from(Interaction)) == 1
