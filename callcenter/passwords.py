"""Staff passwords: argon2id hashes (argon2-cffi, RFC 9106's low-memory profile).

Hashing costs about 64 MiB and tens of milliseconds of CPU on purpose, so the async callers
run it in a worker thread (:func:`hash_password_async`, :func:`check_password_async`): the
event loop keeps serving calls meanwhile.

Neither a password nor a hash is ever logged.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Immutable once built (its cost parameters only); the same for every caller.
HASHER = PasswordHasher()

# A hash of a random password nobody knows, made with HASHER's parameters. A login for an
# unknown user (or one without a password) is verified against it, so it takes as long as a
# login with a wrong password: the response time does not tell which usernames exist.
# tests/unit/test_passwords.py checks that its parameters are still HASHER's.
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$l6j5wGsoWZsLGttgTfYQzw"
    "$jHd7QG8S0aV6ouIxnShT7KZ77HnGT786O8isPqQI4rI"
)

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; a bound keeps a request from buying CPU time


class WeakPassword(ValueError):
    """A new password that breaks the rules (too short, too long)."""


@dataclass(frozen=True)
class Verdict:
    ok: bool
    # A new hash to store when the old one was made with weaker parameters (after a login
    # that proved the password); None when the stored hash is current or the check failed.
    new_hash: str | None = None


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_LENGTH} characters")
    return HASHER.hash(password)


def check_password(stored_hash: str | None, password: str) -> Verdict:
    """Whether ``password`` matches ``stored_hash``; with no hash, the dummy is checked (and
    fails) so that the answer costs the same time."""
    if len(password) > MAX_LENGTH:
        # No password this long was ever set: refuse it, after the same work as any other.
        stored_hash, password = None, password[:MAX_LENGTH]
    try:
        HASHER.verify(stored_hash or DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return Verdict(ok=False)
    if stored_hash is None:
        return Verdict(ok=False)  # the dummy's password is unknown, but be exact
    if HASHER.check_needs_rehash(stored_hash):
        return Verdict(ok=True, new_hash=HASHER.hash(password))
    return Verdict(ok=True)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def check_password_async(stored_hash: str | None, password: str) -> Verdict:
    return await asyncio.to_thread(check_password, stored_hash, password)
