"""Follow-ups: tasks to contact a client (return visits, care calls, reminders).

A follow-up is open until it is completed (with an outcome) or cancelled (with a reason);
either ends it for good. Regulation requires a return visit (回访) for every new account, so a
closed follow-up is never reopened: a second attempt is a new follow-up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

from callcenter.crm.ports import (
    AuditRecord,
    AuditTrail,
    Page,
    References,
    Transactions,
    UnknownClient,
    require_references,
)
from callcenter.crm.privacy import AuditAction
from callcenter.crm.scopes import DataScope
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus
from callcenter.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)


class FollowUpNotFound(NotFound):
    error_id = "follow-up-not-found"


class FollowUpCallNotYours(InvalidInput):
    """A follow-up linked to a call that is not the creator's own, or not with its client."""

    error_id = "follow-up-call-not-yours"


class FollowUpClosed(Conflict):
    """Completing or cancelling a follow-up that is already done or cancelled."""

    error_id = "follow-up-closed"


@dataclass(frozen=True)
class FollowUpRecord:
    id: int
    client_id: int | None  # None: a callback for an unidentified caller
    kind: FollowUpKind
    status: FollowUpStatus
    due_on: dt.date
    assigned_to_id: int | None
    created_by_id: int | None
    created_at: dt.datetime
    done_at: dt.datetime | None
    interaction_id: int | None
    outcome: str | None
    version: int


@dataclass(frozen=True)
class NewFollowUp:
    client_id: int
    kind: FollowUpKind
    due_on: dt.date
    assigned_to_id: int | None = None  # None: the creator owns it (a task always has an owner)
    interaction_id: int | None = None  # the call it was agreed in (a wrap-up's follow-up)


@dataclass(frozen=True)
class FollowUpQuery:
    assigned_to_id: int | None = None
    client_id: int | None = None
    due_before: dt.date | None = None  # strictly before: pass tomorrow for "due by today"
    status: FollowUpStatus | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class FollowUpClosing:
    """How a follow-up ends: done with an outcome, or cancelled with the reason as outcome."""

    status: FollowUpStatus
    at: dt.datetime
    outcome: str
    interaction_id: int | None = None


class FollowUpStore(Protocol):
    async def add(
        self, new: NewFollowUp, created_by_id: int | None, at: dt.datetime
    ) -> FollowUpRecord: ...

    async def get(self, follow_up_id: int) -> FollowUpRecord | None: ...

    async def get_for_update(self, follow_up_id: int) -> FollowUpRecord | None: ...

    async def close(self, follow_up_id: int, closing: FollowUpClosing) -> FollowUpRecord: ...

    async def search(self, query: FollowUpQuery, scope: DataScope) -> Page[FollowUpRecord]: ...

    async def get_in_scope(self, follow_up_id: int, scope: DataScope) -> FollowUpRecord | None: ...


class CallOfFollowUp(Protocol):
    """What a follow-up's link to a call checks: whose call it was, and with which client."""

    @property
    def agent_id(self) -> int | None: ...

    @property
    def client_id(self) -> int | None: ...


class FollowUpCalls(Protocol):
    async def get(self, interaction_id: int) -> CallOfFollowUp | None: ...


