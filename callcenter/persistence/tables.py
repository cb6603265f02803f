"""The database schema (SQLAlchemy 2 typed ORM). Alembic migrations are the source of truth for
the live schema; a test checks that the migrations produce exactly these tables.

Conventions:
* money is an integer number of fen (0.01 CNY) in ``*_fen`` columns: exact on every database;
* times are UTC; :class:`UtcDateTime` stores them naive-UTC and returns them aware;
* enums are stored as their string values with a CHECK constraint (no native enum types, so
  adding a value is a plain migration on both SQLite and PostgreSQL);
* rows that people edit concurrently carry a ``version`` for compare-and-set updates.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy import Enum as SaEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from callcenter.acd.agents import AgentEvent
from callcenter.acd.model import AgentState
from callcenter.crm.vocabulary import (
    CallbackStatus,
    Channel,
    ComplaintStatus,
    Direction,
    FollowUpKind,
    FollowUpStatus,
    Gender,
    IncomeBand,
    PinAttemptResult,
    RiskProfile,
    Role,
    Tier,
    ValueClass,
    VoiceMessageStatus,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


def str_enum(enum: type[StrEnum], name: str) -> SaEnum:
    return SaEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Branch(Base):
    """营业部: a branch office; complaints and follow-ups are often routed to it."""

    __tablename__ = "branches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(50))


class User(Base):
    """Staff of every role (callcenter/crm/vocabulary.py Role)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    extension: Mapped[str | None] = mapped_column(String(16), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class PhoneSecret(Base):
    """A person's own SIP secret (issue 19): both their phone lines (``<ext>``, ``<ext>-web``)
    authenticate with it. Sealed with the service's key, bound to the user's id
    (callcenter/secretbox.py), never stored or logged in the clear."""

    __tablename__ = "phone_secrets"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sealed: Mapped[str] = mapped_column(String(255))
    rotated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The brokerage account number the client types into the IVR.
    account_no: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))  # as on the ID: 张伟, or John Smith
    name_latin: Mapped[str] = mapped_column(String(100))  # pinyin or Latin spelling, searchable
    id_type: Mapped[str] = mapped_column(String(16))  # resident_id, passport, hk_macau_permit
    id_number: Mapped[str] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(300))
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    gender: Mapped[Gender] = mapped_column(str_enum(Gender, "gender"))
    occupation: Mapped[str | None] = mapped_column(String(100))
    income_band: Mapped[IncomeBand] = mapped_column(str_enum(IncomeBand, "income_band"))
    language: Mapped[str] = mapped_column(String(8), default="zh")  # zh or en: IVR, agent
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    acquired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_on: Mapped[dt.date] = mapped_column(Date, index=True)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)  # account closed: a lost client
    risk_profile: Mapped[RiskProfile] = mapped_column(str_enum(RiskProfile, "risk_profile"))
    risk_assessed_on: Mapped[dt.date | None] = mapped_column(Date)
    tier: Mapped[Tier] = mapped_column(str_enum(Tier, "tier"), index=True)
    value_class: Mapped[ValueClass] = mapped_column(str_enum(ValueClass, "value_class"))
    consent_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_recording: Mapped[bool] = mapped_column(Boolean, default=True)
    consent_data_sharing: Mapped[bool] = mapped_column(Boolean, default=False)
    pin_hash: Mapped[str | None] = mapped_column(String(255))  # telephone PIN (IVR), hashed
    # Wrong PINs in a row, across calls; reaching the IVR's limit sets pin_locked_at, and only
    # staff can clear it (POST /api/clients/{id}/pin-unlock). Not part of ``version``: a
    # caller's wrong PIN must not turn an agent's edit of the profile stale.
    pin_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pin_locked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    notes: Mapped[str | None] = mapped_column(Text)  # suitability and service notes
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Calling hours are the client's (migration 0016): None, the center's time zone.
    time_zone: Mapped[str | None] = mapped_column(String(40))
    care_calls_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# Name search (migration 0003): the start of the case-folded name or Latin spelling. On
# PostgreSQL text_pattern_ops lets LIKE 'prefix%' use the index under any collation.
Index(
    "ix_clients_name_lower",
    func.lower(Client.name).label("name_lower"),
    postgresql_ops={"name_lower": "text_pattern_ops"},
)
Index(
    "ix_clients_name_latin_lower",
    func.lower(Client.name_latin).label("name_latin_lower"),
    postgresql_ops={"name_latin_lower": "text_pattern_ops"},
)


