"""Reconciliation of a day (callcenter/pbx/reconcile.py): the interactions it reads, and the
day's bounds in the center's time zone. ``callcenter reconcile --day`` runs it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from callcenter.crm.vocabulary import Channel, Direction
from callcenter.pbx.cel import CelEvent, hotline_calls
from callcenter.pbx.reconcile import END_TOLERANCE, Reconciliation, RecordedCall, reconcile
from callcenter.persistence.db import Database
from callcenter.persistence.tables import Interaction

# An interaction starts a moment after its call (the service picks it up): one that started
# this far around the range is read, and kept if it names one of the range's calls.
MARGIN = dt.timedelta(hours=1)
_CHUNK = 500


def day_bounds(day: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight to local midnight of ``day`` in the center's zone, in UTC."""
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(day, dt.time(), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


async def recorded_calls(
    db: Database, start: dt.datetime, end: dt.datetime, call_ids: Sequence[str]
) -> list[RecordedCall]:
    """The inbound voice interactions that started in ``[start - MARGIN, end + MARGIN)``, and
    any interaction with one of ``call_ids``, whenever it started."""
    i = Interaction
    columns = (i.id, i.call_id, i.asterisk_linkedid, i.started_at, i.ended_at)
    inbound_voice = (i.channel == Channel.VOICE, i.direction == Direction.INBOUND)
    found: dict[int, RecordedCall] = {}
    async with db.read() as session:
        around = select(*columns).where(
            *inbound_voice, i.started_at >= start - MARGIN, i.started_at < end + MARGIN
        )
        rows = list(await session.execute(around))
        for at in range(0, len(call_ids), _CHUNK):
            chunk = call_ids[at : at + _CHUNK]
            named = select(*columns).where(
                or_(i.call_id.in_(chunk), i.asterisk_linkedid.in_(chunk))
            )
            rows.extend(await session.execute(named))
    for interaction_id, call_id, asterisk_linkedid, started_at, ended_at in rows:
        found[interaction_id] = RecordedCall(
            interaction_id, call_id, asterisk_linkedid, started_at, ended_at
        )
    return sorted(found.values(), key=lambda r: r.interaction_id)


async def reconcile_range(
    db: Database,
    events: Iterable[CelEvent],
    start: dt.datetime,
    end: dt.datetime,
    *,
    tolerance: dt.timedelta = END_TOLERANCE,
) -> Reconciliation:
    """The hotline calls of Asterisk's record that started in ``[start, end)`` against the
    database's interactions."""
    calls = [c for c in hotline_calls(events) if start <= c.started_at < end]
    ids = sorted({c.call_id for c in calls} | {c.asterisk_linkedid for c in calls})
    recorded = await recorded_calls(db, start, end, ids)
    return reconcile(calls, recorded, start=start, end=end, tolerance=tolerance)
