"""`callcenter seed` on SQLite and PostgreSQL: the demo brokerage keeps the domain's rules once
stored, the project's own segmentation agrees with it, the same seed writes the same bytes, and
a database with data is never seeded over."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from callcenter.cli import main
from callcenter.crm.periods import MonthRange
from callcenter.crm.tiers import TierThresholds, tier_for_assets
from callcenter.crm.vocabulary import FollowUpKind, Role
from callcenter.persistence.db import Database
from callcenter.persistence.reports import apply_value_classes, assign_tiers
from callcenter.persistence.seed import DatabaseNotEmpty, seed_demo
from callcenter.persistence.tables import (
    AccountSummary,
    Branch,
    Client,
    ClientPhone,
    Complaint,
    FollowUp,
    User,
)

AS_OF = dt.date(2026, 11, 25)
LATEST_MONTH = MonthRange(dt.date(2026, 10, 1), dt.date(2026, 10, 1))
CLIENTS = 300


@pytest.fixture
async def seeded(database_url: str) -> AsyncIterator[Database]:
    report = await seed_demo(database_url, clients=CLIENTS, as_of=AS_OF)
    assert report.seeded
    assert report.rows["clients"] == CLIENTS
    db = Database(database_url)
    try:
        yield db
    finally:
        await db.dispose()


async def test_every_client_has_exactly_one_primary_phone(seeded: Database) -> None:
    async with seeded.read() as session:
        primaries = await session.execute(
            select(ClientPhone.client_id, func.count())
            .where(ClientPhone.is_primary.is_(True))
            .group_by(ClientPhone.client_id)
        )
        counts = {client_id: count for client_id, count in primaries}
        clients = await session.scalar(select(func.count()).select_from(Client))
    assert clients == CLIENTS
    assert len(counts) == CLIENTS
    assert set(counts.values()) == {1}


async def test_advisors_are_advisors_of_the_clients_branch(seeded: Database) -> None:
    async with seeded.read() as session:
        rows = (
            await session.execute(
                select(Client.branch_id, User.branch_id, User.role, Client.tier).join(
                    User, User.id == Client.advisor_id
                )
            )
        ).all()
        without = await session.scalar(
            select(func.count()).where(Client.advisor_id.is_(None), Client.tier != "standard")
        )
    assert len(rows) > CLIENTS // 5
    assert all(
        role is Role.ADVISOR and user_branch == branch for branch, user_branch, role, _ in rows
    )
    assert without == 0


async def test_return_visits_fall_due_within_two_weeks_of_opening(seeded: Database) -> None:
    async with seeded.read() as session:
        rows = (
            await session.execute(
                select(FollowUp.due_on, Client.opened_on)
                .join(Client, Client.id == FollowUp.client_id)
                .where(FollowUp.kind == FollowUpKind.RETURN_VISIT)
            )
        ).all()
    assert rows
    assert all(0 < (due - opened).days <= 14 for due, opened in rows)


async def test_complaints_are_due_two_days_after_they_were_made(seeded: Database) -> None:
    async with seeded.read() as session:
        rows = (
            await session.execute(select(Complaint.created_at, Complaint.response_due_at))
        ).all()
    assert rows
    assert all(due - created == dt.timedelta(days=2) for created, due in rows)


async def test_tiers_match_the_assets_of_each_clients_latest_month(seeded: Database) -> None:
    latest = (
        select(AccountSummary.client_id, func.max(AccountSummary.period).label("period"))
        .group_by(AccountSummary.client_id)
        .subquery()
    )
    async with seeded.read() as session:
        rows = (
            await session.execute(
                select(Client.tier, AccountSummary.total_assets_fen)
                .join(AccountSummary, AccountSummary.client_id == Client.id)
                .join(
                    latest,
                    (latest.c.client_id == AccountSummary.client_id)
                    & (latest.c.period == AccountSummary.period),
                )
            )
        ).all()
    assert len(rows) > CLIENTS * 0.9
    assert all(tier is tier_for_assets(assets, TierThresholds()) for tier, assets in rows)


async def test_segmentation_of_the_latest_month_finds_nothing_to_change(seeded: Database) -> None:
    async with seeded.write() as session:
        classes = await apply_value_classes(session, LATEST_MONTH, now=dt.datetime.now(dt.UTC))
        tiers = await assign_tiers(session, LATEST_MONTH, now=dt.datetime.now(dt.UTC))
    assert classes.clients > CLIENTS * 0.8
    assert classes.changed == 0
    assert (tiers.upgrades, tiers.downgrades) == (0, 0)


async def test_new_rows_after_seeding_get_fresh_ids(seeded: Database) -> None:
    async with seeded.write() as session:
        branch = Branch(code="ZZ01", name="测试营业部", name_en="Test", city="Test")
        session.add(branch)
        await session.flush()
    assert branch.id == 11


async def test_seeding_a_database_with_data_is_refused(seeded: Database) -> None:
    with pytest.raises(DatabaseNotEmpty):
        await seed_demo(seeded.url, clients=10, as_of=AS_OF)


async def test_if_empty_leaves_a_seeded_database_alone(seeded: Database) -> None:
    report = await seed_demo(seeded.url, clients=10, as_of=AS_OF, if_empty=True)
    async with seeded.read() as session:
        clients = await session.scalar(select(func.count()).select_from(Client))
    assert not report.seeded
    assert clients == CLIENTS


def test_seed_command_seeds_once_with_if_empty(database_url: str) -> None:
    runner = CliRunner()
    args = ["seed", "--clients", "25", "--as-of", "2026-11-25", "--if-empty"]
    env = {"CALLCENTER_DATABASE_URL": database_url}
    first = runner.invoke(main, args, env=env)
    second = runner.invoke(main, args, env=env)
    refused = runner.invoke(main, args[:-1], env=env)
    assert first.exit_code == 0, first.output
    assert "seeded 25 clients as of 2026-11-25" in first.output
    assert second.exit_code == 0
    assert "nothing seeded" in second.output
    assert refused.exit_code == 1
    assert "seed-database-not-empty" in refused.output


async def test_the_same_seed_writes_byte_identical_databases(tmp_path: Path) -> None:
    dumps = []
    for name in ("one.db", "two.db"):
        path = tmp_path / name
        await seed_demo(f"sqlite+aiosqlite:///{path}", clients=200, seed=7, as_of=AS_OF)
        with contextlib.closing(sqlite3.connect(path)) as conn:
            dumps.append("\n".join(conn.iterdump()))
    assert dumps[0] == dumps[1]
    assert 'INSERT INTO "clients"' in dumps[0]
