"""Client records: the hot-path lookup by phone, search, the 360-degree view, and updates.

Masking happens as rows become domain records (callcenter.crm.privacy): the full ID number
leaves this module only through :meth:`SqlClientStore.full_id_number`, the audited reveal.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

from callcenter.crm.clients import (
    TREND_MONTHS,
    AccountPeriod,
    AdvisorBrief,
    AssetPoint,
    BranchBrief,
    ClientChanges,
    ClientListItem,
    ClientProfile,
    ClientSearch,
    ClientView,
    ComplaintBrief,
    PhoneEntry,
    Position,
)
from callcenter.crm.follow_ups import FollowUpRecord
from callcenter.crm.ports import Page
from callcenter.crm.privacy import mask_id_number, mask_phones
from callcenter.crm.scopes import DataScope
from callcenter.crm.vocabulary import ComplaintStatus, FollowUpStatus
from callcenter.errors import StaleVersion
from callcenter.persistence.db import Database
from callcenter.persistence.follow_ups import follow_up_record
from callcenter.persistence.interactions import recent_interactions
from callcenter.persistence.scopes import client_condition
from callcenter.persistence.tables import (
    AccountSummary,
    Branch,
    Client,
    ClientPhone,
    Complaint,
    FollowUp,
    User,
)

OPEN_COMPLAINT = (ComplaintStatus.OPEN, ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.INVESTIGATING)
FOLLOW_UPS_SHOWN = 20
SURROGATES_START = 0xD800  # no code point just after U+D7FF can be sent to SQLite


# Built once, with the number as a bound parameter: this runs for every incoming call, and
# building the statement and its cache key anew cost a tenth of the lookup's ~1 ms.
CLIENTS_BY_PHONE = (
    select(Client)
    .join(ClientPhone, ClientPhone.client_id == Client.id)
    .where(ClientPhone.e164 == bindparam("e164"))
    .order_by(Client.closed_on.is_not(None), Client.id)
)


async def lookup_clients_by_phone(db: Database, e164: str) -> list[Client]:
    """The caller lookup of every incoming call (IVR, screen pop): find_clients_by_phone as
    one statement on the database's fastest read path (Database.read_one_statement)."""
    rows = await db.read_one_statement(CLIENTS_BY_PHONE, {"e164": e164})
    return [row for row in rows if isinstance(row, Client)]


async def find_clients_by_phone(session: AsyncSession, e164: str) -> list[Client]:
    """Clients with this phone number, open accounts first. Usually one; a family may share
    a landline, so callers of this function must handle several."""
    return list((await session.scalars(CLIENTS_BY_PHONE, {"e164": e164})).all())


