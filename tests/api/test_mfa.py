"""Multi-factor login (issue 15, point 5): TOTP enrolment with recovery codes, the login's
second step, sessions bound to it for the roles that require it (REST and the websocket),
the admin's reset, and what never reaches the database in clear or a log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from callcenter import passwords, totp
from callcenter.crm.vocabulary import Role
from callcenter.persistence import sessions
from callcenter.persistence.db import Database
from callcenter.persistence.mfa import reset_mfa_by_username
from callcenter.persistence.tables import AuditEntry, MfaRecoveryCode, UserMfa, UserSession
from tests.api.conftest import Api, FakeClock, bearer, open_test_session
from tests.support.cti_desk import Desk, open_desk

PASSWORD = "correct horse battery"
FLOOR = "/api/supervision/floor"


async def give_password(api: Api, role: Role) -> str:
    user = api.users[role]
    async with api.db.write() as session:
        await sessions.set_password_hash(
            session, user.id, await passwords.hash_password_async(PASSWORD)
        )
    return user.username


async def log_in(api: Api, username: str, password: str = PASSWORD) -> httpx.Response:
    return await api.http.post("/api/auth/login", json={"username": username, "password": password})


async def second_step(api: Api, mfa_token: str, code: str) -> httpx.Response:
    return await api.http.post("/api/auth/mfa", json={"mfa_token": mfa_token, "code": code})


async def enrol(api: Api, token: str, clock: FakeClock) -> tuple[str, list[str]]:
    """Enrol the session's user; their secret and recovery codes."""
    begun = await api.http.post("/api/auth/mfa/enrol", headers=bearer(token))
    assert begun.status_code == 200, begun.text
    secret = begun.json()["secret"]
    code = totp.code_at(secret, clock.now.timestamp())
    confirmed = await api.http.post(
        "/api/auth/mfa/confirm", json={"code": code}, headers=bearer(token)
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


async def audit_actions(api: Api) -> list[str]:
    async with api.db.read() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# --- the rule: sessions bound to MFA ------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN, Role.COMPLIANCE])
async def test_a_role_that_requires_mfa_without_it_may_only_enrol(api: Api, role: Role) -> None:
    token = await open_test_session(api.db, api.users[role].id, mfa_verified=False)
    refused = await api.http.get(FLOOR, headers=bearer(token))
    assert refused.status_code == 403
    assert refused.json()["error"] == "mfa-enrolment-required"
    me = await api.http.get("/api/auth/me", headers=bearer(token))
    assert me.status_code == 200
    assert {k: me.json()[k] for k in ("mfa_required", "mfa_enrolled", "mfa_verified")} == {
        "mfa_required": True,
        "mfa_enrolled": False,
        "mfa_verified": False,
    }


async def test_enrolling_makes_the_same_session_verified(api: Api, clock: FakeClock) -> None:
    token = await open_test_session(api.db, api.users[Role.SUPERVISOR].id, mfa_verified=False)
    assert (await api.http.get(FLOOR, headers=bearer(token))).status_code == 403
    _secret, codes = await enrol(api, token, clock)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert (await api.http.get(FLOOR, headers=bearer(token))).status_code == 200
    assert "auth.mfa_enrolled" in await audit_actions(api)


async def test_an_enrolled_supervisor_with_a_password_only_session_is_refused(
    api: Api, clock: FakeClock
) -> None:
    enrolling = await open_test_session(api.db, api.users[Role.SUPERVISOR].id, mfa_verified=False)
    await enrol(api, enrolling, clock)
    old = await open_test_session(api.db, api.users[Role.SUPERVISOR].id, mfa_verified=False)
    refused = await api.http.get(FLOOR, headers=bearer(old))
    assert (refused.status_code, refused.json()["error"]) == (403, "mfa-required")


async def test_an_agent_without_mfa_works_as_before(api: Api) -> None:
    token = await open_test_session(api.db, api.users[Role.AGENT].id, mfa_verified=False)
    assert (await api.http.get("/api/agents/me", headers=bearer(token))).status_code != 403


async def test_a_second_enrolment_is_refused_once_confirmed(api: Api, clock: FakeClock) -> None:
    token = await open_test_session(api.db, api.users[Role.SUPERVISOR].id, mfa_verified=False)
    await enrol(api, token, clock)
    again = await api.http.post("/api/auth/mfa/enrol", headers=bearer(token))
    assert (again.status_code, again.json()["error"]) == (409, "mfa-already-enrolled")


async def test_a_wrong_code_does_not_confirm_an_enrolment(api: Api, clock: FakeClock) -> None:
    token = await open_test_session(api.db, api.users[Role.ADMIN].id, mfa_verified=False)
    nothing = await api.http.post(
        "/api/auth/mfa/confirm", json={"code": "123456"}, headers=bearer(token)
    )
    assert (nothing.status_code, nothing.json()["error"]) == (409, "mfa-not-enrolling")
    secret = (await api.http.post("/api/auth/mfa/enrol", headers=bearer(token))).json()["secret"]
    wrong = f"{(int(totp.code_at(secret, clock.now.timestamp())) + 1) % 10**6:06d}"
    bad = await api.http.post("/api/auth/mfa/confirm", json={"code": wrong}, headers=bearer(token))
    assert (bad.status_code, bad.json()["error"]) == (422, "bad-mfa-code")
    assert (await api.http.get(FLOOR, headers=bearer(token))).status_code == 403


# --- logging in with the second factor -----------------------------------------------------


async def test_the_full_login_password_then_code_then_a_session(api: Api, clock: FakeClock) -> None:
    username = await give_password(api, Role.SUPERVISOR)
    first = await log_in(api, username)
    assert first.status_code == 200
    body = first.json()
    assert body["step"] == "session"
    assert body["mfa_enrolment_required"] is True
    limited = body["token"]
    assert (await api.http.get(FLOOR, headers=bearer(limited))).status_code == 403
    secret, _codes = await enrol(api, limited, clock)
    api.http.cookies.clear()

    clock.advance(seconds=60)
    step = await log_in(api, username)
    assert step.status_code == 200
    assert step.json()["step"] == "mfa"
    assert "token" not in step.json()
    assert "cc_session" not in step.cookies
    mfa_token = step.json()["mfa_token"]
    # The step's token is no session.
    assert (await api.http.get("/api/auth/me", headers=bearer(mfa_token))).status_code == 401
    code = totp.code_at(secret, clock.now.timestamp())
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused = await second_step(api, mfa_token, wrong)
    assert (refused.status_code, refused.json()["error"]) == (401, "bad-mfa-code")
    done = await second_step(api, mfa_token, code)
    assert done.status_code == 200, done.text
    assert done.json()["step"] == "session"
    assert done.json()["mfa_enrolment_required"] is False
    assert "cc_session" in done.cookies
    assert (await api.http.get(FLOOR, headers=bearer(done.json()["token"]))).status_code == 200
    # The same code never opens a second session.
    again = await log_in(api, username)
    replay = await second_step(api, again.json()["mfa_token"], code)
    assert (replay.status_code, replay.json()["error"]) == (401, "bad-mfa-code")
    async with api.db.read() as session:
        verified = list(await session.scalars(select(UserSession.mfa_verified_at)))
    assert sum(v is not None for v in verified) >= 2  # the enrolling session and the login
    actions = await audit_actions(api)
    assert "auth.mfa_failed" in actions
    assert actions.count("auth.password_ok") == 2


async def test_a_recovery_code_opens_one_login(api: Api, clock: FakeClock) -> None:
    username = await give_password(api, Role.COMPLIANCE)
    limited = (await log_in(api, username)).json()["token"]
    _secret, codes = await enrol(api, limited, clock)
    step = (await log_in(api, username)).json()["mfa_token"]
    done = await second_step(api, step, codes[3].upper())  # case does not matter
    assert done.status_code == 200, done.text
    step = (await log_in(api, username)).json()["mfa_token"]
    reused = await second_step(api, step, codes[3])
    assert (reused.status_code, reused.json()["error"]) == (401, "bad-mfa-code")
    async with api.db.read() as session:
        audit = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login"))
        )
        details = [a.detail for a in audit]
    assert details[-1]["method"] == "recovery"
    assert details[-1]["recovery_codes_left"] == 9


