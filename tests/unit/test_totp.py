"""TOTP (RFC 6238) against the RFC's own test vectors, the window and single use."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import pytest

from callcenter import totp

# RFC 6238 appendix B: the SHA-1 seed is the ASCII of "12345678901234567890".
RFC_SEED = b"12345678901234567890"
RFC_SECRET = base64.b32encode(RFC_SEED).decode().rstrip("=")
# (Unix time, the 8-digit code the RFC gives for SHA-1)
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS)
def test_the_rfc_6238_sha1_vectors(unix_time: int, expected: str) -> None:
    assert totp.hotp(RFC_SEED, totp.step_at(unix_time), digits=8) == expected
    # The 6-digit code every authenticator shows is the same value's last six digits.
    assert totp.code_at(RFC_SECRET, unix_time) == expected[-6:]


def test_rfc_4226_hotp_vectors() -> None:
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922"]
    assert [totp.hotp(RFC_SEED, counter) for counter in range(7)] == expected


def test_a_code_is_accepted_one_step_either_side_and_no_further() -> None:
    now = 1_800_000_015.0
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        code = totp.hotp(RFC_SEED, step + offset)
        assert totp.verify(RFC_SECRET, code, now) == step + offset
    for offset in (-2, 2):
        assert totp.verify(RFC_SECRET, totp.hotp(RFC_SEED, step + offset), now) is None


def test_a_code_is_accepted_once_and_never_an_older_one_after_it() -> None:
    now = 1_800_000_015.0
    step = totp.step_at(now)
    code = totp.code_at(RFC_SECRET, now)
    used = totp.verify(RFC_SECRET, code, now)
    assert used == step
    assert totp.verify(RFC_SECRET, code, now, last_used_step=used) is None
    previous = totp.hotp(RFC_SEED, step - 1)  # still in the window, but older than the used one
    assert totp.verify(RFC_SECRET, previous, now, last_used_step=used) is None
    later = totp.code_at(RFC_SECRET, now + 30)
    assert totp.verify(RFC_SECRET, later, now + 30, last_used_step=used) == step + 1


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_refused(bad: str) -> None:
    assert totp.verify(RFC_SECRET, bad, 1_800_000_000.0) is None


def test_spaces_in_a_typed_code_and_secret_do_not_matter() -> None:
    now = 1_800_000_000.0
    code = totp.code_at(RFC_SECRET, now)
    spaced_secret = " ".join(RFC_SECRET.lower()[i : i + 4] for i in range(0, len(RFC_SECRET), 4))
    assert totp.verify(spaced_secret, f"{code[:3]} {code[3:]}", now) is not None


def test_new_secrets_are_random_160_bit_base32() -> None:
    first, second = totp.new_secret(), totp.new_secret()
    assert first != second
    assert len(totp.secret_bytes(first)) == 20


def test_the_otpauth_uri_names_issuer_account_and_parameters() -> None:
    uri = totp.otpauth_uri(RFC_SECRET, "supervisor01", "Call Center")
    parsed = urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert parsed.path == "/Call%20Center%3Asupervisor01"
    query = parse_qs(parsed.query)
    assert query == {
        "secret": [RFC_SECRET],
        "issuer": ["Call Center"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
