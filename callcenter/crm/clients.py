"""Clients: search, the 360-degree view, the audited ID reveal, and profile updates.

Privacy is part of every use case here: lists show masked ID numbers and phones, the full
record is shown only after its read is in the audit log (who, which client, when, for which
call), and the full ID number only through a reveal that records a reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from callcenter.crm.follow_ups import FollowUpRecord
from callcenter.crm.interactions import InteractionRecord
from callcenter.crm.ports import (
    MAX_PAGE,
    AuditRecord,
    AuditTrail,
    Page,
    References,
    Transactions,
    require_references,
)
from callcenter.crm.privacy import AuditAction
from callcenter.crm.scopes import DataScope
from callcenter.crm.vocabulary import (
    ComplaintStatus,
    Gender,
    IncomeBand,
    RiskProfile,
    Tier,
    ValueClass,
)
from callcenter.errors import InvalidInput, NotFound, StaleVersion

log = logging.getLogger(__name__)

RECENT_INTERACTIONS = 10
TREND_MONTHS = 12


class ClientNotFound(NotFound):
    error_id = "client-not-found"


class SearchNeedsCriterion(InvalidInput):
    error_id = "search-needs-criterion"


class InvalidPhoneSet(InvalidInput):
    error_id = "invalid-phone-set"


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientSearch:
    """Criteria are combined with AND; at least one is required (no browsing all clients)."""

    phone_e164: str | None = None
    name: str | None = None  # a case-insensitive prefix of the name or its Latin spelling
    id_number: str | None = None  # exact, normalised (privacy.normalise_id_number)
    account_no: str | None = None
    limit: int = 20
    offset: int = 0

    def __post_init__(self) -> None:
        if not any((self.phone_e164, self.name, self.id_number, self.account_no)):
            raise SearchNeedsCriterion("search by phone, name, id_number or account_no")
        if not 1 <= self.limit <= MAX_PAGE or self.offset < 0:
            raise InvalidInput(f"limit must be 1..{MAX_PAGE} and offset >= 0")

    @property
    def criteria(self) -> list[str]:
        """The kinds of criterion given (for the audit log: kinds, not the values)."""
        given = {
            "phone": self.phone_e164,
            "name": self.name,
            "id_number": self.id_number,
            "account_no": self.account_no,
        }
        return [kind for kind, value in given.items() if value]


@dataclass(frozen=True)
class ClientListItem:
    """A search hit as lists show it: identity masked."""

    id: int
    account_no: str
    name: str
    name_latin: str
    id_number_masked: str
    phones_masked: tuple[str, ...]
    tier: Tier
    value_class: ValueClass
    branch_id: int
    branch_name: str
    advisor_id: int | None
    advisor_name: str | None
    closed_on: dt.date | None


@dataclass(frozen=True)
class PhoneEntry:
    e164: str
    kind: str = "mobile"  # mobile, home, office
    is_primary: bool = False


@dataclass(frozen=True)
class BranchBrief:
    id: int
    code: str
    name: str
    name_en: str


@dataclass(frozen=True)
class AdvisorBrief:
    id: int
    display_name: str
    extension: str | None


@dataclass(frozen=True)
class ClientProfile:
    """The full profile; the ID number stays masked even here (see reveal_id_number)."""

    id: int
    account_no: str
    name: str
    name_latin: str
    id_type: str
    id_number_masked: str
    phones: tuple[PhoneEntry, ...]
    email: str | None
    address: str | None
    birthday: dt.date | None
    gender: Gender
    occupation: str | None
    income_band: IncomeBand
    language: str
    branch: BranchBrief
    advisor: AdvisorBrief | None
    opened_on: dt.date
    closed_on: dt.date | None
    risk_profile: RiskProfile
    risk_assessed_on: dt.date | None
    tier: Tier
    value_class: ValueClass
    consent_marketing: bool
    consent_recording: bool
    consent_data_sharing: bool
    notes: str | None  # suitability and service notes
    updated_at: dt.datetime
    version: int


@dataclass(frozen=True)
class Position:
    symbol: str
    name: str
    quantity: int
    value_fen: int


@dataclass(frozen=True)
class AccountPeriod:
    """One month of the client's account (period = the month's first day); money in fen."""

    period: dt.date
    total_assets_fen: int
    positions: tuple[Position, ...]
    turnover_fen: int
    commission_fen: int


@dataclass(frozen=True)
class AssetPoint:
    period: dt.date
    total_assets_fen: int


@dataclass(frozen=True)
class ComplaintBrief:
    id: int
    category_code: str
    status: ComplaintStatus
    summary: str
    created_at: dt.datetime
    response_due_at: dt.datetime


@dataclass(frozen=True)
class ClientView:
    """The 360-degree view an agent sees when the client calls."""

    profile: ClientProfile
    account: AccountPeriod | None  # the latest period
    asset_trend: tuple[
        AssetPoint, ...
    ]  # up to TREND_MONTHS periods ending at the latest, oldest first
    recent_interactions: tuple[InteractionRecord, ...]  # newest first
    open_complaints: tuple[ComplaintBrief, ...]
    follow_ups_due: tuple[FollowUpRecord, ...]  # open ones, soonest due first


class ClientChanges(TypedDict, total=False):
    """The profile fields a PATCH may set; a key present means "set to this value"."""

    email: str | None
    address: str | None
    language: str
    consent_marketing: bool
    consent_recording: bool
    consent_data_sharing: bool
    notes: str | None
    risk_profile: RiskProfile
    risk_assessed_on: dt.date | None


@dataclass(frozen=True)
class ClientUpdate:
    version: int  # the version the caller read: compare-and-set
    changes: ClientChanges
    phones: tuple[PhoneEntry, ...] | None = None  # None: unchanged; otherwise the new set


# --- ports -----------------------------------------------------------------------------------


class ClientStore(Protocol):
    """Reads take the scope of the person asking (callcenter/crm/scopes.py): a client out of
    it is not found."""

    async def visible(self, client_id: int, scope: DataScope) -> bool: ...

    async def search(self, search: ClientSearch, scope: DataScope) -> Page[ClientListItem]: ...

    async def view(self, client_id: int, scope: DataScope) -> ClientView | None: ...

    async def profile(self, client_id: int) -> ClientProfile | None: ...

    async def profile_for_update(self, client_id: int) -> ClientProfile | None: ...

    async def full_id_number(self, client_id: int) -> str | None: ...

    async def apply_changes(
        self, client_id: int, changes: ClientChanges, expected_version: int
    ) -> None: ...

    async def replace_phones(self, client_id: int, phones: Sequence[PhoneEntry]) -> None: ...


class ClientTransaction(Protocol):
    @property
    def clients(self) -> ClientStore: ...

    @property
    def audit(self) -> AuditTrail: ...

    @property
    def references(self) -> References: ...


# --- pure rules ------------------------------------------------------------------------------


def phone_set_problem(phones: Sequence[PhoneEntry]) -> str | None:
    """Why this set of phones cannot be a client's, or None."""
    numbers = [p.e164 for p in phones]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        return f"the same number twice: {', '.join(duplicates)}"
    if sum(p.is_primary for p in phones) > 1:
        return "more than one primary phone"
    return None