class ClientPhone(Base):
    """A client's phone numbers in E.164, the key the IVR looks callers up by."""

    __tablename__ = "client_phones"
    __table_args__ = (UniqueConstraint("client_id", "e164"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # mobile, home, office
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)


class AccountSummary(Base):
    """A client's account for one period (a calendar month, keyed by its first day)."""

    __tablename__ = "account_summaries"
    __table_args__ = (UniqueConstraint("client_id", "period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    period: Mapped[dt.date] = mapped_column(Date, index=True)
    total_assets_fen: Mapped[int] = mapped_column(BigInteger)
    # [{"symbol": "600519", "name": "贵州茅台", "quantity": 100, "value_fen": 15000000}, ...]
    positions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    turnover_fen: Mapped[int] = mapped_column(BigInteger)  # trading volume in the period
    commission_fen: Mapped[int] = mapped_column(BigInteger)  # the client's profit contribution


class Interaction(Base):
    """One contact (a call, a web message, an e-mail), written at each phase."""

    __tablename__ = "interactions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "direction"))
    caller_number: Mapped[str | None] = mapped_column(String(32))
    called_number: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    ivr_ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    queued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    offered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    wrapup_ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ivr_path: Mapped[list[str]] = mapped_column(JSON, default=list)
    ivr_outcome: Mapped[str | None] = mapped_column(String(24))  # self_served, queued, ...
    authenticated: Mapped[bool] = mapped_column(Boolean, default=False)
    queue: Mapped[str | None] = mapped_column(String(50))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    wait_seconds: Mapped[int | None] = mapped_column(Integer)
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    hold_seconds: Mapped[int | None] = mapped_column(Integer)
    wrapup_seconds: Mapped[int | None] = mapped_column(Integer)
    disposition: Mapped[str | None] = mapped_column(String(50))
    notes: Mapped[str | None] = mapped_column(Text)
    recording_ref: Mapped[str | None] = mapped_column(String(200))
    # The call id: the Asterisk uniqueid of the caller's channel (docs/architecture.md, "One
    # name per concept"); None for a contact that was no call.
    call_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    asterisk_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Why the service closed this record as an anomaly (found in an impossible state); NULL
    # for an ordinary record (migration 0008).
    anomaly: Mapped[str | None] = mapped_column(String(200))
    # Where the end came from when the service did not see the call end (migration 0013):
    # "asterisk", the hang-up in Asterisk's record (CEL); "restart", no such record, the time a
    # restart found the channel gone. NULL: the service saw it end.
    end_source: Mapped[str | None] = mapped_column(String(16))


class InteractionAmendment(Base):
    """A supervisor's correction of a call record's facts (migration 0009). The record keeps
    what the system wrote; each amendment names the fields changed, from what to what, who
    changed them, when and why: ``{"queue": {"from": "general", "to": "vip"}}``."""

    __tablename__ = "interaction_amendments"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(300))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)


class ComplaintCategory(Base):
    """The complaint taxonomy: a two-level tree; each leaf has an owning department."""

    __tablename__ = "complaint_categories"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)  # e.g. trading.execution
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("complaint_categories.code"))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    # The department that owns it, or "branch": routed to the client's branch.
    owner: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Complaint(Base):
    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    category_code: Mapped[str] = mapped_column(ForeignKey("complaint_categories.code"))
    owner_department: Mapped[str | None] = mapped_column(String(40))
    owner_branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    status: Mapped[ComplaintStatus] = mapped_column(
        str_enum(ComplaintStatus, "complaint_status"), index=True
    )
    summary: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    response_due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)  # created + 2 days
    responded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ComplaintEvent(Base):
    """The status history of a complaint: one row per transition, never changed."""

    __tablename__ = "complaint_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    from_status: Mapped[ComplaintStatus | None] = mapped_column(
        str_enum(ComplaintStatus, "complaint_event_from")
    )
    to_status: Mapped[ComplaintStatus] = mapped_column(
        str_enum(ComplaintStatus, "complaint_event_to")
    )
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)


