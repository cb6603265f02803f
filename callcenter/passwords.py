"""Staff passwords: argon2id hashes (argon2-cffi, RFC 9106's low-memory profile).

Hashing costs about 64 MiB and tens of milliseconds of CPU on purpose, so the async callers
run it in a worker thread (:func:`hash_password_async`, :func:`check_password_async`): the
event loop keeps serving calls meanwhile. Logins check on threads of their own, a few at a
time (:class:`PasswordWork`), so that many at once neither take the threads the calls' reads
use nor 64 MiB each.

Neither a password nor a hash is ever logged.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
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


# Two at once: 128 MiB at most, and one core's worth of argon2 on a small box.
LOGIN_CHECKS_AT_ONCE = 2


class PasswordWork:
    """The logins' password checks, on worker threads of their own, at most ``at_once``.

    Not on asyncio.to_thread's shared pool: that pool (min(32, cores + 4) threads, 6 on two
    cores) also runs the hot path's SQLite reads and the IVR's PIN checks, and each argon2
    check holds 64 MiB. A shift's logins at once (30 with 50 calls up, docs/benchmarks.md
    "Load") took every thread of it: the service's RSS went from 148 to 534 MB and the
    callers' key-to-prompt p99 from 60 ms to 2.2 s. Here they wait their turn instead. The
    service's Runtime holds one; its threads start with the first login and end with it
    (an executor's idle workers exit once it is collected) or at :meth:`close`."""

    def __init__(self, at_once: int = LOGIN_CHECKS_AT_ONCE) -> None:
        self._threads = ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="password")

    async def check(self, stored_hash: str | None, password: str) -> Verdict:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, check_password, stored_hash, password)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
