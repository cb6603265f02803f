"""Logging in over HTTP, as a script or the desktop does, for tests and benchmarks that drive
the running service: demo users (seeded with ``demo_password=DEMO_PASSWORD``) get a session
and the request headers that carry its token. The demo's supervisors, compliance and admin
(seeded with ``demo_mfa=secret_box_for_tests()``) pass the second factor with the demo secret's
code, as a person reading ``callcenter users totp-code`` would."""

from __future__ import annotations

import asyncio
import time
import weakref

import httpx

from callcenter import totp
from callcenter.persistence.mfa import DEMO_TOTP_SECRET
from callcenter.secretbox import SecretBox, key_from_text
from callcenter.settings import Settings

# The seed's default demo password (CALLCENTER_DEMO_PASSWORD): demo data only.
DEMO_PASSWORD = Settings.model_fields["demo_password"].default.get_secret_value()

# The secret key of the services the integration and browser tests run (their settings'
# secret_key), under which the seed seals the demo's TOTP secret. Tests only.
TEST_SECRET_KEY = "integration-tests-only-secret-key-0123456789"


def secret_box_for_tests() -> SecretBox:
    return SecretBox(key_from_text(TEST_SECRET_KEY))


def demo_codes() -> list[str]:
    """The demo secret's code now and the next one: each code opens one login, and the
    window accepts the next step's code, so one user can log in twice in a 30-s step."""
    now = time.time()
    return [totp.code_at(DEMO_TOTP_SECRET, now), totp.code_at(DEMO_TOTP_SECRET, now + 30)]


# Sessions of MFA users that log_in opened, per client: a code opens one login, so a test
# that logs the same manager in again and again within one 30-s step reuses their session.
_MFA_SESSIONS: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[str, dict[str, str]]] = (
    weakref.WeakKeyDictionary()
)


async def next_step() -> None:
    """Wait for the next TOTP step (at most 30 s): its codes are new."""
    await asyncio.sleep(totp.STEP_SECONDS - time.time() % totp.STEP_SECONDS + 0.1)


async def _second_factor(http: httpx.AsyncClient, step: str) -> httpx.Response:
    """The demo secret's code for the MFA step; when this step's codes are used up, the next
    step's, after waiting for it (at most one step: 30 s)."""
    for attempt in range(2):
        for code in demo_codes():
            response = await http.post("/api/auth/mfa", json={"mfa_token": step, "code": code})
            if response.status_code == 200 or attempt:
                return response
        await next_step()
    return response


async def log_in(
    http: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD
) -> dict[str, str]:
    """Log ``username`` in with ``POST /api/auth/login``; the headers of their session
    (``Authorization: Bearer <token>``: no cookie, so no Origin needed on changes). A user
    with a second factor passes it with the demo secret's code; logged in again on the same
    client, they get their live session back (a code opens one login only)."""
    known = _MFA_SESSIONS.get(http, {}).get(username)
    if known is not None and (await http.get("/api/auth/me", headers=known)).status_code == 200:
        return known
    response = await http.post("/api/auth/login", json={"username": username, "password": password})
    mfa = response.status_code == 200 and response.json().get("step") == "mfa"
    if mfa:
        response = await _second_factor(http, response.json()["mfa_token"])
    if response.status_code != 200 or response.json().get("mfa_enrolment_required"):
        raise AssertionError(f"login as {username} failed: {response.status_code} {response.text}")
    http.cookies.delete("cc_session")  # the bearer header alone names the session
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    if mfa:
        _MFA_SESSIONS.setdefault(http, {})[username] = headers
    return headers