def _like_prefix(text: str) -> str:
    """A LIKE pattern for "starts with ``text``": its own % and _ match literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _starts_with(column: QueryableAttribute[str], prefix: str, dialect: str) -> ColumnElement[bool]:
    """``lower(column)`` starts with ``prefix`` (already lower case), in the form each
    database can answer from its index on ``lower(column)`` (migration 0003)."""
    folded = func.lower(column)
    if dialect == "postgresql" or ord(prefix[-1]) >= SURROGATES_START - 1:
        return folded.like(_like_prefix(prefix), escape="\\")
    # SQLite compares text byte-wise (BINARY): the strings starting with "zhang" are exactly
    # those from "zhang" up to, not including, "zhanh".
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(folded >= prefix, folded < after)


def _search_conditions(search: ClientSearch, dialect: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if search.phone_e164:
        phone_owners = select(ClientPhone.client_id).where(ClientPhone.e164 == search.phone_e164)
        conditions.append(Client.id.in_(phone_owners))
    if search.name:
        prefix = search.name.lower()
        conditions.append(
            or_(
                _starts_with(Client.name, prefix, dialect),
                _starts_with(Client.name_latin, prefix, dialect),
            )
        )
    if search.id_number:
        conditions.append(Client.id_number == search.id_number)
    if search.account_no:
        conditions.append(Client.account_no == search.account_no)
    return conditions


async def _phones_of(session: AsyncSession, client_ids: Sequence[int]) -> dict[int, list[str]]:
    if not client_ids:
        return {}
    rows = await session.execute(
        select(ClientPhone.client_id, ClientPhone.e164)
        .where(ClientPhone.client_id.in_(client_ids))
        .order_by(ClientPhone.client_id, ClientPhone.is_primary.desc(), ClientPhone.id)
    )
    phones: dict[int, list[str]] = defaultdict(list)
    for client_id, e164 in rows:
        phones[client_id].append(e164)
    return phones


def _phone_entry(row: ClientPhone) -> PhoneEntry:
    return PhoneEntry(row.e164, row.kind, row.is_primary)


def _position(raw: dict[str, Any]) -> Position:
    return Position(
        symbol=str(raw.get("symbol", "")),
        name=str(raw.get("name", "")),
        quantity=int(raw.get("quantity", 0)),
        value_fen=int(raw.get("value_fen", 0)),
    )


def _account_period(row: AccountSummary) -> AccountPeriod:
    return AccountPeriod(
        period=row.period,
        total_assets_fen=row.total_assets_fen,
        positions=tuple(_position(p) for p in row.positions or []),
        turnover_fen=row.turnover_fen,
        commission_fen=row.commission_fen,
    )


def _complaint_brief(row: Complaint) -> ComplaintBrief:
    return ComplaintBrief(
        id=row.id,
        category_code=row.category_code,
        status=ComplaintStatus(row.status),
        summary=row.summary,
        created_at=row.created_at,
        response_due_at=row.response_due_at,
    )


def _in_scope(scope: DataScope) -> ColumnElement[bool]:
    return client_condition(scope, dt.datetime.now(dt.UTC), Client.id)


class SqlClientStore:
    """The domain's ClientStore port over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name

    async def visible(self, client_id: int, scope: DataScope) -> bool:
        found = await self._session.scalar(
            select(Client.id).where(Client.id == client_id, _in_scope(scope))
        )
        return found is not None

    async def search(self, search: ClientSearch, scope: DataScope) -> Page[ClientListItem]:
        advisor = aliased(User)
        listing = (
            select(Client, Branch.name, advisor.id, advisor.display_name)
            .join(Branch, Branch.id == Client.branch_id)
            .outerjoin(advisor, advisor.id == Client.advisor_id)
            .where(*_search_conditions(search, self._dialect), _in_scope(scope))
            .order_by(Client.id)
            .limit(search.limit + 1)  # one more than shown tells whether there is a next page
            .offset(search.offset)
        )
        rows = (await self._session.execute(listing)).all()
        phones = await _phones_of(self._session, [row[0].id for row in rows])
        items = [
            ClientListItem(
                id=client.id,
                account_no=client.account_no,
                name=client.name,
                name_latin=client.name_latin,
                id_number_masked=mask_id_number(client.id_number),
                phones_masked=mask_phones(phones.get(client.id, [])),
                tier=client.tier,
                value_class=client.value_class,
                branch_id=client.branch_id,
                branch_name=branch_name,
                advisor_id=advisor_id,
                advisor_name=advisor_name,
                closed_on=client.closed_on,
            )
            for client, branch_name, advisor_id, advisor_name in rows
        ]
        return Page.of(items, search.limit, search.offset)

    async def profile(self, client_id: int) -> ClientProfile | None:
        return await self._profile(select(Client).where(Client.id == client_id))

    async def profile_for_update(self, client_id: int) -> ClientProfile | None:
        # FOR UPDATE on PostgreSQL; on SQLite the write transaction already holds the lock.
        return await self._profile(select(Client).where(Client.id == client_id).with_for_update())

    async def _profile(self, stmt: Select[Client]) -> ClientProfile | None:
        client = await self._session.scalar(stmt.execution_options(populate_existing=True))
        if client is None:
            return None
        branch = await self._session.get_one(Branch, client.branch_id)
        advisor = None
        if client.advisor_id is not None:
            advisor = await self._session.get_one(User, client.advisor_id)
        phones = await self._session.scalars(
            select(ClientPhone)
            .where(ClientPhone.client_id == client.id)
            .order_by(ClientPhone.is_primary.desc(), ClientPhone.id)
        )
        return _client_profile(client, branch, advisor, [_phone_entry(p) for p in phones])

    async def view(self, client_id: int, scope: DataScope) -> ClientView | None:
        if not await self.visible(client_id, scope):
            return None
        profile = await self.profile(client_id)
        if profile is None:
            return None
        trend = await self._asset_trend(client_id)
        return ClientView(
            profile=profile,
            account=await self._latest_account(client_id) if trend else None,
            asset_trend=trend,
            recent_interactions=await recent_interactions(self._session, client_id),
            open_complaints=await self._open_complaints(client_id),
            follow_ups_due=await self._follow_ups_due(client_id),
        )

    async def _latest_account(self, client_id: int) -> AccountPeriod | None:
        row = await self._session.scalar(
            select(AccountSummary)
            .where(AccountSummary.client_id == client_id)
            .order_by(AccountSummary.period.desc())
            .limit(1)
        )
        return None if row is None else _account_period(row)

    async def _asset_trend(self, client_id: int) -> tuple[AssetPoint, ...]:
        rows = await self._session.execute(
            select(AccountSummary.period, AccountSummary.total_assets_fen)
            .where(AccountSummary.client_id == client_id)
            .order_by(AccountSummary.period.desc())
            .limit(TREND_MONTHS)
        )
        return tuple(reversed([AssetPoint(period, assets) for period, assets in rows]))

    async def _open_complaints(self, client_id: int) -> tuple[ComplaintBrief, ...]:
        rows = await self._session.scalars(
            select(Complaint)
            .where(Complaint.client_id == client_id, Complaint.status.in_(OPEN_COMPLAINT))
            .order_by(Complaint.response_due_at, Complaint.id)
        )
        return tuple(_complaint_brief(row) for row in rows)

    async def _follow_ups_due(self, client_id: int) -> tuple[FollowUpRecord, ...]:
        rows = await self._session.scalars(
            select(FollowUp)
            .where(FollowUp.client_id == client_id, FollowUp.status == FollowUpStatus.OPEN)
            .order_by(FollowUp.due_on, FollowUp.id)
            .limit(FOLLOW_UPS_SHOWN)
        )
        return tuple(follow_up_record(row) for row in rows)

    async def full_id_number(self, client_id: int) -> str | None:
        return await self._session.scalar(select(Client.id_number).where(Client.id == client_id))

    async def apply_changes(
        self, client_id: int, changes: ClientChanges, expected_version: int
    ) -> None:
        """Compare-and-set: write only if the row is still at ``expected_version``."""
        stmt = (
            update(Client)
            .where(Client.id == client_id, Client.version == expected_version)
            .values(**changes, version=expected_version + 1, updated_at=dt.datetime.now(dt.UTC))
            .returning(Client.version)
            .execution_options(synchronize_session=False)
        )
        if await self._session.scalar(stmt) is None:
            raise StaleVersion(f"client {client_id} changed meanwhile", client_id=client_id)

    async def replace_phones(self, client_id: int, phones: Sequence[PhoneEntry]) -> None:
        await self._session.execute(delete(ClientPhone).where(ClientPhone.client_id == client_id))
        if phones:
            await self._session.execute(
                insert(ClientPhone),
                [
                    {
                        "client_id": client_id,
                        "e164": p.e164,
                        "kind": p.kind,
                        "is_primary": p.is_primary,
                    }
                    for p in phones
                ],
            )


def _client_profile(
    client: Client, branch: Branch, advisor: User | None, phones: list[PhoneEntry]
) -> ClientProfile:
    return ClientProfile(
        id=client.id,
        account_no=client.account_no,
        name=client.name,
        name_latin=client.name_latin,
        id_type=client.id_type,
        id_number_masked=mask_id_number(client.id_number),
        phones=tuple(phones),
        email=client.email,
        address=client.address,
        birthday=client.birthday,
        gender=client.gender,
        occupation=client.occupation,
        income_band=client.income_band,
        language=client.language,
        branch=BranchBrief(branch.id, branch.code, branch.name, branch.name_en),
        advisor=None
        if advisor is None
        else AdvisorBrief(advisor.id, advisor.display_name, advisor.extension),
        opened_on=client.opened_on,
        closed_on=client.closed_on,
        risk_profile=client.risk_profile,
        risk_assessed_on=client.risk_assessed_on,
        tier=client.tier,
        value_class=client.value_class,
        consent_marketing=client.consent_marketing,
        consent_recording=client.consent_recording,
        consent_data_sharing=client.consent_data_sharing,
        notes=client.notes,
        updated_at=client.updated_at,
        version=client.version,
    )