def with_primary(phones: Sequence[PhoneEntry]) -> tuple[PhoneEntry, ...]:
    """The set with exactly one primary phone (the first, unless one is marked)."""
    if not phones or any(p.is_primary for p in phones):
        return tuple(phones)
    first = PhoneEntry(phones[0].e164, phones[0].kind, is_primary=True)
    return (first, *phones[1:])


def appended_note(notes: str | None, line: str) -> str:
    return f"{notes}\n{line}" if notes else line


# --- services: check -> act -> announce ------------------------------------------------------


async def search_clients(
    crm: Transactions[ClientTransaction], scope: DataScope, search: ClientSearch
) -> Page[ClientListItem]:
    """Clients in the asker's scope that match, masked; the list shown is audited (which
    clients, by which kinds of criterion, and the reason an agent gave to look beyond their
    calls)."""
    async with crm.read() as tx:
        page = await tx.clients.search(search, scope)
    detail: dict[str, Any] = {
        "by": search.criteria,
        "clients": [item.id for item in page.items],
    }
    if scope.reason is not None:
        detail["reason"] = scope.reason
    async with crm.write() as tx:
        await tx.audit.record(AuditRecord(scope.user_id, AuditAction.CLIENT_SEARCH, detail=detail))
    return page


async def require_visible(tx: ClientTransaction, scope: DataScope, client_id: int) -> None:
    """Not found unless the client is in the asker's scope (existence never leaks)."""
    if not await tx.clients.visible(client_id, scope):
        raise ClientNotFound(f"no client {client_id}")