async def test_an_old_mfa_step_needs_the_password_again(api: Api, clock: FakeClock) -> None:
    username = await give_password(api, Role.ADMIN)
    secret, _ = await enrol(api, (await log_in(api, username)).json()["token"], clock)
    step = (await log_in(api, username)).json()["mfa_token"]
    clock.advance(seconds=301)
    late = await second_step(api, step, totp.code_at(secret, clock.now.timestamp()))
    assert (late.status_code, late.json()["error"]) == (401, "mfa-step-expired")
    forged = await second_step(api, step[:-3] + "abc", totp.code_at(secret, clock.now.timestamp()))
    assert (forged.status_code, forged.json()["error"]) == (401, "mfa-step-expired")


async def test_guessing_codes_is_throttled_like_passwords(api: Api, clock: FakeClock) -> None:
    username = await give_password(api, Role.SUPERVISOR)
    secret, _ = await enrol(api, (await log_in(api, username)).json()["token"], clock)
    step = (await log_in(api, username)).json()["mfa_token"]
    code = totp.code_at(secret, clock.now.timestamp())
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    statuses = [(await second_step(api, step, wrong)).status_code for _ in range(6)]
    # The password step counts until the code is right: 1 + 4 wrong codes, then a wait.
    assert statuses[:4] == [401] * 4
    assert statuses[-1] == 429
    held = await second_step(api, step, code)  # even the right code waits its turn
    assert held.status_code == 429
    assert int(held.headers["retry-after"]) >= 1


