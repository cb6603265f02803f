"""The service's secret key, and what it protects: secrets sealed at rest (TOTP secrets) and
tokens signed for one purpose (the login's MFA step, the known-device cookie).

The key comes from ``CALLCENTER_SECRET_KEY`` (production: from the environment or a secret
store; docs/operations.md) or, when that is empty, from a key file (``CALLCENTER_SECRET_KEY_FILE``,
by default ``secret.key`` beside the embedded SQLite database) created with 256 random bits and
mode 0600 the first time it is needed. Each use derives its own subkey (HMAC-SHA-256 of the
key and the use's name), so a token signed for one purpose never passes as another.

Sealing is AES-256-GCM with a random 96-bit nonce; the associated data binds a sealed value
to its row (a TOTP secret copied to another user's row does not open). Nothing here logs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from callcenter.errors import DomainError
from callcenter.settings import Settings

SEAL_VERSION = "v1"


class SecretKeyError(DomainError):
    """The key is missing, unreadable, too short, or a sealed value does not open with it."""

    error_id = "secret-key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SecretBox:
    """Seals and signs with subkeys of one master key (at least 32 bytes)."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) < 32:
            raise SecretKeyError("the secret key needs at least 32 bytes (256 bits)")
        self._master = master_key

    def subkey(self, purpose: str) -> bytes:
        return hmac.new(self._master, f"callcenter:{purpose}".encode(), hashlib.sha256).digest()

    # --- sealing ------------------------------------------------------------------------------

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.subkey("seal")).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{SEAL_VERSION}.{_b64(nonce)}.{_b64(sealed)}"

    def open(self, sealed: str, *, context: str) -> str:
        version, _, rest = sealed.partition(".")
        nonce, _, body = rest.partition(".")
        unopenable = SecretKeyError(
            "a sealed secret does not open with this key (was CALLCENTER_SECRET_KEY changed?)"
        )
        if version != SEAL_VERSION:
            raise unopenable
        try:
            aead = AESGCM(self.subkey("seal"))
            plain = aead.decrypt(_unb64(nonce), _unb64(body), context.encode())
        except (ValueError, InvalidTag) as exc:
            raise unopenable from exc
        return plain.decode()

    # --- keyed hashes and signed tokens ----------------------------------------------------

    def keyed_hash(self, purpose: str, value: str) -> str:
        """A hash only this key can compute (recovery codes: a copy of the database alone
        cannot test guesses against it)."""
        return hmac.new(self.subkey(purpose), value.encode(), hashlib.sha256).hexdigest()

    def sign(self, purpose: str, payload: dict[str, Any], *, expires: float) -> str:
        """A token carrying ``payload`` until ``expires`` (Unix time), for ``purpose`` only."""
        body = dict(payload, exp=int(expires))
        data = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        mac = hmac.new(self.subkey(f"sign:{purpose}"), data.encode(), hashlib.sha256).digest()
        return f"{data}.{_b64(mac)}"

    def verify(self, purpose: str, token: str, *, now: float) -> dict[str, Any] | None:
        """The payload of a token this key signed for ``purpose``, unexpired; else None."""
        data, _, mac = token.partition(".")
        if not data or not mac:
            return None
        expected = hmac.new(self.subkey(f"sign:{purpose}"), data.encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, _unb64(mac)):
                return None
            body = json.loads(_unb64(data))
        except (ValueError, TypeError):
            return None
        if not isinstance(body, dict) or not isinstance(body.get("exp"), int):
            return None
        if body["exp"] <= now:
            return None
        return body


def key_from_text(text: str) -> bytes:
    """A configured key: any string of at least 32 characters (e.g. ``secrets.token_urlsafe(32)``),
    stretched to 256 bits by SHA-256."""
    text = text.strip()
    if len(text) < 32:
        raise SecretKeyError("CALLCENTER_SECRET_KEY needs at least 32 characters")
    return hashlib.sha256(text.encode()).digest()


def load_or_create_key_file(path: Path) -> bytes:
    """The key in ``path``, created (256 random bits, mode 0600) if the file does not exist."""
    try:
        return key_from_text(path.read_text())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    text = secrets.token_urlsafe(32)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text + "\n")
    try:
        # A hard link appears whole or not at all: of two processes starting at once, one
        # links its key and the other reads that one.
        os.link(draft, path)
    except FileExistsError:
        return key_from_text(path.read_text())
    finally:
        draft.unlink()
    return key_from_text(text)


def box_for(settings: Settings) -> SecretBox:
    """The box of the configured key (docs/operations.md, "The secret key")."""
    configured = settings.secret_key.get_secret_value()
    if configured:
        return SecretBox(key_from_text(configured))
    return SecretBox(load_or_create_key_file(settings.effective_secret_key_file))