async def require_in_scope(
    crm: Transactions[ClientTransaction], scope: DataScope, client_id: int
) -> None:
    async with crm.read() as tx:
        await require_visible(tx, scope, client_id)


def _reason(scope: DataScope) -> dict[str, Any]:
    return {} if scope.reason is None else {"reason": scope.reason}


async def view_client(
    crm: Transactions[ClientTransaction],
    scope: DataScope,
    client_id: int,
    interaction_id: int | None = None,
) -> ClientView:
    """The full record, released only once its read is in the audit log."""
    async with crm.read() as tx:
        view = await tx.clients.view(client_id, scope)
        if view is None:
            raise ClientNotFound(f"no client {client_id}")
        await require_references(tx.references, interaction_id=interaction_id)
    # Read first, audit second, in its own short write: the view's queries do not hold
    # SQLite's write lock, and nothing is returned unless the audit entry was committed.
    async with crm.write() as tx:
        await tx.audit.record(
            AuditRecord(
                scope.user_id, AuditAction.CLIENT_VIEW, client_id, interaction_id, _reason(scope)
            )
        )
    log.info(
        "client %s viewed by user %s (interaction %s)", client_id, scope.user_id, interaction_id
    )
    return view


async def reveal_id_number(
    crm: Transactions[ClientTransaction],
    scope: DataScope,
    client_id: int,
    reason: str,
    interaction_id: int | None = None,
) -> str:
    async with crm.write() as tx:
        await require_visible(tx, scope, client_id)
        full = await tx.clients.full_id_number(client_id)
        if full is None:
            raise ClientNotFound(f"no client {client_id}")
        await require_references(tx.references, interaction_id=interaction_id)
        detail: dict[str, Any] = {"reason": reason}
        await tx.audit.record(
            AuditRecord(
                scope.user_id, AuditAction.CLIENT_REVEAL_ID, client_id, interaction_id, detail
            )
        )
    # The number itself never reaches a log line.
    log.info("client %s: ID number revealed to user %s", client_id, scope.user_id)
    return full


async def update_client(
    crm: Transactions[ClientTransaction], scope: DataScope, client_id: int, update: ClientUpdate
) -> ClientProfile:
    """Profile, phones and audit entry change together or not at all."""
    phones = None if update.phones is None else with_primary(update.phones)
    if phones is not None and (problem := phone_set_problem(phones)):
        raise InvalidPhoneSet(problem, field="phones")
    async with crm.write() as tx:
        await require_visible(tx, scope, client_id)
        current = await tx.clients.profile_for_update(client_id)
        if current is None:
            raise ClientNotFound(f"no client {client_id}")
        if current.version != update.version:
            raise StaleVersion(
                f"client {client_id} is at version {current.version}, not {update.version}",
                current_version=current.version,
            )
        await tx.clients.apply_changes(client_id, update.changes, current.version)
        if phones is not None:
            await tx.clients.replace_phones(client_id, phones)
        # Field names only: values (notes, contact details) stay out of the audit detail.
        fields = sorted([*update.changes, *(["phones"] if phones is not None else [])])
        await tx.audit.record(
            AuditRecord(
                scope.user_id,
                AuditAction.CLIENT_UPDATE,
                client_id,
                detail={"fields": fields, **_reason(scope)},
            )
        )
        updated = await tx.clients.profile(client_id)
    assert updated is not None  # the row is locked by this transaction
    log.info("client %s updated by user %s: %s", client_id, scope.user_id, ", ".join(fields))
    return updated


async def append_client_note(
    crm: Transactions[ClientTransaction],
    scope: DataScope,
    client_id: int,
    line: str,
    interaction_id: int | None = None,
) -> ClientProfile:
    """Add a line to the service notes. Needs no version: appending cannot overwrite anyone's
    line, because the read and the write happen under the row's write lock."""
    async with crm.write() as tx:
        await require_visible(tx, scope, client_id)
        current = await tx.clients.profile_for_update(client_id)
        if current is None:
            raise ClientNotFound(f"no client {client_id}")
        await require_references(tx.references, interaction_id=interaction_id)
        changes = ClientChanges(notes=appended_note(current.notes, line))
        await tx.clients.apply_changes(client_id, changes, current.version)
        await tx.audit.record(
            AuditRecord(
                scope.user_id, AuditAction.CLIENT_NOTE, client_id, interaction_id, _reason(scope)
            )
        )
        updated = await tx.clients.profile(client_id)
    assert updated is not None
    log.info("client %s: note added by user %s", client_id, scope.user_id)
    return updated
