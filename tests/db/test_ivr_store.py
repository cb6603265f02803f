"""The IVR's store (callcenter.persistence.ivr) on SQLite and PostgreSQL: caller lookup, PIN
checks with lockout across calls, the account snapshot, callbacks and voice messages.

PIN hashes here use a token work factor (the stored string carries it, see crm/pins.py), so a
test's PIN checks take microseconds instead of 0.3 s each; the code path is the same.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from callcenter.crm import pins
from callcenter.crm.clients import ClientNotFound
from callcenter.crm.ports import UnknownInteraction
from callcenter.crm.vocabulary import (
    CallbackStatus,
    PinAttemptResult,
    RiskProfile,
    Role,
    Tier,
    VoiceMessageStatus,
)
from callcenter.errors import InvalidInput
from callcenter.ivr.account import AccountSnapshot, Holding, HoldingChange
from callcenter.ivr.commands import AuthFailed, AuthLocked, AuthOk, ClientFacts, OutcomeKind
from callcenter.ivr.engine import Outcome, Step
from callcenter.ivr.ports import CallStart
from callcenter.persistence import ivr, migrate
from callcenter.persistence.db import Database
from callcenter.persistence.ivr_backend import SqlIvrBackend
from callcenter.persistence.locking import lock_row
from callcenter.persistence.tables import (
    AccountSummary,
    AuditEntry,
    CallbackRequest,
    Client,
    ClientPhone,
    Interaction,
    PinAttempt,
    User,
    VoiceMessage,
)
from tests.support.crm_data import add_branch, add_client, add_interaction

PIN = "917364"  # distinctive: no id, account or phone number in these tests contains it
WRONG = "123456"
ACCOUNT = "1001000001"
PHONE = "+8613800138000"
CALLER = "+8613911112222"
TEST_ITERATIONS = 1_000


async def client_with_pin(database: Database, pin: str | None = PIN, **kwargs: Any) -> int:
    branch_id = await add_branch(database, code=kwargs.pop("branch_code", "BJ01"))
    client_id = await add_client(database, branch_id, **kwargs)
    if pin is not None:
        await set_columns(
            database, client_id, pin_hash=pins.hash_pin(pin, iterations=TEST_ITERATIONS)
        )
    return client_id


async def set_columns(database: Database, client_id: int, **values: Any) -> None:
    async with database.write() as session:
        await session.execute(update(Client).where(Client.id == client_id).values(**values))


async def pin_state(database: Database, client_id: int) -> tuple[int, dt.datetime | None]:
    async with database.read() as session:
        client = await session.get_one(Client, client_id)
        return client.pin_failures, client.pin_locked_at


async def attempts(database: Database) -> list[dict[str, Any]]:
    """Every pin_attempts row, every column, oldest first."""
    async with database.read() as session:
        rows = await session.execute(select(PinAttempt.__table__).order_by(PinAttempt.id))
        return [dict(row) for row in rows.mappings()]


async def try_pin(
    database: Database, pin: str, *, account_no: str = ACCOUNT, max_failures: int = 3
) -> ivr.AuthResult:
    return await ivr.authenticate(
        database,
        account_no,
        pin,
        max_failures=max_failures,
        interaction_id=None,
        caller_number=CALLER,
    )


async def add_user(database: Database) -> int:
    async with database.write() as session:
        user = User(username="agent", display_name="Chen Jing", role=Role.AGENT)
        session.add(user)
        await session.flush()
        return user.id


# --- who is calling ---------------------------------------------------------------------------


async def test_a_known_number_names_its_client_with_tier_and_risk_profile(
    database: Database,
) -> None:
    client_id = await client_with_pin(database)

    facts = await ivr.identify_caller(database, PHONE)

    assert facts == ClientFacts(client_id, Tier.GOLD, RiskProfile.BALANCED)
    assert await ivr.identify_caller(database, "+8613700000000") is None


async def test_a_shared_number_names_the_open_account_before_a_closed_one(
    database: Database,
) -> None:
    closed_id = await client_with_pin(database)
    open_id = await add_client(
        database, await add_branch(database, "SH01"), account_no="1001000002", tier=Tier.VIP
    )
    await set_columns(database, closed_id, closed_on=dt.date(2025, 1, 31))

    facts = await ivr.identify_caller(database, PHONE)

    assert facts is not None
    assert (facts.client_id, facts.tier) == (open_id, Tier.VIP)


# --- account number + PIN ---------------------------------------------------------------------


async def test_the_right_pin_answers_ok_and_records_the_attempt(database: Database) -> None:
    client_id = await client_with_pin(database)
    interaction_id = await add_interaction(database, None)

    outcome = await ivr.authenticate(
        database,
        ACCOUNT,
        PIN,
        max_failures=3,
        interaction_id=interaction_id,
        caller_number=CALLER,
    )

    assert outcome == AuthOk(ClientFacts(client_id, Tier.GOLD, RiskProfile.BALANCED))
    [attempt] = await attempts(database)
    assert attempt.pop("at") > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert attempt == {
        "id": attempt["id"],
        "account_no": ACCOUNT,
        "client_id": client_id,
        "interaction_id": interaction_id,
        "caller_number": CALLER,
        "result": PinAttemptResult.OK,
    }


async def test_an_unknown_account_fails_and_is_recorded_without_a_client(
    database: Database,
) -> None:
    await client_with_pin(database)

    outcome = await try_pin(database, PIN, account_no="9999999999")

    assert outcome == AuthFailed()
    [attempt] = await attempts(database)
    assert (attempt["account_no"], attempt["client_id"], attempt["result"]) == (
        "9999999999",
        None,
        PinAttemptResult.UNKNOWN_ACCOUNT,
    )


async def test_wrong_pins_count_across_calls_and_the_last_allowed_one_locks(
    database: Database,
) -> None:
    client_id = await client_with_pin(database)

    first = await try_pin(database, WRONG)
    second = await try_pin(database, WRONG)
    assert (first, second) == (AuthFailed(), AuthFailed())
    assert await pin_state(database, client_id) == (2, None)

    third = await try_pin(database, WRONG)

    assert third == AuthLocked()
    failures, locked_at = await pin_state(database, client_id)
    assert failures == 3
    assert locked_at is not None
    assert [a["result"] for a in await attempts(database)] == [PinAttemptResult.FAILED] * 3


async def test_the_right_pin_resets_the_count_of_wrong_ones(database: Database) -> None:
    client_id = await client_with_pin(database)
    await try_pin(database, WRONG)
    await try_pin(database, WRONG)

    assert isinstance(await try_pin(database, PIN), AuthOk)
    assert await pin_state(database, client_id) == (0, None)
    assert await try_pin(database, WRONG) == AuthFailed()  # a fresh count: not locked
    assert await pin_state(database, client_id) == (1, None)


async def test_a_locked_account_is_refused_without_checking_the_pin(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id = await client_with_pin(database)
    locked_at = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    await set_columns(database, client_id, pin_failures=3, pin_locked_at=locked_at)
    checked: list[str] = []

    def verify(stored: str, pin: str) -> bool:
        checked.append(pin)
        return True

    monkeypatch.setattr(ivr, "verify_pin", verify)

    outcome = await try_pin(database, PIN)

    assert outcome == AuthLocked()
    assert checked == []
    assert await pin_state(database, client_id) == (3, locked_at)
    assert [(a["client_id"], a["result"]) for a in await attempts(database)] == [
        (client_id, PinAttemptResult.LOCKED)
    ]


async def test_a_client_without_a_pin_fails_without_counting(database: Database) -> None:
    client_id = await client_with_pin(database, pin=None)

    outcome = await try_pin(database, PIN, max_failures=1)

    assert outcome == AuthFailed()
    assert await pin_state(database, client_id) == (0, None)
    assert [a["result"] for a in await attempts(database)] == [PinAttemptResult.FAILED]


async def test_pin_failures_leave_the_profile_version_and_update_time_alone(
    database: Database,
) -> None:
    client_id = await client_with_pin(database)
    async with database.read() as session:
        before = await session.get_one(Client, client_id)
        version, updated_at = before.version, before.updated_at

    await try_pin(database, WRONG)

    async with database.read() as session:
        after = await session.get_one(Client, client_id)
        assert (after.version, after.updated_at, after.pin_failures) == (version, updated_at, 1)


def barrier_verify(parties: int) -> Callable[[str, str], bool]:
    """verify_pin, held until ``parties`` checks are under way at once: every attempt has read
    the client before any writes its outcome (the interleaving that loses counts)."""
    barrier = threading.Barrier(parties, timeout=10)
    real = pins.verify_pin

    def verify(stored: str, pin: str) -> bool:
        barrier.wait()
        return real(stored, pin)

    return verify


async def test_two_wrong_pins_at_once_both_count_and_lock(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id = await client_with_pin(database)
    monkeypatch.setattr(ivr, "verify_pin", barrier_verify(2))

    outcomes = await asyncio.gather(
        try_pin(database, WRONG, max_failures=2), try_pin(database, "654321", max_failures=2)
    )

    assert sorted(type(o).__name__ for o in outcomes) == ["AuthFailed", "AuthLocked"]
    failures, locked_at = await pin_state(database, client_id)
    assert failures == 2
    assert locked_at is not None
    assert [a["result"] for a in await attempts(database)] == [PinAttemptResult.FAILED] * 2


async def test_a_right_pin_checked_while_another_attempt_locks_does_not_get_in(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id = await client_with_pin(database)
    await set_columns(database, client_id, pin_failures=1)
    monkeypatch.setattr(ivr, "verify_pin", barrier_verify(2))

    wrong, right = await asyncio.gather(
        try_pin(database, WRONG, max_failures=2), try_pin(database, PIN, max_failures=2)
    )

    # Whichever wrote first decides: the lock holds, or the right PIN came first and reset.
    if right == AuthLocked():
        assert wrong == AuthLocked()
        assert (await pin_state(database, client_id))[1] is not None
    else:
        assert isinstance(right, AuthOk)
        assert wrong == AuthFailed()
        assert await pin_state(database, client_id) == (1, None)


async def test_the_pin_check_runs_off_the_event_loop_with_no_transaction_open(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id = await client_with_pin(database)
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    real = pins.verify_pin
    seen: list[bool] = []

    async def write_the_client_row() -> None:
        async with database.write() as session:
            client = await lock_row(session, Client, client_id)
            assert client is not None
            client.notes = "written while the PIN was being checked"

    def verify(stored: str, pin: str) -> bool:
        seen.append(threading.get_ident() != loop_thread)
        # Runs on the event loop while this thread waits: it completes only if the loop is
        # free and no transaction holds the client row (PostgreSQL) or the write lock (SQLite).
        asyncio.run_coroutine_threadsafe(write_the_client_row(), loop).result(timeout=5)
        return real(stored, pin)

    monkeypatch.setattr(ivr, "verify_pin", verify)

    assert isinstance(await try_pin(database, PIN), AuthOk)
    assert seen == [True]


async def test_attempt_rows_never_hold_the_pin(database: Database) -> None:
    client_id = await client_with_pin(database)
    await try_pin(database, PIN)
    await try_pin(database, PIN, account_no="9999999999")
    for _ in range(3):
        await try_pin(database, WRONG)
    await try_pin(database, PIN)  # locked now

    async with database.read() as session:
        rows = (await session.execute(select(PinAttempt.__table__))).mappings().all()

    assert len(rows) == 6
    assert set(rows[0]) == {
        "id",
        "at",
        "account_no",
        "client_id",
        "interaction_id",
        "caller_number",
        "result",
    }
    assert all(
        PIN not in str(value) and WRONG not in str(value) for row in rows for value in row.values()
    )
    assert {row["client_id"] for row in rows} == {client_id, None}


async def test_no_log_record_holds_the_pin(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # Everything at DEBUG, SQLAlchemy's statements and their parameters included (SQLAlchemy
    # sets its own loggers to WARNING unless told otherwise).
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    await client_with_pin(database)
    await try_pin(database, PIN)
    await try_pin(database, PIN, account_no="9999999999")
    await try_pin(database, WRONG, max_failures=1)
    await try_pin(database, PIN)  # locked

    names = {record.name for record in caplog.records}
    assert "callcenter.persistence.ivr" in names
    assert any(name.startswith("sqlalchemy.engine") for name in names)  # SQL was captured too
    assert not [record for record in caplog.records if PIN in record.getMessage()]
    assert not [record for record in caplog.records if WRONG in record.getMessage()]


# --- unlock -------------------------------------------------------------------------------------


async def test_unlock_clears_the_lock_and_the_count_and_is_audited(database: Database) -> None:
    client_id = await client_with_pin(database)
    agent_id = await add_user(database)
    interaction_id = await add_interaction(database, client_id)
    for _ in range(3):
        await try_pin(database, WRONG)
    assert await try_pin(database, PIN) == AuthLocked()

    await ivr.unlock_pin(database, client_id, by_user_id=agent_id, interaction_id=interaction_id)

    assert await pin_state(database, client_id) == (0, None)
    assert isinstance(await try_pin(database, PIN), AuthOk)
    async with database.read() as session:
        [entry] = (await session.scalars(select(AuditEntry))).all()
        session.expunge(entry)  # keep its values past the read's rollback
    assert (entry.actor_id, entry.action, entry.client_id, entry.interaction_id) == (
        agent_id,
        "client.pin_unlock",
        client_id,
        interaction_id,
    )
    assert entry.detail == {"was_locked": True, "failures": 3}


async def test_unlock_of_an_unknown_client_or_call_is_refused(database: Database) -> None:
    client_id = await client_with_pin(database)
    agent_id = await add_user(database)

    with pytest.raises(ClientNotFound):
        await ivr.unlock_pin(database, client_id + 1, by_user_id=agent_id)
    with pytest.raises(UnknownInteraction):
        await ivr.unlock_pin(database, client_id, by_user_id=agent_id, interaction_id=999)
    async with database.read() as session:
        assert (await session.scalars(select(AuditEntry))).all() == []


# --- account snapshot ------------------------------------------------------------------------


def position(symbol: str, name: str, quantity: int, value_fen: int = 0) -> dict[str, Any]:
    return {"symbol": symbol, "name": name, "quantity": quantity, "value_fen": value_fen}


async def add_month(
    database: Database, client_id: int, period: dt.date, assets: int, positions: list[Any]
) -> None:
    async with database.write() as session:
        session.add(
            AccountSummary(
                client_id=client_id,
                period=period,
                total_assets_fen=assets,
                positions=positions,
                turnover_fen=0,
                commission_fen=0,
            )
        )


async def test_snapshot_is_the_latest_month_with_moves_since_the_month_before(
    database: Database,
) -> None:
    client_id = await client_with_pin(database)
    await add_month(
        database, client_id, dt.date(2026, 1, 1), 1, [position("600000", "浦发银行", 900)]
    )
    await add_month(
        database,
        client_id,
        dt.date(2026, 2, 1),
        50_000_00,
        [
            position("600519", "贵州茅台", 100),
            position("000001", "平安银行", 200),
            position("601318", "中国平安", 300),
        ],
    )
    latest = [
        position("601318", "中国平安", 300, 12_000_00),
        position("600519", "贵州茅台", 150, 22_500_00),
        position("300750", "宁德时代", 10, 2_000_00),
    ]
    await add_month(database, client_id, dt.date(2026, 3, 1), 80_000_00, latest)

    snapshot = await ivr.account_snapshot(database, client_id)

    assert snapshot == AccountSnapshot(
        period=dt.date(2026, 3, 1),
        total_assets_fen=80_000_00,
        holdings=(
            Holding("601318", "中国平安", 300, 12_000_00),
            Holding("600519", "贵州茅台", 150, 22_500_00),
            Holding("300750", "宁德时代", 10, 2_000_00),
        ),
        changes=(
            HoldingChange("000001", "平安银行", -200),  # sold entirely
            HoldingChange("300750", "宁德时代", 10),  # new
            HoldingChange("600519", "贵州茅台", 50),  # bought more; 601318 unchanged
        ),
    )


async def test_snapshot_has_no_changes_without_the_month_just_before(
    database: Database,
) -> None:
    client_id = await client_with_pin(database)
    await add_month(database, client_id, dt.date(2025, 12, 1), 1, [position("600519", "茅台", 1)])
    await add_month(database, client_id, dt.date(2026, 2, 1), 2, [position("600519", "茅台", 5)])

    snapshot = await ivr.account_snapshot(database, client_id)

    assert snapshot is not None
    assert (snapshot.period, snapshot.changes) == (dt.date(2026, 2, 1), ())


async def test_snapshot_of_a_client_without_summaries_is_none(database: Database) -> None:
    client_id = await client_with_pin(database)
    assert await ivr.account_snapshot(database, client_id) is None


def test_two_lots_of_one_symbol_are_one_holding_when_comparing() -> None:
    before = [Holding("600519", "茅台", 100, 0), Holding("600519", "茅台", 50, 0)]
    after = [Holding("600519", "茅台", 120, 0)]
    assert ivr.holding_changes(before, after) == (HoldingChange("600519", "茅台", -30),)


# --- callbacks and voice messages -----------------------------------------------------------


async def test_a_callback_request_is_filed_open(database: Database) -> None:
    client_id = await client_with_pin(database)
    interaction_id = await add_interaction(database, client_id)

    request_id = await ivr.file_callback(
        database,
        number="+8613800138000",
        language="en",
        client_id=client_id,
        interaction_id=interaction_id,
    )

    async with database.read() as session:
        row = await session.get_one(CallbackRequest, request_id)
        session.expunge(row)  # keep its values past the read's rollback
    assert (
        row.number,
        row.language,
        row.client_id,
        row.interaction_id,
        row.status,
        row.version,
    ) == ("+8613800138000", "en", client_id, interaction_id, CallbackStatus.OPEN, 1)
    assert abs(row.requested_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


async def test_a_callback_number_too_long_for_a_phone_is_refused(database: Database) -> None:
    with pytest.raises(InvalidInput):
        await ivr.file_callback(
            database, number="1" * 33, language="zh", client_id=None, interaction_id=None
        )


async def test_a_voice_message_from_an_unknown_caller_is_filed_open(database: Database) -> None:
    message_id = await ivr.file_voice_message(
        database,
        recording_ref="ivr-messages/1764000000.42.wav",
        client_id=None,
        interaction_id=None,
        caller_number=CALLER,
    )

    async with database.read() as session:
        row = await session.get_one(VoiceMessage, message_id)
        session.expunge(row)  # keep its values past the read's rollback
    assert (row.recording_ref, row.client_id, row.caller_number, row.status, row.version) == (
        "ivr-messages/1764000000.42.wav",
        None,
        CALLER,
        VoiceMessageStatus.OPEN,
        1,
    )


# --- migration 0004 over data ----------------------------------------------------------------


async def test_migration_0004_goes_down_and_up_again_keeping_clients(
    database_url: str, database: Database
) -> None:
    client_id = await client_with_pin(database)
    await set_columns(database, client_id, pin_failures=2)
    await database.dispose()
    try:
        # On SQLite a rebuild of the clients table would have cascaded to its phones.
        await migrate.downgrade_async(database_url, "0003")
    finally:
        await migrate.upgrade_async(database_url)

    async with database.read() as session:
        client = await session.get_one(Client, client_id)
        phones = (await session.scalars(select(ClientPhone.e164))).all()
        assert (client.account_no, client.pin_failures, client.pin_locked_at) == (
            ACCOUNT,
            0,
            None,
        )
    assert phones == [PHONE]


async def test_a_call_the_ivr_queues_again_into_another_queue_is_recorded_in_that_queue(
    database: Database,
) -> None:
    """A queue overflowed back to the caller's flow, and the flow queued the call again,
    elsewhere: the record's queue is the new one (the report counts the call there, as the
    wallboard does)."""
    backend = SqlIvrBackend(database, pin_max_failures=5)
    at = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
    start = CallStart("1765000000.1", None, "+8613800138000", "95555", "hotline", at)
    interaction_id = await backend.start_call(start)
    assert interaction_id is not None
    first = Outcome(kind=OutcomeKind.QUEUED, path=(Step("main_menu", ("1",)),), queue="general")
    await backend.finish_ivr(interaction_id, first, at=at, call_ended=False)
    again = Outcome(
        kind=OutcomeKind.QUEUED,
        path=(*first.path, Step("overflow:general", ("max_wait",)), Step("full_menu", ("2",))),
        queue="complaints",
    )
    await backend.finish_resumed(
        interaction_id, again, at=at + dt.timedelta(minutes=5), call_ended=False
    )
    async with database.read() as session:
        row = await session.get(Interaction, interaction_id)
        assert row is not None
        queue, path = row.queue, list(row.ivr_path)
    assert queue == "complaints"
    assert path[-1] == "full_menu=2"
