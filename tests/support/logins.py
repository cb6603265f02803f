"""Logging in over HTTP, as a script or the desktop does, for tests and benchmarks that drive
the running service: demo users (seeded with ``demo_password=DEMO_PASSWORD``) get a session
and the request headers that carry its token."""

from __future__ import annotations

import httpx

from callcenter.settings import Settings

# The seed's default demo password (CALLCENTER_DEMO_PASSWORD): demo data only.
DEMO_PASSWORD = Settings.model_fields["demo_password"].default.get_secret_value()


async def log_in(
    http: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD
) -> dict[str, str]:
    """Log ``username`` in with ``POST /api/auth/login``; the headers of their session
    (``Authorization: Bearer <token>``: no cookie, so no Origin needed on changes)."""
    response = await http.post("/api/auth/login", json={"username": username, "password": password})
    if response.status_code != 200:
        raise AssertionError(f"login as {username} failed: {response.status_code} {response.text}")
    http.cookies.delete("cc_session")  # the bearer header alone names the session
    return {"Authorization": f"Bearer {response.json()['token']}"}
