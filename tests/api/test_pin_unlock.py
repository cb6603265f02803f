"""POST /api/clients/{id}/pin-unlock: staff lift a telephone-PIN lockout, audited. Who may call
it is in tests/api/test_roles.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from callcenter.crm.pins import hash_pin
from callcenter.crm.vocabulary import Role
from callcenter.ivr.commands import AuthLocked, AuthOk
from callcenter.persistence import ivr
from callcenter.persistence.tables import AuditEntry, Client
from tests.api.conftest import Api
from tests.support.crm_data import add_call_in_hand, add_client

PIN = "917364"
ACCOUNT = "1001000001"


async def locked_client(api: Api) -> int:
    """A client locked out by three wrong PINs (a token work factor keeps the hash quick)."""
    client_id = await add_client(api.db, api.branch.id, account_no=ACCOUNT)
    async with api.db.write() as session:
        await session.execute(
            update(Client)
            .where(Client.id == client_id)
            .values(pin_hash=hash_pin(PIN, iterations=1_000))
        )
    for _ in range(3):
        await authenticate(api, "000000")
    return client_id


async def authenticate(api: Api, pin: str) -> ivr.AuthResult:
    return await ivr.authenticate(
        api.db, ACCOUNT, pin, max_failures=3, interaction_id=None, caller_number=None
    )


async def pin_state(api: Api, client_id: int) -> tuple[int, dt.datetime | None]:
    async with api.db.read() as session:
        client = await session.get_one(Client, client_id)
        return client.pin_failures, client.pin_locked_at


async def test_an_agent_unlocks_a_locked_client_and_the_pin_works_again(api: Api) -> None:
    client_id = await locked_client(api)
    # The locked-out client calls; the agent taking the call unlocks their phone PIN.
    interaction_id = await add_call_in_hand(api.db, client_id, api.users[Role.AGENT].id)
    assert await authenticate(api, PIN) == AuthLocked()

    response = await api.http.post(
        f"/api/clients/{client_id}/pin-unlock?interaction_id={interaction_id}",
        headers=api.as_(Role.AGENT),
    )

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await pin_state(api, client_id) == (0, None)
    assert isinstance(await authenticate(api, PIN), AuthOk)
    async with api.db.read() as session:
        entries = (await session.execute(select(AuditEntry.__table__))).mappings().all()
        audited = [
            (e["action"], e["actor_id"], e["client_id"], e["interaction_id"]) for e in entries
        ]
        details = [e["detail"] for e in entries]
    assert audited == [("client.pin_unlock", api.users[Role.AGENT].id, client_id, interaction_id)]
    assert details == [{"was_locked": True, "failures": 3}]


async def test_unlocking_an_unknown_client_is_404(api: Api) -> None:
    response = await api.http.post("/api/clients/4242/pin-unlock", headers=api.as_(Role.ADVISOR))

    assert response.status_code == 404, response.text
    assert response.json()["error"] == "client-not-found"


async def test_unlocking_for_an_unknown_call_is_422_and_changes_nothing(api: Api) -> None:
    client_id = await locked_client(api)

    response = await api.http.post(
        f"/api/clients/{client_id}/pin-unlock?interaction_id=4242",
        headers=api.as_(Role.SUPERVISOR),
    )

    assert response.status_code == 422, response.text
    failures, locked_at = await pin_state(api, client_id)
    assert (failures, locked_at is not None) == (3, True)


async def test_an_admin_may_not_unlock(api: Api) -> None:
    client_id = await locked_client(api)

    response = await api.http.post(
        f"/api/clients/{client_id}/pin-unlock", headers=api.as_(Role.ADMIN)
    )

    assert response.status_code == 403, response.text
    assert (await pin_state(api, client_id))[1] is not None
