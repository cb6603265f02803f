"""The IVR's reads and writes: who is calling, telephone-PIN checks with lockout, the account
snapshot that voice self-service reads out, callback requests and voice messages.

The Async AGI runner calls these between the engine's commands. Each is its own short unit of
work: no transaction stays open while a caller listens, and none while a PIN hash is computed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.clients import ClientNotFound
from callcenter.crm.periods import add_months
from callcenter.crm.pins import verify_pin
from callcenter.crm.ports import require_references
from callcenter.crm.privacy import AuditAction
from callcenter.crm.vocabulary import (
    CallbackStatus,
    PinAttemptResult,
    RiskProfile,
    Tier,
    VoiceMessageStatus,
)
from callcenter.errors import InvalidInput
from callcenter.ivr.account import AccountSnapshot, Holding, HoldingChange
from callcenter.ivr.commands import AuthFailed, AuthLocked, AuthOk, ClientFacts
from callcenter.persistence.audit import record_audit
from callcenter.persistence.clients import lookup_clients_by_phone
from callcenter.persistence.crm import SqlReferences
from callcenter.persistence.db import Database
from callcenter.persistence.locking import lock_row
from callcenter.persistence.outbound import callback_work
from callcenter.persistence.tables import (
    AccountSummary,
    CallbackRequest,
    Client,
    PinAttempt,
    VoiceMessage,
    utcnow,
)

log = logging.getLogger(__name__)

AuthResult = AuthOk | AuthFailed | AuthLocked

# Column widths of what callers type or the network sends (tables.py).
ACCOUNT_NO_LENGTH = 20
NUMBER_LENGTH = 32
# The audit action of a PIN unlock (one day a member of crm.privacy.AuditAction).


# --- who is calling ---------------------------------------------------------------------------


async def identify_caller(db: Database, e164: str) -> ClientFacts | None:
    """The client whose phone this is, on the hot path of every call. A shared number (a
    family's landline) names several clients: the first wins, open accounts before closed."""
    found = await lookup_clients_by_phone(db, e164)
    return _facts(found[0]) if found else None


def _facts(client: Client) -> ClientFacts:
    return ClientFacts(
        client_id=client.id,
        tier=Tier(client.tier),
        risk_profile=RiskProfile(client.risk_profile),
    )


# --- account number + PIN ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Attempt:
    """Who tried, as recorded in pin_attempts. Deliberately has no room for the PIN."""

    account_no: str
    interaction_id: int | None
    caller_number: str | None


@dataclass(frozen=True)
class _PinOnFile:
    client_id: int
    pin_hash: str | None
    locked: bool


async def authenticate(
    db: Database,
    account_no: str,
    pin: str,
    *,
    max_failures: int,
    interaction_id: int | None,
    caller_number: str | None,
) -> AuthResult:
    """Check an account number and PIN; every attempt writes exactly one pin_attempts row.

    Wrong PINs count across calls; the one that reaches ``max_failures`` locks the account
    until staff unlock it. A locked account answers AuthLocked without its PIN being checked,
    so a locked account gives a guesser nothing.
    """
    attempt = _Attempt(
        # Stored as typed, cut to the column: an over-long number matches no account anyway.
        account_no=account_no[:ACCOUNT_NO_LENGTH],
        interaction_id=interaction_id,
        caller_number=None if caller_number is None else caller_number[:NUMBER_LENGTH],
    )
    on_file = await _pin_on_file(db, account_no)
    if on_file is None:
        return await _record_only(db, attempt, None, PinAttemptResult.UNKNOWN_ACCOUNT)
    if on_file.locked:
        return await _record_only(db, attempt, on_file.client_id, PinAttemptResult.LOCKED)
    if on_file.pin_hash is None:  # no telephone PIN set: nothing to guess, nothing to count
        return await _record_only(db, attempt, on_file.client_id, PinAttemptResult.FAILED)
    # PBKDF2 is ~0.3 s of CPU: in a worker thread so other calls' prompts keep playing, and
    # outside any transaction so no writer (SQLite has one at a time) waits for it.
    matches = await asyncio.to_thread(verify_pin, on_file.pin_hash, pin)
    return await _settle(db, attempt, on_file, matches=matches, max_failures=max_failures)


async def authenticate_client(
    db: Database,
    client_id: int,
    pin: str,
    *,
    max_failures: int,
    interaction_id: int | None,
    caller_number: str | None,
) -> AuthResult:
    """Check the PIN of a client identified by the caller's number: exactly
    :func:`authenticate` on that client's account number (the caller did not type it), so
    the failures count and lock the same account whichever way the caller came in."""
    async with db.read() as session:
        account_no = await session.scalar(select(Client.account_no).where(Client.id == client_id))
    if account_no is None:  # identified a moment ago; never assume it is still there
        log.warning("PIN check for client %s, who is not on file", client_id)
        return AuthFailed()
    return await authenticate(
        db,
        account_no,
        pin,
        max_failures=max_failures,
        interaction_id=interaction_id,
        caller_number=caller_number,
    )


async def _pin_on_file(db: Database, account_no: str) -> _PinOnFile | None:
    async with db.read() as session:
        row = (
            await session.execute(
                select(Client.id, Client.pin_hash, Client.pin_locked_at).where(
                    Client.account_no == account_no
                )
            )
        ).first()
    if row is None:
        return None
    client_id, pin_hash, locked_at = row
    return _PinOnFile(client_id, pin_hash, locked=locked_at is not None)


async def _record_only(
    db: Database, attempt: _Attempt, client_id: int | None, result: PinAttemptResult
) -> AuthResult:
    """An attempt decided without checking a PIN: only the record to write."""
    async with db.write() as session:
        _add_attempt(session, attempt, client_id, result)
    _log_attempt(attempt, client_id, result)
    return AuthLocked() if result is PinAttemptResult.LOCKED else AuthFailed()


async def _settle(
    db: Database, attempt: _Attempt, on_file: _PinOnFile, *, matches: bool, max_failures: int
) -> AuthResult:
    """Write the outcome of a checked PIN against the row as it is now, locked: a concurrent
    attempt may have counted a failure, or locked the account, since it was read."""
    async with db.write() as session:
        client = await lock_row(session, Client, on_file.client_id)
        outcome: AuthResult
        if client is None:  # gone meanwhile (clients are not deleted, but never assume)
            result, outcome = PinAttemptResult.UNKNOWN_ACCOUNT, AuthFailed()
        else:
            result, outcome = await _decide(session, client, on_file, matches, max_failures)
        _add_attempt(session, attempt, None if client is None else client.id, result)
    _log_attempt(attempt, on_file.client_id, result)
    return outcome


async def _decide(
    session: AsyncSession, client: Client, on_file: _PinOnFile, matches: bool, max_failures: int
) -> tuple[PinAttemptResult, AuthResult]:
    if client.pin_locked_at is not None:
        # Locked by a concurrent attempt: a right PIN does not get in after the lock.
        return PinAttemptResult.LOCKED, AuthLocked()
    if client.pin_hash != on_file.pin_hash:
        # The PIN changed while the old one was checked: that check proves nothing.
        return PinAttemptResult.FAILED, AuthFailed()
    if matches:
        if client.pin_failures:
            await _set_pin_state(session, client.id, failures=0, locked_at=None)
        return PinAttemptResult.OK, AuthOk(_facts(client))
    # The failure that locks is recorded as a failure too; the lock shows on the client.
    return PinAttemptResult.FAILED, await _count_failure(session, client, max_failures)


async def _count_failure(session: AsyncSession, client: Client, max_failures: int) -> AuthResult:
    failures = client.pin_failures + 1
    if failures < max_failures:
        await _set_pin_state(session, client.id, failures=failures, locked_at=None)
        return AuthFailed()
    await _set_pin_state(session, client.id, failures=failures, locked_at=utcnow())
    log.warning("client %s: telephone PIN locked after %d wrong PINs", client.id, failures)
    return AuthLocked()


async def _set_pin_state(
    session: AsyncSession, client_id: int, *, failures: int, locked_at: dt.datetime | None
) -> None:
    # A Core UPDATE naming updated_at as itself: the PIN state is not an edit of the profile,
    # so neither updated_at (onupdate) nor version moves.
    await session.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(pin_failures=failures, pin_locked_at=locked_at, updated_at=Client.updated_at)
        .execution_options(synchronize_session=False)
    )


