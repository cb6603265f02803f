"""The wallboard's seed (callcenter/persistence/floor.py) counts the calls still open as the
report does, on SQLite and PostgreSQL: a call the ACD sent back to the IVR and the IVR queued
again is the IVR's (counting.Route from the record's path), and a call waiting since before
midnight is known, so the ACD putting it back into its queue after a restart is not a new
call of today."""

from __future__ import annotations

import datetime as dt

from callcenter.crm.counting import Route
from callcenter.crm.vocabulary import Channel, Direction
from callcenter.cti.floor import FloorState
from callcenter.persistence.db import Database
from callcenter.persistence.floor import load_floor_seed
from callcenter.persistence.tables import Interaction
from tests.support import callstats_golden as golden
from tests.support.callstats_golden import at
from tests.unit.test_counting_agreement import envelope

NOW = at("08:00:00")
ZONE = "Asia/Shanghai"
MIDNIGHT = at("00:00:00")


def waiting_call(call_id: str, queued_at: dt.datetime, path: list[str]) -> Interaction:
    return Interaction(
        channel=Channel.VOICE,
        direction=Direction.INBOUND,
        started_at=queued_at - dt.timedelta(seconds=20),
        queued_at=queued_at,
        ivr_path=path,
        ivr_outcome="queued",
        queue="general",
        call_id=call_id,
    )


async def test_the_seed_knows_the_ivrs_calls_and_the_calls_waiting_since_yesterday(
    database: Database,
) -> None:
    async with database.write() as session:
        session.add_all(
            [
                waiting_call("late-1", MIDNIGHT - dt.timedelta(minutes=5), ["language=1"]),
                waiting_call(
                    "ivr-1",
                    at("07:50:00"),
                    ["language=1", "overflow:general=max_wait", "keep_waiting=1"],
                ),
            ]
        )
    async with database.read() as session:
        seed = await load_floor_seed(session, NOW, ZONE)

    assert [(c.call_id, c.route) for c in seed.waiting] == [
        ("late-1", Route()),
        ("ivr-1", Route(sent_to_ivr=True)),
    ]
    general = seed.figures["general"]  # yesterday's call is not today's
    assert (general.offered, general.to_ivr, general.waiting) == (1, 1, 0)

    floor = FloorState(tz=golden.ZONE)
    floor.seed(seed.day, seed.figures, seed.waiting)
    # The service restarted: the ACD puts both back into their queue; both callers hang up.
    ids = {"interaction_id": None, "queue": "general", "client_id": None}
    for seq, call_id in enumerate(("late-1", "ivr-1"), 1):
        again = {"priority": 5, "language": "zh", "caller_number": None, "tier": None}
        floor.apply(envelope(seq, NOW, "call.queued", {**ids, **again, "call_id": call_id}))
    for seq, call_id in enumerate(("late-1", "ivr-1"), 3):
        hung_up = {**ids, "call_id": call_id, "waited_seconds": 30.0}
        floor.apply(envelope(seq, NOW + dt.timedelta(seconds=30), "call.abandoned", hung_up))

    after = floor.figures("general")
    assert (after.offered, after.to_ivr, after.abandoned, after.waiting) == (1, 1, 0, 0)
