"""Clients over the API: search, the 360-degree view, updates, the audited ID reveal."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from callcenter.api.schemas.common import (
    Id,
    Limit,
    Money,
    Offset,
    PageOut,
    StrictModel,
    Version,
    text,
)
from callcenter.api.schemas.follow_ups import FollowUpOut
from callcenter.api.schemas.interactions import InteractionOut
from callcenter.crm.clients import (
    AccountPeriod,
    ClientChanges,
    ClientListItem,
    ClientProfile,
    ClientSearch,
    ClientUpdate,
    ClientView,
    PhoneEntry,
    phone_set_problem,
)
from callcenter.crm.phones import to_e164
from callcenter.crm.ports import Page
from callcenter.crm.privacy import normalise_id_number
from callcenter.crm.vocabulary import (
    ComplaintStatus,
    Gender,
    IncomeBand,
    RiskProfile,
    Tier,
    ValueClass,
)

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

# --- search ----------------------------------------------------------------------------------


class ClientSearchParams(BaseModel):
    """At least one criterion; several narrow the search (AND)."""

    phone: Annotated[str, text(32)] | None = Field(
        default=None, description="any common form; matched as E.164"
    )
    name: Annotated[str, text(100)] | None = Field(
        default=None, description="start of the name or its Latin spelling, any case"
    )
    id_number: Annotated[str, text(32, min_length=4)] | None = Field(
        default=None, description="the whole ID number"
    )
    account_no: Annotated[str, text(20)] | None = None
    limit: Limit = 20
    offset: Offset = 0

    @field_validator("phone")
    @classmethod
    def _phone_e164(cls, value: str | None) -> str | None:
        return None if value is None else to_e164(value)  # InvalidPhoneNumber is a ValueError

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        return None if value is None else normalise_id_number(value)

    @model_validator(mode="after")
    def _needs_a_criterion(self) -> ClientSearchParams:
        if not any((self.phone, self.name, self.id_number, self.account_no)):
            raise ValueError("give at least one of phone, name, id_number, account_no")
        return self

    def to_search(self) -> ClientSearch:
        return ClientSearch(
            phone_e164=self.phone,
            name=self.name,
            id_number=self.id_number,
            account_no=self.account_no,
            limit=self.limit,
            offset=self.offset,
        )


class ClientListItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_no: str
    name: str
    name_latin: str
    id_number_masked: str = Field(examples=["3101**********1234"])
    phones_masked: list[str] = Field(examples=[["+86138****8000"]])
    tier: Tier
    value_class: ValueClass
    branch_id: int
    branch_name: str
    advisor_id: int | None
    advisor_name: str | None
    closed_on: dt.date | None


class ClientPageOut(PageOut[ClientListItemOut]):
    @classmethod
    def of(cls, page: Page[ClientListItem]) -> ClientPageOut:
        return cls(
            items=[ClientListItemOut.model_validate(item) for item in page.items],
            limit=page.limit,
            offset=page.offset,
            has_more=page.has_more,
        )


# --- the 360-degree view ---------------------------------------------------------------------


class PhoneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    e164: str
    kind: str
    is_primary: bool


class BranchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_en: str


class AdvisorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    display_name: str
    extension: str | None


class ClientProfileOut(BaseModel):
    """The full profile. Phones are shown whole (agents call back); the ID number stays
    masked: POST /api/clients/{id}/reveal-id shows it, with a reason, audited."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    account_no: str
    name: str
    name_latin: str
    id_type: str
    id_number_masked: str
    phones: list[PhoneOut]
    email: str | None
    address: str | None
    birthday: dt.date | None
    gender: Gender
    occupation: str | None
    income_band: IncomeBand
    language: str
    branch: BranchOut
    advisor: AdvisorOut | None = Field(description="the dedicated advisor (客户经理)")
    opened_on: dt.date
    closed_on: dt.date | None
    risk_profile: RiskProfile
    risk_assessed_on: dt.date | None
    tier: Tier
    value_class: ValueClass
    consent_marketing: bool
    consent_recording: bool
    consent_data_sharing: bool
    notes: str | None = Field(description="suitability and service notes")
    updated_at: dt.datetime
    version: int

    @classmethod
    def of(cls, profile: ClientProfile) -> ClientProfileOut:
        return cls.model_validate(profile)


class PositionOut(BaseModel):
    symbol: str
    name: str
    quantity: int
    value: Money