def _add_attempt(
    session: AsyncSession, attempt: _Attempt, client_id: int | None, result: PinAttemptResult
) -> None:
    session.add(
        PinAttempt(
            at=utcnow(),
            account_no=attempt.account_no,
            client_id=client_id,
            interaction_id=attempt.interaction_id,
            caller_number=attempt.caller_number,
            result=result,
        )
    )


def _log_attempt(attempt: _Attempt, client_id: int | None, result: PinAttemptResult) -> None:
    log.info(
        "PIN attempt on account %s (client %s, interaction %s): %s",
        attempt.account_no,
        client_id,
        attempt.interaction_id,
        result.value,
    )


async def unlock_pin(
    db: Database, client_id: int, *, by_user_id: int, interaction_id: int | None = None
) -> None:
    """Clear a PIN lockout and the failure count (staff, after checking who the client is by
    other means). Audited as ``client.pin_unlock``; unlocking an unlocked account is harmless."""
    async with db.write() as session:
        client = await lock_row(session, Client, client_id)
        if client is None:
            raise ClientNotFound(f"no client {client_id}", client_id=client_id)
        await require_references(SqlReferences(session), interaction_id=interaction_id)
        detail = {"was_locked": client.pin_locked_at is not None, "failures": client.pin_failures}
        await _set_pin_state(session, client_id, failures=0, locked_at=None)
        await record_audit(
            session, by_user_id, AuditAction.CLIENT_PIN_UNLOCK, client_id, interaction_id, detail
        )
    log.info("client %s: telephone PIN unlocked by user %s", client_id, by_user_id)