class FollowUp(Base):
    """A task to contact a client: return visits (回访), care calls, reminders."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_status_due", "status", "due_on"),
        # The dialler's order among the open items (migration 0016): priority 1 first.
        Index("ix_follow_ups_dial_order", "status", "priority", "due_on", "id"),
        # The next due item per owner, in the dialler's order; the wallboard's counts (0018).
        Index(
            "ix_follow_ups_owner_dial",
            "assigned_to_id",
            "status",
            "priority",
            "due_on",
            "id",
            postgresql_where=text("assigned_to_id IS NOT NULL"),
            sqlite_where=text("assigned_to_id IS NOT NULL"),
        ),
        Index(
            "ix_follow_ups_queue_dial",
            "queue",
            "status",
            "priority",
            "due_on",
            "id",
            postgresql_where=text("assigned_to_id IS NULL"),
            sqlite_where=text("assigned_to_id IS NULL"),
        ),
        Index(
            "ix_follow_ups_unowned_dial",
            "status",
            "priority",
            "due_on",
            "id",
            postgresql_where=text("assigned_to_id IS NULL AND queue IS NULL"),
            sqlite_where=text("assigned_to_id IS NULL AND queue IS NULL"),
        ),
        Index("ix_follow_ups_open_counts", "status", "kind", "not_before", "next_attempt_at"),
        Index("ix_follow_ups_done_at", "done_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None: a callback for a caller the IVR could not identify (the number is all there is).
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[FollowUpKind] = mapped_column(str_enum(FollowUpKind, "follow_up_kind"))
    status: Mapped[FollowUpStatus] = mapped_column(str_enum(FollowUpStatus, "follow_up_status"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    outcome: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # --- the dialler's work item (migration 0016, callcenter/outbound/) ---
    priority: Mapped[int] = mapped_column(Integer, default=5, server_default="5")  # 1..9
    queue: Mapped[str | None] = mapped_column(String(50), index=True)  # owner when no person
    number: Mapped[str | None] = mapped_column(String(32))  # None: the client's own phone
    language: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(300))  # what the agent is told
    not_before: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # the window's start
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(24))
    reserved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reserved_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    callback_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("callback_requests.id"), unique=True
    )


class FollowUpAttempt(Base):
    """One dial of a work item, or a skip of it in preview (migration 0016)."""

    __tablename__ = "follow_up_attempts"
    __table_args__ = (
        CheckConstraint("mode IN ('preview', 'progressive')", name="mode"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('agent_no_answer', 'answered', 'no_answer', 'busy', "
            "'wrong_number', 'failed', 'cancelled', 'reached', 'refused', 'completed', "
            "'skipped')",
            name="outcome",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), index=True)
    mode: Mapped[str] = mapped_column(String(12))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)  # 0018
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(String(300))


class TierChange(Base):
    """Every upgrade and downgrade of a client's tier, with why."""

    __tablename__ = "tier_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    from_tier: Mapped[Tier] = mapped_column(str_enum(Tier, "tier_from"))
    to_tier: Mapped[Tier] = mapped_column(str_enum(Tier, "tier_to"))
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    period: Mapped[dt.date | None] = mapped_column(Date)  # the assessment period, if any
    reason: Mapped[str] = mapped_column(String(200))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AuditEntry(Base):
    """Append-only: who did what to which client record, when, and for which call.

    The migration adds database triggers that refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))  # client.view, client.reveal_id, ...
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ClientErasure(Base):
    """The tombstone of a client's erasure (migration 0012): when, by whom, why, under which
    request, and how many rows of each kind were erased or redacted. No personal data: the
    client is named by id only (callcenter/persistence/data_rights.py)."""

    __tablename__ = "client_erasures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    erased_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(300))
    request_ref: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


# --- the IVR's own records (migration 0004) --------------------------------------------------


class PinAttempt(Base):
    """Every telephone-PIN attempt, kept to spot guessing and to answer "why am I locked?".

    The account number is stored as typed (it is not secret); the PIN, or anything derived
    from it, never is.
    """

    __tablename__ = "pin_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    account_no: Mapped[str] = mapped_column(String(20))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    caller_number: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[PinAttemptResult] = mapped_column(
        str_enum(PinAttemptResult, "pin_attempt_result")
    )


class CallbackRequest(Base):
    """A caller asked to be called back (after hours, or instead of waiting in the queue)."""

    __tablename__ = "callback_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))  # confirmed by the caller with DTMF
    language: Mapped[str] = mapped_column(String(8))  # the IVR's language: zh or en
    status: Mapped[CallbackStatus] = mapped_column(
        str_enum(CallbackStatus, "callback_status"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)


class VoiceMessage(Base):
    """A message a caller left in the IVR; the audio is a recording Asterisk wrote."""

    __tablename__ = "voice_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    caller_number: Mapped[str | None] = mapped_column(String(32))
    recording_ref: Mapped[str] = mapped_column(String(200))
    status: Mapped[VoiceMessageStatus] = mapped_column(
        str_enum(VoiceMessageStatus, "voice_message_status"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)


# --- the ACD: queues, agents' skills and states (migration 0005) -----------------------------


class CallQueue(Base):
    """A queue callers wait in. Its settings are a QueueConfig stored as JSON
    (callcenter/acd/queues.py), so a setting added later needs no migration."""

    __tablename__ = "queues"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)  # as IVR flows name it
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AgentSkill(Base):
    """What an agent (a user of role agent or advisor) can take, and how well (1..5)."""

    __tablename__ = "agent_skills"
    __table_args__ = (CheckConstraint("level >= 1 AND level <= 5", name="level"),)
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(String(50), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)


class AgentLanguage(Base):
    """A language an agent serves callers in (the IVR's: zh, en)."""

    __tablename__ = "agent_languages"
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)


