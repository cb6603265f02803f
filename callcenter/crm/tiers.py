"""Service tiers (客户分级) by total assets at the end of a period, and the moves between them.

Pure: the persistence layer loads each open client's tier and assets and writes the moves
planned here, one TierChange row per move; a client whose tier already fits gets no move, so
assessing the same period twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from callcenter.crm.periods import MonthRange, month_label
from callcenter.crm.vocabulary import Tier


@dataclass(frozen=True)
class TierThresholds:
    """The least total assets (fen) for each tier; below ``silver_fen`` a client is standard.
    Defaults in CNY: VIP 5,000,000, gold 1,000,000, silver 100,000."""

    vip_fen: int = 500_000_000
    gold_fen: int = 100_000_000
    silver_fen: int = 10_000_000

    def __post_init__(self) -> None:
        if not 0 < self.silver_fen < self.gold_fen < self.vip_fen:
            raise ValueError("tier thresholds must rise: 0 < silver < gold < vip")

    def floor_fen(self, tier: Tier) -> int:
        """The least assets of ``tier`` (0 for standard)."""
        floors = {
            Tier.STANDARD: 0,
            Tier.SILVER: self.silver_fen,
            Tier.GOLD: self.gold_fen,
            Tier.VIP: self.vip_fen,
        }
        return floors[tier]


def tier_for_assets(total_assets_fen: int, thresholds: TierThresholds) -> Tier:
    """The highest tier whose floor the assets reach (a floor is inclusive).

    Plain comparisons: the demo seed asks this for every quarter of every client."""
    if total_assets_fen >= thresholds.vip_fen:
        return Tier.VIP
    if total_assets_fen >= thresholds.gold_fen:
        return Tier.GOLD
    if total_assets_fen >= thresholds.silver_fen:
        return Tier.SILVER
    return Tier.STANDARD  # below silver, including negative assets (margin under water)


@dataclass(frozen=True)
class TierHolding:
    """An open client's tier now and their total assets at the end of the period."""

    client_id: int
    tier: Tier
    total_assets_fen: int


@dataclass(frozen=True)
class TierMove:
    client_id: int
    from_tier: Tier
    to_tier: Tier
    reason: str

    @property
    def is_upgrade(self) -> bool:
        return self.to_tier.rank > self.from_tier.rank


def yuan(fen: int) -> str:
    """``123456789`` -> ``"1,234,567.89"``, exact (no float)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def tier_reason(total_assets_fen: int, tier: Tier, period: MonthRange, t: TierThresholds) -> str:
    """Why: the assets, when, and the bound that decided it (fits the 200-character column)."""
    assets = f"assets {yuan(total_assets_fen)} CNY at the end of {month_label(period.last)}"
    if tier is Tier.STANDARD:
        return f"{assets}: below silver ({yuan(t.silver_fen)})"
    return f"{assets}: {tier.value} from {yuan(t.floor_fen(tier))}"


def plan_tier_moves(
    holdings: Sequence[TierHolding], period: MonthRange, thresholds: TierThresholds
) -> list[TierMove]:
    """One move for each client whose assets put them in another tier; none for the rest."""
    moves: list[TierMove] = []
    for holding in holdings:
        target = tier_for_assets(holding.total_assets_fen, thresholds)
        if target is not holding.tier:
            reason = tier_reason(holding.total_assets_fen, target, period, thresholds)
            moves.append(TierMove(holding.client_id, holding.tier, target, reason))
    return moves