# --- voice self-service -----------------------------------------------------------------------


async def account_snapshot(db: Database, client_id: int) -> AccountSnapshot | None:
    """The latest monthly summary, with each holding's move since the month before it."""
    async with db.read() as session:
        # Plain tuples: the read's closing rollback would expire ORM objects.
        rows = (
            await session.execute(
                select(
                    AccountSummary.period,
                    AccountSummary.total_assets_fen,
                    AccountSummary.positions,
                )
                .where(AccountSummary.client_id == client_id)
                .order_by(AccountSummary.period.desc())
                .limit(2)
            )
        ).all()
    if not rows:
        return None
    period, total_assets_fen, positions = rows[0]
    holdings = tuple(_holding(raw) for raw in positions or [])
    # Only the calendar month just before counts as "since last month": after a gap in the
    # summaries there is nothing honest to compare with.
    changes: tuple[HoldingChange, ...] = ()
    if len(rows) > 1 and rows[1].period == add_months(period, -1):
        changes = holding_changes([_holding(raw) for raw in rows[1].positions or []], holdings)
    return AccountSnapshot(period, total_assets_fen, holdings, changes)


def _holding(raw: Mapping[str, Any]) -> Holding:
    return Holding(
        symbol=str(raw.get("symbol", "")),
        name=str(raw.get("name", "")),
        quantity=int(raw.get("quantity", 0)),
        value_fen=int(raw.get("value_fen", 0)),
    )


def holding_changes(
    before: Sequence[Holding], after: Sequence[Holding]
) -> tuple[HoldingChange, ...]:
    """Quantity moves per symbol, by symbol: bought positive, sold negative (a holding gone
    entirely is its whole quantity sold); unchanged holdings are left out."""
    old, new = _quantities(before), _quantities(after)
    names = {h.symbol: h.name for h in before} | {h.symbol: h.name for h in after}
    deltas = ((symbol, new.get(symbol, 0) - old.get(symbol, 0)) for symbol in old.keys() | new)
    return tuple(
        HoldingChange(symbol, names[symbol], delta) for symbol, delta in sorted(deltas) if delta
    )


def _quantities(holdings: Iterable[Holding]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for holding in holdings:  # one symbol on two lines (two lots) is one holding
        totals[holding.symbol] = totals.get(holding.symbol, 0) + holding.quantity
    return totals


# --- what after-hours callers leave ---------------------------------------------------------


async def file_callback(
    db: Database, *, number: str, language: str, client_id: int | None, interaction_id: int | None
) -> int:
    """File a callback request (the number was confirmed by the caller); its id."""
    filed = await file_callback_item(
        db, number=number, language=language, client_id=client_id, interaction_id=interaction_id
    )
    return filed.request_id


@dataclass(frozen=True)
class FiledCallback:
    request_id: int
    item_id: int  # the dialler's work item that keeps it


async def file_callback_item(
    db: Database,
    *,
    number: str,
    language: str,
    client_id: int | None,
    interaction_id: int | None,
    queue: str | None = None,
) -> FiledCallback:
    """File a callback request and its work item (owned by ``queue``, None: anyone's)."""
    if not number or len(number) > NUMBER_LENGTH:
        raise InvalidInput(f"a callback number has 1 to {NUMBER_LENGTH} characters")
    async with db.write() as session:
        request = CallbackRequest(
            requested_at=utcnow(),
            interaction_id=interaction_id,
            client_id=client_id,
            number=number,
            language=language,
            status=CallbackStatus.OPEN,
            version=1,
        )
        session.add(request)
        await session.flush()
        request_id = request.id
        # The promise is kept: the dialler's work item, in the same transaction.
        item = callback_work(request, queue)
        session.add(item)
        await session.flush()
        item_id = item.id
    log.info("callback %s requested (interaction %s)", request_id, interaction_id)
    return FiledCallback(request_id, item_id)


async def file_voice_message(
    db: Database,
    *,
    recording_ref: str,
    client_id: int | None,
    interaction_id: int | None,
    caller_number: str | None,
) -> int:
    """File a voice message the caller left (Asterisk wrote the recording); its id."""
    async with db.write() as session:
        message = VoiceMessage(
            recorded_at=utcnow(),
            interaction_id=interaction_id,
            client_id=client_id,
            caller_number=None if caller_number is None else caller_number[:NUMBER_LENGTH],
            recording_ref=recording_ref,
            status=VoiceMessageStatus.OPEN,
            version=1,
        )
        session.add(message)
        await session.flush()
        message_id = message.id
    log.info("voice message %s left (interaction %s)", message_id, interaction_id)
    return message_id
