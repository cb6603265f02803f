"""How long recordings are kept, per kind of call, and the legal hold (issue 17, point 4).

The kinds of call (:class:`CallKind`) are what the interactions table and its links know:

* ``inbound``: a call into the hotline (``interactions.direction`` inbound), a service call.
* ``outbound``: a call the center made (click-to-dial, a care call): direction outbound.
* ``return_visit``: the call of a return-visit follow-up (回访; ``follow_ups.interaction_id``
  with kind ``return_visit``), which DOMAIN.md asks to keep at least three years.
* ``complaint``: a call a complaint was recorded from (``complaints.interaction_id``).

A call can be several kinds at once (an inbound call a complaint came from); it is kept for
the LONGEST retention of its kinds: a shorter one must never cut a longer one short. A
recording whose interaction is not known (written later by the journal, never linked) is
kept for the longest retention configured. A consult leg's recording is the kind of its call.

The setting, ``CALLCENTER_RECORDING_RETENTION``: ``default=3y,complaint=5y``: comma-separated
``key=<n>y`` (calendar years) or ``key=<n>d`` (days); ``default`` covers every kind not named.
Parsed strictly: an unknown kind, a repeated one, a bad amount or unit, or a retention shorter
than :data:`MINIMUM_YEARS` years (DOMAIN.md: records are kept at least three years) is an
error naming the item, at every start of the CLI and the service.

Legal hold: a recording whose call is tied to a complaint that is not closed is never purged,
however old. Once the complaint closes the normal retention applies, counted from the
recording's start, as for every recording (docs/recording.md, "Retention and legal hold", says
why). Pure: the SQL is in callcenter/persistence/recording_purge.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from callcenter.crm.recordings import RecordingStatus
from callcenter.crm.vocabulary import ComplaintStatus, Direction


class CallKind(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    RETURN_VISIT = "return_visit"
    COMPLAINT = "complaint"


DEFAULT_KEY = "default"
DEFAULT_SETTING = "default=3y"
MINIMUM_YEARS = 3
# The fewest days that are always at least MINIMUM_YEARS years (one of them a leap year).
MINIMUM_DAYS = 365 * MINIMUM_YEARS + 1
MAXIMUM_YEARS = 100
_ITEM = re.compile(r"([a-z_]+)=([1-9][0-9]{0,5})([yd])")

# Only these statuses are ever purged: ``recording`` is a call still being written (or one a
# crash left open, which ``recordings verify`` and an operator look at), ``deleted`` is done.
PURGEABLE = frozenset({RecordingStatus.COMPLETE, RecordingStatus.FAILED})


class RetentionSettingInvalid(ValueError):
    """CALLCENTER_RECORDING_RETENTION cannot be used; the message names the item and why."""


@dataclass(frozen=True)
class Retention:
    amount: int
    unit: str  # "y" (calendar years) or "d" (days)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def expires_at(self, started_at: dt.datetime) -> dt.datetime:
        """When a recording started at ``started_at`` has been kept this long."""
        if self.unit == "d":
            return started_at + dt.timedelta(days=self.amount)
        return add_years(started_at, self.amount)


def add_years(at: dt.datetime, years: int) -> dt.datetime:
    """The same moment ``years`` calendar years later; 29 February becomes 1 March (later,
    never earlier, than a whole number of years)."""
    try:
        return at.replace(year=at.year + years)
    except ValueError:  # 29 February into a year without one
        return at.replace(year=at.year + years, month=3, day=1)


@dataclass(frozen=True)
class RetentionPolicy:
    default: Retention
    by_kind: Mapping[CallKind, Retention]

    def of(self, kind: CallKind) -> Retention:
        return self.by_kind.get(kind, self.default)

    def all(self) -> list[Retention]:
        return [self.of(kind) for kind in CallKind]

    def __str__(self) -> str:
        return ", ".join(f"{kind.value} {self.of(kind)}" for kind in CallKind)


def parse_retention(text: str) -> RetentionPolicy:
    """``default=3y,complaint=5y`` into a policy; :class:`RetentionSettingInvalid` if not."""
    where = "CALLCENTER_RECORDING_RETENTION"
    known = {DEFAULT_KEY, *(kind.value for kind in CallKind)}
    values: dict[str, Retention] = {}
    for raw in text.split(","):
        item = raw.strip()
        match = _ITEM.fullmatch(item)
        if match is None:
            raise RetentionSettingInvalid(
                f"{where}: {item!r} is not <kind>=<n>y or <kind>=<n>d (e.g. default=3y, "
                "complaint=1826d)"
            )
        key, amount, unit = match.group(1), int(match.group(2)), match.group(3)
        if key not in known:
            raise RetentionSettingInvalid(
                f"{where}: unknown kind {key!r}; the kinds are {', '.join(sorted(known))}"
            )
        if key in values:
            raise RetentionSettingInvalid(f"{where}: {key!r} is given twice")
        retention = Retention(amount, unit)
        too_short = amount < (MINIMUM_YEARS if unit == "y" else MINIMUM_DAYS)
        if too_short:
            raise RetentionSettingInvalid(
                f"{where}: {item!r} is shorter than the {MINIMUM_YEARS} years recordings are "
                f"kept at least (docs/domain.md; in days at least {MINIMUM_DAYS})"
            )
        if amount > (MAXIMUM_YEARS if unit == "y" else MAXIMUM_YEARS * 365):
            raise RetentionSettingInvalid(f"{where}: {item!r} is over {MAXIMUM_YEARS} years")
        values[key] = retention
    default = values.pop(DEFAULT_KEY, Retention(MINIMUM_YEARS, "y"))
    return RetentionPolicy(default, {CallKind(key): value for key, value in values.items()})


# --- what to do with one recording ------------------------------------------------------------


@dataclass(frozen=True)
class RecordingFacts:
    """One recording as the purge sees it: the row and what its call is linked to."""

    recording_id: int
    path: str
    status: RecordingStatus
    started_at: dt.datetime
    interaction_id: int | None  # the row's own
    call_interaction_id: int | None  # the call's: its own, or a consult leg's call's
    size_bytes: int | None
    sha256: str | None
    direction: Direction | None  # the interaction's; None: no interaction known
    complaints: Sequence[tuple[int, ComplaintStatus]] = ()  # (id, status) tied to the call
    return_visit: bool = False  # a return-visit follow-up was done on this call


class Action(StrEnum):
    DELETE = "delete"
    HOLD = "hold"  # expired, but a complaint that is not closed keeps it
    KEEP = "keep"  # not expired yet
    SKIP = "skip"  # not purgeable (still recording, already deleted)


@dataclass(frozen=True)
class Decision:
    action: Action
    kinds: tuple[CallKind, ...]
    retention: Retention | None
    expires_at: dt.datetime | None
    reason: str


def kinds_of(facts: RecordingFacts) -> tuple[CallKind, ...]:
    """Every kind the call is; empty when its interaction is not known."""
    kinds: list[CallKind] = []
    if facts.direction is Direction.INBOUND:
        kinds.append(CallKind.INBOUND)
    elif facts.direction is Direction.OUTBOUND:
        kinds.append(CallKind.OUTBOUND)
    if facts.return_visit:
        kinds.append(CallKind.RETURN_VISIT)
    if facts.complaints:
        kinds.append(CallKind.COMPLAINT)
    return tuple(kinds)


def open_complaints(facts: RecordingFacts) -> list[tuple[int, ComplaintStatus]]:
    return [(cid, status) for cid, status in facts.complaints if status != ComplaintStatus.CLOSED]


def decide(facts: RecordingFacts, policy: RetentionPolicy, as_of: dt.datetime) -> Decision:
    """Delete, hold or keep one recording as of ``as_of``."""
    kinds = kinds_of(facts)
    if facts.status not in PURGEABLE:
        return Decision(Action.SKIP, kinds, None, None, f"status {facts.status.value}")
    # The longest retention of the call's kinds: the latest expiry (comparing expiries, not
    # amounts, compares years with days correctly); no kind known: the longest configured.
    retentions = [policy.of(kind) for kind in kinds] if kinds else policy.all()
    retention = max(retentions, key=lambda r: r.expires_at(facts.started_at))
    expires_at = retention.expires_at(facts.started_at)
    named = "+".join(kind.value for kind in kinds) or "no interaction known"
    if expires_at > as_of:
        why = f"{named}, kept {retention} until {expires_at:%Y-%m-%d}"
        return Decision(Action.KEEP, kinds, retention, expires_at, why)
    expired = f"{named}, kept {retention}, expired {expires_at:%Y-%m-%d}"
    held = open_complaints(facts)
    if held:
        which = ", ".join(f"complaint {cid} ({status.value})" for cid, status in held)
        why = f"legal hold: {which} not closed ({expired})"
        return Decision(Action.HOLD, kinds, retention, expires_at, why)
    return Decision(Action.DELETE, kinds, retention, expires_at, expired)


def oldest_unexpired_start(policy: RetentionPolicy, as_of: dt.datetime) -> dt.datetime:
    """Recordings that started after this cannot have expired as of ``as_of`` whatever their
    kind (a calendar year is at least 365 days): the purge reads only older ones. A day of
    slack, so that rounding never leaves one out."""
    shortest_days = min(
        r.amount * 365 if r.unit == "y" else r.amount for r in [policy.default, *policy.all()]
    )
    return as_of - dt.timedelta(days=shortest_days - 1)
