"""The SQL behind the segmentation and KPI reports: load the figures the pure functions in
callcenter/crm/{segmentation,tiers,kpi}.py need, and write what they decide.

Writes run inside ``Database.write()``. They read the clients they may change with
``SELECT ... FOR UPDATE`` (PostgreSQL; SQLite's write transaction already holds the database
lock from ``BEGIN IMMEDIATE``), so two runs for the same period cannot both see a client's old
tier and both record the same change.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from callcenter.crm.kpi import (
    KpiReport,
    KpiScope,
    OwnerFigures,
    ScoreWeights,
    TierStep,
    score_owners,
    upgraded_clients_by_owner,
)
from callcenter.crm.periods import MonthRange
from callcenter.crm.profitability import TierProfitability, profitability_by_tier
from callcenter.crm.segmentation import (
    ClientFigures,
    DecileReport,
    ValueClassRules,
    classify_clients,
    decile_report,
)
from callcenter.crm.tiers import TierHolding, TierMove, TierThresholds, plan_tier_moves
from callcenter.crm.vocabulary import Role, ValueClass
from callcenter.persistence.tables import AccountSummary, Branch, Client, TierChange, User, utcnow

CLIENTS = cast(Table, Client.__table__)


def _in_period(months: MonthRange) -> ColumnElement[bool]:
    return AccountSummary.period.between(months.first, months.last)


# --- segmentation -------------------------------------------------------------------------


async def client_figures(session: AsyncSession, months: MonthRange) -> list[ClientFigures]:
    """Each client with an account summary in the period: commission and turnover summed."""
    stmt = (
        select(
            AccountSummary.client_id,
            func.sum(AccountSummary.commission_fen),
            func.sum(AccountSummary.turnover_fen),
        )
        .where(_in_period(months))
        .group_by(AccountSummary.client_id)
    )
    rows = await session.execute(stmt)
    # PostgreSQL sums BIGINT as NUMERIC: back to exact integers.
    return [ClientFigures(cid, int(commission), int(turn)) for cid, commission, turn in rows]


async def load_decile_report(session: AsyncSession, months: MonthRange) -> DecileReport:
    return decile_report(months, await client_figures(session, months))


@dataclass(frozen=True)
class ValueClassOutcome:
    clients: int  # classified: the clients with figures in the period
    changed: int  # of those, whose stored class changed
    classes: Mapping[ValueClass, int]  # how many clients are now in each class


async def apply_value_classes(
    session: AsyncSession,
    months: MonthRange,
    rules: ValueClassRules | None = None,
    *,
    now: dt.datetime | None = None,
) -> ValueClassOutcome:
    """Classify the clients with figures in ``months`` and store the classes that changed.
    Clients without figures keep theirs: no data is not evidence of anything."""
    current = await client_figures(session, months)
    previous = await client_figures(session, months.previous())
    classes = classify_clients(current, {f.client_id: f.turnover_fen for f in previous}, rules)
    in_period = select(AccountSummary.client_id).where(_in_period(months))
    stored_rows = await session.execute(
        select(Client.id, Client.value_class).where(Client.id.in_(in_period)).with_for_update()
    )
    stored = {cid: value_class for cid, value_class in stored_rows}
    changes = [
        {"b_id": cid, "b_value_class": vc} for cid, vc in classes.items() if stored.get(cid) != vc
    ]
    await _update_clients(session, "value_class", changes, now or utcnow())
    return ValueClassOutcome(len(classes), len(changes), Counter(classes.values()))


async def _update_clients(
    session: AsyncSession, column: str, changes: list[dict[str, Any]], now: dt.datetime
) -> None:
    """One executemany UPDATE of ``column`` (from ``b_<column>``) for the rows in ``changes``.
    The version moves on, as for any edit, so an editor holding the old row cannot write over
    the new class or tier with a compare-and-set update."""
    if not changes:
        return
    stmt = (
        update(CLIENTS)
        .where(CLIENTS.c.id == bindparam("b_id"))
        .values(
            {
                column: bindparam(f"b_{column}"),
                "version": CLIENTS.c.version + 1,
                "updated_at": now,
            }
        )
    )
    await session.execute(stmt, changes)


@dataclass(frozen=True)
class TierOutcome:
    clients: int  # assessed: open clients with a summary for the period's last month
    upgrades: int
    downgrades: int


async def tier_holdings(session: AsyncSession, months: MonthRange) -> list[TierHolding]:
    """Each open client's tier and total assets at the end of the period (the summary of its
    last month), locked for the update that follows. Clients without that summary are left
    out: a missing statement must not look like an emptied account."""
    stmt = (
        select(Client.id, Client.tier, AccountSummary.total_assets_fen)
        .join(AccountSummary, AccountSummary.client_id == Client.id)
        .where(AccountSummary.period == months.last, Client.closed_on.is_(None))
        .order_by(Client.id)
        .with_for_update(of=Client)
    )
    rows = await session.execute(stmt)
    return [TierHolding(cid, tier, assets) for cid, tier, assets in rows]


async def assign_tiers(
    session: AsyncSession,
    months: MonthRange,
    thresholds: TierThresholds | None = None,
    *,
    changed_by_id: int | None = None,
    now: dt.datetime | None = None,
) -> TierOutcome:
    """Move each open client to the tier their assets at the end of ``months`` earn, writing
    one TierChange (stamped with the period's last month) per move. Idempotent: a second run
    for the same period finds every client already in place and writes nothing."""
    now = now or utcnow()
    holdings = await tier_holdings(session, months)
    moves = plan_tier_moves(holdings, months, thresholds or TierThresholds())
    await _update_clients(
        session, "tier", [{"b_id": m.client_id, "b_tier": m.to_tier} for m in moves], now
    )
    if moves:
        await session.execute(
            insert(TierChange), [_tier_change_row(m, months, changed_by_id, now) for m in moves]
        )
    upgrades = sum(1 for m in moves if m.is_upgrade)
    return TierOutcome(len(holdings), upgrades, len(moves) - upgrades)


def _tier_change_row(
    move: TierMove, months: MonthRange, changed_by_id: int | None, now: dt.datetime
) -> dict[str, Any]:
    return {
        "client_id": move.client_id,
        "from_tier": move.from_tier,
        "to_tier": move.to_tier,
        "period": months.last,
        "reason": move.reason,
        "changed_at": now,
        "changed_by_id": changed_by_id,
    }


@dataclass(frozen=True)
class SegmentationOutcome:
    period: MonthRange
    value_classes: ValueClassOutcome
    tiers: TierOutcome


async def recompute_segmentation(
    session: AsyncSession,
    months: MonthRange,
    *,
    changed_by_id: int | None = None,
    rules: ValueClassRules | None = None,
    thresholds: TierThresholds | None = None,
    now: dt.datetime | None = None,
) -> SegmentationOutcome:
    """Value classes, then tiers, for the period, in the caller's one transaction."""
    now = now or utcnow()
    classes = await apply_value_classes(session, months, rules, now=now)
    tiers = await assign_tiers(session, months, thresholds, changed_by_id=changed_by_id, now=now)
    return SegmentationOutcome(months, classes, tiers)


# --- KPIs ---------------------------------------------------------------------------------

# Typed as never NULL: every query below keeps only the rows where the owner IS NOT NULL.
Owner = InstrumentedAttribute[int]
OWNER_COLUMN: dict[KpiScope, Owner] = {
    KpiScope.AGENT: cast(Owner, Client.acquired_by_id),
    KpiScope.ADVISOR: cast(Owner, Client.advisor_id),
    KpiScope.BRANCH: Client.branch_id,
}
SCOPE_ROLE = {KpiScope.AGENT: Role.AGENT, KpiScope.ADVISOR: Role.ADVISOR}


async def kpi_report(
    session: AsyncSession,
    months: MonthRange,
    scope: KpiScope,
    weights: ScoreWeights | None = None,
) -> KpiReport:
    """Every owner in ``scope`` scored against the others for ``months``."""
    owner = OWNER_COLUMN[scope]
    names = await _owner_names(session, scope, owner)
    new = await _new_clients(session, months, owner)
    at_start, lost = await _clients_at_start_and_lost(session, months, owner)
    upgraded = upgraded_clients_by_owner(await _tier_steps(session, months, owner))
    with_figures, contribution = await _contribution(session, months, owner)
    figures = [
        OwnerFigures(
            owner_id=oid,
            owner_name=name,
            new_clients=new[oid],
            clients_at_start=at_start[oid],
            lost_clients=lost[oid],
            upgraded_clients=upgraded[oid],
            clients_with_figures=with_figures[oid],
            contribution_fen=contribution[oid],
        )
        for oid, name in names.items()
    ]
    return score_owners(months, scope, figures, weights)


async def _owner_names(session: AsyncSession, scope: KpiScope, owner: Owner) -> dict[int, str]:
    """The peers: every branch; or every active user of the scope's role, plus anyone else
    a client is attributed to (an advisor who won a client shows in the agent report)."""
    if scope is KpiScope.BRANCH:
        rows = await session.execute(select(Branch.id, Branch.name).order_by(Branch.id))
        return {bid: name for bid, name in rows}
    attributed = select(owner).where(owner.is_not(None))
    stmt = (
        select(User.id, User.display_name)
        .where(or_(and_(User.role == SCOPE_ROLE[scope], User.active), User.id.in_(attributed)))
        .order_by(User.id)
    )
    return {uid: name for uid, name in await session.execute(stmt)}


async def _new_clients(session: AsyncSession, months: MonthRange, owner: Owner) -> Counter[int]:
    stmt = (
        select(owner, func.count())
        .where(owner.is_not(None), Client.opened_on >= months.start, Client.opened_on < months.end)
        .group_by(owner)
    )
    return Counter({oid: count for oid, count in await session.execute(stmt)})


async def _clients_at_start_and_lost(
    session: AsyncSession, months: MonthRange, owner: Owner
) -> tuple[Counter[int], Counter[int]]:
    """Clients open on the first day (opened before it, not closed before it), and how many
    of them closed within the period."""
    open_at_start = and_(
        Client.opened_on < months.start,
        or_(Client.closed_on.is_(None), Client.closed_on >= months.start),
    )
    lost = func.sum(case((Client.closed_on < months.end, 1), else_=0))
    stmt = (
        select(owner, func.count(), lost).where(owner.is_not(None), open_at_start).group_by(owner)
    )
    at_start: Counter[int] = Counter()
    lost_clients: Counter[int] = Counter()
    for oid, count, lost_count in await session.execute(stmt):
        at_start[oid] = count
        lost_clients[oid] = int(lost_count)
    return at_start, lost_clients


async def _tier_steps(session: AsyncSession, months: MonthRange, owner: Owner) -> list[TierStep]:
    """The period's tier changes in the order they happened: those assessed for a month of
    the period, and manual ones (no period) made within it."""
    start = dt.datetime.combine(months.start, dt.time(), dt.UTC)
    end = dt.datetime.combine(months.end, dt.time(), dt.UTC)
    in_period = or_(
        TierChange.period.between(months.first, months.last),
        and_(
            TierChange.period.is_(None), TierChange.changed_at >= start, TierChange.changed_at < end
        ),
    )
    stmt = (
        select(TierChange.client_id, owner, TierChange.from_tier, TierChange.to_tier)
        .join(Client, Client.id == TierChange.client_id)
        .where(owner.is_not(None), in_period)
        .order_by(TierChange.changed_at, TierChange.id)
    )
    return [
        TierStep(cid, oid, before, after) for cid, oid, before, after in await session.execute(stmt)
    ]


async def _contribution(
    session: AsyncSession, months: MonthRange, owner: Owner
) -> tuple[Counter[int], Counter[int]]:
    """Per owner: how many clients have figures in the period, and their commission."""
    stmt = (
        select(
            owner,
            func.count(func.distinct(AccountSummary.client_id)),
            func.sum(AccountSummary.commission_fen),
        )
        .join(Client, Client.id == AccountSummary.client_id)
        .where(owner.is_not(None), _in_period(months))
        .group_by(owner)
    )
    clients: Counter[int] = Counter()
    contribution: Counter[int] = Counter()
    for oid, count, commission in await session.execute(stmt):
        clients[oid] = count
        contribution[oid] = int(commission)
    return clients, contribution


# --- profitability by tier ------------------------------------------------------------------


async def tier_profitability(session: AsyncSession, months: MonthRange) -> list[TierProfitability]:
    """Each client with a summary in the period, in their current tier, with commission summed."""
    stmt = (
        select(Client.tier, func.sum(AccountSummary.commission_fen))
        .join(AccountSummary, AccountSummary.client_id == Client.id)
        .where(_in_period(months))
        .group_by(Client.id, Client.tier)
    )
    rows = await session.execute(stmt)
    return profitability_by_tier((tier, int(total)) for tier, total in rows)
