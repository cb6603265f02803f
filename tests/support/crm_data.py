"""Small, explicit CRM records for tests (the seeder builds realistic volumes; tests need a
few rows whose every value they know)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from callcenter.crm.vocabulary import (
    Channel,
    Direction,
    FollowUpKind,
    FollowUpStatus,
    Gender,
    IncomeBand,
    RiskProfile,
    Tier,
    ValueClass,
)
from callcenter.persistence.db import Database
from callcenter.persistence.tables import (
    AccountSummary,
    Branch,
    Client,
    ClientPhone,
    FollowUp,
    Interaction,
)

RESIDENT_ID = "310101199001011234"
T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


async def add_branch(db: Database, code: str = "BJ01") -> int:
    async with db.write() as session:
        branch = Branch(
            code=code, name="北京金融街营业部", name_en="Beijing Finance St", city="Beijing"
        )
        session.add(branch)
        await session.flush()
        return branch.id


async def add_client(
    db: Database,
    branch_id: int,
    *,
    account_no: str = "1001000001",
    name: str = "张伟",
    name_latin: str = "Zhang Wei",
    id_number: str = RESIDENT_ID,
    phones: Sequence[str] = ("+8613800138000",),
    advisor_id: int | None = None,
    tier: Tier = Tier.GOLD,
    notes: str | None = None,
) -> int:
    async with db.write() as session:
        client = Client(
            account_no=account_no,
            name=name,
            name_latin=name_latin,
            id_type="resident_id",
            id_number=id_number,
            email="zhang.wei@example.cn",
            address="北京市西城区金融大街1号",
            birthday=dt.date(1990, 1, 1),
            gender=Gender.MALE,
            occupation="engineer",
            income_band=IncomeBand.FROM_300K_TO_1M,
            branch_id=branch_id,
            advisor_id=advisor_id,
            opened_on=dt.date(2019, 5, 20),
            risk_profile=RiskProfile.BALANCED,
            risk_assessed_on=dt.date(2025, 5, 1),
            tier=tier,
            value_class=ValueClass.CORE_VOLUME,
            notes=notes,
        )
        session.add(client)
        await session.flush()
        session.add_all(
            ClientPhone(client_id=client.id, e164=e164, kind="mobile", is_primary=index == 0)
            for index, e164 in enumerate(phones)
        )
        return client.id


async def add_account_months(
    db: Database, client_id: int, first: dt.date, assets_fen: Sequence[int]
) -> None:
    """One account summary per month from ``first``, with these total assets."""
    async with db.write() as session:
        for index, assets in enumerate(assets_fen):
            year, month = divmod(first.month - 1 + index, 12)
            session.add(
                AccountSummary(
                    client_id=client_id,
                    period=dt.date(first.year + year, month + 1, 1),
                    total_assets_fen=assets,
                    positions=[
                        {
                            "symbol": "600519",
                            "name": "贵州茅台",
                            "quantity": 100,
                            "value_fen": 15_000_000,
                        }
                    ],
                    turnover_fen=assets // 2,
                    commission_fen=assets // 4000,
                )
            )


async def add_interaction(
    db: Database, client_id: int | None, started_at: dt.datetime = T0, call_id: str | None = None
) -> int:
    async with db.write() as session:
        interaction = Interaction(
            client_id=client_id,
            channel=Channel.VOICE,
            direction=Direction.INBOUND,
            caller_number="+8613800138000",
            called_number="+864008888888",
            started_at=started_at,
            call_id=call_id,
        )
        session.add(interaction)
        await session.flush()
        return interaction.id


async def add_follow_up(
    db: Database,
    client_id: int,
    due_on: dt.date = dt.date(2026, 3, 10),
    assigned_to_id: int | None = None,
    kind: FollowUpKind = FollowUpKind.RETURN_VISIT,
) -> int:
    async with db.write() as session:
        follow_up = FollowUp(
            client_id=client_id,
            kind=kind,
            status=FollowUpStatus.OPEN,
            due_on=due_on,
            assigned_to_id=assigned_to_id,
        )
        session.add(follow_up)
        await session.flush()
        return follow_up.id


async def add_call_in_hand(
    db: Database,
    client_id: int | None,
    agent_id: int,
    *,
    ended: bool = True,
    caller_number: str = "+8613800138000",
) -> int:
    """A call of ``client_id`` offered to and answered by ``agent_id`` minutes ago, whose
    wrap-up has not ended: the client is in the agent's hands (callcenter/crm/scopes.py).
    ``ended``: the call has ended (the agent is wrapping up)."""
    now = dt.datetime.now(dt.UTC)
    async with db.write() as session:
        interaction = Interaction(
            client_id=client_id,
            channel=Channel.VOICE,
            direction=Direction.INBOUND,
            caller_number=caller_number,
            called_number="+864008888888",
            started_at=now - dt.timedelta(minutes=5),
            queued_at=now - dt.timedelta(minutes=4),
            offered_at=now - dt.timedelta(minutes=4),
            answered_at=now - dt.timedelta(minutes=4) + dt.timedelta(seconds=5),
            ended_at=now - dt.timedelta(minutes=1) if ended else None,
            queue="general",
            agent_id=agent_id,
        )
        session.add(interaction)
        await session.flush()
        return interaction.id