class AgentQueue(Base):
    """An agent serves a queue."""

    __tablename__ = "agent_queues"
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    queue_name: Mapped[str] = mapped_column(
        ForeignKey("queues.name", ondelete="CASCADE"), primary_key=True, index=True
    )


class AgentStateChange(Base):
    """Every move of the agent state machine (callcenter/acd/agents.py), never changed: the
    time in each state and reason is the gap to the agent's next row."""

    __tablename__ = "agent_state_changes"
    __table_args__ = (Index("ix_agent_state_changes_agent_id_at", "agent_id", "at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    event: Mapped[AgentEvent] = mapped_column(str_enum(AgentEvent, "agent_event"))
    from_state: Mapped[AgentState] = mapped_column(str_enum(AgentState, "agent_from_state"))
    to_state: Mapped[AgentState] = mapped_column(str_enum(AgentState, "agent_to_state"))
    reason: Mapped[str | None] = mapped_column(String(24))  # not-ready reason code
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    # The person who acted: the agent, or a supervisor forcing; None when the ACD did it.
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AgentStatusRow(Base):
    """An agent's current state: a copy of their latest change, written in the same
    transaction, so reading every agent's state is one row each (no search of the history).
    No row: never logged in."""

    __tablename__ = "agent_status"
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    state: Mapped[AgentState] = mapped_column(str_enum(AgentState, "agent_state"), index=True)
    reason: Mapped[str | None] = mapped_column(String(24))
    since: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))


# --- logins: sessions and login attempts (migration 0006) ------------------------------------


class UserSession(Base):
    """A logged-in session. Only the SHA-256 of its token is stored: a copy of the database
    lets no one act as a user. ``idle_seconds`` is the idle timeout in force at login, so a
    session is judged by the rules it was opened under wherever it is read (REST, websocket)."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)  # absolute
    idle_seconds: Mapped[int] = mapped_column(Integer)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    client_address: Mapped[str | None] = mapped_column(String(64))
    # When this login proved a second factor (TOTP or a recovery code, migration 0010); None:
    # a password-only session, which a role that requires MFA may use only to enrol.
    mfa_verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class UserMfa(Base):
    """A user's TOTP secret (migration 0010), sealed with the service's secret key
    (callcenter/secretbox.py), never stored in clear. ``confirmed_at`` None: enrolment begun,
    no code proved it yet (the secret is not in force). ``last_used_step``: the time step of
    the last code accepted, so each code opens at most one session."""

    __tablename__ = "user_mfa"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret_sealed: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class MfaRecoveryCode(Base):
    """A single-use recovery code (migration 0010), as a keyed hash (HMAC-SHA-256 with a
    subkey of the secret key): the code itself is shown to its user once and never stored."""

    __tablename__ = "mfa_recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class LoginAttempt(Base):
    """Every login attempt, for the rate limit (shared by every worker, kept across
    restarts). The username is stored as typed; the password never is."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    ok: Mapped[bool] = mapped_column(Boolean)


# --- the admin console: service codes and the do-not-call list (migration 0011) -------------


