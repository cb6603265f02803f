"""The ends of calls that ended while no service ran, from Asterisk's own record (CEL).

A restart's adoption (callcenter/pbx/adoption.py) finds records whose caller's channel is gone:
the caller, or the agent, hung up while the service was down. Asterisk wrote that hang-up to its
record as it happened (``log/cel-custom/calls.csv``, callcenter/pbx/cel.py); this is where the
adoption reads it and ends the record at that time, or at the time it found the channel gone
when Asterisk has no record of it, noting which in ``interactions.end_source``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Collection, Mapping
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.interactions import durations, recorded_phases
from callcenter.pbx.adoption import EndSource
from callcenter.pbx.cel import read_channel_ends
from callcenter.persistence.db import Database
from callcenter.persistence.interactions import SqlInteractionStore
from callcenter.persistence.tables import Interaction

log = logging.getLogger(__name__)


class AsteriskEnds:
    """The adoption's GoneCallEnds over Asterisk's record file and the database."""

    def __init__(self, db: Database, cel_file: Path) -> None:
        self.db = db
        self.cel_file = cel_file

    async def channel_ends(self, call_ids: Collection[str]) -> Mapping[str, dt.datetime]:
        return await asyncio.to_thread(read_channel_ends, self.cel_file, call_ids)

    async def close(self, interaction_id: int, at: dt.datetime, source: EndSource) -> bool:
        async with self.db.write() as session:
            store = SqlInteractionStore(session)
            record = await store.get_for_update(interaction_id)
            if record is None or record.ended_at is not None:
                return False
            # Asterisk's clock and the service's are the same host's, but an end is never
            # written before a phase the record already has (the order of phases holds).
            end = max([at, *recorded_phases(record).values()])
            ended = dataclasses.replace(record, ended_at=end, version=record.version + 1)
            await store.save(dataclasses.replace(ended, **dataclasses.asdict(durations(ended))))
            await mark_end_source(session, interaction_id, source)
        log.info(
            "interaction %s ended at %s (%s): its call ended while the service was down",
            interaction_id,
            end.isoformat(),
            source.value,
        )
        return True


async def mark_end_source(session: AsyncSession, interaction_id: int, source: EndSource) -> None:
    """Note where a record's end came from (``interactions.end_source``)."""
    await session.execute(
        update(Interaction)
        .where(Interaction.id == interaction_id)
        .values(end_source=source.value)
        .execution_options(synchronize_session=False)
    )
