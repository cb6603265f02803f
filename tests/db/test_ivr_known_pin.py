"""The PIN of a caller identified by their number (issue 15): checked, counted and locked on
that client's account exactly as when the caller types the account number, on SQLite and
PostgreSQL."""

from __future__ import annotations

from callcenter.crm.vocabulary import PinAttemptResult, RiskProfile, Tier
from callcenter.ivr.commands import AuthFailed, AuthLocked, AuthOk, ClientFacts
from callcenter.persistence import ivr
from callcenter.persistence.db import Database
from callcenter.persistence.ivr_backend import SqlIvrBackend
from tests.db.test_ivr_store import (
    ACCOUNT,
    CALLER,
    PIN,
    WRONG,
    attempts,
    client_with_pin,
    pin_state,
    try_pin,
)
from tests.support.crm_data import add_interaction


async def test_the_pin_of_an_identified_client_is_checked_on_their_account(
    database: Database,
) -> None:
    client_id = await client_with_pin(database)
    interaction_id = await add_interaction(database, None)
    backend = SqlIvrBackend(database, pin_max_failures=3)

    outcome = await backend.authenticate_known(
        client_id, PIN, interaction_id=interaction_id, caller_number=CALLER
    )

    assert outcome == AuthOk(ClientFacts(client_id, Tier.GOLD, RiskProfile.BALANCED))
    [attempt] = await attempts(database)
    assert (
        attempt["account_no"],
        attempt["client_id"],
        attempt["interaction_id"],
        attempt["caller_number"],
        attempt["result"],
    ) == (ACCOUNT, client_id, interaction_id, CALLER, PinAttemptResult.OK)


async def test_wrong_pins_by_number_and_by_account_count_together_and_lock(
    database: Database,
) -> None:
    client_id = await client_with_pin(database)

    async def by_number(pin: str) -> ivr.AuthResult:
        return await ivr.authenticate_client(
            database, client_id, pin, max_failures=3, interaction_id=None, caller_number=CALLER
        )

    assert await by_number(WRONG) == AuthFailed()
    assert await try_pin(database, WRONG) == AuthFailed()  # the same account, typed
    assert await by_number(WRONG) == AuthLocked()
    failures, locked_at = await pin_state(database, client_id)
    assert (failures, locked_at is not None) == (3, True)
    # Locked: the right PIN does not get in by either way.
    assert await by_number(PIN) == AuthLocked()
    assert await try_pin(database, PIN) == AuthLocked()
    assert [a["result"] for a in await attempts(database)] == [
        PinAttemptResult.FAILED,
        PinAttemptResult.FAILED,
        PinAttemptResult.FAILED,
        PinAttemptResult.LOCKED,
        PinAttemptResult.LOCKED,
    ]
    assert all(PIN not in str(a) and WRONG not in str(a) for a in await attempts(database))


async def test_a_client_not_on_file_fails_without_an_attempt_row(database: Database) -> None:
    client_id = await client_with_pin(database)

    outcome = await ivr.authenticate_client(
        database, client_id + 1000, PIN, max_failures=3, interaction_id=None, caller_number=None
    )

    assert outcome == AuthFailed()
    assert await attempts(database) == []
