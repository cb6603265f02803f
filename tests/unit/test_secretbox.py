"""The secret key: sealing at rest, signed tokens, keyed hashes, and the key file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from callcenter.secretbox import (
    SecretBox,
    SecretKeyError,
    box_for,
    key_from_text,
    load_or_create_key_file,
)
from callcenter.settings import load_settings

KEY = key_from_text("k" * 40)


def test_a_sealed_secret_opens_only_with_its_key_and_context() -> None:
    box = SecretBox(KEY)
    sealed = box.seal("JBSWY3DPEHPK3PXP", context="user_mfa:7")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert box.seal("JBSWY3DPEHPK3PXP", context="user_mfa:7") != sealed  # a fresh nonce
    assert box.open(sealed, context="user_mfa:7") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretKeyError):
        box.open(sealed, context="user_mfa:8")  # copied to another user's row
    with pytest.raises(SecretKeyError):
        SecretBox(key_from_text("o" * 40)).open(sealed, context="user_mfa:7")
    with pytest.raises(SecretKeyError):
        box.open(sealed[:-2] + "AA", context="user_mfa:7")


def test_a_signed_token_is_good_for_its_purpose_until_it_expires() -> None:
    box = SecretBox(KEY)
    token = box.sign("mfa-step", {"uid": 3}, expires=1000.0)
    assert box.verify("mfa-step", token, now=999.0) == {"uid": 3, "exp": 1000}
    assert box.verify("mfa-step", token, now=1000.0) is None
    assert box.verify("device", token, now=999.0) is None  # another purpose
    data, _, mac = token.partition(".")
    forged = box.sign("mfa-step", {"uid": 4}, expires=1000.0).partition(".")[0] + "." + mac
    assert box.verify("mfa-step", forged, now=999.0) is None
    assert box.verify("mfa-step", "garbage", now=0.0) is None
    assert box.verify("mfa-step", data + ".", now=0.0) is None


def test_keyed_hashes_depend_on_the_key() -> None:
    one, other = SecretBox(KEY), SecretBox(key_from_text("o" * 40))
    assert one.keyed_hash("recovery", "abcde-fghij") == one.keyed_hash("recovery", "abcde-fghij")
    assert one.keyed_hash("recovery", "abcde-fghij") != other.keyed_hash("recovery", "abcde-fghij")


def test_a_short_configured_key_is_refused() -> None:
    with pytest.raises(SecretKeyError):
        key_from_text("too short")


def test_the_key_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret.key"
    first = load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key_file(path) == first
    assert list(path.parent.iterdir()) == [path]  # no draft left behind


def test_the_configured_key_wins_over_the_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cc.db'}"
    configured = box_for(load_settings(database_url=url, secret_key="s" * 40))
    assert not (tmp_path / "secret.key").exists()
    from_file = box_for(load_settings(database_url=url))
    assert (tmp_path / "secret.key").exists()  # beside the embedded database
    sealed = configured.seal("x", context="c")
    with pytest.raises(SecretKeyError):
        from_file.open(sealed, context="c")
