"""KPIs and the 20:30:30:20 score on hand-computed figures (the advisors of the DB fixture in
tests/db/test_reports.py, for March 2024).

    advisor     new  at start  lost  upgraded  with figures  contribution (fen)
    1 Wang        1         8     1         3             6      89,000
    2 Li          2         5     1         1             6      11,000
    3 Zhao        0         0     0         0             0           0   (joined this month)
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from callcenter.crm.kpi import (
    KpiNotVisible,
    KpiScope,
    OwnerFigures,
    ScoreWeights,
    TierStep,
    average_contribution,
    churn_rate,
    points,
    retention_rate,
    score_owners,
    upgraded_clients_by_owner,
    visible_owner,
)
from callcenter.crm.periods import MonthRange
from callcenter.crm.vocabulary import Role, Tier

MARCH = MonthRange.parse("2024-03")
WANG = OwnerFigures(1, "Wang", 1, 8, 1, 3, 6, 89_000)
LI = OwnerFigures(2, "Li", 2, 5, 1, 1, 6, 11_000)
ZHAO = OwnerFigures(3, "Zhao")

# Li's score, exactly:
#   new clients    2 of the best 2                      -> 100
#   retention      (1 - 1/5) / (1 - 1/8) = 0.8 / 0.875  -> 640/7 = 91.43
#   upgrades       1 of the best 3                      -> 100/3 = 33.33
#   profitability  (11,000/6) / (89,000/6)              -> 1100/89 = 12.36
#   score = 0.2 x 100 + 0.3 x 640/7 + 0.3 x 100/3 + 0.2 x 1100/89
#         = 20 + 192/7 + 10 + 220/89 = 59.90
LI_SCORE = 20 + Fraction(192, 7) + 10 + Fraction(220, 89)


def test_churn_is_the_share_of_the_clients_at_the_start_who_left() -> None:
    assert churn_rate(WANG) == Fraction(1, 8)
    assert retention_rate(WANG) == Fraction(7, 8)
    assert churn_rate(LI) == Fraction(1, 5)
    assert retention_rate(LI) == Fraction(4, 5)


def test_without_clients_at_the_start_there_is_no_churn_or_retention() -> None:
    assert churn_rate(ZHAO) is None
    assert retention_rate(ZHAO) is None


def test_average_profitability_is_contribution_per_client_with_figures() -> None:
    assert average_contribution(WANG) == Fraction(89_000, 6)  # 14,833.33 fen
    assert average_contribution(LI) == Fraction(11_000, 6)  # 1,833.33 fen
    assert average_contribution(ZHAO) is None


def test_points_are_shares_of_the_best_peer() -> None:
    assert points([1, 2, 0]) == [50, 100, 0]
    assert points([Fraction(7, 8), Fraction(4, 5), None]) == [100, Fraction(640, 7), 0]


def test_points_are_zero_when_no_peer_has_anything_to_compare() -> None:
    assert points([0, 0]) == [0, 0]
    assert points([None, None]) == [0, 0]
    assert points([-3, None]) == [0, 0]
    assert points([]) == []


def test_a_negative_value_earns_no_points() -> None:
    assert points([-500, 1_000]) == [0, 100]


def test_score_weighs_the_normalised_components_20_30_30_20() -> None:
    report = score_owners(MARCH, KpiScope.ADVISOR, [LI, ZHAO, WANG])
    wang, li, zhao = report.rows  # best score first
    # Wang: 0.2 x 50 (1 of the best 2 new clients) + 0.3 x 100 + 0.3 x 100 + 0.2 x 100 = 90
    assert wang.figures is WANG
    assert (wang.new_clients_points, wang.retention_points) == (50, 100)
    assert (wang.upgrade_points, wang.profitability_points) == (100, 100)
    assert wang.score == 90
    assert li.figures is LI
    assert li.retention_points == pytest.approx(float(Fraction(640, 7)))
    assert li.upgrade_points == pytest.approx(100 / 3)
    assert li.profitability_points == pytest.approx(float(Fraction(1100, 89)))
    assert li.score == pytest.approx(float(LI_SCORE))
    assert li.score == pytest.approx(59.9005, abs=1e-4)
    # Zhao has nothing yet: no rate, no average, and 0 points on every component.
    assert zhao.figures is ZHAO
    assert (zhao.churn_rate, zhao.retention_rate, zhao.average_contribution_fen) == (None,) * 3
    assert zhao.score == 0


def test_score_reports_the_rates_as_numbers() -> None:
    [row] = score_owners(MARCH, KpiScope.ADVISOR, [WANG]).rows
    assert (row.churn_rate, row.retention_rate) == (0.125, 0.875)
    assert row.average_contribution_fen == pytest.approx(14_833.333, abs=1e-3)
    assert row.score == 100  # alone, an owner is the best peer on every component


def test_other_weights_change_the_score() -> None:
    only_upgrades = ScoreWeights(new_clients=0, retention=0, upgrades=100, profitability=0)
    report = score_owners(MARCH, KpiScope.ADVISOR, [WANG, LI], only_upgrades)
    assert [r.score for r in report.rows] == pytest.approx([100, 100 / 3])


def test_weights_must_add_up_to_100() -> None:
    with pytest.raises(ValueError, match="add up to 100"):
        ScoreWeights(new_clients=20, retention=30, upgrades=30, profitability=30)
    with pytest.raises(ValueError, match="add up to 100"):
        ScoreWeights(new_clients=-10, retention=40, upgrades=50, profitability=20)


def step(client: int, owner: int, from_tier: Tier, to_tier: Tier) -> TierStep:
    return TierStep(client, owner, from_tier, to_tier)


def test_upgraded_clients_compare_the_tier_before_and_after_the_periods_changes() -> None:
    steps = [
        step(1, 10, Tier.GOLD, Tier.VIP),  # up: counts
        step(2, 10, Tier.GOLD, Tier.SILVER),  # down: does not
        step(3, 10, Tier.SILVER, Tier.GOLD),  # up then back down: no upgrade in the end
        step(4, 20, Tier.STANDARD, Tier.SILVER),  # up twice: one upgraded client
        step(3, 10, Tier.GOLD, Tier.SILVER),
        step(4, 20, Tier.SILVER, Tier.GOLD),
        step(5, 20, Tier.GOLD, Tier.SILVER),  # down, then up past where it was: up
        step(6, 20, Tier.VIP, Tier.GOLD),  # down, then back up to where it was: none
        step(5, 20, Tier.SILVER, Tier.VIP),
        step(6, 20, Tier.GOLD, Tier.VIP),
    ]
    assert upgraded_clients_by_owner(steps) == {10: 1, 20: 2}
    assert upgraded_clients_by_owner(steps[:1]) == {10: 1}
    assert upgraded_clients_by_owner([]) == {}


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
@pytest.mark.parametrize("scope", list(KpiScope))
def test_supervisors_and_admins_read_every_row(role: Role, scope: KpiScope) -> None:
    assert visible_owner(role, 7, scope) is None


def test_advisors_and_agents_read_only_their_own_row() -> None:
    assert visible_owner(Role.ADVISOR, 7, KpiScope.ADVISOR) == 7
    assert visible_owner(Role.AGENT, 8, KpiScope.AGENT) == 8


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (Role.ADVISOR, KpiScope.AGENT),
        (Role.ADVISOR, KpiScope.BRANCH),
        (Role.AGENT, KpiScope.ADVISOR),
        (Role.AGENT, KpiScope.BRANCH),
    ],
)
def test_nobody_else_reads_another_report(role: Role, scope: KpiScope) -> None:
    with pytest.raises(KpiNotVisible):
        visible_owner(role, 7, scope)


def test_a_report_cut_to_one_owner_keeps_the_points_earned_among_all() -> None:
    report = score_owners(MARCH, KpiScope.ADVISOR, [WANG, LI])
    [li] = report.only(2).rows
    assert li.score == pytest.approx(float(LI_SCORE))
    assert report.only(None) == report
    assert report.only(99).rows == ()
