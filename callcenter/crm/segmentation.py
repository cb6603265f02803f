"""Client value for a period: the monetary decile analysis and the value classes.

Pure functions over per-client figures; docs/metrics.md gives every formula with a worked
example. The population of a period is the clients with at least one account summary in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from callcenter.crm.periods import MonthRange
from callcenter.crm.vocabulary import ValueClass

DECILES = 10


@dataclass(frozen=True)
class ClientFigures:
    """One client's figures summed over a period."""

    client_id: int
    contribution_fen: int  # commission: the client's profit contribution
    turnover_fen: int  # trading volume


@dataclass(frozen=True)
class Decile:
    decile: int  # 1 = the clients who contribute most
    clients: int
    contribution_fen: int
    turnover_fen: int
    contribution_share: float  # of the period's total contribution (profit), 0..1
    turnover_share: float  # of the period's total turnover (volume), 0..1
    cumulative_client_share: float  # deciles 1..this one, as a share of all clients
    cumulative_contribution_share: float
    cumulative_turnover_share: float


@dataclass(frozen=True)
class DecileReport:
    period: MonthRange
    clients: int
    contribution_fen: int
    turnover_fen: int
    deciles: tuple[Decile, ...]


def rank_by_contribution(figures: Sequence[ClientFigures]) -> list[ClientFigures]:
    """Highest contribution first; equal contributions in client-id order, so the same data
    always gives the same deciles."""
    return sorted(figures, key=lambda f: (-f.contribution_fen, f.client_id))


def decile_sizes(clients: int) -> list[int]:
    """Ten groups of equal count; the remainder goes one each to the top deciles (as SQL's
    NTILE(10)): 12 clients -> 2, 2, 1, 1, 1, 1, 1, 1, 1, 1. Fewer than ten clients leave the
    bottom deciles empty."""
    size, remainder = divmod(clients, DECILES)
    return [size + 1 if index < remainder else size for index in range(DECILES)]


def share(part: int, whole: int) -> float:
    """``part / whole``; 0 when there is nothing to share (a period without figures)."""
    return part / whole if whole > 0 else 0.0


def decile_report(period: MonthRange, figures: Sequence[ClientFigures]) -> DecileReport:
    ranked = rank_by_contribution(figures)
    total_contribution = sum(f.contribution_fen for f in ranked)
    total_turnover = sum(f.turnover_fen for f in ranked)
    deciles: list[Decile] = []
    taken = cumulative_contribution = cumulative_turnover = 0
    for index, size in enumerate(decile_sizes(len(ranked))):
        group = ranked[taken : taken + size]
        taken += size
        contribution = sum(f.contribution_fen for f in group)
        turnover = sum(f.turnover_fen for f in group)
        # Cumulative shares come from cumulative sums, not from adding rounded shares.
        cumulative_contribution += contribution
        cumulative_turnover += turnover
        deciles.append(
            Decile(
                decile=index + 1,
                clients=size,
                contribution_fen=contribution,
                turnover_fen=turnover,
                contribution_share=share(contribution, total_contribution),
                turnover_share=share(turnover, total_turnover),
                cumulative_client_share=share(taken, len(ranked)),
                cumulative_contribution_share=share(cumulative_contribution, total_contribution),
                cumulative_turnover_share=share(cumulative_turnover, total_turnover),
            )
        )
    return DecileReport(period, len(ranked), total_contribution, total_turnover, tuple(deciles))


@dataclass(frozen=True)
class ValueClassRules:
    """The parameters of the value classes (docs/metrics.md explains the defaults)."""

    top_profit_deciles: int = 1  # top_profit: the clients of the top N contribution deciles
    core_volume_share_pct: int = 45  # core_volume: the volume head that makes this % of turnover
    declining_drop_pct: int = 30  # declining: turnover down by at least this % on the period before

    def __post_init__(self) -> None:
        if not 1 <= self.top_profit_deciles <= DECILES:
            raise ValueError("top_profit_deciles must be 1..10")
        if not 1 <= self.core_volume_share_pct <= 100:
            raise ValueError("core_volume_share_pct must be 1..100")
        if not 1 <= self.declining_drop_pct <= 100:
            raise ValueError("declining_drop_pct must be 1..100")


def top_profit_ids(figures: Sequence[ClientFigures], rules: ValueClassRules) -> set[int]:
    """The clients of the top contribution deciles (the same cut as the decile report), except
    any who bring no profit at all."""
    head = sum(decile_sizes(len(figures))[: rules.top_profit_deciles])
    return {f.client_id for f in rank_by_contribution(figures)[:head] if f.contribution_fen > 0}


def volume_head_ids(figures: Sequence[ClientFigures], share_pct: int) -> set[int]:
    """The fewest clients, by turnover (ties in client-id order), whose turnover together
    reaches ``share_pct`` % of everyone's; the client who crosses the bound is in."""
    total = sum(f.turnover_fen for f in figures)
    head: set[int] = set()
    if total <= 0:
        return head
    cumulative = 0
    for f in sorted(figures, key=lambda f: (-f.turnover_fen, f.client_id)):
        head.add(f.client_id)
        cumulative += f.turnover_fen
        if cumulative * 100 >= share_pct * total:  # integers: exact at the bound
            break
    return head


def is_declining(figures: ClientFigures, previous_turnover_fen: int, drop_pct: int) -> bool:
    """Still profitable, but turnover fell by at least ``drop_pct`` % on the period before.
    A client without turnover before (new, or idle) cannot be falling."""
    if figures.contribution_fen <= 0 or previous_turnover_fen <= 0:
        return False
    return (previous_turnover_fen - figures.turnover_fen) * 100 >= drop_pct * previous_turnover_fen


def classify_clients(
    figures: Sequence[ClientFigures],
    previous_turnover_fen: Mapping[int, int],
    rules: ValueClassRules | None = None,
) -> dict[int, ValueClass]:
    """Each client's value class for the period. A client fits the first class that applies,
    in the order top_profit, core_volume, declining, ordinary: the higher classes already get
    an advisor's attention, so ``declining`` finds the profitable clients who otherwise would
    not."""
    rules = rules or ValueClassRules()
    top = top_profit_ids(figures, rules)
    core = volume_head_ids(figures, rules.core_volume_share_pct) - top
    classes: dict[int, ValueClass] = {}
    for f in figures:
        if f.client_id in top:
            classes[f.client_id] = ValueClass.TOP_PROFIT
        elif f.client_id in core:
            classes[f.client_id] = ValueClass.CORE_VOLUME
        elif is_declining(f, previous_turnover_fen.get(f.client_id, 0), rules.declining_drop_pct):
            classes[f.client_id] = ValueClass.DECLINING
        else:
            classes[f.client_id] = ValueClass.ORDINARY
    return classes
