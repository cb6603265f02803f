"""Decile analysis and value classes on a twelve-client fixture computed by hand.

The fixture (March 2024; money in fen). Contributions add up to 100,000 and turnovers to
10,000,000, so every share below is a round percentage:

    client  contribution  turnover   turnover in Feb (the period before)
    1       40,000        1,100,000  1,100,000
    2       20,000          800,000  2,000,000   down 60%, but a top client
    3       10,000          500,000  1,000,000   down 50%: declining
    4        8,000        1,200,000  1,200,000
    5        6,000        2,500,000  2,500,000   the heavy trader on a low commission rate
    6        5,000          900,000  -           (new in March)
    7        4,000          700,000  1,000,000   down exactly 30%: declining
    8        3,000          600,000    850,000   down 29.4%: not declining
    9        2,000          300,000  -
    10       1,000          400,000  -           ties with 11 on contribution (new in March)
    11       1,000        1,000,000  1,000,000
    12           0                0    500,000   down 100%, but brings no profit
"""

from __future__ import annotations

import random

import pytest

from callcenter.crm.periods import MonthRange
from callcenter.crm.segmentation import (
    ClientFigures,
    ValueClassRules,
    classify_clients,
    decile_report,
    decile_sizes,
    rank_by_contribution,
    top_profit_ids,
    volume_head_ids,
)
from callcenter.crm.vocabulary import ValueClass

MARCH = MonthRange.parse("2024-03")

FIGURES = [
    ClientFigures(1, 40_000, 1_100_000),
    ClientFigures(2, 20_000, 800_000),
    ClientFigures(3, 10_000, 500_000),
    ClientFigures(4, 8_000, 1_200_000),
    ClientFigures(5, 6_000, 2_500_000),
    ClientFigures(6, 5_000, 900_000),
    ClientFigures(7, 4_000, 700_000),
    ClientFigures(8, 3_000, 600_000),
    ClientFigures(9, 2_000, 300_000),
    ClientFigures(10, 1_000, 400_000),
    ClientFigures(11, 1_000, 1_000_000),
    ClientFigures(12, 0, 0),
]
FEBRUARY_TURNOVER = {
    1: 1_100_000,
    2: 2_000_000,
    3: 1_000_000,
    4: 1_200_000,
    5: 2_500_000,
    7: 1_000_000,
    8: 850_000,
    11: 1_000_000,
    12: 500_000,
}

# Twelve clients = 10 x 1 + 2: deciles 1 and 2 take two clients each, the rest one.
# (decile, clients, contribution, turnover, contribution %, turnover %, cumulative client %,
#  cumulative contribution %, cumulative turnover %)
EXPECTED_DECILES = [
    # clients 1+2: 60,000 of 100,000 = 60%; 1,900,000 of 10,000,000 = 19%; 2 of 12 clients
    (1, 2, 60_000, 1_900_000, 60, 19, 2 / 12, 60, 19),
    # clients 3+4: 18,000 = 18%, cumulative 78%; 1,700,000 = 17%, cumulative 36%
    (2, 2, 18_000, 1_700_000, 18, 17, 4 / 12, 78, 36),
    (3, 1, 6_000, 2_500_000, 6, 25, 5 / 12, 84, 61),  # client 5
    (4, 1, 5_000, 900_000, 5, 9, 6 / 12, 89, 70),  # client 6
    (5, 1, 4_000, 700_000, 4, 7, 7 / 12, 93, 77),  # client 7
    (6, 1, 3_000, 600_000, 3, 6, 8 / 12, 96, 83),  # client 8
    (7, 1, 2_000, 300_000, 2, 3, 9 / 12, 98, 86),  # client 9
    (8, 1, 1_000, 400_000, 1, 4, 10 / 12, 99, 90),  # client 10: the tie goes to the lower id
    (9, 1, 1_000, 1_000_000, 1, 10, 11 / 12, 100, 100),  # client 11
    (10, 1, 0, 0, 0, 0, 12 / 12, 100, 100),  # client 12
]


def test_decile_sizes_give_the_remainder_to_the_top_deciles() -> None:
    assert decile_sizes(12) == [2, 2, 1, 1, 1, 1, 1, 1, 1, 1]
    assert decile_sizes(29) == [3] * 9 + [2]
    assert decile_sizes(30) == [3] * 10
    assert decile_sizes(7) == [1] * 7 + [0] * 3
    assert decile_sizes(0) == [0] * 10


def test_ranking_breaks_equal_contributions_by_client_id() -> None:
    shuffled = FIGURES[:]
    random.Random(3).shuffle(shuffled)
    assert [f.client_id for f in rank_by_contribution(shuffled)] == list(range(1, 13))