async def test_an_agent_who_enrolled_gets_the_code_step_too(api: Api, clock: FakeClock) -> None:
    username = await give_password(api, Role.AGENT)
    first = (await log_in(api, username)).json()
    assert first["step"] == "session"
    assert first["mfa_enrolment_required"] is False
    await enrol(api, first["token"], clock)
    assert (await log_in(api, username)).json()["step"] == "mfa"


# --- the admin's reset, and secrets at rest ----------------------------------------------------


async def test_reset_mfa_ends_the_sessions_and_the_next_login_enrols_again(
    api: Api, clock: FakeClock, database_url: str
) -> None:
    username = await give_password(api, Role.SUPERVISOR)
    token = (await log_in(api, username)).json()["token"]
    await enrol(api, token, clock)
    assert (await api.http.get(FLOOR, headers=bearer(token))).status_code == 200
    ended = await reset_mfa_by_username(database_url, username)
    assert ended >= 1
    assert (await api.http.get(FLOOR, headers=bearer(token))).status_code == 401
    again = (await log_in(api, username)).json()
    assert again["step"] == "session"
    assert again["mfa_enrolment_required"] is True
    async with api.db.read() as session:
        reset = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "auth.mfa_reset")
        )
        assert reset is not None
        assert reset.detail["via"] == "cli"
        assert reset.detail["had_mfa"] is True
        assert await session.scalar(select(MfaRecoveryCode.id)) is None


async def test_secrets_and_codes_are_never_stored_in_clear_or_logged(
    api: Api, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    username = await give_password(api, Role.SUPERVISOR)
    secret, codes = await enrol(api, (await log_in(api, username)).json()["token"], clock)
    clock.advance(seconds=30)  # the enrolment used this step's code
    step = (await log_in(api, username)).json()["mfa_token"]
    code = totp.code_at(secret, clock.now.timestamp())
    assert (await second_step(api, step, code)).status_code == 200
    async with api.db.read() as session:
        stored = await session.scalar(select(UserMfa.secret_sealed))
        hashes = list(await session.scalars(select(MfaRecoveryCode.code_hash)))
        details = [str(a.detail) for a in await session.scalars(select(AuditEntry))]
    assert stored is not None
    assert secret not in stored
    assert not any(c.replace("-", "") in h or c in h for c in codes for h in hashes)
    for value in (secret, code, step, *codes):
        assert value not in caplog.text
        assert not any(value in d for d in details)


# --- the websocket ---------------------------------------------------------------------------


@pytest.fixture
async def desk(database_url: str, database: Database) -> AsyncIterator[Desk]:
    async with open_desk(database_url, database) as desk:
        yield desk


async def test_the_websocket_refuses_a_supervisor_session_without_mfa(desk: Desk) -> None:
    token = await open_test_session(desk.db, desk.ids["supervisor"], mfa_verified=False)
    async with desk.socket(None, token=token) as socket:
        code, reason = await socket.closed()
    assert code == 4401
    assert "second factor" in reason
    async with desk.socket("supervisor") as socket:  # a verified session connects
        hello: dict[str, Any] = await socket.receive_json()
    assert hello["type"] == "hello"


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_may_enrol_and_confirm_a_second_factor(
    api: Api, clock: FakeClock, role: Role
) -> None:
    token = await open_test_session(api.db, api.users[role].id, mfa_verified=False)
    _secret, codes = await enrol(api, token, clock)
    assert len(codes) == 10
    me = (await api.http.get("/api/auth/me", headers=bearer(token))).json()
    assert me["mfa_enrolled"] is True
    assert me["mfa_verified"] is True
