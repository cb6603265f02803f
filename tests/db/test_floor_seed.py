"""Where the wallboard starts when the service starts (callcenter/persistence/floor.py), on
SQLite and PostgreSQL: the golden day (tests/support/callstats_golden.py) at 10:32 local,
with one call being talked. The seeded wallboard and the report agree, then and after the
same call ends in both."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from callcenter.acd.agents import AgentEvent
from callcenter.crm.callstats import CallFigures
from callcenter.crm.report_intervals import IntervalKind, ReportRange
from callcenter.crm.vocabulary import Channel, Direction, Tier
from callcenter.cti.floor import FloorState, LiveCall, SeedCall
from callcenter.events import Envelope
from callcenter.persistence import callstats
from callcenter.persistence.agents import apply_event
from callcenter.persistence.db import Database
from callcenter.persistence.floor import load_floor_seed
from callcenter.persistence.tables import Client, Interaction
from tests.db.test_callstats import agents
from tests.support import callstats_golden as golden
from tests.support.callstats_golden import at
from tests.support.crm_data import add_branch
from tests.support.events import bus_event

NOW = at("10:32:00")
ZONE = "Asia/Shanghai"


async def golden_day_at_10_32(db: Database) -> dict[str, int]:
    """The golden day with Asterisk ids on its calls, agent A1 back at 10:31 and client C1
    talking to A1 on the ``trading`` queue since 10:28:05. Returns the agents' ids."""
    branch = await add_branch(db)
    ids = await agents(db, branch)
    clients = await golden.load_into(db, branch, ids)
    async with db.write() as session:
        voice = await session.scalars(
            select(Interaction.id).where(Interaction.channel == Channel.VOICE)
        )
        for interaction_id in voice.all():
            await session.execute(
                update(Interaction)
                .where(Interaction.id == interaction_id)
                .values(call_id=f"g{interaction_id}")
            )
        await session.execute(
            update(Client).where(Client.id == clients["C1"]).values(tier=Tier.VIP)
        )
        session.add(
            Interaction(
                client_id=clients["C1"],
                channel=Channel.VOICE,
                direction=Direction.INBOUND,
                started_at=at("10:27:40"),
                queued_at=at("10:28:00"),
                offered_at=at("10:28:01"),
                answered_at=at("10:28:05"),
                ivr_path=["language=1"],
                ivr_outcome="queued",
                queue="trading",
                agent_id=ids["A1"],
                caller_number="+8613800000101",
                call_id="live-1",
            )
        )
    async with db.write() as session:
        await apply_event(session, ids["A1"], AgentEvent.LOGIN, at=at("10:31:00"))
    return ids


def moved(figures: CallFigures) -> tuple[float, ...]:
    """The figures the wallboard keeps (handle times and FCR are the reports' alone)."""
    return (
        figures.offered,
        figures.answered,
        figures.answered_in_threshold,
        figures.abandoned,
        figures.short_abandoned,
        figures.to_ivr,
        figures.overflowed_out,
        figures.waiting,
        figures.answer_wait_seconds,
    )


async def report_figures(db: Database, now: dt.datetime) -> dict[str, CallFigures]:
    async with db.read() as session:
        day = ReportRange.of(golden.DAY, golden.DAY, ZONE)
        report = await callstats.load_call_report(session, day, IntervalKind.DAY, now)
    return {row.queue: row.figures for row in report.queues}


async def test_the_seed_is_the_report_so_far_and_the_calls_still_open(database: Database) -> None:
    ids = await golden_day_at_10_32(database)
    async with database.read() as session:
        seed = await load_floor_seed(session, NOW, ZONE)
        waiting_id = await session.scalar(
            select(Interaction.call_id).where(Interaction.queued_at == at("10:20:05"))
        )
    assert seed.day == golden.DAY
    assert seed.service_level_seconds == {"general": 10.0, "trading": 20.0}
    general = seed.figures["general"]
    # Hand-counted from the golden day's table: 00:00 + 09:00 + 10:00 rows of general.
    assert (general.offered, general.answered, general.answered_in_threshold) == (7, 3, 2)
    assert (general.abandoned, general.short_abandoned, general.to_ivr) == (2, 1, 1)
    assert (general.waiting, general.overflowed_out) == (1, 1)
    trading = seed.figures["trading"]
    assert (trading.offered, trading.answered) == (2, 2)  # call 5 and the live call
    assert seed.waiting == [SeedCall(waiting_id, "general", at("10:20:05"))]
    assert seed.live == [
        LiveCall("live-1", "trading", ids["A1"], at("10:28:05"), "**********0101", "vip")
    ]
    # A2 logged out at 10:30 and is off the board; A1 is ready since 10:31.
    assert [(a.agent_id, a.state, a.since) for a in seed.agents] == [
        (ids["A1"], "ready", at("10:31:00"))
    ]


async def test_the_seeded_wallboard_and_the_report_agree_after_the_same_call_ends(
    database: Database,
) -> None:
    await golden_day_at_10_32(database)
    async with database.read() as session:
        seed = await load_floor_seed(session, NOW, ZONE)
    floor = FloorState(tz=golden.ZONE, service_level_seconds=seed.service_level_seconds)
    floor.seed(seed.day, seed.figures, seed.waiting, live=seed.live, agents=seed.agents)
    (waiting,) = seed.waiting
    # The ACD re-queues the call a restart left waiting: not a second offer.
    floor.apply(
        Envelope(
            1, at("10:32:01"), bus_event("call.queued", call_id=waiting.call_id, queue="general")
        )
    )
    assert moved(floor.figures("general")) == moved(seed.figures["general"])
    # The caller hangs up at 10:33 (13 min 55 s after queueing): the record and the floor.
    ended = at("10:33:00")
    async with database.write() as session:
        await session.execute(
            update(Interaction).where(Interaction.call_id == waiting.call_id).values(ended_at=ended)
        )
    floor.apply(
        Envelope(
            2,
            ended,
            bus_event("call.abandoned", call_id=waiting.call_id, queue="general"),
        )
    )
    after = await report_figures(database, at("10:34:00"))
    assert moved(floor.figures("general")) == moved(after["general"])
    assert (after["general"].abandoned, after["general"].waiting) == (3, 0)
    snapshot = floor.snapshot(at("10:34:00"))
    general = next(q for q in snapshot["queues"] if q["queue"] == "general")
    assert general["waiting"] == 0
    assert [c["call_id"] for c in snapshot["calls"]] == ["live-1"]
