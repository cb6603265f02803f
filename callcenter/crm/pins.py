"""Telephone PINs (the IVR's second factor after the caller's number): stored only as a hash.

Stored format, one string in ``clients.pin_hash``::

    pbkdf2_sha256$<iterations>$<salt, base64>$<derived key, base64>

PBKDF2-HMAC-SHA256 over the PIN's digits with a per-client random salt; the iteration count is
part of the string, so it can be raised later without invalidating stored PINs. A six-digit PIN
has only a million values: no hash makes it safe against someone holding the table, so the real
protection is the IVR's attempt limit; the hash keeps PINs out of backups, logs and screens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"
# OWASP's 2023 figure for PBKDF2-HMAC-SHA256; what PINs chosen by clients get.
PIN_ITERATIONS = 600_000
SALT_BYTES = 16


class InvalidPin(ValueError):
    error_id = "invalid-pin"


def check_pin_format(pin: str) -> None:
    """A telephone PIN is 6 digits, typed on a phone keypad."""
    if len(pin) != 6 or not pin.isascii() or not pin.isdigit():
        raise InvalidPin("a telephone PIN is 6 digits")


def hash_pin(pin: str, *, salt: bytes | None = None, iterations: int = PIN_ITERATIONS) -> str:
    """The stored form of ``pin``. ``salt`` defaults to a fresh random one; pass one only to
    make deterministic demo data."""
    check_pin_format(pin)
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return "$".join((ALGORITHM, str(iterations), _b64(salt), _b64(key)))


def verify_pin(stored: str, pin: str) -> bool:
    """Whether ``pin`` matches the stored hash (constant-time comparison)."""
    try:
        algorithm, iterations, salt, key = stored.split("$")
        if algorithm != ALGORITHM:
            return False
        expected = base64.b64decode(key)
        salt_bytes = base64.b64decode(salt)
        actual = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt_bytes, int(iterations))
    except ValueError:  # a malformed stored value matches nothing
        return False
    return hmac.compare_digest(expected, actual)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
