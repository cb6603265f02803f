"""Logins over HTTP: sessions by cookie or bearer token, their ends (absolute, idle, revoked),
the rate limit, the Origin check on cookie changes, and what reaches logs and the database."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from callcenter import passwords
from callcenter.api.deps import get_clock
from callcenter.app import create_app
from callcenter.crm.vocabulary import Role
from callcenter.persistence import sessions
from callcenter.persistence.tables import AuditEntry, LoginAttempt, User, UserSession
from tests.api.conftest import Api, FakeClock, bearer

PASSWORD = "correct horse battery"
ORIGIN = {"Origin": "http://127.0.0.1:8080"}


async def give_password(api: Api, role: Role, password: str = PASSWORD) -> str:
    user = api.users[role]
    async with api.db.write() as session:
        await sessions.set_password_hash(
            session, user.id, await passwords.hash_password_async(password)
        )
    return user.username


async def log_in(api: Api, username: str, password: str = PASSWORD, **kw: Any) -> httpx.Response:
    return await api.http.post(
        "/api/auth/login", json={"username": username, "password": password}, **kw
    )


async def audit(api: Api, action: str) -> list[AuditEntry]:
    async with api.db.read() as session:
        rows = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        session.expunge_all()  # keep them loaded past read()'s rollback
        return rows


# --- logging in ------------------------------------------------------------------------------


async def test_a_login_returns_the_user_and_a_token_and_sets_a_strict_httponly_cookie(
    api: Api, clock: FakeClock
) -> None:
    username = await give_password(api, Role.AGENT)
    response = await log_in(api, username)
    assert response.status_code == 200, response.text
    body = response.json()
    agent = api.users[Role.AGENT]
    assert body["user"] == {
        "id": agent.id,
        "username": username,
        "display_name": agent.display_name,
        "role": "agent",
        "extension": agent.extension,
        "branch_id": api.branch.id,
    }
    assert dt.datetime.fromisoformat(body["expires_at"]) == clock.now + dt.timedelta(hours=12)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"cc_session={body['token']};")
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/", "max-age=43200"} <= attributes
    assert "secure" not in attributes  # plain HTTP on loopback unless configured
    me = await api.http.get("/api/auth/me")  # the cookie alone
    assert (me.status_code, me.json()["username"]) == (200, username)
    api.http.cookies.clear()
    me = await api.http.get("/api/auth/me", headers=bearer(body["token"]))  # the token alone
    assert (me.status_code, me.json()["id"]) == (200, agent.id)
    [entry] = await audit(api, "auth.login")
    assert entry.actor_id == agent.id
    assert entry.detail["session_id"] > 0


async def test_the_cookie_is_secure_when_configured(api: Api) -> None:
    settings = api.app.state.runtime.settings
    api.app.state.runtime.settings = settings.model_copy(update={"session_cookie_secure": True})
    response = await log_in(api, await give_password(api, Role.ADVISOR))
    assert response.status_code == 200
    assert "secure" in {p.strip().lower() for p in response.headers["set-cookie"].split(";")}


async def test_the_password_is_stored_as_an_argon2id_hash_and_the_token_only_as_its_sha256(
    api: Api,
) -> None:
    username = await give_password(api, Role.AGENT)
    token = (await log_in(api, username)).json()["token"]
    async with api.db.read() as session:
        stored = await session.scalar(select(User.password_hash).where(User.username == username))
        rows = list(await session.scalars(select(UserSession)))
        session.expunge_all()
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)
    mine = [row for row in rows if row.token_hash == sessions.token_hash(token)]
    assert len(mine) == 1
    assert all(token not in (row.token_hash, row.client_address) for row in rows)


async def test_a_wrong_password_an_unknown_user_and_an_inactive_user_get_the_same_401(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    username = await give_password(api, Role.AGENT)
    inactive = await give_password(api, Role.ADVISOR)
    async with api.db.write() as session:
        await session.execute(update(User).where(User.username == inactive).values(active=False))
    checked: list[str] = []

    class SpyHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            checked.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", SpyHasher())
    wrong = await log_in(api, username, "not the password")
    unknown = await log_in(api, "nobody-by-this-name")
    not_active = await log_in(api, inactive)  # the right password
    for response in (wrong, unknown, not_active):
        assert response.status_code == 401
        assert response.json() == {
            "error": "bad-credentials",
            "message": "wrong username or password",
            "detail": {},
        }
        assert "set-cookie" not in response.headers
    # The same work each time: a real hash for the wrong password, the dummy for the others.
    assert checked[0] != passwords.DUMMY_HASH
    assert checked[1:] == [passwords.DUMMY_HASH, passwords.DUMMY_HASH]
    failures = await audit(api, "auth.login_failed")
    assert [entry.detail for entry in failures] == [
        {"username": username},
        {"username": "nobody-by-this-name"},
        {"username": inactive},
    ]
    assert all(entry.actor_id is None for entry in failures)


async def test_a_hash_made_with_weaker_parameters_is_replaced_at_login(api: Api) -> None:
    user = api.users[Role.SUPERVISOR]
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with api.db.write() as session:
        await sessions.set_password_hash(session, user.id, weak)
    assert (await log_in(api, user.username)).status_code == 200
    async with api.db.read() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored != weak
    assert stored is not None
    assert not passwords.HASHER.check_needs_rehash(stored)
    assert passwords.HASHER.verify(stored, PASSWORD)


async def test_a_bad_login_body_is_422_without_echoing_the_password(api: Api) -> None:
    bodies = [
        {"password": "echo-me-not-1"},  # no username
        {"username": "x", "password": "echo-me-not-2", "remember": True},  # an unknown field
        {"username": "x", "password": "echo-me-not-3" * 30},  # too long
    ]
    for body in bodies:
        response = await api.http.post("/api/auth/login", json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "body"  # the field is named
        assert "echo-me-not" not in response.text


# --- the rate limit --------------------------------------------------------------------------


def from_address(api: Api, host: str) -> httpx.AsyncClient:
    """A client of the same app from another address (a cookie jar of its own)."""
    transport = httpx.ASGITransport(app=api.app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_repeated_failures_from_one_place_wait_longer_each_time_not_a_lockout(
    api: Api, clock: FakeClock
) -> None:
    username = await give_password(api, Role.AGENT)
    for _ in range(5):  # five free failures for one account from one address
        assert (await log_in(api, username, "guess")).status_code == 401
    waits = []
    for _ in range(5):
        held = await log_in(api, username)  # even the right password waits its turn
        assert held.status_code == 429
        assert held.json()["error"] == "too-many-logins"
        wait = int(held.headers["retry-after"])
        assert held.json()["detail"] == {"retry_after_seconds": wait}
        waits.append(wait)
        clock.advance(seconds=wait)
        assert (await log_in(api, username, "guess")).status_code == 401
    assert waits == [1, 2, 4, 8, 16]  # doubling
    blocked = await audit(api, "auth.login_blocked")
    assert [e.detail for e in blocked[:1]] == [{"username": username, "address": "127.0.0.1"}]
    # Other users from elsewhere are not affected by one account's guesser.
    async with from_address(api, "192.0.2.8") as other:
        ok = await other.post(
            "/api/auth/login",
            json={"username": await give_password(api, Role.ADVISOR), "password": PASSWORD},
        )
    assert ok.status_code == 200
    clock.advance(seconds=32)  # the wait has passed: the right password gets in
    assert (await log_in(api, username)).status_code == 200


async def test_the_waits_are_capped_at_fifteen_minutes(api: Api, clock: FakeClock) -> None:
    username = await give_password(api, Role.AGENT)
    for _ in range(5):
        await log_in(api, username, "guess")
    last = 0
    for _ in range(12):
        held = await log_in(api, username, "guess")
        last = int(held.headers["retry-after"])
        clock.advance(seconds=last)
        assert (await log_in(api, username, "guess")).status_code == 401
    assert last == 900


async def test_a_success_clears_the_usernames_failures(api: Api, clock: FakeClock) -> None:
    username = await give_password(api, Role.AGENT)
    for _ in range(4):
        assert (await log_in(api, username, "typo")).status_code == 401
    assert (await log_in(api, username)).status_code == 200
    for _ in range(4):
        assert (await log_in(api, username, "typo again")).status_code == 401
    assert (await log_in(api, username)).status_code == 200


async def test_twenty_failures_from_one_address_slow_every_username_from_it(
    api: Api, clock: FakeClock
) -> None:
    username = await give_password(api, Role.SUPERVISOR)
    for n in range(20):  # spraying: one guess per account
        assert (await log_in(api, f"guess-{n}", "guess")).status_code == 401
    held = await log_in(api, username)
    assert held.status_code == 429
    assert int(held.headers["retry-after"]) == 1
    # Another address is not held back.
    async with from_address(api, "192.0.2.7") as other:
        response = await other.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
    assert response.status_code == 200
    clock.advance(seconds=1)
    assert (await log_in(api, "guess-20", "guess")).status_code == 401
    assert int((await log_in(api, username)).headers["retry-after"]) == 2  # growing
    clock.advance(hours=1)  # the failures have left the window
    assert (await log_in(api, username)).status_code == 200


async def test_a_strangers_failures_elsewhere_never_keep_the_user_out_of_their_known_device(
    api: Api, clock: FakeClock
) -> None:
    username = await give_password(api, Role.AGENT)
    # The user logged in from their desk before: the device cookie is in this client's jar.
    assert (await log_in(api, username)).status_code == 200
    assert "cc_device" in api.http.cookies
    # A stranger: 50 failures, one from each of 50 addresses (no per-address wait applies).
    for n in range(50):
        async with from_address(api, f"198.51.100.{n + 1}") as stranger:
            response = await stranger.post(
                "/api/auth/login", json={"username": username, "password": f"guess-{n}"}
            )
            assert response.status_code in (401, 429)
    # And 50 more tries from one address of their own, mostly held back.
    async with from_address(api, "203.0.113.9") as stranger:
        for n in range(50):
            response = await stranger.post(
                "/api/auth/login", json={"username": username, "password": f"again-{n}"}
            )
        assert response.status_code == 429
    # A device that never logged in to this account waits: the account-wide back-off holds.
    async with from_address(api, "192.0.2.50") as new_device:
        fresh = await new_device.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
    assert fresh.status_code == 429
    # The user's own desk (its cookie, and an address they logged in from) is not held back.
    assert (await log_in(api, username)).status_code == 200
    # Nor is the user's laptop elsewhere that carries the device cookie.
    async with from_address(api, "192.0.2.51") as laptop:
        laptop.cookies.set("cc_device", api.http.cookies["cc_device"], path="/api/auth")
        moved = await laptop.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
    assert moved.status_code == 200


async def test_a_device_cookie_of_another_user_or_forged_does_not_count(
    api: Api, clock: FakeClock
) -> None:
    agent = await give_password(api, Role.AGENT)
    advisor = await give_password(api, Role.ADVISOR)
    assert (await log_in(api, advisor)).status_code == 200
    advisors_device = api.http.cookies["cc_device"]
    for n in range(12):
        async with from_address(api, f"198.51.100.{n + 1}") as stranger:
            await stranger.post("/api/auth/login", json={"username": agent, "password": "x" * 10})
    for cookie in (advisors_device, advisors_device[:-4] + "AAAA"):
        async with from_address(api, "192.0.2.60") as device:
            device.cookies.set("cc_device", cookie, path="/api/auth")
            response = await device.post(
                "/api/auth/login", json={"username": agent, "password": PASSWORD}
            )
        assert response.status_code == 429


async def test_the_rate_limit_is_kept_in_the_database_without_the_password(
    api: Api, clock: FakeClock
) -> None:
    username = await give_password(api, Role.AGENT)
    for _ in range(5):
        await log_in(api, username, "secret-guess-123")
    # A new app (a restart, another worker) on the same database still refuses.
    other = create_app(api.app.state.runtime.settings, call_handler=None)
    other.dependency_overrides[get_clock] = lambda: clock
    async with (
        other.router.lifespan_context(other),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://test") as http,
    ):
        response = await http.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
    assert response.status_code == 429
    async with api.db.read() as session:
        attempts = list(await session.scalars(select(LoginAttempt)))
        session.expunge_all()
    assert [(a.username, a.address, a.ok) for a in attempts] == [(username, "127.0.0.1", False)] * 5


# --- sessions end --------------------------------------------------------------------------------


async def logged_in_token(api: Api, role: Role = Role.AGENT) -> str:
    response = await log_in(api, await give_password(api, role))
    assert response.status_code == 200
    api.http.cookies.clear()
    token: str = response.json()["token"]
    return token


async def test_a_session_ends_after_its_absolute_lifetime(api: Api, clock: FakeClock) -> None:
    token = await logged_in_token(api)
    for _ in range(23):  # busy all shift: never idle
        clock.advance(minutes=30)
        assert (await api.http.get("/api/auth/me", headers=bearer(token))).status_code == 200
    clock.advance(minutes=30)  # 12 hours
    response = await api.http.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["error"] == "not-authenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_session_ends_after_an_hour_without_requests(api: Api, clock: FakeClock) -> None:
    token = await logged_in_token(api)
    clock.advance(minutes=59)
    assert (await api.http.get("/api/auth/me", headers=bearer(token))).status_code == 200
    clock.advance(minutes=59)  # the request above counted as activity
    assert (await api.http.get("/api/auth/me", headers=bearer(token))).status_code == 200
    clock.advance(minutes=60)
    idle = await api.http.get("/api/auth/me", headers=bearer(token))
    assert (idle.status_code, idle.json()["error"]) == (401, "not-authenticated")
    assert "log in again" in idle.json()["message"]


async def test_last_seen_is_written_at_most_once_a_minute(api: Api, clock: FakeClock) -> None:
    token = await logged_in_token(api)
    login_time = clock.now

    async def last_seen() -> dt.datetime:
        async with api.db.read() as session:
            seen = await session.scalar(
                select(UserSession.last_seen_at).where(
                    UserSession.token_hash == sessions.token_hash(token)
                )
            )
        assert seen is not None
        return seen

    clock.advance(seconds=30)
    await api.http.get("/api/auth/me", headers=bearer(token))
    assert await last_seen() == login_time
    clock.advance(seconds=31)
    await api.http.get("/api/auth/me", headers=bearer(token))
    assert await last_seen() == clock.now


async def test_a_deactivated_users_session_ends(api: Api) -> None:
    token = await logged_in_token(api)
    async with api.db.write() as session:
        await session.execute(
            update(User).where(User.id == api.users[Role.AGENT].id).values(active=False)
        )
    assert (await api.http.get("/api/auth/me", headers=bearer(token))).status_code == 401


async def test_logout_revokes_the_session_and_clears_the_cookie(api: Api) -> None:
    username = await give_password(api, Role.ADVISOR)
    token = (await log_in(api, username)).json()["token"]
    response = await api.http.post("/api/auth/logout", headers=ORIGIN)  # with the cookie
    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    assert cookie.startswith('cc_session="";') or cookie.startswith("cc_session=;")
    assert "max-age=0" in cookie.lower()
    for headers in ({"Cookie": f"cc_session={token}"}, bearer(token)):
        api.http.cookies.clear()
        again = await api.http.get("/api/auth/me", headers=headers)
        assert again.status_code == 401, headers
    [entry] = await audit(api, "auth.logout")
    assert entry.actor_id == api.users[Role.ADVISOR].id
    async with api.db.read() as session:
        revoked = await session.scalar(
            select(UserSession.revoked_at).where(
                UserSession.token_hash == sessions.token_hash(token)
            )
        )
    assert revoked is not None


async def test_logging_out_one_session_keeps_the_users_other_sessions(api: Api) -> None:
    first = await logged_in_token(api)
    second = await logged_in_token(api)
    assert (await api.http.post("/api/auth/logout", headers=bearer(first))).status_code == 204
    assert (await api.http.get("/api/auth/me", headers=bearer(first))).status_code == 401
    assert (await api.http.get("/api/auth/me", headers=bearer(second))).status_code == 200


async def test_an_authorization_header_that_is_not_bearer_is_refused(api: Api) -> None:
    token = api.tokens[Role.AGENT]
    for value in (f"Basic {token}", "Bearer", "Bearer  ", token):
        response = await api.http.get("/api/auth/me", headers={"Authorization": value})
        assert (response.status_code, response.json()["error"]) == (401, "not-authenticated")


# --- cross-site request forgery ------------------------------------------------------------------


async def test_a_cookie_change_needs_an_allowed_origin(api: Api) -> None:
    await log_in(api, await give_password(api, Role.AGENT))  # the client keeps the cookie
    path = "/api/agents/me/login"
    for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        refused = await api.http.post(path, headers=headers)
        assert (refused.status_code, refused.json()["error"]) == (403, "bad-origin"), headers
    # Reads need no Origin; a change from our own page goes through.
    assert (await api.http.get("/api/auth/me")).status_code == 200
    accepted = await api.http.post(path, headers={"Origin": "http://localhost:8080/"})
    assert accepted.status_code == 200, accepted.text


async def test_a_bearer_change_needs_no_origin(api: Api) -> None:
    response = await api.http.post("/api/agents/me/login", headers=api.as_(Role.AGENT))
    assert response.status_code == 200, response.text


async def test_the_allowed_origins_are_configurable(api: Api) -> None:
    settings = api.app.state.runtime.settings
    api.app.state.runtime.settings = settings.model_copy(
        update={"allowed_origins": ["https://cc.example.com"]}
    )
    await log_in(api, await give_password(api, Role.AGENT))
    path = "/api/agents/me/login"
    assert (await api.http.post(path, headers=ORIGIN)).status_code == 403
    ok = await api.http.post(path, headers={"Origin": "https://CC.example.com"})
    assert ok.status_code == 200


async def test_a_login_from_another_sites_page_is_refused(api: Api) -> None:
    username = await give_password(api, Role.AGENT)
    response = await log_in(api, username, headers={"Origin": "https://evil.example"})
    assert (response.status_code, response.json()["error"]) == (403, "bad-origin")
    assert (await log_in(api, username, headers=ORIGIN)).status_code == 200


# --- secrets stay out of logs ----------------------------------------------------------------


async def test_no_password_or_token_reaches_a_log(
    api: Api, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy logs statements and their parameters at INFO: what the database sees.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    username = await give_password(api, Role.AGENT)
    await log_in(api, username, "wrong-password-xyz")
    response = await log_in(api, username)
    token = response.json()["token"]
    await api.http.get("/api/auth/me", headers=bearer(token))
    clock.advance(minutes=2)
    await api.http.post("/api/auth/logout", headers=bearer(token))
    await api.http.get("/api/auth/me", headers=bearer(token))  # refused
    assert "auth.login" in caplog.text  # the SQL log is on: the audit insert is there
    assert "logged in" in caplog.text
    for secret in (PASSWORD, "wrong-password-xyz", token):
        assert secret not in caplog.text
    async with api.db.read() as session:
        details = [str(e.detail) for e in await session.scalars(select(AuditEntry))]
    assert details
    assert not any(s in d for d in details for s in (PASSWORD, "wrong-password-xyz", token))


# --- the client's address behind a proxy -------------------------------------------------------


async def _login_via(api: Api, trusted: list[str], peer: str, **headers: str) -> httpx.Response:
    settings = api.app.state.runtime.settings.model_copy(update={"trusted_proxies": trusted})
    app = create_app(settings, call_handler=None)
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        return await http.post(
            "/api/auth/login",
            json={"username": api.users[Role.AGENT].username, "password": PASSWORD},
            headers=headers,
        )


async def _recorded_addresses(api: Api) -> tuple[list[str | None], list[str | None], list[Any]]:
    """The addresses of the login attempts, of the sessions the logins opened, and in the
    logins' audit entries."""
    async with api.db.read() as session:
        attempts = list(await session.scalars(select(LoginAttempt.address)))
        entries = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login"))
        )
        logins = [e.detail["address"] for e in entries]
        opened = [
            (await session.get(UserSession, e.detail["session_id"])).client_address  # type: ignore[union-attr]
            for e in entries
        ]
    return attempts, opened, logins


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(api: Api) -> None:
    await give_password(api, Role.AGENT)
    spoofed = {"X-Forwarded-For": "203.0.113.77", "Forwarded": "for=203.0.113.78"}
    assert (await _login_via(api, [], "198.51.100.4", **spoofed)).status_code == 200
    assert (await _login_via(api, ["10.0.0.0/8"], "198.51.100.5", **spoofed)).status_code == 200
    attempts, opened, logins = await _recorded_addresses(api)
    assert attempts == opened == logins == ["198.51.100.4", "198.51.100.5"]


async def test_behind_a_trusted_proxy_the_forwarded_client_is_throttled_and_recorded(
    api: Api,
) -> None:
    await give_password(api, Role.AGENT)
    # The client wrote a first hop of its own; the proxy appended the real address.
    via = {"X-Forwarded-For": "1.2.3.4, 203.0.113.20"}
    assert (await _login_via(api, ["10.0.0.5"], "10.0.0.5", **via)).status_code == 200
    attempts, opened, logins = await _recorded_addresses(api)
    assert attempts == opened == logins == ["203.0.113.20"]
