"""Interactions: one record per contact, written phase by phase as the contact goes on.

A voice call moves through phases in a fixed order: started -> IVR ended -> queued -> offered
to an agent -> answered -> ended -> wrap-up ended. Phases may be skipped (an outbound call is
never queued, an abandoned call is never answered) but never go back: a phase that comes
earlier in the order than one already recorded, or a time earlier than the latest recorded
phase, is refused as a conflict with the record's state (409), not as malformed input: the same
request would have been fine a moment earlier.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from callcenter.crm.phones import mask_phone
from callcenter.crm.ports import (
    AuditRecord,
    AuditTrail,
    Page,
    References,
    Transactions,
    require_references,
)
from callcenter.crm.privacy import AuditAction
from callcenter.crm.scopes import DataScope, Reach
from callcenter.crm.vocabulary import Channel, Direction
from callcenter.errors import Conflict, Forbidden, InvalidInput, NotFound

log = logging.getLogger(__name__)


class Phase(StrEnum):
    STARTED = "started"
    IVR_ENDED = "ivr_ended"
    QUEUED = "queued"
    OFFERED = "offered"
    ANSWERED = "answered"
    ENDED = "ended"
    WRAPPED_UP = "wrapped_up"  # the agent finished after-call work

    @property
    def rank(self) -> int:
        return list(Phase).index(self)


class InteractionNotFound(NotFound):
    error_id = "interaction-not-found"


class PhaseOutOfOrder(Conflict):
    error_id = "interaction-phase-out-of-order"


class PhaseAlreadyRecorded(Conflict):
    error_id = "interaction-phase-recorded"


class DuplicateInteraction(Conflict):
    """The call id is already recorded: a retried create."""

    error_id = "interaction-exists"


@dataclass(frozen=True)
class InteractionRecord:
    id: int
    client_id: int | None
    channel: Channel
    direction: Direction
    caller_number: str | None
    called_number: str | None
    started_at: dt.datetime
    ivr_ended_at: dt.datetime | None
    queued_at: dt.datetime | None
    offered_at: dt.datetime | None
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    wrapup_ended_at: dt.datetime | None
    ivr_path: tuple[str, ...]
    ivr_outcome: str | None
    authenticated: bool
    queue: str | None
    agent_id: int | None
    wait_seconds: int | None
    talk_seconds: int | None
    hold_seconds: int | None
    wrapup_seconds: int | None
    disposition: str | None
    notes: str | None
    recording_ref: str | None
    call_id: str | None
    asterisk_linkedid: str | None
    version: int
    anomaly: str | None = None  # why the service closed it as an anomaly


# The record's field for each phase's time.
PHASE_FIELD: Mapping[Phase, str] = {
    Phase.STARTED: "started_at",
    Phase.IVR_ENDED: "ivr_ended_at",
    Phase.QUEUED: "queued_at",
    Phase.OFFERED: "offered_at",
    Phase.ANSWERED: "answered_at",
    Phase.ENDED: "ended_at",
    Phase.WRAPPED_UP: "wrapup_ended_at",
}


@dataclass(frozen=True)
class NewInteraction:
    channel: Channel
    direction: Direction
    started_at: dt.datetime
    caller_number: str | None = None
    called_number: str | None = None
    client_id: int | None = None
    agent_id: int | None = None
    queue: str | None = None
    call_id: str | None = None  # the caller's channel's Asterisk uniqueid; None: no call
    asterisk_linkedid: str | None = None


@dataclass(frozen=True)
class PhaseUpdate:
    """One phase reached at ``at``, with what became known at that moment."""

    phase: Phase
    at: dt.datetime
    agent_id: int | None = None
    queue: str | None = None
    client_id: int | None = None  # identified during the contact (IVR, agent)
    ivr_path: Sequence[str] | None = None
    ivr_outcome: str | None = None
    authenticated: bool | None = None
    hold_seconds: int | None = None  # summed by the CTI from hold events
    disposition: str | None = None
    notes: str | None = None
    recording_ref: str | None = None


@dataclass(frozen=True)
class InteractionQuery:
    client_id: int | None = None
    agent_id: int | None = None
    since: dt.datetime | None = None
    limit: int = 50
    offset: int = 0


class InteractionStore(Protocol):
    async def add(self, new: NewInteraction) -> InteractionRecord: ...

    async def get(self, interaction_id: int) -> InteractionRecord | None: ...

    async def get_for_update(self, interaction_id: int) -> InteractionRecord | None: ...

    async def find_by_call_id(self, call_id: str) -> InteractionRecord | None: ...

    async def save(self, record: InteractionRecord) -> None: ...

    async def search(
        self, query: InteractionQuery, scope: DataScope
    ) -> Page[InteractionRecord]: ...

    async def get_in_scope(
        self, interaction_id: int, scope: DataScope
    ) -> InteractionRecord | None: ...

    async def add_amendment(self, amendment: NewAmendment) -> Amendment: ...

    async def amendments(self, interaction_id: int) -> tuple[Amendment, ...]: ...


class InteractionTransaction(Protocol):
    @property
    def interactions(self) -> InteractionStore: ...

    @property
    def references(self) -> References: ...

    @property
    def audit(self) -> AuditTrail: ...


# --- pure rules ------------------------------------------------------------------------------


def recorded_phases(record: InteractionRecord) -> dict[Phase, dt.datetime]:
    times = {phase: getattr(record, name) for phase, name in PHASE_FIELD.items()}
    return {phase: at for phase, at in times.items() if at is not None}


def check_next_phase(recorded: Mapping[Phase, dt.datetime], phase: Phase, at: dt.datetime) -> None:
    """Raise unless ``phase`` at ``at`` moves the contact forward."""
    if phase in recorded:
        raise PhaseAlreadyRecorded(f"phase {phase} is already recorded", phase=phase.value)
    later = [p for p in recorded if p.rank > phase.rank]
    if later:
        latest_phase = max(later, key=lambda p: p.rank)
        raise PhaseOutOfOrder(
            f"phase {phase} cannot follow {latest_phase}", phase=phase.value, after=latest_phase
        )
    latest_phase, latest_at = max(recorded.items(), key=lambda item: item[1])
    if at < latest_at:
        raise PhaseOutOfOrder(
            f"phase {phase} at {at.isoformat()} is earlier than {latest_phase} "
            f"at {latest_at.isoformat()}",
            phase=phase.value,
            after=latest_phase,
        )


def _seconds(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds())


@dataclass(frozen=True)
class Durations:
    wait_seconds: int | None
    talk_seconds: int | None
    wrapup_seconds: int | None


def durations(record: InteractionRecord) -> Durations:
    """The KPI durations from the phase times that are known.

    * wait: queued until answered, or until the caller gave up (an abandoned call);
    * talk: answered until ended, less the time on hold (AHT = talk + hold + wrap-up);
    * wrap-up: ended until the agent finished after-call work.
    """
    wait_end = record.answered_at or (record.ended_at if record.queued_at else None)
    talk = _seconds(record.answered_at, record.ended_at)
    if talk is not None and record.hold_seconds:
        talk = max(0, talk - record.hold_seconds)
    return Durations(
        wait_seconds=_seconds(record.queued_at, wait_end),
        talk_seconds=talk,
        wrapup_seconds=_seconds(record.ended_at, record.wrapup_ended_at),
    )


def apply_phase(record: InteractionRecord, update: PhaseUpdate) -> InteractionRecord:
    """The record after ``update``: its time, what it brought, recomputed durations."""
    check_next_phase(recorded_phases(record), update.phase, update.at)
    changes: dict[str, Any] = {
        name: getattr(update, name)
        for name in (
            "agent_id",
            "queue",
            "client_id",
            "ivr_outcome",
            "authenticated",
            "hold_seconds",
            "disposition",
            "notes",
            "recording_ref",
        )
        if getattr(update, name) is not None
    }
    if update.ivr_path is not None:
        changes["ivr_path"] = tuple(update.ivr_path)
    changes[PHASE_FIELD[update.phase]] = update.at
    changed = dataclasses.replace(record, **changes, version=record.version + 1)
    return dataclasses.replace(changed, **dataclasses.asdict(durations(changed)))


def impossible_phases(recorded: Mapping[Phase, dt.datetime]) -> str | None:
    """Why phases a record holds cannot come from a call (a hand edit, a bug), or None: a
    phase earlier than one before it, an answer never offered, a wrap-up never ended."""
    ordered = sorted(recorded.items(), key=lambda item: item[0].rank)
    for (before, before_at), (after, after_at) in itertools.pairwise(ordered):
        if after_at < before_at:
            return f"{after} at {after_at.isoformat()} is earlier than {before}"
    if Phase.ANSWERED in recorded and Phase.OFFERED not in recorded:
        return "answered, never offered"
    if Phase.WRAPPED_UP in recorded and Phase.ENDED not in recorded:
        return "wrapped up, never ended"
    return None


def closed_as_anomaly(
    record: InteractionRecord, now: dt.datetime, reason: str
) -> InteractionRecord:
    """The record ended, for a call whose record is in a state no call can produce (wrapped
    up but never ended, say): the end goes where the order of phases allows, before any later
    phase recorded and after every earlier one, else at ``now``; ``reason`` flags it."""
    recorded = recorded_phases(record)
    end = now
    later = [at for phase, at in recorded.items() if phase.rank > Phase.ENDED.rank]
    if later:
        end = min(later)
    earlier = [at for phase, at in recorded.items() if phase.rank < Phase.ENDED.rank]
    if earlier:
        end = max(end, *earlier)
    changed = dataclasses.replace(
        record,
        ended_at=record.ended_at or end,
        anomaly=reason[:200],
        version=record.version + 1,
    )
    return dataclasses.replace(changed, **dataclasses.asdict(durations(changed)))


async def close_as_anomaly(
    crm: Transactions[InteractionTransaction],
    interaction_id: int,
    now: dt.datetime,
    reason: str,
) -> InteractionRecord:
    """Close a record the service cannot move forward phase by phase (see
    :func:`closed_as_anomaly`). Logged as a warning: someone should look at it."""
    async with crm.write() as tx:
        record = await tx.interactions.get_for_update(interaction_id)
        if record is None:
            raise InteractionNotFound(f"no interaction {interaction_id}")
        record = closed_as_anomaly(record, now, reason)
        await tx.interactions.save(record)
    log.warning("interaction %s closed as an anomaly: %s", interaction_id, reason)
    return record


# --- services: check -> act -> announce ------------------------------------------------------


async def create_interaction(
    crm: Transactions[InteractionTransaction], new: NewInteraction
) -> InteractionRecord:
    async with crm.write() as tx:
        await require_references(
            tx.references, client_id=new.client_id, user_ids={"agent_id": new.agent_id}
        )
        if new.call_id is not None:
            existing = await tx.interactions.find_by_call_id(new.call_id)
            if existing is not None:
                raise DuplicateInteraction(
                    f"call {new.call_id} is interaction {existing.id}",
                    interaction_id=existing.id,
                )
        record = await tx.interactions.add(new)
    log.info(
        "interaction %s created: %s %s (call %s)",
        record.id,
        record.channel,
        record.direction,
        record.call_id,
    )
    return record


async def record_phase(
    crm: Transactions[InteractionTransaction], interaction_id: int, *updates: PhaseUpdate
) -> InteractionRecord:
    """Record one phase, or several reached together (the IVR's end, queued and ended), in one
    transaction: all of them or none."""
    if not updates:
        raise ValueError("record_phase needs at least one update")
    async with crm.write() as tx:
        record = await tx.interactions.get_for_update(interaction_id)
        if record is None:
            raise InteractionNotFound(f"no interaction {interaction_id}")
        for update in updates:
            await require_references(
                tx.references, client_id=update.client_id, user_ids={"agent_id": update.agent_id}
            )
            record = apply_phase(record, update)
        await tx.interactions.save(record)
    for update in updates:
        log.info("interaction %s: %s at %s", interaction_id, update.phase, update.at.isoformat())
    return record


async def record_route(
    crm: Transactions[InteractionTransaction],
    interaction_id: int,
    *,
    queue: str | None = None,
    ivr_path: Sequence[str] | None = None,
    add_to_path: Sequence[str] = (),
    ivr_outcome: str | None = None,
    then: Sequence[PhaseUpdate] = (),
) -> InteractionRecord:
    """Where a call went after the IVR, outside the phase order: a queue that overflowed into
    another (``queue``, ``add_to_path``: ``overflow:general=trading_support``), or a flow
    resumed at an overflow node (its whole ``ivr_path`` and ``ivr_outcome``); then any
    phases reached at the same time (the end). One transaction."""
    async with crm.write() as tx:
        record = await tx.interactions.get_for_update(interaction_id)
        if record is None:
            raise InteractionNotFound(f"no interaction {interaction_id}")
        path = tuple(record.ivr_path if ivr_path is None else ivr_path) + tuple(add_to_path)
        record = dataclasses.replace(
            record,
            queue=record.queue if queue is None else queue,
            ivr_path=path,
            ivr_outcome=record.ivr_outcome if ivr_outcome is None else ivr_outcome,
            version=record.version + 1,
        )
        for update in then:
            record = apply_phase(record, update)
        await tx.interactions.save(record)
    log.info(
        "interaction %s: routed on (queue %s, path +%d)",
        interaction_id,
        record.queue,
        len(add_to_path),
    )
    return record


class NotYourCall(Forbidden):
    error_id = "interaction-not-yours"


class WrittenBySystem(Forbidden):
    """Staff never write a call record's facts: the system does, as the call goes."""

    error_id = "interaction-written-by-system"


# What an agent's wrap-up may set on their own call (with the wrapped_up phase).
WRAP_UP_FIELDS = frozenset({"disposition", "notes"})


def check_wrap_up(record: InteractionRecord, scope: DataScope, update: PhaseUpdate) -> None:
    """An agent (or advisor) sets only the wrap-up of their own call: the wrapped_up phase,
    its disposition and notes. Anything else is the system's to write, or a supervisor's to
    amend (:func:`amend_interaction`)."""
    if not scope.owns_call(record.agent_id):
        raise NotYourCall(
            f"interaction {record.id} is not your call: only its agent sets its wrap-up; a "
            "supervisor corrects a record with POST /api/interactions/{id}/amendments"
        )
    facts = sorted(
        name
        for name, value in dataclasses.asdict(update).items()
        if value is not None and name not in {"phase", "at", *WRAP_UP_FIELDS}
    )
    if update.phase is not Phase.WRAPPED_UP or facts:
        raise WrittenBySystem(
            "call records are written by the system: an agent sets only the wrap-up of their "
            "own call (phase wrapped_up, disposition, notes)",
            phase=update.phase.value,
            fields=facts,
        )


async def finish_wrap_up(
    crm: Transactions[InteractionTransaction],
    scope: DataScope,
    interaction_id: int,
    update: PhaseUpdate,
) -> InteractionRecord:
    """The agent's own wrap-up of their call (the desk's save)."""
    async with crm.write() as tx:
        record = await tx.interactions.get_in_scope(interaction_id, scope)
        if record is None:
            raise InteractionNotFound(f"no interaction {interaction_id}")
        check_wrap_up(record, scope, update)
        record = apply_phase(await _locked(tx, interaction_id), update)
        await tx.interactions.save(record)
    log.info("interaction %s: wrapped up by user %s", interaction_id, scope.user_id)
    return record


async def _locked(tx: InteractionTransaction, interaction_id: int) -> InteractionRecord:
    record = await tx.interactions.get_for_update(interaction_id)
    if record is None:
        raise InteractionNotFound(f"no interaction {interaction_id}")
    return record


async def record_disposition(
    crm: Transactions[InteractionTransaction],
    interaction_id: int,
    *,
    scope: DataScope,
    disposition: str,
    notes: str | None,
) -> InteractionRecord:
    """The disposition and notes of a contact, outside the phase order: an agent finishing
    their wrap-up after its timer ran out, or before the call ends. Only the agent who took
    the call may; a supervisor's correction is an amendment (:func:`amend_interaction`)."""
    async with crm.write() as tx:
        if await tx.interactions.get_in_scope(interaction_id, scope) is None:
            raise InteractionNotFound(f"no interaction {interaction_id}")
        record = await _locked(tx, interaction_id)
        if not scope.owns_call(record.agent_id):
            raise NotYourCall(
                f"interaction {interaction_id} is not your call: only its agent sets its "
                "wrap-up; a supervisor corrects a record with an amendment"
            )
        record = dataclasses.replace(
            record,
            disposition=disposition,
            notes=record.notes if notes is None else notes,
            version=record.version + 1,
        )
        await tx.interactions.save(record)
    log.info("interaction %s: disposition set by user %s", interaction_id, scope.user_id)
    return record


# --- amendments: a supervisor's correction, kept beside the original -------------------------

# The facts a supervisor may correct. Times are not among them: they come from the PBX's
# events, and a wrong time is a defect to fix where it was made, not a figure to edit.
AMENDABLE_FIELDS = frozenset({"client_id", "queue", "agent_id", "disposition", "notes"})


class UnknownDisposition(InvalidInput):
    """A disposition that is not an active code of the admin console's list."""

    error_id = "unknown-disposition"


def check_disposition(disposition: str | None, active: frozenset[str]) -> None:
    if disposition is not None and disposition not in active:
        raise UnknownDisposition(
            f"{disposition!r} is not an active disposition: choose one of "
            f"{', '.join(sorted(active))}",
            field="disposition",
        )


class AmendmentInvalid(InvalidInput):
    error_id = "amendment-invalid"


@dataclass(frozen=True)
class NewAmendment:
    interaction_id: int
    at: dt.datetime
    by_user_id: int
    reason: str
    changes: Mapping[str, Mapping[str, Any]]  # field -> {"from": old, "to": new}


@dataclass(frozen=True)
class Amendment(NewAmendment):
    id: int = 0


@dataclass(frozen=True)
class InteractionView:
    """A call record as one person may see it, with its amendments."""

    record: InteractionRecord
    amendments: tuple[Amendment, ...] = ()


def amendment_changes(
    record: InteractionRecord, wanted: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each field the amendment changes, from what to what. Fields that stay as they are
    are left out; an amendment that changes nothing is refused."""
    unknown = sorted(set(wanted) - AMENDABLE_FIELDS)
    if unknown:
        raise AmendmentInvalid(
            f"these fields cannot be amended: {', '.join(unknown)} (amendable: "
            f"{', '.join(sorted(AMENDABLE_FIELDS))})",
            field="changes",
        )
    changes = {
        name: {"from": getattr(record, name), "to": value}
        for name, value in sorted(wanted.items())
        if getattr(record, name) != value
    }
    if not changes:
        raise AmendmentInvalid("the amendment changes nothing", field="changes")
    return changes


async def amend_interaction(
    crm: Transactions[InteractionTransaction],
    scope: DataScope,
    interaction_id: int,
    wanted: Mapping[str, Any],
    reason: str,
    *,
    now: dt.datetime,
) -> InteractionView:
    """A supervisor's correction: the record takes the new values, and the amendment keeps
    the old ones with who, when and why. Audited in the same transaction."""
    if scope.user_id is None:
        raise ValueError("an amendment is made by a person")
    async with crm.write() as tx:
        if await tx.interactions.get_in_scope(interaction_id, scope) is None:
            raise InteractionNotFound(f"no interaction {interaction_id}")
        record = await _locked(tx, interaction_id)
        changes = amendment_changes(record, wanted)
        await require_references(
            tx.references,
            client_id=changes.get("client_id", {}).get("to"),
            user_ids={"agent_id": changes.get("agent_id", {}).get("to")},
        )
        corrected = {name: change["to"] for name, change in changes.items()}
        record = dataclasses.replace(record, **corrected, version=record.version + 1)
        await tx.interactions.save(record)
        await tx.interactions.add_amendment(
            NewAmendment(interaction_id, now, scope.user_id, reason, changes)
        )
        await tx.audit.record(
            AuditRecord(
                scope.user_id,
                AuditAction.INTERACTION_AMEND,
                record.client_id,
                interaction_id,
                # Field names only: old and new notes stay out of the log's detail.
                {"fields": sorted(changes), "reason": reason},
            )
        )
        amendments = await tx.interactions.amendments(interaction_id)
    log.info(
        "interaction %s amended by user %s: %s",
        interaction_id,
        scope.user_id,
        ", ".join(sorted(changes)),
    )
    return InteractionView(record, amendments)


# --- reads: in scope, audited, masked where the reader does not need the detail --------------


def as_seen_by(record: InteractionRecord, scope: DataScope, *, listing: bool) -> InteractionRecord:
    """The record as ``scope`` may see it. The caller's full number: supervisors, compliance
    and the call's own agent; the notes: the same people, and in a single record also the
    staff whose client it is; a list of other people's calls shows no notes."""
    if scope.sees_everything or scope.owns_call(record.agent_id):
        return record
    number = None if record.caller_number is None else mask_phone(record.caller_number)
    notes = record.notes if not listing and scope.reach is not Reach.NONE else None
    return dataclasses.replace(record, caller_number=number, notes=notes)


async def get_interaction(
    crm: Transactions[InteractionTransaction], scope: DataScope, interaction_id: int
) -> InteractionView:
    """One call record in the reader's scope (else not found), audited."""
    async with crm.read() as tx:
        record = await tx.interactions.get_in_scope(interaction_id, scope)
        if record is None:
            raise InteractionNotFound(f"no interaction {interaction_id}")
        amendments = await tx.interactions.amendments(interaction_id)
    async with crm.write() as tx:
        await tx.audit.record(
            AuditRecord(
                scope.user_id, AuditAction.INTERACTION_VIEW, record.client_id, interaction_id
            )
        )
    return InteractionView(as_seen_by(record, scope, listing=False), amendments)


async def list_interactions(
    crm: Transactions[InteractionTransaction], scope: DataScope, query: InteractionQuery
) -> Page[InteractionRecord]:
    """Newest first, in the reader's scope; the list shown is audited (which records)."""
    async with crm.read() as tx:
        page = await tx.interactions.search(query, scope)
    filters = {
        name: value.isoformat() if isinstance(value, dt.datetime) else value
        for name, value in dataclasses.asdict(query).items()
        if value is not None and name not in {"limit", "offset"}
    }
    async with crm.write() as tx:
        await tx.audit.record(
            AuditRecord(
                scope.user_id,
                AuditAction.INTERACTION_LIST,
                query.client_id,
                detail={"filters": filters, "interactions": [r.id for r in page.items]},
            )
        )
    return dataclasses.replace(
        page, items=tuple(as_seen_by(r, scope, listing=True) for r in page.items)
    )
