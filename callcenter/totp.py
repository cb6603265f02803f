"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): pure functions, no IO.

The profile every authenticator app understands: HMAC-SHA-1, 6 digits, 30-second steps, the
secret as unpadded RFC 4648 base32 in an ``otpauth://totp/...`` URI. A code is accepted for
the step it names and one step either side (clock drift, a code typed as it changed), and
only once: the caller keeps the last step used (:func:`verify` returns the step it matched),
so a code seen over a shoulder or replayed from a log cannot open a second session.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

DIGITS = 6
STEP_SECONDS = 30
WINDOW = 1  # steps accepted either side of the current one
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended length for HMAC-SHA-1


def new_secret() -> str:
    """A random secret, base32 without padding (what the user types or scans)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def secret_bytes(secret: str) -> bytes:
    """The key of a base32 secret; spaces and case as authenticator apps show them."""
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def hotp(key: bytes, counter: int, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226: the code for ``counter``, with dynamic truncation."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def step_at(unix_time: float) -> int:
    return int(unix_time // STEP_SECONDS)


def code_at(secret: str, unix_time: float) -> str:
    return hotp(secret_bytes(secret), step_at(unix_time))


def verify(
    secret: str, code: str, unix_time: float, *, last_used_step: int | None = None
) -> int | None:
    """The step ``code`` matches within the window, later than ``last_used_step``; None if it
    matches none. Every candidate is compared in constant time."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    key = secret_bytes(secret)
    now = step_at(unix_time)
    matched = None
    for step in range(now - WINDOW, now + WINDOW + 1):
        if hmac.compare_digest(hotp(key, step), code) and matched is None:
            matched = step
    if matched is None or (last_used_step is not None and matched <= last_used_step):
        return None
    return matched


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans (the Key Uri Format)."""
    label = quote(f"{issuer}:{account}", safe="")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"
