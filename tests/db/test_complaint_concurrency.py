"""Concurrent changes to one complaint lose nothing, on SQLite and on PostgreSQL.

Each change runs the real persistence function in its own unit of work (its own session and
connection), all started together: the row lock (``FOR UPDATE``; ``BEGIN IMMEDIATE`` on
SQLite) must turn read-version-then-write into one-after-the-other.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select

from callcenter.crm.complaints import Actor, IllegalTransition
from callcenter.crm.scopes import SYSTEM
from callcenter.crm.vocabulary import (
    ComplaintStatus,
    Gender,
    IncomeBand,
    RiskProfile,
    Role,
    Tier,
    ValueClass,
)
from callcenter.errors import StaleVersion
from callcenter.persistence import complaints
from callcenter.persistence.db import Database
from callcenter.persistence.tables import AuditEntry, Branch, Client, ComplaintEvent, User

WRITERS = 50


async def seed(database: Database) -> tuple[Actor, int]:
    """A supervisor and one open complaint; returns the supervisor and the complaint id."""
    async with database.write() as session:
        branch = Branch(code="SZ01", name="深圳福田营业部", name_en="Shenzhen Futian", city="SZ")
        session.add(branch)
        await session.flush()
        supervisor = User(
            username="lead", display_name="Li Na", role=Role.SUPERVISOR, branch_id=branch.id
        )
        client = Client(
            account_no="B0001",
            name="王芳",
            name_latin="Wang Fang",
            id_type="resident_id",
            id_number="440301198502021234",
            gender=Gender.FEMALE,
            income_band=IncomeBand.OVER_1M,
            branch_id=branch.id,
            opened_on=dt.date(2018, 3, 1),
            risk_profile=RiskProfile.AGGRESSIVE,
            tier=Tier.VIP,
            value_class=ValueClass.TOP_PROFIT,
        )
        session.add_all([supervisor, client])
        await session.flush()
        actor = Actor(supervisor.id, Role.SUPERVISOR, branch.id)
        new = complaints.NewComplaint(client.id, "trading.execution", "订单未成交", "details")
        record = await complaints.create_complaint(session, actor, new)
        return actor, record.complaint.id


async def count_events(database: Database, complaint_id: int, to: ComplaintStatus) -> int:
    async with database.read() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id, ComplaintEvent.to_status == to)
        )
    return found or 0


async def test_fifty_concurrent_notes_are_all_kept(database: Database) -> None:
    actor, complaint_id = await seed(database)

    async def add_note(number: int) -> None:
        async with database.write() as session:
            await complaints.add_complaint_note(session, actor, complaint_id, f"note {number}")

    await asyncio.gather(*(add_note(n) for n in range(WRITERS)))

    async with database.read() as session:
        record = await complaints.get_complaint(session, complaint_id, SYSTEM)
        notes = [event.note for event in record.history[1:]]
        version = record.complaint.version
        audits = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "complaint.note")
        )
    assert sorted(notes, key=lambda n: int(str(n).split()[1])) == [
        f"note {n}" for n in range(WRITERS)
    ]
    assert version == WRITERS + 1
    assert audits == WRITERS


async def test_fifty_concurrent_identical_moves_succeed_exactly_once(database: Database) -> None:
    actor, complaint_id = await seed(database)

    async def acknowledge() -> str:
        try:
            async with database.write() as session:
                await complaints.transition_complaint(
                    session, actor, complaint_id, ComplaintStatus.ACKNOWLEDGED, version=1
                )
        except (StaleVersion, IllegalTransition) as refused:
            return refused.error_id
        return "moved"

    outcomes = await asyncio.gather(*(acknowledge() for _ in range(WRITERS)))

    assert outcomes.count("moved") == 1
    assert set(outcomes) - {"moved"} <= {"stale-version", "complaint-illegal-transition"}
    assert await count_events(database, complaint_id, ComplaintStatus.ACKNOWLEDGED) == 1
    async with database.read() as session:
        record = await complaints.get_complaint(session, complaint_id, SYSTEM)
        assert (record.complaint.status, record.complaint.version) == ("acknowledged", 2)