class FollowUpTransaction(Protocol):
    @property
    def follow_ups(self) -> FollowUpStore: ...

    @property
    def interactions(self) -> FollowUpCalls: ...

    @property
    def references(self) -> References: ...

    @property
    def audit(self) -> AuditTrail: ...


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def create_follow_up(
    crm: Transactions[FollowUpTransaction], scope: DataScope, new: NewFollowUp
) -> FollowUpRecord:
    """A follow-up for a client in the creator's scope (else the client is unknown).

    Nobody's task is nobody's: without an owner named, the creator owns it. A follow-up
    agreed in a call (the desk's wrap-up) is linked to that call: the creator's own call with
    this client; another's call, or one with someone else, is refused (422
    ``follow-up-call-not-yours``, the same answer whether or not the call exists, so that the
    link tells nothing of calls out of scope)."""
    if new.assigned_to_id is None and scope.user_id is not None:
        new = dataclasses.replace(new, assigned_to_id=scope.user_id)
    async with crm.write() as tx:
        await require_references(
            tx.references, client_id=new.client_id, user_ids={"assigned_to_id": new.assigned_to_id}
        )
        if not await tx.references.client_visible(new.client_id, scope):
            raise UnknownClient(f"no client {new.client_id}", field="client_id")
        if new.interaction_id is not None:
            call = await tx.interactions.get(new.interaction_id)
            if (
                call is None
                or not scope.owns_call(call.agent_id)
                or call.client_id != new.client_id
            ):
                raise FollowUpCallNotYours(
                    f"interaction {new.interaction_id} is not your call with client "
                    f"{new.client_id}",
                    field="interaction_id",
                )
        record = await tx.follow_ups.add(new, created_by_id=scope.user_id, at=_now())
    log.info(
        "follow-up %s (%s) for client %s due %s, assigned to %s, from call %s",
        record.id,
        record.kind,
        record.client_id,
        record.due_on,
        record.assigned_to_id,
        record.interaction_id,
    )
    return record


async def get_follow_up(
    crm: Transactions[FollowUpTransaction], scope: DataScope, follow_up_id: int
) -> FollowUpRecord:
    """One follow-up in the reader's scope (else not found), audited."""
    async with crm.read() as tx:
        record = await tx.follow_ups.get_in_scope(follow_up_id, scope)
    if record is None:
        raise FollowUpNotFound(f"no follow-up {follow_up_id}")
    async with crm.write() as tx:
        await tx.audit.record(
            AuditRecord(
                scope.user_id,
                AuditAction.FOLLOW_UP_VIEW,
                record.client_id,
                detail={"follow_up_id": follow_up_id},
            )
        )
    return record


async def list_follow_ups(
    crm: Transactions[FollowUpTransaction], scope: DataScope, query: FollowUpQuery
) -> Page[FollowUpRecord]:
    """Soonest due first, in the reader's scope; the list shown is audited."""
    async with crm.read() as tx:
        page = await tx.follow_ups.search(query, scope)
    async with crm.write() as tx:
        await tx.audit.record(
            AuditRecord(
                scope.user_id,
                AuditAction.FOLLOW_UP_LIST,
                query.client_id,
                detail={"follow_ups": [record.id for record in page.items]},
            )
        )
    return page


async def _close(
    crm: Transactions[FollowUpTransaction],
    scope: DataScope,
    follow_up_id: int,
    closing: FollowUpClosing,
) -> FollowUpRecord:
    async with crm.write() as tx:
        if await tx.follow_ups.get_in_scope(follow_up_id, scope) is None:
            raise FollowUpNotFound(f"no follow-up {follow_up_id}")
        # Read under the write lock: of two agents completing the same task, the second sees
        # it closed and gets a conflict instead of overwriting the first one's outcome.
        current = await tx.follow_ups.get_for_update(follow_up_id)
        if current is None:
            raise FollowUpNotFound(f"no follow-up {follow_up_id}")
        if current.status is not FollowUpStatus.OPEN:
            raise FollowUpClosed(
                f"follow-up {follow_up_id} is already {current.status}", status=current.status
            )
        await require_references(tx.references, interaction_id=closing.interaction_id)
        closed = await tx.follow_ups.close(follow_up_id, closing)
    log.info("follow-up %s %s by user %s", follow_up_id, closed.status, scope.user_id)
    return closed


async def complete_follow_up(
    crm: Transactions[FollowUpTransaction],
    scope: DataScope,
    follow_up_id: int,
    outcome: str,
    interaction_id: int | None = None,
) -> FollowUpRecord:
    closing = FollowUpClosing(FollowUpStatus.DONE, _now(), outcome, interaction_id)
    return await _close(crm, scope, follow_up_id, closing)


async def cancel_follow_up(
    crm: Transactions[FollowUpTransaction], scope: DataScope, follow_up_id: int, reason: str
) -> FollowUpRecord:
    closing = FollowUpClosing(FollowUpStatus.CANCELLED, _now(), reason)
    return await _close(crm, scope, follow_up_id, closing)
