"""The CRM's words: the fixed sets of values a brokerage's client-service center uses.

One name per concept from the database column to the API (see ../shared/DOMAIN.md).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"  # 座席: answers the hotline
    ADVISOR = "advisor"  # 客户经理 / 投资顾问: owns a book of clients
    SUPERVISOR = "supervisor"  # 班长 / 主管
    ADMIN = "admin"  # runs the system (users, queues, codes); sees no client data
    BRANCH = "branch"  # 营业部 staff: the clients and complaints of their branch
    COMPLIANCE = "compliance"  # 合规: reads everything, changes nothing, exports the audit
    # 质检: listens to calls (recordings, issue 17) and reads the records they belong to;
    # changes nothing
    QUALITY = "quality"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNSPECIFIED = "unspecified"


class IncomeBand(StrEnum):
    UNDER_100K = "under_100k"  # yearly, CNY
    FROM_100K_TO_300K = "100k_300k"
    FROM_300K_TO_1M = "300k_1m"
    OVER_1M = "over_1m"
    UNDISCLOSED = "undisclosed"


class RiskProfile(StrEnum):
    """Suitability (适当性): a product's risk must not exceed the client's profile."""

    CONSERVATIVE = "conservative"
    BALANCED = "balanced"
    AGGRESSIVE = "aggressive"
    SPECULATIVE = "speculative"


class Tier(StrEnum):
    """Service tier (客户分级), lowest first. Drives queue priority and advisor affinity."""

    STANDARD = "standard"
    SILVER = "silver"
    GOLD = "gold"
    VIP = "vip"

    @property
    def rank(self) -> int:
        return list(Tier).index(self)


class ValueClass(StrEnum):
    TOP_PROFIT = "top_profit"  # the few clients who bring the most profit
    CORE_VOLUME = "core_volume"  # the clients who together make 40-50% of volume
    DECLINING = "declining"  # still profitable, but turnover falling: needs attention
    ORDINARY = "ordinary"  # the long tail: equal-quality service all the same


class Channel(StrEnum):
    VOICE = "voice"
    WEB = "web"
    EMAIL = "email"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ComplaintStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # the owner has responded to the client (2-day rule)
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    CLOSED = "closed"


class FollowUpKind(StrEnum):
    RETURN_VISIT = "return_visit"  # 回访: every new account within two weeks
    CARE_CALL = "care_call"
    BIRTHDAY = "birthday"
    IPO_REMINDER = "ipo_reminder"
    INVESTMENT_REPORT = "investment_report"
    MARKET_ALERT = "market_alert"
    CALLBACK = "callback"  # a caller asked to be called back (the IVR, wrap-up, the web form)


class FollowUpStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class PinAttemptResult(StrEnum):
    """How one telephone-PIN attempt ended (pin_attempts.result). Never the PIN itself."""

    OK = "ok"
    FAILED = "failed"  # wrong PIN, or no PIN set; the failure that locks is still "failed"
    LOCKED = "locked"  # the account was locked already: the PIN was not checked
    UNKNOWN_ACCOUNT = "unknown_account"


class CallbackStatus(StrEnum):
    """A callback a caller asked for in the IVR (after hours, or instead of waiting)."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class VoiceMessageStatus(StrEnum):
    """A message a caller left in the IVR, until someone has dealt with it."""

    OPEN = "open"
    DONE = "done"
