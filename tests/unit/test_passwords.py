"""Password hashing: argon2id with the library's current parameters, rules for new passwords,
and the dummy hash that makes unknown users cost as much time as known ones."""

from __future__ import annotations

import asyncio
import threading

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from callcenter import passwords
from callcenter.passwords import (
    DUMMY_HASH,
    HASHER,
    MAX_LENGTH,
    PasswordWork,
    WeakPassword,
    check_password,
    check_password_async,
    hash_password,
)


def test_a_hash_is_argon2id_salted_and_verifies_only_its_password() -> None:
    first, second = hash_password("a long passphrase"), hash_password("a long passphrase")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert check_password(first, "a long passphrase").ok
    assert not check_password(first, "a long passphrase!").ok
    assert "passphrase" not in first


def test_the_dummy_hash_costs_what_a_real_one_costs() -> None:
    # Same algorithm and parameters as every stored hash, so verifying it takes as long.
    assert not HASHER.check_needs_rehash(DUMMY_HASH)
    assert DUMMY_HASH.split("$")[1:4] == hash_password("whatever-it-is").split("$")[1:4]
    with pytest.raises(VerifyMismatchError):
        HASHER.verify(DUMMY_HASH, "")


def test_no_stored_hash_never_matches_and_still_does_the_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            seen.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", Spy())
    assert check_password(None, "anything at all") == passwords.Verdict(ok=False)
    assert seen == [DUMMY_HASH]


def test_a_garbage_stored_hash_is_a_failed_check_not_an_error() -> None:
    assert not check_password("not-a-hash", "a long passphrase").ok


def test_a_weaker_hash_is_upgraded_after_a_successful_check() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("old passphrase")
    verdict = check_password(weak, "old passphrase")
    assert verdict.ok
    assert verdict.new_hash is not None
    assert not HASHER.check_needs_rehash(verdict.new_hash)
    assert check_password(verdict.new_hash, "old passphrase") == passwords.Verdict(ok=True)
    assert check_password(weak, "wrong").new_hash is None


def test_new_passwords_must_be_ten_to_256_characters() -> None:
    with pytest.raises(WeakPassword, match="at least 10"):
        hash_password("short")
    with pytest.raises(WeakPassword, match="at most 256"):
        hash_password("x" * (MAX_LENGTH + 1))
    hash_password("x" * MAX_LENGTH)


def test_an_overlong_password_never_matches() -> None:
    stored = hash_password("x" * MAX_LENGTH)
    assert not check_password(stored, "x" * (MAX_LENGTH + 1)).ok


async def test_checking_runs_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    main = threading.get_ident()
    threads: list[int] = []

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            threads.append(threading.get_ident())
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", Spy())
    await check_password_async(None, "a long passphrase")
    assert threads
    assert threads[0] != main  # the event loop's thread is never blocked by argon2


async def test_logins_check_on_threads_of_their_own_a_few_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each argon2 check holds 64 MiB: many logins at once must neither take the shared
    # worker threads (the calls' reads use them) nor run more than two checks together.
    lock = threading.Lock()
    inside, most, names = 0, 0, set()
    gate = threading.Event()

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            nonlocal inside, most
            with lock:
                inside += 1
                most = max(most, inside)
                names.add(threading.current_thread().name)
            gate.wait(5)
            with lock:
                inside -= 1
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", Spy())
    work = PasswordWork(at_once=2)
    try:
        checks = asyncio.gather(*(work.check(None, "a long passphrase") for _ in range(6)))

        async def two_inside() -> None:
            while most < 2:  # noqa: ASYNC110 - polls an outcome, bounded by wait_for
                await asyncio.sleep(0.01)

        await asyncio.wait_for(two_inside(), 10)
        gate.set()
        verdicts = await checks
    finally:
        work.close()
    assert [v.ok for v in verdicts] == [False] * 6
    assert most == 2
    assert all(name.startswith("password") for name in names)
