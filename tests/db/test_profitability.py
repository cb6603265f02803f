"""Profitability by tier from the database, on SQLite and PostgreSQL: hand-computed figures."""

from __future__ import annotations

import datetime as dt

from callcenter.crm.periods import MonthRange
from callcenter.crm.vocabulary import Tier
from callcenter.persistence import reports
from callcenter.persistence.db import Database
from tests.support.crm_data import add_account_months, add_branch, add_client


async def test_profitability_by_tier_sums_the_period_only(database: Database) -> None:
    branch = await add_branch(database)
    vip = await add_client(
        database, branch, account_no="1", tier=Tier.VIP, phones=["+8613900000001"]
    )
    gold = await add_client(
        database, branch, account_no="2", tier=Tier.GOLD, phones=["+8613900000002"]
    )
    # add_account_months: commission = assets // 4000 for each month.
    # VIP: Sep 8,000,000 (2,000), Oct 12,000,000 (3,000), Nov 40,000,000 (10,000: outside)
    await add_account_months(
        database, vip, dt.date(2026, 9, 1), [8_000_000, 12_000_000, 40_000_000]
    )
    # gold: Oct 4,000,000 -> commission 1,000
    await add_account_months(database, gold, dt.date(2026, 10, 1), [4_000_000])

    async with database.read() as session:
        rows = await reports.tier_profitability(session, MonthRange.parse("2026-09", "2026-10"))

    by_tier = {r.tier: r for r in rows}
    # VIP 2,000 + 3,000 = 5,000; gold 1,000; total 6,000
    assert (by_tier[Tier.VIP].clients, by_tier[Tier.VIP].contribution_fen) == (1, 5_000)
    assert by_tier[Tier.VIP].average_fen == 5_000
    assert float(by_tier[Tier.VIP].contribution_share) == 5_000 / 6_000
    assert (by_tier[Tier.GOLD].clients, by_tier[Tier.GOLD].contribution_fen) == (1, 1_000)
    assert by_tier[Tier.STANDARD].clients == 0
