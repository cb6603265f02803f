"""Tier assignment by total assets at the end of the period (defaults: VIP from 5,000,000 CNY,
gold from 1,000,000, silver from 100,000; in fen: 500,000,000 / 100,000,000 / 10,000,000)."""

from __future__ import annotations

import pytest

from callcenter.crm.periods import MonthRange
from callcenter.crm.tiers import (
    TierHolding,
    TierMove,
    TierThresholds,
    plan_tier_moves,
    tier_for_assets,
    yuan,
)
from callcenter.crm.vocabulary import Tier

MARCH = MonthRange.parse("2024-03")
DEFAULTS = TierThresholds()

# The twelve clients of the segmentation fixture: tier now, total assets at the end of March.
HOLDINGS = [
    TierHolding(1, Tier.GOLD, 600_000_000),  # 6,000,000 CNY >= 5,000,000: up to VIP
    TierHolding(2, Tier.VIP, 500_000_000),  # exactly the VIP floor: stays VIP
    TierHolding(3, Tier.GOLD, 99_999_999),  # one fen under the gold floor: down to silver
    TierHolding(4, Tier.SILVER, 100_000_000),  # exactly the gold floor: up to gold
    TierHolding(5, Tier.STANDARD, 10_000_000),  # exactly the silver floor: up to silver
    TierHolding(6, Tier.SILVER, 50_000_000),  # 500,000 CNY: silver, stays
    TierHolding(7, Tier.STANDARD, 1_000_000),
    TierHolding(8, Tier.STANDARD, 10_000_000),  # up to silver
    TierHolding(9, Tier.STANDARD, 1_000_000),
    TierHolding(10, Tier.STANDARD, 1_000_000),
    TierHolding(11, Tier.STANDARD, 1_000_000),
    TierHolding(12, Tier.SILVER, 5_000_000),  # 50,000 CNY: down to standard
]


@pytest.mark.parametrize(
    ("assets_fen", "tier"),
    [
        (-5_000, Tier.STANDARD),
        (0, Tier.STANDARD),
        (9_999_999, Tier.STANDARD),
        (10_000_000, Tier.SILVER),
        (99_999_999, Tier.SILVER),
        (100_000_000, Tier.GOLD),
        (499_999_999, Tier.GOLD),
        (500_000_000, Tier.VIP),
        (10**12, Tier.VIP),
    ],
)
def test_a_tier_starts_at_its_floor(assets_fen: int, tier: Tier) -> None:
    assert tier_for_assets(assets_fen, DEFAULTS) is tier


def test_only_clients_whose_assets_earn_another_tier_move() -> None:
    moves = plan_tier_moves(HOLDINGS, MARCH, DEFAULTS)
    assert [(m.client_id, m.from_tier, m.to_tier, m.is_upgrade) for m in moves] == [
        (1, Tier.GOLD, Tier.VIP, True),
        (3, Tier.GOLD, Tier.SILVER, False),
        (4, Tier.SILVER, Tier.GOLD, True),
        (5, Tier.STANDARD, Tier.SILVER, True),
        (8, Tier.STANDARD, Tier.SILVER, True),
        (12, Tier.SILVER, Tier.STANDARD, False),
    ]


def test_a_move_says_why() -> None:
    moves = {m.client_id: m for m in plan_tier_moves(HOLDINGS, MARCH, DEFAULTS)}
    assert moves[1].reason == (
        "assets 6,000,000.00 CNY at the end of 2024-03: vip from 5,000,000.00"
    )
    assert moves[12].reason == (
        "assets 50,000.00 CNY at the end of 2024-03: below silver (100,000.00)"
    )


def test_planning_again_after_the_moves_changes_nothing() -> None:
    moved = {m.client_id: m.to_tier for m in plan_tier_moves(HOLDINGS, MARCH, DEFAULTS)}
    after = [
        TierHolding(h.client_id, moved.get(h.client_id, h.tier), h.total_assets_fen)
        for h in HOLDINGS
    ]
    assert plan_tier_moves(after, MARCH, DEFAULTS) == []


def test_thresholds_are_parameters() -> None:
    strict = TierThresholds(vip_fen=1_000_000_000, gold_fen=200_000_000, silver_fen=20_000_000)
    assert tier_for_assets(600_000_000, strict) is Tier.GOLD
    assert plan_tier_moves([TierHolding(5, Tier.STANDARD, 10_000_000)], MARCH, strict) == []
    assert plan_tier_moves([TierHolding(2, Tier.VIP, 500_000_000)], MARCH, strict) == [
        TierMove(
            2,
            Tier.VIP,
            Tier.GOLD,
            "assets 5,000,000.00 CNY at the end of 2024-03: gold from 2,000,000.00",
        )
    ]


@pytest.mark.parametrize(
    "bounds",
    [(100, 100, 10), (100, 50, 60), (100, 50, 0)],
)
def test_thresholds_must_rise(bounds: tuple[int, int, int]) -> None:
    vip, gold, silver = bounds
    with pytest.raises(ValueError, match="must rise"):
        TierThresholds(vip_fen=vip, gold_fen=gold, silver_fen=silver)


def test_a_range_is_assessed_on_its_last_month() -> None:
    first_quarter = MonthRange.parse("2024-01", "2024-03")
    [move] = plan_tier_moves([TierHolding(1, Tier.GOLD, 600_000_000)], first_quarter, DEFAULTS)
    assert "at the end of 2024-03" in move.reason


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (5, "0.05"), (123_456_789, "1,234,567.89"), (-150, "-1.50")],
)
def test_yuan_formats_fen_exactly(fen: int, text: str) -> None:
    assert yuan(fen) == text
