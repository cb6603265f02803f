"""Average client profitability by tier: does differentiated service pay for itself?

For a period, each tier's clients with an account summary in it: how many, their total
contribution (commission), the average per client, and the tier's share of all contribution.
Clients are counted in the tier they hold now (the tier history is in tier_changes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from callcenter.crm.vocabulary import Tier


@dataclass(frozen=True)
class TierProfitability:
    tier: Tier
    clients: int
    contribution_fen: int
    average_fen: Fraction | None  # None when the tier has no client in the period
    contribution_share: Fraction  # of all tiers' contribution, 0..1 (0 when the total is 0)


def profitability_by_tier(rows: Iterable[tuple[Tier, int]]) -> list[TierProfitability]:
    """``rows``: (tier, contribution in fen) per client. Every tier is reported, highest first."""
    clients: dict[Tier, int] = dict.fromkeys(Tier, 0)
    totals: dict[Tier, int] = dict.fromkeys(Tier, 0)
    for tier, contribution in rows:
        clients[tier] += 1
        totals[tier] += contribution
    grand_total = sum(totals.values())
    return [
        TierProfitability(
            tier=tier,
            clients=clients[tier],
            contribution_fen=totals[tier],
            average_fen=Fraction(totals[tier], clients[tier]) if clients[tier] else None,
            contribution_share=Fraction(totals[tier], grand_total) if grand_total else Fraction(0),
        )
        for tier in sorted(Tier, key=lambda t: t.rank, reverse=True)
    ]