def test_decile_report_gives_each_deciles_share_of_profit_and_volume() -> None:
    report = decile_report(MARCH, FIGURES)
    assert (report.clients, report.contribution_fen, report.turnover_fen) == (
        12,
        100_000,
        10_000_000,
    )
    actual = [
        (
            d.decile,
            d.clients,
            d.contribution_fen,
            d.turnover_fen,
            d.contribution_share * 100,
            d.turnover_share * 100,
            d.cumulative_client_share,
            d.cumulative_contribution_share * 100,
            d.cumulative_turnover_share * 100,
        )
        for d in report.deciles
    ]
    assert actual == [pytest.approx(row) for row in EXPECTED_DECILES]


def test_decile_report_is_the_same_whatever_order_the_figures_come_in() -> None:
    shuffled = FIGURES[:]
    random.Random(7).shuffle(shuffled)
    assert decile_report(MARCH, shuffled) == decile_report(MARCH, FIGURES)


def test_a_period_without_figures_has_ten_empty_deciles() -> None:
    report = decile_report(MARCH, [])
    assert report.clients == 0
    assert [d.clients for d in report.deciles] == [0] * 10
    assert {d.contribution_share for d in report.deciles} == {0.0}
    assert {d.cumulative_turnover_share for d in report.deciles} == {0.0}


def test_value_classes_of_the_fixture() -> None:
    classes = classify_clients(FIGURES, FEBRUARY_TURNOVER)
    assert classes == {
        # top_profit: decile 1 = clients 1 and 2 (60% of profit)
        1: ValueClass.TOP_PROFIT,
        2: ValueClass.TOP_PROFIT,  # down 60% on February, but top_profit comes first
        # the volume head by turnover: 5 (25%), 4 (25+12 = 37%), 1 (37+11 = 48% >= 45%);
        # client 1 is top_profit already, so core_volume = 5 and 4
        4: ValueClass.CORE_VOLUME,
        5: ValueClass.CORE_VOLUME,
        3: ValueClass.DECLINING,  # (1,000,000 - 500,000) / 1,000,000 = 50% >= 30%
        7: ValueClass.DECLINING,  # (1,000,000 - 700,000) / 1,000,000 = 30%: the bound is in
        8: ValueClass.ORDINARY,  # (850,000 - 600,000) / 850,000 = 29.4% < 30%
        6: ValueClass.ORDINARY,  # no turnover in February (new): nothing to fall from
        9: ValueClass.ORDINARY,
        10: ValueClass.ORDINARY,
        11: ValueClass.ORDINARY,
        12: ValueClass.ORDINARY,  # turnover down 100%, but contribution 0: not "profitable"
    }


def test_top_clients_count_towards_the_volume_head() -> None:
    # 25% + 12% + 11%: client 1 (top_profit) is the one that crosses 45%.
    assert volume_head_ids(FIGURES, 45) == {5, 4, 1}
    # 25% reaches a 25% bound exactly: the head is client 5 alone.
    assert volume_head_ids(FIGURES, 25) == {5}
    assert volume_head_ids([ClientFigures(1, 10, 0)], 45) == set()


def test_value_class_parameters_move_the_bounds() -> None:
    rules = ValueClassRules(top_profit_deciles=2, core_volume_share_pct=25, declining_drop_pct=50)
    classes = classify_clients(FIGURES, FEBRUARY_TURNOVER, rules)
    # deciles 1 and 2: clients 1-4; the 25% head is client 5; only client 3 fell by >= 50%.
    assert {c for c, vc in classes.items() if vc is ValueClass.TOP_PROFIT} == {1, 2, 3, 4}
    assert {c for c, vc in classes.items() if vc is ValueClass.CORE_VOLUME} == {5}
    assert {c for c, vc in classes.items() if vc is ValueClass.DECLINING} == set()


def test_clients_who_bring_no_profit_are_never_top_profit() -> None:
    idle = [ClientFigures(1, 0, 0), ClientFigures(2, 0, 500)]
    assert top_profit_ids(idle, ValueClassRules()) == set()
    assert classify_clients(idle, {}) == {1: ValueClass.ORDINARY, 2: ValueClass.CORE_VOLUME}


@pytest.mark.parametrize(
    "rules",
    [
        {"top_profit_deciles": 0},
        {"top_profit_deciles": 11},
        {"core_volume_share_pct": 0},
        {"core_volume_share_pct": 101},
        {"declining_drop_pct": 0},
    ],
)
def test_value_class_rules_refuse_bounds_outside_their_range(rules: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        ValueClassRules(**rules)
