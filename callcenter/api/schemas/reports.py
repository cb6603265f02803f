"""Response models of the segmentation and KPI reports (formulas in docs/metrics.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from callcenter.crm.kpi import KpiReport, KpiScope, OwnerKpi
from callcenter.crm.periods import MonthRange, month_label
from callcenter.crm.profitability import TierProfitability
from callcenter.crm.segmentation import Decile, DecileReport
from callcenter.crm.vocabulary import Tier, ValueClass
from callcenter.persistence.reports import SegmentationOutcome


class PeriodOut(BaseModel):
    first: str  # YYYY-MM
    last: str
    months: int

    @classmethod
    def of(cls, months: MonthRange) -> PeriodOut:
        return cls(
            first=month_label(months.first), last=month_label(months.last), months=months.months
        )


class DecileOut(BaseModel):
    decile: int
    clients: int
    contribution_fen: int
    turnover_fen: int
    contribution_share: float
    turnover_share: float
    cumulative_client_share: float
    cumulative_contribution_share: float
    cumulative_turnover_share: float

    @classmethod
    def of(cls, d: Decile) -> DecileOut:
        return cls.model_validate(d, from_attributes=True)


class DecileReportOut(BaseModel):
    period: PeriodOut
    clients: int
    contribution_fen: int
    turnover_fen: int
    deciles: list[DecileOut]

    @classmethod
    def of(cls, r: DecileReport) -> DecileReportOut:
        return cls(
            period=PeriodOut.of(r.period),
            clients=r.clients,
            contribution_fen=r.contribution_fen,
            turnover_fen=r.turnover_fen,
            deciles=[DecileOut.of(d) for d in r.deciles],
        )


class KpiRowOut(BaseModel):
    owner_id: int
    owner_name: str
    new_clients: int
    clients_at_start: int
    lost_clients: int
    churn_rate: float | None
    retention_rate: float | None
    upgraded_clients: int
    clients_with_figures: int
    contribution_fen: int
    average_contribution_fen: float | None
    new_clients_points: float
    retention_points: float
    upgrade_points: float
    profitability_points: float
    score: float

    @classmethod
    def of(cls, row: OwnerKpi) -> KpiRowOut:
        f = row.figures
        return cls(
            owner_id=f.owner_id,
            owner_name=f.owner_name,
            new_clients=f.new_clients,
            clients_at_start=f.clients_at_start,
            lost_clients=f.lost_clients,
            churn_rate=row.churn_rate,
            retention_rate=row.retention_rate,
            upgraded_clients=f.upgraded_clients,
            clients_with_figures=f.clients_with_figures,
            contribution_fen=f.contribution_fen,
            average_contribution_fen=row.average_contribution_fen,
            new_clients_points=row.new_clients_points,
            retention_points=row.retention_points,
            upgrade_points=row.upgrade_points,
            profitability_points=row.profitability_points,
            score=row.score,
        )


class WeightsOut(BaseModel):
    new_clients: int
    retention: int
    upgrades: int
    profitability: int


class KpiReportOut(BaseModel):
    period: PeriodOut
    by: KpiScope
    weights: WeightsOut
    rows: list[KpiRowOut]  # best score first

    @classmethod
    def of(cls, r: KpiReport) -> KpiReportOut:
        return cls(
            period=PeriodOut.of(r.period),
            by=r.scope,
            weights=WeightsOut.model_validate(r.weights, from_attributes=True),
            rows=[KpiRowOut.of(row) for row in r.rows],
        )


class SegmentationOut(BaseModel):
    period: PeriodOut
    classified_clients: int
    value_class_changes: int
    value_classes: dict[ValueClass, int]
    tier_assessed_clients: int
    tier_changes: int
    upgrades: int
    downgrades: int

    @classmethod
    def of(cls, o: SegmentationOutcome) -> SegmentationOut:
        return cls(
            period=PeriodOut.of(o.period),
            classified_clients=o.value_classes.clients,
            value_class_changes=o.value_classes.changed,
            value_classes={vc: o.value_classes.classes.get(vc, 0) for vc in ValueClass},
            tier_assessed_clients=o.tiers.clients,
            tier_changes=o.tiers.upgrades + o.tiers.downgrades,
            upgrades=o.tiers.upgrades,
            downgrades=o.tiers.downgrades,
        )


class TierProfitabilityOut(BaseModel):
    tier: Tier
    clients: int
    contribution_fen: int
    average_fen: float | None = Field(description="Mean contribution per client, in fen.")
    contribution_share: float = Field(description="Share of all tiers' contribution, 0..1.")

    @classmethod
    def of(cls, row: TierProfitability) -> TierProfitabilityOut:
        return cls(
            tier=row.tier,
            clients=row.clients,
            contribution_fen=row.contribution_fen,
            average_fen=float(row.average_fen) if row.average_fen is not None else None,
            contribution_share=float(row.contribution_share),
        )


class TierProfitabilityReportOut(BaseModel):
    period: PeriodOut
    tiers: list[TierProfitabilityOut]
