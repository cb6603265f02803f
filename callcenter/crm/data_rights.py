"""A client's data rights (issue 15, point 7): what may be erased, when, and what replaces it.

Pure: the rule that decides whether a client's personal data may be erased now lives here, in
one function (:func:`erasure_blockers`), fed with the facts storage reads
(:class:`ErasureFacts`). What the erasure then does row by row is in
``callcenter/persistence/data_rights.py``; the policy in words is in docs/operations.md, "A
client's data rights".

Why these rules (../shared/DOMAIN.md, "Return visits" and "Privacy"): a brokerage keeps its
records and complaint files at least three years, and the account-opening records (who the
client is) for as long as the account is open and that long after it closes. A complaint
still being handled is a legal hold: its file must stay whole. So a client's identity can be
erased only once the account is closed, no complaint is open, and the last record about them
(the account's closing, a complaint's closing, a contact) is older than the retention period.
What is kept after that (call times and durations, dispositions, complaint categories and
their history, account figures) no longer names anyone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from callcenter.crm.vocabulary import ComplaintStatus
from callcenter.errors import Conflict

# DOMAIN.md: "records and complaint files kept at least 3 years".
RETENTION_YEARS = 3

# What replaces erased free text (notes, complaint descriptions, amendment values...).
ERASED_TEXT = "[erased]"

# Audit actions of this part (one name per action, from the log to any report).
DATA_EXPORT = "client.data_export"
ERASURE = "client.erasure"
AUDIT_EXPORT = "audit.export"

# A complaint in any of these is still being handled: a legal hold on the client's data.
COMPLAINT_IN_HAND = frozenset(
    {
        ComplaintStatus.OPEN,
        ComplaintStatus.ACKNOWLEDGED,
        ComplaintStatus.INVESTIGATING,
        # Resolved is not closed: the client may still dispute it (RESOLVED -> INVESTIGATING).
        ComplaintStatus.RESOLVED,
    }
)


class Blocker(StrEnum):
    """Why a client's data must stay whole for now."""

    ALREADY_ERASED = "already_erased"
    ACCOUNT_OPEN = "account_open"  # close the account first
    COMPLAINT_IN_HAND = "complaint_in_hand"  # legal hold until every complaint is closed
    RETENTION = "retention"  # a record's retention period has not run out


@dataclass(frozen=True)
class ErasureFacts:
    """What the rule needs to know about one client, read in the erasure's transaction."""

    erased: bool
    account_closed_on: dt.date | None
    complaints_in_hand: int
    last_complaint_closed_at: dt.datetime | None
    last_contact_at: dt.datetime | None


@dataclass(frozen=True)
class ErasureBlock:
    blocker: Blocker
    # The day the blocker lifts by itself (a retention period), or None (someone must act).
    until: dt.date | None = None


def retention_ends(day: dt.date, years: int = RETENTION_YEARS) -> dt.date:
    """The first day a record dated ``day`` is no longer under retention (29 February rolls
    to 1 March)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return dt.date(day.year + years, 3, 1)


def erasure_blockers(facts: ErasureFacts, today: dt.date) -> list[ErasureBlock]:
    """Everything that forbids erasing this client's personal data on ``today`` (UTC); an
    empty list: it may be erased. The one place this rule is decided."""
    if facts.erased:
        return [ErasureBlock(Blocker.ALREADY_ERASED)]
    blocks: list[ErasureBlock] = []
    if facts.account_closed_on is None:
        blocks.append(ErasureBlock(Blocker.ACCOUNT_OPEN))
    if facts.complaints_in_hand > 0:
        blocks.append(ErasureBlock(Blocker.COMPLAINT_IN_HAND))
    kept_since = [
        day
        for day in (
            facts.account_closed_on,
            facts.last_complaint_closed_at.date() if facts.last_complaint_closed_at else None,
            facts.last_contact_at.date() if facts.last_contact_at else None,
        )
        if day is not None
    ]
    if kept_since:
        until = retention_ends(max(kept_since))
        if until > today:
            blocks.append(ErasureBlock(Blocker.RETENTION, until))
    return blocks


def pseudonym(client_id: int) -> str:
    """What an erased client is called from then on: their record's id, nothing of them."""
    return f"erased-{client_id}"


class ClientErasureBlocked(Conflict):
    """The client's data must stay whole for now (an open account, a complaint in hand, a
    retention period running); ``detail.blockers`` names each, with the day it lifts."""

    error_id = "client-erasure-blocked"
