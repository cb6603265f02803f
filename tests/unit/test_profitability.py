"""Average client profitability by tier, against hand-computed figures."""

from __future__ import annotations

from fractions import Fraction

from callcenter.crm.profitability import profitability_by_tier
from callcenter.crm.vocabulary import Tier


def test_each_tier_gets_its_count_total_average_and_share() -> None:
    rows = [
        (Tier.VIP, 90_000),  # VIP: 2 clients, 90,000 + 30,000 = 120,000; average 60,000
        (Tier.VIP, 30_000),
        (Tier.GOLD, 50_000),  # gold: 1 client, 50,000
        (Tier.STANDARD, 10_000),  # standard: 3 clients, 10,000 + 0 + 20,000 = 30,000 -> 10,000
        (Tier.STANDARD, 0),
        (Tier.STANDARD, 20_000),
    ]
    # grand total 120,000 + 50,000 + 30,000 = 200,000
    report = {row.tier: row for row in profitability_by_tier(rows)}

    assert [r.tier for r in profitability_by_tier(rows)] == [
        Tier.VIP,
        Tier.GOLD,
        Tier.SILVER,
        Tier.STANDARD,
    ]
    vip, gold, silver, standard = (
        report[t] for t in (Tier.VIP, Tier.GOLD, Tier.SILVER, Tier.STANDARD)
    )
    assert (vip.clients, vip.contribution_fen, vip.average_fen) == (2, 120_000, 60_000)
    assert vip.contribution_share == Fraction(120_000, 200_000)  # 0.6
    assert (gold.clients, gold.average_fen, gold.contribution_share) == (1, 50_000, Fraction(1, 4))
    assert (silver.clients, silver.average_fen, silver.contribution_share) == (0, None, 0)
    assert standard.average_fen == 10_000
    assert standard.contribution_share == Fraction(3, 20)  # 30,000 / 200,000


def test_a_period_with_no_contribution_has_zero_shares() -> None:
    report = profitability_by_tier([(Tier.GOLD, 0), (Tier.GOLD, 0)])
    gold = next(r for r in report if r.tier is Tier.GOLD)
    assert (gold.clients, gold.average_fen) == (2, 0)
    assert all(r.contribution_share == 0 for r in report)
