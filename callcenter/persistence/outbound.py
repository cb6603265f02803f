"""The dialler's store (callcenter/outbound/ports.py OutboundStore) over the database: work
items are follow-ups, attempts are follow_up_attempts (migration 0016). Each read is one
statement (its own snapshot), each write its own transaction; a reservation is one
conditional UPDATE, so two agents never hold one item.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    and_,
    bindparam,
    extract,
    func,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from callcenter.crm.phones import caller_e164, mask_phone
from callcenter.crm.vocabulary import CallbackStatus, FollowUpKind, FollowUpStatus
from callcenter.outbound.care_lists import CareList, CareListResult
from callcenter.outbound.model import Attempt, AttemptOutcome, DialMode, Party, WorkItem
from callcenter.outbound.ports import EndedDial
from callcenter.outbound.retry import ItemAfter
from callcenter.persistence import dnc
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.tables import (
    AccountSummary,
    AgentQueue,
    CallbackRequest,
    Client,
    ClientPhone,
    FollowUp,
    FollowUpAttempt,
    Interaction,
    UtcDateTime,
)

log = logging.getLogger(__name__)

AnyRow = Row[*tuple[Any, ...]]
AnySelect = Select[*tuple[Any, ...]]

# The dialler's order (index ix_follow_ups_dial_order): priority 1 first, the due day, age.
DIAL_ORDER = (FollowUp.priority, FollowUp.due_on, FollowUp.id)


def _dial_number() -> ColumnElement[str | None]:
    """The number to dial: the item's own, else its client's primary phone, else the first
    on file. A correlated subquery, so that the items and their numbers are one statement
    (one round trip, one thread hop on SQLite) along client_phones' (client_id, e164) index.
    """
    phone = (
        select(ClientPhone.e164)
        .where(ClientPhone.client_id == FollowUp.client_id)
        .order_by(ClientPhone.is_primary.desc(), ClientPhone.id)
        .limit(1)
        .correlate(FollowUp)
        .scalar_subquery()
    )
    return func.coalesce(func.nullif(FollowUp.number, ""), phone).label("dial_number")


def _item_columns() -> tuple[ColumnElement[Any] | QueryableAttribute[Any], ...]:
    """What a WorkItem is made of, read as plain columns: no ORM rows to build and track."""
    return (
        FollowUp.id,
        FollowUp.kind,
        FollowUp.status,
        FollowUp.client_id,
        FollowUp.priority,
        FollowUp.due_on,
        FollowUp.not_before,
        FollowUp.assigned_to_id,
        FollowUp.queue,
        FollowUp.reason,
        FollowUp.language,
        FollowUp.attempts,
        FollowUp.next_attempt_at,
        FollowUp.last_outcome,
        FollowUp.reserved_by_id,
        FollowUp.reserved_until,
        FollowUp.version,
        _dial_number(),
    )


def _item(row: AnyRow) -> WorkItem:
    return WorkItem(
        id=row.id,
        kind=FollowUpKind(row.kind),
        status=FollowUpStatus(row.status),
        client_id=row.client_id,
        number=row.dial_number,
        priority=row.priority,
        due_on=row.due_on,
        not_before=row.not_before,
        assigned_to_id=row.assigned_to_id,
        queue=row.queue,
        reason=row.reason,
        language=row.language,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_outcome=AttemptOutcome(row.last_outcome) if row.last_outcome else None,
        reserved_by_id=row.reserved_by_id,
        reserved_until=row.reserved_until,
        version=row.version,
    )


def _attempt(row: FollowUpAttempt | AnyRow) -> Attempt:
    return Attempt(
        id=row.id,
        follow_up_id=row.follow_up_id,
        mode=DialMode(row.mode),
        agent_id=row.agent_id,
        interaction_id=row.interaction_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        outcome=AttemptOutcome(row.outcome) if row.outcome else None,
        note=row.note,
    )


def _per_owner_sql(queue_count: int, *, due: bool, written_limit: bool) -> AnySelect:
    """The open items of each owner an agent with ``queue_count`` queues has, as one statement
    with bound parameters (agent_id, queue_0.., limit; now when ``due``), built once per
    queue count. ``due``: the dialler's candidates (the items the agent may take now: also
    nobody's, due by their window and retry time, not held by another); else the desk's "My
    work" (their own and their queues', due or not).

    One ordered, limited read per owner (their own items, each of their queues' items nobody
    owns, nobody's items), each along its own partial index (migration 0018), merged in the
    dialler's order; the numbers joined in. One scan of all open items in that order read past
    everyone else's, tens of thousands at a million clients (docs/benchmarks.md, "Outbound:
    next due work item"). The "nobody" conditions are the partial indexes' own literal IS
    NULL tests, so that a prepared statement's generic plan can use those indexes too.
    """
    agent = bindparam("agent_id", type_=Integer)
    # ``written_limit`` (PostgreSQL): the limit written into the statement (one statement per
    # limit: 8, 50, 100), so that the generic plan (Database.read_rows) knows each branch
    # yields a few rows: with a parameter, it hash-joined the ids with a scan of the whole
    # table. Not on SQLite: with a small limit written in, it read nobody's items along
    # ix_follow_ups_assigned_to_id, all of them under the one NULL, and sorted them.
    limit = bindparam("limit", type_=Integer, literal_execute=written_limit)
    conditions: list[ColumnElement[bool]] = [FollowUp.status == FollowUpStatus.OPEN]
    if due:
        now = bindparam("now", type_=UtcDateTime)
        conditions += [
            or_(FollowUp.not_before.is_(None), FollowUp.not_before <= now),
            or_(FollowUp.next_attempt_at.is_(None), FollowUp.next_attempt_at <= now),
            or_(
                FollowUp.reserved_until.is_(None),
                FollowUp.reserved_until <= now,
                FollowUp.reserved_by_id == agent,
            ),
        ]
    nobody = FollowUp.assigned_to_id.is_(None)
    owners = [
        FollowUp.assigned_to_id == agent,
        *(
            and_(FollowUp.queue == bindparam(f"queue_{n}", type_=String), nobody)
            for n in range(queue_count)
        ),
    ]
    if due:
        owners.append(and_(FollowUp.queue.is_(None), nobody))
    firsts = [
        select(FollowUp.id).where(owner, *conditions).order_by(*DIAL_ORDER).limit(limit).subquery()
        for owner in owners
    ]
    ids = union_all(*(select(first.c.id) for first in firsts))
    return select(*_item_columns()).where(FollowUp.id.in_(ids)).order_by(*DIAL_ORDER).limit(limit)


def _attempts_sql() -> AnySelect:
    """The attempts of the items ``item_ids`` (bound, expanding), each item's oldest first."""
    return (
        select(
            FollowUpAttempt.id,
            FollowUpAttempt.follow_up_id,
            FollowUpAttempt.mode,
            FollowUpAttempt.agent_id,
            FollowUpAttempt.interaction_id,
            FollowUpAttempt.started_at,
            FollowUpAttempt.ended_at,
            FollowUpAttempt.outcome,
            FollowUpAttempt.note,
        )
        .where(FollowUpAttempt.follow_up_id.in_(bindparam("item_ids", expanding=True)))
        .order_by(FollowUpAttempt.follow_up_id, FollowUpAttempt.started_at, FollowUpAttempt.id)
    )


class SqlOutboundStore:
    """The reads are single Core statements through ``Database.read_rows`` (one thread hop on
    SQLite, no transaction around them on PostgreSQL), built once with bound parameters:
    ``candidates`` runs for every look for an agent's next item (the 5 ms target)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # By (the agent's number of queues, due): the candidates' and My work's statements.
        self._per_owner_sql: dict[tuple[int, bool], AnySelect] = {}
        self._item_sql = select(*_item_columns()).where(
            FollowUp.id == bindparam("item_id", type_=Integer)
        )
        self._attempts_sql = _attempts_sql()
        self._clients_sql = select(Client.id, Client.time_zone, Client.care_calls_opt_out).where(
            Client.id.in_(bindparam("client_ids", expanding=True))
        )
        self._queues_sql = select(AgentQueue.queue_name).where(
            AgentQueue.agent_id == bindparam("agent_id", type_=Integer)
        )

    async def candidates(
        self, agent_id: int, queues: Sequence[str], now: dt.datetime, limit: int
    ) -> list[WorkItem]:
        return await self._per_owner(agent_id, queues, limit, now)

    async def work_of(self, agent_id: int, queues: Sequence[str], limit: int) -> list[WorkItem]:
        return await self._per_owner(agent_id, queues, limit, None)

    async def _per_owner(
        self, agent_id: int, queues: Sequence[str], limit: int, now: dt.datetime | None
    ) -> list[WorkItem]:
        names = sorted(set(queues))
        key = (len(names), now is not None)
        statement = self._per_owner_sql.get(key)
        if statement is None:
            statement = self._per_owner_sql[key] = _per_owner_sql(
                len(names), due=key[1], written_limit=not self.db.sqlite
            )
        params: dict[str, Any] = {"agent_id": agent_id, "limit": limit}
        if now is not None:
            params["now"] = now
        params.update((f"queue_{n}", name) for n, name in enumerate(names))
        return [_item(row) for row in await self.db.read_rows(statement, params)]

    async def get(self, item_id: int) -> WorkItem | None:
        rows = await self.db.read_rows(self._item_sql, {"item_id": item_id})
        return _item(rows[0]) if rows else None

    async def parties(self, items: Sequence[WorkItem], now: dt.datetime) -> dict[int, Party]:
        # Two statements whatever the number of items: the clients', the numbers' entries.
        client_ids = sorted({item.client_id for item in items if item.client_id is not None})
        numbers = sorted({item.number for item in items if item.number})
        clients = (
            {
                row.id: row
                for row in await self.db.read_rows(self._clients_sql, {"client_ids": client_ids})
            }
            if client_ids
            else {}
        )
        entries = (
            {
                e164: dnc.DncScope(scope)
                for e164, scope in await self.db.read_rows(dnc.live_entries(numbers, now), {})
            }
            if numbers
            else {}
        )
        parties: dict[int, Party] = {}
        for item in items:
            client = clients.get(item.client_id) if item.client_id is not None else None
            scope = entries.get(item.number) if item.number else None
            parties[item.id] = Party(
                time_zone=client.time_zone if client is not None else None,
                care_calls_opt_out=client.care_calls_opt_out if client is not None else False,
                do_not_call=scope
                if scope is not None and dnc.stops(scope, care_call=item.is_care)
                else None,
            )
        return parties

    async def attempts(self, item_id: int) -> list[Attempt]:
        return (await self.attempts_of([item_id])).get(item_id, [])

    async def attempts_of(self, item_ids: Sequence[int]) -> dict[int, list[Attempt]]:
        if not item_ids:
            return {}
        rows = await self.db.read_rows(self._attempts_sql, {"item_ids": list(item_ids)})
        found: dict[int, list[Attempt]] = {item_id: [] for item_id in item_ids}
        for row in rows:
            found[row.follow_up_id].append(_attempt(row))
        return found

    async def agent_queues(self, agent_id: int) -> list[str]:
        rows = await self.db.read_rows(self._queues_sql, {"agent_id": agent_id})
        return sorted(name for (name,) in rows)

    async def reserve(
        self, item_id: int, agent_id: int, until: dt.datetime, now: dt.datetime
    ) -> bool:
        async with self.db.write() as session:
            result = await session.execute(
                update(FollowUp)
                .where(
                    FollowUp.id == item_id,
                    FollowUp.status == FollowUpStatus.OPEN,
                    or_(
                        FollowUp.reserved_by_id.is_(None),
                        FollowUp.reserved_by_id == agent_id,
                        FollowUp.reserved_until <= now,
                    ),
                )
                .values(reserved_by_id=agent_id, reserved_until=until)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, item_id: int, agent_id: int) -> None:
        async with self.db.write() as session:
            await session.execute(
                update(FollowUp)
                .where(FollowUp.id == item_id, FollowUp.reserved_by_id == agent_id)
                .values(reserved_by_id=None, reserved_until=None)
                .execution_options(synchronize_session=False)
            )

    async def postpone(self, item_id: int, until: dt.datetime) -> None:
        async with self.db.write() as session:
            # Never earlier than it is: an outcome applied meanwhile set its own retry time.
            await session.execute(
                update(FollowUp)
                .where(
                    FollowUp.id == item_id,
                    or_(FollowUp.next_attempt_at.is_(None), FollowUp.next_attempt_at < until),
                )
                .values(next_attempt_at=until)
                .execution_options(synchronize_session=False)
            )

    async def start_attempt(
        self,
        item_id: int,
        agent_id: int,
        mode: DialMode,
        at: dt.datetime,
        *,
        interaction_id: int | None = None,
        outcome: AttemptOutcome | None = None,
        note: str | None = None,
    ) -> Attempt:
        async with self.db.write() as session:
            row = FollowUpAttempt(
                follow_up_id=item_id,
                agent_id=agent_id,
                interaction_id=interaction_id,
                mode=mode.value,
                started_at=at,
                ended_at=at if outcome is not None else None,
                outcome=outcome.value if outcome is not None else None,
                note=note,
            )
            session.add(row)
            await session.flush()
            return _attempt(row)

    async def attempt_of_call(self, interaction_id: int) -> Attempt | None:
        async with self.db.read() as session:
            row = await session.scalar(
                select(FollowUpAttempt)
                .where(FollowUpAttempt.interaction_id == interaction_id)
                .order_by(FollowUpAttempt.id.desc())
                .limit(1)
            )
            return None if row is None else _attempt(row)

    async def unsettled_dials(self, ended_before: dt.datetime) -> list[EndedDial]:
        """Dials whose call's record has ended (before ``ended_before``) while the attempt has
        no outcome: the end the PBX would have told was never heard (the service stopped or
        lost the PBX link during the call)."""
        stmt = (
            select(Interaction.id, Interaction.answered_at, Interaction.ended_at)
            .join(FollowUpAttempt, FollowUpAttempt.interaction_id == Interaction.id)
            .where(
                FollowUpAttempt.outcome.is_(None),
                Interaction.ended_at.is_not(None),
                Interaction.ended_at < ended_before,
            )
            .order_by(Interaction.id)
        )
        async with self.db.read() as session:
            rows = (await session.execute(stmt)).all()
        return [
            EndedDial(interaction_id, answered is not None, ended)
            for interaction_id, answered, ended in rows
            if ended is not None  # the WHERE's, said to the type checker
        ]

    async def end_attempt(
        self, attempt_id: int, outcome: AttemptOutcome, at: dt.datetime, note: str | None
    ) -> None:
        async with self.db.write() as session:
            values: dict[str, object] = {"outcome": outcome.value, "ended_at": at}
            if note is not None:
                values["note"] = note
            await session.execute(
                update(FollowUpAttempt)
                .where(FollowUpAttempt.id == attempt_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def apply(
        self, item_id: int, after: ItemAfter, outcome: AttemptOutcome, at: dt.datetime
    ) -> None:
        async with self.db.write() as session:
            row = await session.get(FollowUp, item_id, with_for_update=True)
            if row is None:
                return
            row.status = after.status
            row.attempts = after.attempts
            row.next_attempt_at = after.next_attempt_at
            row.last_outcome = outcome.value
            row.reserved_by_id = None
            row.reserved_until = None
            if after.status is not FollowUpStatus.OPEN:
                row.done_at = at
                row.outcome = after.closing_outcome
            row.version += 1


# --- where work comes from (issue 18, point 1) -----------------------------------------------

# Priorities (1 first): a caller waiting for a promised call, then the regulated return
# visits, then care calls.
CALLBACK_PRIORITY = 2
RETURN_VISIT_PRIORITY = 3
RETURN_VISIT_DAYS = 14  # the center's rule; regulation allows a month (docs/domain.md)
RETURN_VISIT_LOOKBACK_DAYS = 31  # accounts opened this recently get one if they have none


def callback_work(request: CallbackRequest, queue: str | None = None) -> FollowUp:
    """The work item that keeps a caller's callback request: the number they confirmed (as
    E.164 when it is one), due from the request, the day after at the latest."""
    number = caller_e164(request.number) or request.number
    return FollowUp(
        client_id=request.client_id,
        kind=FollowUpKind.CALLBACK,
        status=FollowUpStatus.OPEN,
        due_on=(request.requested_at + dt.timedelta(days=1)).date(),
        not_before=request.requested_at,
        priority=CALLBACK_PRIORITY,
        queue=queue,
        number=number,
        language=request.language,
        reason="callback requested in the IVR",
        interaction_id=request.interaction_id,
        callback_request_id=request.id,
        created_at=request.requested_at,
        version=1,
    )


async def ensure_return_visits(session: AsyncSession, today: dt.date) -> int:
    """Give every account opened in the last month that has no return visit one, due 14
    days after the opening and owned by the client's advisor (else anyone's). Idempotent;
    the number created."""
    has_one = (
        select(FollowUp.id)
        .where(FollowUp.client_id == Client.id, FollowUp.kind == FollowUpKind.RETURN_VISIT)
        .exists()
    )
    opened = (
        await session.execute(
            select(Client.id, Client.opened_on, Client.advisor_id).where(
                Client.opened_on >= today - dt.timedelta(days=RETURN_VISIT_LOOKBACK_DAYS),
                Client.opened_on <= today,
                Client.closed_on.is_(None),
                ~has_one,
            )
        )
    ).all()
    for client_id, opened_on, advisor_id in opened:
        session.add(
            FollowUp(
                client_id=client_id,
                kind=FollowUpKind.RETURN_VISIT,
                status=FollowUpStatus.OPEN,
                due_on=opened_on + dt.timedelta(days=RETURN_VISIT_DAYS),
                priority=RETURN_VISIT_PRIORITY,
                assigned_to_id=advisor_id,
                reason=f"account opened on {opened_on.isoformat()}",
                version=1,
            )
        )
    if opened:
        log.info("%d return visits created for new accounts", len(opened))
    return len(opened)


BIRTHDAY_PRIORITY = 6


async def ensure_birthday_calls(session: AsyncSession, today: dt.date) -> int:
    """A birthday greeting for every client with an open account whose birthday is today
    (29 February: on the 28th in other years), once a year, owned by their advisor (else
    anyone's). The care-call rules (opt-out, do-not-call) apply when it is dialled. The
    number created."""
    days = [today.day]
    if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
        days.append(29)
    this_year = dt.date(today.year, 1, 1)
    greeted = (
        select(FollowUp.id)
        .where(
            FollowUp.client_id == Client.id,
            FollowUp.kind == FollowUpKind.BIRTHDAY,
            FollowUp.due_on >= this_year,
        )
        .exists()
    )
    born = (
        await session.execute(
            select(Client.id, Client.advisor_id).where(
                extract("month", Client.birthday) == today.month,
                extract("day", Client.birthday).in_(days),
                Client.closed_on.is_(None),
                ~greeted,
            )
        )
    ).all()
    for client_id, advisor_id in born:
        session.add(
            FollowUp(
                client_id=client_id,
                kind=FollowUpKind.BIRTHDAY,
                status=FollowUpStatus.OPEN,
                due_on=today,
                priority=BIRTHDAY_PRIORITY,
                assigned_to_id=advisor_id,
                reason="birthday greeting",
                version=1,
            )
        )
    if born:
        log.info("%d birthday greetings created", len(born))
    return len(born)


async def keep_return_visits(
    db: Database, today: Callable[[], dt.date], every_seconds: float = 3600.0
) -> None:
    """Create the return visits of new accounts and today's birthday greetings now and every
    ``every_seconds`` (accounts come from the brokerage's back office at any time), for as
    long as the service runs."""
    while True:
        try:
            async with db.write() as session:
                await ensure_return_visits(session, today())
                await ensure_birthday_calls(session, today())
        except Exception:  # the database: the next round creates what this one missed
            log.exception("return visits and birthday greetings not created")
        await asyncio.sleep(every_seconds)


# --- a supervisor's care-call list --------------------------------------------------------------


def _holders(session: AsyncSession, symbol: str) -> Select[int]:
    """The clients whose latest account summary holds ``symbol`` (positions are JSON: read
    with each database's own JSON functions, in the query)."""
    latest = (
        select(AccountSummary.client_id, func.max(AccountSummary.period).label("period"))
        .group_by(AccountSummary.client_id)
        .subquery()
    )
    held = select(AccountSummary.client_id).join(
        latest,
        and_(
            AccountSummary.client_id == latest.c.client_id,
            AccountSummary.period == latest.c.period,
        ),
    )
    if session.get_bind().dialect.name == "postgresql":
        contains = text("CAST(account_summaries.positions AS JSONB) @> CAST(:held AS JSONB)")
        return held.where(contains.bindparams(held=json.dumps([{"symbol": symbol}])))
    each = text(
        "EXISTS (SELECT 1 FROM json_each(account_summaries.positions) "
        "WHERE json_extract(json_each.value, '$.symbol') = :symbol)"
    )
    return held.where(each.bindparams(symbol=symbol))


async def add_care_list(
    session: AsyncSession, care: CareList, by_user_id: int, now: dt.datetime
) -> CareListResult:
    """One care-call item per client named (see callcenter/outbound/care_lists.py)."""
    named = (
        _holders(session, care.holding_symbol)
        if care.holding_symbol is not None
        else select(Client.id).where(Client.id.in_(care.client_ids))
    )
    rows = (
        await session.execute(select(Client.id, Client.closed_on).where(Client.id.in_(named)))
    ).all()
    open_already = set(
        await session.scalars(
            select(FollowUp.client_id).where(
                FollowUp.client_id.in_([client_id for client_id, _closed in rows]),
                FollowUp.kind == care.kind,
                FollowUp.reason == care.reason,
                FollowUp.status == FollowUpStatus.OPEN,
            )
        )
    )
    created = skipped_closed = 0
    for client_id, closed_on in rows:
        if closed_on is not None:
            skipped_closed += 1
            continue
        if client_id in open_already:
            continue
        session.add(
            FollowUp(
                client_id=client_id,
                kind=care.kind,
                status=FollowUpStatus.OPEN,
                due_on=care.due_on,
                priority=care.priority,
                reason=care.reason,
                created_by_id=by_user_id,
                created_at=now,
                version=1,
            )
        )
        created += 1
    result = CareListResult(created, len(open_already), skipped_closed)
    await record_audit(
        session,
        by_user_id,
        "care_list.created",
        detail={
            "kind": care.kind.value,
            "reason": care.reason,
            "holding_symbol": care.holding_symbol,
            "client_ids": len(care.client_ids),
            "created": created,
            "already_open": result.already_open,
        },
        at=now,
    )
    log.info("care list %r: %d care calls created by user %s", care.reason, created, by_user_id)
    return result


# --- the web site's callback form ---------------------------------------------------------------


async def file_web_callback(
    session: AsyncSession,
    *,
    number: str,
    language: str,
    not_before: dt.datetime | None,
    now: dt.datetime,
) -> tuple[int, bool]:
    """Book a callback to ``number`` (E.164) asked for on the web site: the request and its
    work item, the client identified when exactly one has this number. ``(work item id,
    created)``; an open callback to the same number is answered instead of a second one."""
    booked = await session.scalar(
        select(FollowUp.id).where(
            FollowUp.kind == FollowUpKind.CALLBACK,
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.number == number,
        )
    )
    if booked is not None:
        return booked, False
    owners = list(
        await session.scalars(
            select(ClientPhone.client_id).where(ClientPhone.e164 == number).distinct()
        )
    )
    request = CallbackRequest(
        requested_at=now,
        interaction_id=None,
        client_id=owners[0] if len(owners) == 1 else None,
        number=number,
        language=language,
        status=CallbackStatus.OPEN,
        version=1,
    )
    session.add(request)
    await session.flush()
    work = callback_work(request)
    work.reason = "callback requested on the web site"
    if not_before is not None and not_before > now:
        work.not_before = not_before
        work.due_on = (not_before + dt.timedelta(days=1)).date()
    session.add(work)
    await session.flush()
    await record_audit(
        session,
        None,
        "callback.web",
        client_id=request.client_id,
        detail={"number": mask_phone(number), "follow_up_id": work.id},
        at=now,
    )
    log.info("web callback %s booked for %s", work.id, mask_phone(number))
    return work.id, True