class ServiceCode(Base):
    """A code staff choose from, with its labels in both languages: a not-ready reason
    (``kind`` not_ready_reason, stored in ``agent_state_changes.reason``) or a call's
    disposition (``kind`` disposition, stored in ``interactions.disposition``). A code that
    records use is deactivated, never deleted, so old records keep their label. ``missed`` is
    the ACD's own reason and is not here: no one chooses it."""

    __tablename__ = "service_codes"
    __table_args__ = (CheckConstraint("kind IN ('not_ready_reason', 'disposition')", name="kind"),)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DoNotCallEntry(Base):
    """A number the center must not call (the outbound dialler checks it, issue 18): every
    call (``scope`` all) or only care calls and other courtesy calls (``scope`` care), until
    ``expires_at`` if set. One entry per number."""

    __tablename__ = "do_not_call"
    __table_args__ = (CheckConstraint("scope IN ('all', 'care')", name="scope"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    e164: Mapped[str] = mapped_column(String(20), unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(300))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


# --- call recordings and their hash chain (migration 0014, issue 17) --------------------------


class RecordingRow(Base):
    """One call's recording (callcenter/crm/recordings.py): the file (``path`` relative to the
    recordings storage's root), its status and, once complete, its length, size and SHA-256.
    ``consult_of_id``: a consult leg's recording names the call's own."""

    __tablename__ = "recordings"
    __table_args__ = (
        CheckConstraint("status IN ('recording', 'complete', 'failed', 'deleted')", name="status"),
        Index("ix_recordings_interaction_id", "interaction_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    call_id: Mapped[str] = mapped_column(String(64))
    consult_of_id: Mapped[int | None] = mapped_column(ForeignKey("recordings.id"))
    path: Mapped[str] = mapped_column(String(300), unique=True)
    format: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)  # purged (retention)


class RecordingChainEntry(Base):
    """The append-only ledger of the recordings' life (callcenter/crm/recording_chain.py):
    ``entry_hash = sha256(prev_hash || canonical entry)``. No foreign key to ``recordings``:
    the ledger must outlive (and tell of) a row that was removed."""

    __tablename__ = "recording_chain"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('created', 'completed', 'failed', 'deleted', 'paused', 'resumed')",
            name="kind",
        ),
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(12))
    recording_id: Mapped[int] = mapped_column(Integer, index=True)
    interaction_id: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(300))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str | None] = mapped_column(String(200))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class RecordingChainHead(Base):
    """The ledger's last entry (one row, id 1): locked to append (one writer at a time on
    both databases), and compared with the ledger's end by ``recordings verify``."""

    __tablename__ = "recording_chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))


class RecordingPause(Base):
    """A span of a recording the agent paused (issue 17, point 3): MixMonitor wrote silence
    from ``start_ms`` to ``end_ms`` (offsets into the recording). ``resumed_by``: the agent,
    the configured limit, the call's end, or a supervisor."""

    __tablename__ = "recording_pauses"
    __table_args__ = (
        CheckConstraint(
            "resumed_by IS NULL OR resumed_by IN ('agent', 'limit', 'hangup', 'supervisor')",
            name="resumed_by",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    paused_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    resumed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger)
    paused_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resumed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resumed_by: Mapped[str | None] = mapped_column(String(16))


class RecordingPlayback(Base):
    """Someone played or downloaded a recording (issue 17, point 5), and why: written with
    its audit entry. ``ticket_sha256``: the hash of the ticket that lets that playback's range
    requests through until ``expires_at`` (callcenter/crm/recording_access.py)."""

    __tablename__ = "recording_playbacks"
    __table_args__ = (
        CheckConstraint("purpose IN ('play', 'download')", name="purpose"),
        CheckConstraint(
            "reason IN ('complaint', 'quality_review', 'dispute', 'client_request', 'other')",
            name="reason",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id"), index=True)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # who played it
    purpose: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(16))
    reason_text: Mapped[str | None] = mapped_column(String(300))
    ticket_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


# --- return visits (issue 18, point 5; migration 0017) ----------------------------------------


class ReturnVisitAnswers(Base):
    """A return visit's answers, one row per follow-up (a follow-up has one visit, ever), with
    the script version they answer, the problems found and what was opened for them
    (callcenter/outbound/return_visit_service.py). Kept as the regulated record of the visit."""

    __tablename__ = "return_visit_answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_ups.id"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    script_version: Mapped[str] = mapped_column(String(40))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)  # question id -> answer
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # question, answer, opened
    complaint_ids: Mapped[list[int]] = mapped_column(JSON)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("follow_ups.id"))  # the branch's task
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


# --- several instances (issue 21; migration 0020) ---------------------------------------------


class ServiceInstance(Base):
    """One running service instance of a cluster (docs/scaling.md), written by its own
    heartbeat: where the others reach it, whether it holds the call-owner lease, and the users
    who have a desk open on it (the owner's desk watch counts them with its own)."""

    __tablename__ = "service_instances"
    instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    internal_url: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # owner, standby
    desks: Mapped[list[int]] = mapped_column(JSON)  # user ids with a desk open here
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    beat_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