class AccountOut(BaseModel):
    period: dt.date = Field(description="the month, as its first day")
    total_assets: Money
    positions: list[PositionOut]
    turnover: Money
    commission: Money

    @classmethod
    def of(cls, account: AccountPeriod) -> AccountOut:
        return cls(
            period=account.period,
            total_assets=Money.of(account.total_assets_fen),
            positions=[
                PositionOut(
                    symbol=p.symbol, name=p.name, quantity=p.quantity, value=Money.of(p.value_fen)
                )
                for p in account.positions
            ],
            turnover=Money.of(account.turnover_fen),
            commission=Money.of(account.commission_fen),
        )


class AssetPointOut(BaseModel):
    period: dt.date
    total_assets: Money


class ComplaintBriefOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    category_code: str
    status: ComplaintStatus
    summary: str
    created_at: dt.datetime
    response_due_at: dt.datetime


class ClientViewOut(BaseModel):
    profile: ClientProfileOut
    account: AccountOut | None = Field(description="the latest period")
    asset_trend: list[AssetPointOut] = Field(description="up to 12 months, oldest first")
    recent_interactions: list[InteractionOut] = Field(description="the last 10, newest first")
    open_complaints: list[ComplaintBriefOut]
    follow_ups_due: list[FollowUpOut] = Field(description="open ones, soonest due first")

    @classmethod
    def of(cls, view: ClientView) -> ClientViewOut:
        return cls(
            profile=ClientProfileOut.of(view.profile),
            account=None if view.account is None else AccountOut.of(view.account),
            asset_trend=[
                AssetPointOut(period=p.period, total_assets=Money.of(p.total_assets_fen))
                for p in view.asset_trend
            ],
            recent_interactions=[InteractionOut.of(i) for i in view.recent_interactions],
            open_complaints=[ComplaintBriefOut.model_validate(c) for c in view.open_complaints],
            follow_ups_due=[FollowUpOut.of(f) for f in view.follow_ups_due],
        )


# --- changes ---------------------------------------------------------------------------------


class PhoneIn(StrictModel):
    number: Annotated[str, text(32)] = Field(description="any common form; stored as E.164")
    kind: Literal["mobile", "home", "office"] = "mobile"
    is_primary: bool = False

    @field_validator("number")
    @classmethod
    def _e164(cls, value: str) -> str:
        return to_e164(value)  # InvalidPhoneNumber is a ValueError: 422 naming the field

    def to_entry(self) -> PhoneEntry:
        return PhoneEntry(self.number, self.kind, self.is_primary)


# Fields that exist but may not be null: absent means unchanged, null is an error.
NOT_NULL = ("language", "consent_marketing", "consent_recording", "consent_data_sharing")


class ClientPatch(StrictModel):
    """Fields left out stay as they are; ``phones``, when given, replaces the whole set."""

    version: Version
    # The pattern first: after text()'s own validator it would drop out of the OpenAPI schema.
    email: Annotated[str, Field(pattern=EMAIL_PATTERN), text(254)] | None = None
    address: Annotated[str, text(300)] | None = None
    language: Literal["zh", "en"] | None = None
    consent_marketing: bool | None = None
    consent_recording: bool | None = None
    consent_data_sharing: bool | None = None
    notes: Annotated[str, text(10_000, min_length=0)] | None = None
    risk_profile: RiskProfile | None = None
    risk_assessed_on: dt.date | None = None
    phones: list[PhoneIn] | None = Field(default=None, max_length=10)

    @field_validator(*NOT_NULL, "risk_profile", "phones", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(f"{info.field_name} may be left out, not null")
        return value

    @field_validator("phones")
    @classmethod
    def _phone_set(cls, value: list[PhoneIn] | None) -> list[PhoneIn] | None:
        if value is not None and (problem := phone_set_problem([p.to_entry() for p in value])):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _changes_something(self) -> ClientPatch:
        if not self.model_fields_set - {"version"}:
            raise ValueError("nothing to change: give at least one field besides version")
        return self

    def to_update(self) -> ClientUpdate:
        changes: dict[str, Any] = self.model_dump(exclude_unset=True, exclude={"version", "phones"})
        phones = None if self.phones is None else tuple(p.to_entry() for p in self.phones)
        return ClientUpdate(self.version, cast(ClientChanges, changes), phones)


class ClientNoteIn(StrictModel):
    line: Annotated[str, text(2_000)]
    interaction_id: Id | None = Field(default=None, description="the call it was noted on")


class RevealIdIn(StrictModel):
    reason: Annotated[str, text(500, min_length=8)] = Field(
        description="why the full number is needed; kept in the audit log"
    )
    interaction_id: Id | None = Field(default=None, description="the call it is needed for")


class RevealIdOut(BaseModel):
    client_id: int
    id_number: str
