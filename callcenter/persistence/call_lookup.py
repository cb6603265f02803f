"""The interaction record of one test call, found from outside the service (scripts/call.py).

The key: the record's ``call_id`` is the Asterisk uniqueid of the caller's channel, which
Asterisk builds as ``[systemname-]<epoch seconds>.<sequence>`` when it creates the channel
(asterisk.conf ``systemname`` is the sandbox instance's name). So a call placed between two
moments is the record from its caller number to its called number whose channel Asterisk
created between them: Asterisk's own clock, independent of the service's (which a test may
mock), and of when the service wrote the record. Two calls from the same number in the same
seconds cannot be told apart; the caller gets both and says so.

Read with the SYSTEM scope (callcenter/crm/scopes.py): this is the system checking its own
record, not a person reading client data.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from callcenter.crm.scopes import SYSTEM
from callcenter.ivr.call_verdict import CallRecord
from callcenter.persistence.db import Database
from callcenter.persistence.scopes import interaction_condition
from callcenter.persistence.tables import Interaction, User

# "pytest-1765091234.17" or "1765091234.17": the epoch seconds of the channel's creation.
_UNIQUEID = re.compile(r"(?:.*-)?(?P<epoch>\d+)\.\d+")
CANDIDATES = 50  # the newest calls from the number looked at


def channel_created_at(call_id: str) -> int | None:
    """The epoch second in which Asterisk created the channel whose id (its Asterisk
    uniqueid) is ``call_id``."""
    match = _UNIQUEID.fullmatch(call_id)
    return None if match is None else int(match["epoch"])


def _waited(row: Interaction) -> float | None:
    if row.queued_at is None:
        return None
    until = row.answered_at or row.ended_at
    return None if until is None else max(0.0, (until - row.queued_at).total_seconds())


async def calls_between(
    db: Database, *, caller: str | None, called: str, since: float, until: float
) -> list[tuple[CallRecord, bool]]:
    """The records of calls from ``caller`` to ``called`` whose channel Asterisk created in
    [``since``, ``until``] (epoch seconds), newest first, each with whether the call has
    ended (its record is complete)."""
    query = (
        select(Interaction, User.username)
        .outerjoin(User, User.id == Interaction.agent_id)
        .where(
            interaction_condition(SYSTEM, dt.datetime.now(dt.UTC)),
            Interaction.call_id.is_not(None),
            Interaction.called_number == called,
            Interaction.caller_number.is_(None)
            if caller is None
            else Interaction.caller_number == caller,
        )
        .order_by(Interaction.id.desc())
        .limit(CANDIDATES)
    )
    found = []
    async with db.read() as session:
        for row, username in (await session.execute(query)).all():
            created = channel_created_at(row.call_id or "")
            if created is None or not int(since) <= created <= until:
                continue
            record = CallRecord(
                interaction_id=row.id,
                path=tuple(row.ivr_path or ()),
                outcome=row.ivr_outcome,
                queue=row.queue,
                agent=username,
                answered=row.answered_at is not None,
                waited_seconds=_waited(row),
            )
            found.append((record, row.ended_at is not None))
    return found
