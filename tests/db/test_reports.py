"""Segmentation and KPIs through the SQL in callcenter/persistence/reports.py, on SQLite and on
PostgreSQL, against the figures computed by hand in the unit tests.

The dataset: the twelve clients of tests/unit/test_segmentation.py (March 2024 figures, the
February turnover before it) with the tiers and assets of tests/unit/test_tiers.py, plus five
clients without March figures who matter to the KPIs:

    client  advisor  agent  branch  opened      closed      note
    1-5     Wang     G1/G2  SH      before      -           (agents alternate: G1 odd, G2 even)
    6       Wang     G2     SH      2024-03-01  -           new on the first day
    7       Li       G1     SH      2023-06-01  -
    8       Li       G2     BJ      2024-02-29  -           opened the day before: not new
    9       Li       G1     BJ      2024-03-05  -           new
    10      Li       G2     BJ      2024-03-31  -           new on the last day
    11-12   Li       G1/G2  BJ      before      -
    13      Li       G1     BJ      2020-01-01  2024-03-15  lost in March
    14      Wang     G2     BJ      2018-01-01  -           VIP, no March summary: untouched
    15      Wang     G1     SH      2019-01-01  2024-02-10  lost before March
    16      Wang     G1     SH      2019-01-01  2024-04-01  lost after March
    17      Wang     G2     SH      2019-01-01  2024-03-31  lost on the last day
    18      -        -      BJ      2024-03-10  -           new, without advisor or agent

A third advisor, Zhao, has no clients yet. Account summaries: February (commission 1,000 fen
each) and March for the twelve, and an April row for client 1 that no March report may see.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import pytest
from sqlalchemy import select

from callcenter.crm.kpi import KpiReport, KpiScope
from callcenter.crm.periods import MonthRange
from callcenter.crm.segmentation import ClientFigures
from callcenter.crm.vocabulary import (
    Gender,
    IncomeBand,
    RiskProfile,
    Role,
    Tier,
    ValueClass,
)
from callcenter.persistence import reports
from callcenter.persistence.db import Database
from callcenter.persistence.tables import AccountSummary, Branch, Client, TierChange, User
from tests.unit.test_segmentation import EXPECTED_DECILES, FEBRUARY_TURNOVER, FIGURES
from tests.unit.test_tiers import HOLDINGS

MARCH = MonthRange.parse("2024-03")
FEB_TO_MARCH = MonthRange.parse("2024-02", "2024-03")
NOW = dt.datetime(2024, 4, 2, 9, 30, tzinfo=dt.UTC)
D = dt.date


@dataclass
class Dataset:
    users: dict[str, int]  # username -> id
    branches: dict[str, int]  # code -> id


@dataclass(frozen=True)
class ClientSpec:
    advisor: str | None
    agent: str | None
    branch: str
    opened: dt.date
    closed: dt.date | None = None
    tier: Tier = Tier.STANDARD
    value_class: ValueClass = ValueClass.ORDINARY


def _specs() -> dict[int, ClientSpec]:
    tiers = {h.client_id: h.tier for h in HOLDINGS}
    old = D(2021, 1, 1)
    specs = {
        1: ClientSpec("wang", "g1", "SH", D(2020, 1, 10)),
        2: ClientSpec("wang", "g2", "SH", D(2019, 5, 1)),
        3: ClientSpec("wang", "g1", "SH", old),
        4: ClientSpec("wang", "g2", "SH", old),
        5: ClientSpec("wang", "g1", "SH", D(2023, 1, 3)),
        6: ClientSpec("wang", "g2", "SH", D(2024, 3, 1)),
        7: ClientSpec("li", "g1", "SH", D(2023, 6, 1)),
        8: ClientSpec("li", "g2", "BJ", D(2024, 2, 29)),
        9: ClientSpec("li", "g1", "BJ", D(2024, 3, 5)),
        10: ClientSpec("li", "g2", "BJ", D(2024, 3, 31)),
        11: ClientSpec("li", "g1", "BJ", old, value_class=ValueClass.TOP_PROFIT),  # stale
        12: ClientSpec("li", "g2", "BJ", old),
    }
    specs = {cid: _with_tier(spec, tiers[cid]) for cid, spec in specs.items()}
    specs |= {
        13: ClientSpec("li", "g1", "BJ", D(2020, 1, 1), D(2024, 3, 15)),
        14: ClientSpec(
            "wang", "g2", "BJ", D(2018, 1, 1), tier=Tier.VIP, value_class=ValueClass.CORE_VOLUME
        ),
        15: ClientSpec("wang", "g1", "SH", D(2019, 1, 1), D(2024, 2, 10)),
        16: ClientSpec("wang", "g1", "SH", D(2019, 1, 1), D(2024, 4, 1)),
        17: ClientSpec("wang", "g2", "SH", D(2019, 1, 1), D(2024, 3, 31)),
        18: ClientSpec(None, None, "BJ", D(2024, 3, 10)),
    }
    return specs


def _with_tier(spec: ClientSpec, tier: Tier) -> ClientSpec:
    return replace(spec, tier=tier)


def client_row(cid: int, spec: ClientSpec, data: Dataset) -> Client:
    return Client(
        id=cid,
        account_no=f"A{cid:06d}",
        name=f"客户{cid}",
        name_latin=f"Client {cid}",
        id_type="resident_id",
        id_number=f"11010119800101{cid:04d}",
        gender=Gender.UNSPECIFIED,
        income_band=IncomeBand.UNDISCLOSED,
        branch_id=data.branches[spec.branch],
        advisor_id=data.users[spec.advisor] if spec.advisor else None,
        acquired_by_id=data.users[spec.agent] if spec.agent else None,
        opened_on=spec.opened,
        closed_on=spec.closed,
        risk_profile=RiskProfile.BALANCED,
        tier=spec.tier,
        value_class=spec.value_class,
    )


def summary(
    cid: int, month: dt.date, assets: int, turnover: int, commission: int
) -> AccountSummary:
    return AccountSummary(
        client_id=cid,
        period=month,
        total_assets_fen=assets,
        positions=[],
        turnover_fen=turnover,
        commission_fen=commission,
    )


def summaries() -> list[AccountSummary]:
    assets = {h.client_id: h.total_assets_fen for h in HOLDINGS}
    rows = [
        summary(f.client_id, D(2024, 3, 1), assets[f.client_id], f.turnover_fen, f.contribution_fen)
        for f in FIGURES
    ]
    rows += [
        summary(cid, D(2024, 2, 1), assets[cid], turnover, 1_000)
        for cid, turnover in FEBRUARY_TURNOVER.items()
    ]
    rows.append(summary(1, D(2024, 4, 1), 1, 99_000_000, 999_999))  # outside every report
    return rows


def user(name: str, role: Role, branch_id: int) -> User:
    return User(username=name, display_name=name.title(), role=role, branch_id=branch_id)


@pytest.fixture
async def march(database: Database) -> Dataset:
    async with database.write() as session:
        sh = Branch(code="SH01", name="上海浦东营业部", name_en="Shanghai Pudong", city="Shanghai")
        bj = Branch(
            code="BJ01", name="北京金融街营业部", name_en="Beijing Finance St", city="Beijing"
        )
        session.add_all([sh, bj])
        await session.flush()
        people = [
            user("wang", Role.ADVISOR, sh.id),
            user("li", Role.ADVISOR, bj.id),
            user("zhao", Role.ADVISOR, bj.id),
            user("g1", Role.AGENT, sh.id),
            user("g2", Role.AGENT, sh.id),
            user("boss", Role.SUPERVISOR, sh.id),
        ]
        session.add_all(people)
        await session.flush()
        data = Dataset({u.username: u.id for u in people}, {"SH": sh.id, "BJ": bj.id})
        for cid, spec in _specs().items():
            session.add(client_row(cid, spec, data))
        await session.flush()
        session.add_all(summaries())
        session.add_all(
            [
                # Assessed for February: outside a March report.
                tier_change(
                    2, Tier.GOLD, Tier.VIP, dt.datetime(2024, 3, 1, 1, tzinfo=dt.UTC), D(2024, 2, 1)
                ),
                # Manual, within March, undone two days later: no upgrade in the end.
                tier_change(6, Tier.SILVER, Tier.GOLD, dt.datetime(2024, 3, 10, 2, tzinfo=dt.UTC)),
                tier_change(6, Tier.GOLD, Tier.SILVER, dt.datetime(2024, 3, 12, 2, tzinfo=dt.UTC)),
            ]
        )
    return data


def tier_change(
    cid: int, before: Tier, after: Tier, at: dt.datetime, period: dt.date | None = None
) -> TierChange:
    return TierChange(
        client_id=cid, from_tier=before, to_tier=after, changed_at=at, period=period, reason="test"
    )


async def stored(database: Database, column: str) -> dict[int, object]:
    async with database.read() as session:
        rows = await session.execute(select(Client.id, getattr(Client, column)))
        return {cid: value for cid, value in rows}


# --- figures and deciles ------------------------------------------------------------------


async def test_client_figures_sum_each_clients_months_within_the_period(
    database: Database, march: Dataset
) -> None:
    async with database.read() as session:
        in_march = await reports.client_figures(session, MARCH)
        both = await reports.client_figures(session, FEB_TO_MARCH)
    assert sorted(in_march, key=lambda f: f.client_id) == FIGURES
    by_client = {f.client_id: f for f in both}
    # Client 1: March 40,000 + February 1,000; 1,100,000 + 1,100,000. April is left out.
    assert by_client[1] == ClientFigures(1, 41_000, 2_200_000)
    assert by_client[9] == ClientFigures(9, 2_000, 300_000)  # March only


async def test_decile_report_for_a_month_matches_the_hand_computed_shares(
    database: Database, march: Dataset
) -> None:
    async with database.read() as session:
        report = await reports.load_decile_report(session, MARCH)
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


async def test_decile_report_over_a_range_of_months_sums_them(
    database: Database, march: Dataset
) -> None:
    async with database.read() as session:
        report = await reports.load_decile_report(session, FEB_TO_MARCH)
    # Nine February rows of 1,000 fen each on top of March's 100,000. Turnover: March's
    # 10,000,000 + February's 1.1 + 2.0 + 1.0 + 1.2 + 2.5 + 1.0 + 0.85 + 1.0 + 0.5 = 11.15 M.
    assert (report.clients, report.contribution_fen, report.turnover_fen) == (
        12,
        109_000,
        21_150_000,
    )
    top = report.deciles[0]
    # Clients 1 and 2: 41,000 + 21,000 = 62,000 of 109,000.
    assert (top.clients, top.contribution_fen) == (2, 62_000)
    assert top.contribution_share == pytest.approx(62 / 109)


# --- value classes ------------------------------------------------------------------------


async def test_value_classes_are_stored_for_the_clients_with_figures(
    database: Database, march: Dataset
) -> None:
    async with database.write() as session:
        outcome = await reports.apply_value_classes(session, MARCH, now=NOW)
    # 1, 2 top; 4, 5 core; 3, 7 declining (as in the unit test); 11 loses a stale class.
    assert (outcome.clients, outcome.changed) == (12, 7)
    assert outcome.classes == {
        ValueClass.TOP_PROFIT: 2,
        ValueClass.CORE_VOLUME: 2,
        ValueClass.DECLINING: 2,
        ValueClass.ORDINARY: 6,
    }
    classes = await stored(database, "value_class")
    assert [cid for cid, vc in classes.items() if vc is ValueClass.TOP_PROFIT] == [1, 2]
    assert sorted(cid for cid, vc in classes.items() if vc is ValueClass.CORE_VOLUME) == [4, 5, 14]
    assert sorted(cid for cid, vc in classes.items() if vc is ValueClass.DECLINING) == [3, 7]
    assert classes[11] is ValueClass.ORDINARY
    versions = await stored(database, "version")
    assert (versions[1], versions[6]) == (2, 1)  # changed, unchanged


async def test_value_classes_applied_twice_change_nothing_the_second_time(
    database: Database, march: Dataset
) -> None:
    async with database.write() as session:
        await reports.apply_value_classes(session, MARCH)
    before = await stored(database, "version")
    async with database.write() as session:
        again = await reports.apply_value_classes(session, MARCH)
    assert (again.clients, again.changed) == (12, 0)
    assert await stored(database, "version") == before


# --- tiers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    client_id: int
    from_tier: Tier
    to_tier: Tier
    period: dt.date | None
    changed_at: dt.datetime
    changed_by_id: int | None
    reason: str


async def tier_changes(database: Database) -> list[Recorded]:
    async with database.read() as session:
        rows = await session.scalars(select(TierChange).order_by(TierChange.id))
        return [
            Recorded(
                c.client_id,
                c.from_tier,
                c.to_tier,
                c.period,
                c.changed_at,
                c.changed_by_id,
                c.reason,
            )
            for c in rows
        ]


async def test_tier_assignment_moves_clients_and_records_every_move(
    database: Database, march: Dataset
) -> None:
    boss = march.users["boss"]
    async with database.write() as session:
        outcome = await reports.assign_tiers(session, MARCH, changed_by_id=boss, now=NOW)
    # The twelve open clients with a March summary; the moves of tests/unit/test_tiers.py.
    assert (outcome.clients, outcome.upgrades, outcome.downgrades) == (12, 4, 2)
    tiers = await stored(database, "tier")
    assert {cid: tiers[cid] for cid in (1, 2, 3, 4, 5, 8, 12, 14)} == {
        1: Tier.VIP,
        2: Tier.VIP,
        3: Tier.SILVER,
        4: Tier.GOLD,
        5: Tier.SILVER,
        8: Tier.SILVER,
        12: Tier.STANDARD,
        14: Tier.VIP,  # no March summary: left as it was
    }
    new = (await tier_changes(database))[3:]  # after the three rows of the dataset
    assert [(c.client_id, c.from_tier, c.to_tier) for c in new] == [
        (1, Tier.GOLD, Tier.VIP),
        (3, Tier.GOLD, Tier.SILVER),
        (4, Tier.SILVER, Tier.GOLD),
        (5, Tier.STANDARD, Tier.SILVER),
        (8, Tier.STANDARD, Tier.SILVER),
        (12, Tier.SILVER, Tier.STANDARD),
    ]
    assert {(c.period, c.changed_at, c.changed_by_id) for c in new} == {(D(2024, 3, 1), NOW, boss)}
    assert new[0].reason == "assets 6,000,000.00 CNY at the end of 2024-03: vip from 5,000,000.00"


async def test_tier_assignment_run_again_for_the_period_records_nothing(
    database: Database, march: Dataset
) -> None:
    async with database.write() as session:
        await reports.assign_tiers(session, MARCH, now=NOW)
    async with database.write() as session:
        again = await reports.assign_tiers(session, MARCH)
    assert (again.clients, again.upgrades, again.downgrades) == (12, 0, 0)
    assert len(await tier_changes(database)) == 3 + 6


async def test_concurrent_tier_assignments_record_each_move_once(
    database: Database, march: Dataset
) -> None:
    async def run() -> reports.TierOutcome:
        async with database.write() as session:
            return await reports.assign_tiers(session, MARCH)

    outcomes = await asyncio.gather(run(), run(), run())
    assert sorted((o.upgrades, o.downgrades) for o in outcomes) == [(0, 0), (0, 0), (4, 2)]
    assert len(await tier_changes(database)) == 3 + 6


async def test_closed_clients_keep_their_tier(database: Database, march: Dataset) -> None:
    async with database.write() as session:
        session.add(summary(16, D(2024, 3, 1), 900_000_000, 0, 0))  # closed 2024-04-01
    async with database.write() as session:
        outcome = await reports.assign_tiers(session, MARCH)
    assert outcome.clients == 12
    assert (await stored(database, "tier"))[16] is Tier.STANDARD


async def test_segmentation_recomputes_classes_and_tiers_in_one_go(
    database: Database, march: Dataset
) -> None:
    async with database.write() as session:
        outcome = await reports.recompute_segmentation(session, MARCH, changed_by_id=None)
    assert (outcome.value_classes.changed, outcome.tiers.upgrades, outcome.tiers.downgrades) == (
        7,
        4,
        2,
    )
    async with database.write() as session:
        again = await reports.recompute_segmentation(session, MARCH)
    assert (again.value_classes.changed, again.tiers.upgrades, again.tiers.downgrades) == (0, 0, 0)


async def test_a_failing_segmentation_leaves_the_database_unchanged(
    database: Database, march: Dataset
) -> None:
    before = (await stored(database, "tier"), await stored(database, "value_class"))

    async def recompute_then_fail() -> None:
        async with database.write() as session:
            await reports.recompute_segmentation(session, MARCH)
            raise RuntimeError("the caller fails after the writes")

    with pytest.raises(RuntimeError):
        await recompute_then_fail()
    assert (await stored(database, "tier"), await stored(database, "value_class")) == before
    assert len(await tier_changes(database)) == 3


# --- KPIs ---------------------------------------------------------------------------------


async def kpis(database: Database, scope: KpiScope) -> KpiReport:
    async with database.write() as session:
        await reports.assign_tiers(session, MARCH, now=NOW)  # the March upgrades
    async with database.read() as session:
        return await reports.kpi_report(session, MARCH, scope)


Row = tuple[str, int, int, int, int, int, int]


def figures_of(report: KpiReport) -> list[Row]:
    """(name, new, at start, lost, upgraded, with figures, contribution), best score first."""
    return [
        (
            r.figures.owner_name,
            r.figures.new_clients,
            r.figures.clients_at_start,
            r.figures.lost_clients,
            r.figures.upgraded_clients,
            r.figures.clients_with_figures,
            r.figures.contribution_fen,
        )
        for r in report.rows
    ]


def scores_of(report: KpiReport) -> Sequence[float]:
    return [r.score for r in report.rows]


async def test_advisor_kpis_match_the_hand_computed_figures(
    database: Database, march: Dataset
) -> None:
    report = await kpis(database, KpiScope.ADVISOR)
    assert figures_of(report) == [
        # Wang: new 6; at start 1-5, 14, 16, 17 (15 left in February, 6 is new); lost 17;
        # upgraded 1, 4, 5 (6 went up and back; 2 was February's); March figures 1-6.
        ("Wang", 1, 8, 1, 3, 6, 89_000),
        # Li: new 9, 10 (8 opened in February); at start 7, 8, 11, 12, 13; lost 13;
        # upgraded 8; figures 7-12: 4,000 + 3,000 + 2,000 + 1,000 + 1,000 + 0.
        ("Li", 2, 5, 1, 1, 6, 11_000),
        ("Zhao", 0, 0, 0, 0, 0, 0),
    ]
    # The same figures as tests/unit/test_kpi.py: 90, 20 + 192/7 + 10 + 220/89, 0.
    expected = [90, float(20 + Fraction(192, 7) + 10 + Fraction(220, 89)), 0]
    assert scores_of(report) == pytest.approx(expected)


async def test_agent_kpis_attribute_clients_to_who_acquired_them(
    database: Database, march: Dataset
) -> None:
    report = await kpis(database, KpiScope.AGENT)
    assert figures_of(report) == [
        # G2: new 6, 10; at start 2, 4, 8, 12, 14, 17; lost 17; upgraded 4, 8;
        # figures 2, 4, 6, 8, 10, 12: 20,000 + 8,000 + 5,000 + 3,000 + 1,000 + 0.
        ("G2", 2, 6, 1, 2, 6, 37_000),
        # G1: new 9; at start 1, 3, 5, 7, 11, 13, 16; lost 13; upgraded 1, 5;
        # figures 1, 3, 5, 7, 9, 11: 40,000 + 10,000 + 6,000 + 4,000 + 2,000 + 1,000.
        ("G1", 1, 7, 1, 2, 6, 63_000),
    ]
    # G2: new 100; retention (5/6)/(6/7) = 35/36 -> 3500/36; upgrades 100;
    #     profitability (37,000/6)/(63,000/6) = 37/63 -> 3700/63
    #     = 0.2 x 100 + 0.3 x 3500/36 + 0.3 x 100 + 0.2 x 3700/63 = 50 + 175/6 + 740/63 = 90.91
    # G1: new 1 of 2 -> 50; the best on the rest: 0.2 x 50 + 0.3 x 100 + 0.3 x 100 + 0.2 x 100
    #     = 90
    g2 = 50 + Fraction(175, 6) + Fraction(740, 63)
    assert scores_of(report) == pytest.approx([float(g2), 90])


async def test_branch_kpis_count_every_client_of_the_branch(
    database: Database, march: Dataset
) -> None:
    report = await kpis(database, KpiScope.BRANCH)
    assert figures_of(report) == [
        # SH: new 6; at start 1-5, 7, 16, 17; lost 17; upgraded 1, 4, 5; figures 1-7 = 93,000.
        ("上海浦东营业部", 1, 8, 1, 3, 7, 93_000),
        # BJ: new 9, 10 and 18 (no advisor, no agent, still the branch's); at start 8, 11,
        # 12, 13, 14; lost 13; upgraded 8; figures 8-12 = 7,000.
        ("北京金融街营业部", 3, 5, 1, 1, 5, 7_000),
    ]
    # SH: new 1 of 3 -> 100/3; best on the rest: 0.2 x 100/3 + 80 = 260/3 = 86.67
    # BJ: new 100; retention 0.8/0.875 -> 640/7; upgrades 1 of 3 -> 100/3;
    #     profitability (7,000/5)/(93,000/7) = 49/465 -> 4900/465
    #     = 20 + 192/7 + 10 + 196/93 = 59.54
    bj = 30 + Fraction(192, 7) + Fraction(196, 93)
    assert scores_of(report) == pytest.approx([float(Fraction(260, 3)), float(bj)])


async def test_manual_tier_changes_count_by_when_they_were_made(
    database: Database, march: Dataset
) -> None:
    async with database.write() as session:
        session.add_all(
            [
                # Within March (the last minute of it): counts for Li's client 9.
                tier_change(
                    9, Tier.STANDARD, Tier.SILVER, dt.datetime(2024, 3, 31, 23, 59, tzinfo=dt.UTC)
                ),
                # The first instant of April: does not count for Li's client 10.
                tier_change(10, Tier.STANDARD, Tier.SILVER, dt.datetime(2024, 4, 1, tzinfo=dt.UTC)),
            ]
        )
    async with database.read() as session:
        report = await reports.kpi_report(session, MARCH, KpiScope.ADVISOR)
    upgraded = {r.figures.owner_name: r.figures.upgraded_clients for r in report.rows}
    assert upgraded == {"Wang": 0, "Li": 1, "Zhao": 0}


async def test_kpis_of_a_period_before_any_client_are_all_zero(
    database: Database, march: Dataset
) -> None:
    async with database.read() as session:
        report = await reports.kpi_report(session, MonthRange.parse("2010-01"), KpiScope.ADVISOR)
    assert [r.score for r in report.rows] == [0, 0, 0]
    assert {r.figures.clients_at_start for r in report.rows} == {0}
    assert [r.figures.owner_name for r in report.rows] == ["Wang", "Li", "Zhao"]  # by id
