"""KPIs of agents, advisors and branches for a period, and the weighted score for rewards.

Pure: the persistence layer counts each owner's clients (new, at the start, lost, upgraded,
with figures) and their contribution; this module turns the counts into rates, normalises
each component against the peers in the same report and weighs them 20:30:30:20.
docs/metrics.md gives every formula with a worked example. Rates are computed as exact
fractions and turned into floats only in the result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from fractions import Fraction

from callcenter.crm.periods import MonthRange
from callcenter.crm.vocabulary import Role, Tier
from callcenter.errors import Forbidden


class KpiScope(StrEnum):
    """Whose KPIs, and the client column that attributes a client to them."""

    AGENT = "agent"  # clients.acquired_by_id: who won the client
    ADVISOR = "advisor"  # clients.advisor_id: who looks after the client
    BRANCH = "branch"  # clients.branch_id


class KpiNotVisible(Forbidden):
    error_id = "kpi-not-visible"


@dataclass(frozen=True)
class OwnerFigures:
    """What one owner's clients did in the period (counted by the persistence layer)."""

    owner_id: int
    owner_name: str
    new_clients: int = 0  # opened in the period
    clients_at_start: int = 0  # open on the period's first day
    lost_clients: int = 0  # of those, closed within the period
    upgraded_clients: int = 0  # in a higher tier at the end of the period's changes
    clients_with_figures: int = 0  # with an account summary in the period
    contribution_fen: int = 0  # their commission summed over the period


@dataclass(frozen=True)
class ScoreWeights:
    """The weights of the four components in percent (DOMAIN.md: 20:30:30:20)."""

    new_clients: int = 20
    retention: int = 30
    upgrades: int = 30
    profitability: int = 20

    def __post_init__(self) -> None:
        parts = (self.new_clients, self.retention, self.upgrades, self.profitability)
        if min(parts) < 0 or sum(parts) != 100:
            raise ValueError("score weights are percentages that add up to 100")


@dataclass(frozen=True)
class OwnerKpi:
    figures: OwnerFigures
    churn_rate: float | None  # None: no clients at the start, nothing to lose
    retention_rate: float | None
    average_contribution_fen: float | None  # None: no client with figures
    # Each component normalised to 0..100 against the best peer, then the weighted score.
    new_clients_points: float
    retention_points: float
    upgrade_points: float
    profitability_points: float
    score: float


@dataclass(frozen=True)
class KpiReport:
    period: MonthRange
    scope: KpiScope
    weights: ScoreWeights
    rows: tuple[OwnerKpi, ...]  # best score first

    def only(self, owner_id: int | None) -> KpiReport:
        """The report cut to one owner's row (``None``: all rows). The points stay those
        earned against all peers."""
        if owner_id is None:
            return self
        return replace(self, rows=tuple(r for r in self.rows if r.figures.owner_id == owner_id))


def visible_owner(role: Role, user_id: int, scope: KpiScope) -> int | None:
    """Whose rows ``role`` may read: ``None`` for all (supervisors, admins); an advisor reads
    only their own row of the advisor report and an agent only theirs of the agent report."""
    if role in (Role.SUPERVISOR, Role.ADMIN):
        return None
    own_scope = {Role.ADVISOR: KpiScope.ADVISOR, Role.AGENT: KpiScope.AGENT}.get(role)
    if own_scope is scope:
        return user_id
    raise KpiNotVisible(f"{role} may read only their own KPIs", scope=scope.value)


def churn_rate(f: OwnerFigures) -> Fraction | None:
    return Fraction(f.lost_clients, f.clients_at_start) if f.clients_at_start else None


def retention_rate(f: OwnerFigures) -> Fraction | None:
    churn = churn_rate(f)
    return None if churn is None else 1 - churn


def average_contribution(f: OwnerFigures) -> Fraction | None:
    if not f.clients_with_figures:
        return None
    return Fraction(f.contribution_fen, f.clients_with_figures)


def points(values: Sequence[Fraction | int | None]) -> list[Fraction]:
    """Each value as a share of the best peer's, 0..100. A missing value (a rate without a
    base) and a negative one earn 0; if no peer has a positive value, all earn 0."""
    best = max((v for v in values if v is not None), default=None)
    if best is None or best <= 0:
        return [Fraction(0)] * len(values)
    return [Fraction(0) if v is None or v <= 0 else Fraction(v) * 100 / best for v in values]


def _optional_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def score_owners(
    period: MonthRange,
    scope: KpiScope,
    figures: Sequence[OwnerFigures],
    weights: ScoreWeights | None = None,
) -> KpiReport:
    weights = weights or ScoreWeights()
    new = points([f.new_clients for f in figures])
    kept = points([retention_rate(f) for f in figures])
    upgraded = points([f.upgraded_clients for f in figures])
    profit = points([average_contribution(f) for f in figures])
    rows: list[OwnerKpi] = []
    for i, f in enumerate(figures):
        score = (
            weights.new_clients * new[i]
            + weights.retention * kept[i]
            + weights.upgrades * upgraded[i]
            + weights.profitability * profit[i]
        ) / 100
        rows.append(
            OwnerKpi(
                figures=f,
                churn_rate=_optional_float(churn_rate(f)),
                retention_rate=_optional_float(retention_rate(f)),
                average_contribution_fen=_optional_float(average_contribution(f)),
                new_clients_points=float(new[i]),
                retention_points=float(kept[i]),
                upgrade_points=float(upgraded[i]),
                profitability_points=float(profit[i]),
                score=float(score),
            )
        )
    rows.sort(key=lambda r: (-r.score, r.figures.owner_id))
    return KpiReport(period, scope, weights, tuple(rows))


@dataclass(frozen=True)
class TierStep:
    """One recorded tier change of a client, with the client's owner in the report's scope."""

    client_id: int
    owner_id: int
    from_tier: Tier
    to_tier: Tier


def upgraded_clients_by_owner(steps: Sequence[TierStep]) -> Counter[int]:
    """How many clients each owner has in a higher tier after the period's changes than
    before them. ``steps`` come in the order they happened. A client counts once however many
    steps they took, and an upgrade undone within the period (gold -> VIP -> gold) is none."""
    first: dict[int, TierStep] = {}
    last: dict[int, TierStep] = {}
    for step in steps:
        first.setdefault(step.client_id, step)
        last[step.client_id] = step
    return Counter(
        first[client].owner_id
        for client in first
        if last[client].to_tier.rank > first[client].from_tier.rank
    )
