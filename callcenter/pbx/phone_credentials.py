"""Each person's own SIP credentials (issue 19): made, kept sealed, handed out, rotated.

Every active person with an extension has one secret, made with ``secrets.token_urlsafe``
and stored sealed with the service's key (callcenter/secretbox.py, bound to the user's id);
both their lines (``<ext>``, ``<ext>-web``) authenticate with it. Asterisk learns them from
pjsip_phones.conf (callcenter/pbx/phone_config.py), which is written from the stored secrets:

* at the service's start (everyone without a secret gets one first), and again after every
  AMI login (a restarted Asterisk, or one started after the service, reads the file at boot;
  the reload makes sure);
* when someone asks for their credentials and has none yet (an extension given since the
  start), and on every rotation: the new secret is stored first, then Asterisk reloaded, and
  only then does the caller hear it worked. From then the old secret is refused.

Nothing here logs a secret. One apply at a time (a lock): the file is always written from
the whole, current list.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from callcenter.asterisk.client import ConnectionChange, ConnectionState
from callcenter.asterisk.errors import AmiEventsLost
from callcenter.asterisk.subscription import Subscription
from callcenter.errors import NotFound
from callcenter.pbx.phone_config import PhoneConfig, PhoneLine, new_secret
from callcenter.secretbox import SecretBox, SecretKeyError

log = logging.getLogger(__name__)


class NoExtension(NotFound):
    """The user has no phone (no extension): there are no credentials to hand out."""

    error_id = "no-extension"


@dataclass(frozen=True)
class StoredLine:
    """A person's phone as stored: their extension (None: none) and sealed secret (None:
    none made yet)."""

    user_id: int
    extension: str | None
    sealed: str | None


@dataclass(frozen=True)
class Credentials:
    """What a person gets to register their phones: the extension and the secret."""

    user_id: int
    extension: str
    secret: str


class PhoneSecretStore(Protocol):
    """The sealed secrets as stored (callcenter/persistence/phone_secrets.py)."""

    async def lines(self) -> list[StoredLine]: ...

    async def line_of(self, user_id: int) -> StoredLine: ...

    async def save(
        self, user_id: int, sealed: str, *, actor_id: int | None, rotated: bool
    ) -> None: ...

    async def handed_out(self, user_id: int, extension: str) -> None: ...


class Connection(Protocol):
    """The AMI client's connection, to apply again after each login."""

    @property
    def state(self) -> ConnectionState: ...

    def connection_changes(self) -> Subscription[ConnectionChange]: ...


def _context(user_id: int) -> str:
    # A sealed secret opens only on its own row: copied to another user it does not open.
    return f"phone-secret:{user_id}"


class PhoneCredentials:
    def __init__(self, store: PhoneSecretStore, box: SecretBox, config: PhoneConfig | None) -> None:
        self.store = store
        self.box = box
        self.config = config  # None: no PBX (nothing to write or reload)
        self.applied = asyncio.Event()  # set once Asterisk has the secrets (after a login)
        self._lock = asyncio.Lock()

    # --- what people ask ---------------------------------------------------------------------

    async def credentials(self, user_id: int) -> Credentials:
        """The user's extension and secret (made and applied first if they have none),
        audited as handed out. NoExtension for a user without a phone."""
        line = await self.store.line_of(user_id)
        if line.extension is not None and not self._opens(line):
            async with self._lock:  # a first secret: made once, however many ask at once
                if not self._opens(await self.store.line_of(user_id)):
                    await self._make(user_id, actor_id=None, rotated=False)
                    await self._apply()
            line = await self.store.line_of(user_id)
        if line.extension is None or line.sealed is None:
            raise NoExtension(f"user {user_id} has no phone extension", user_id=user_id)
        secret = self.box.open(line.sealed, context=_context(user_id))
        await self.store.handed_out(user_id, line.extension)
        return Credentials(user_id, line.extension, secret)

    async def rotate(self, user_id: int, *, actor_id: int) -> str | None:
        """A new secret for the user, in force when this returns (the old one is refused
        from then); the extension. Audited. PhonesNotApplied when Asterisk did not reload
        (the new secret is stored and taken at the next apply).

        Someone else's rotation of a person who has no line any more (deactivated, or their
        extension taken away since the file was written) writes the file again without
        them, which cuts off a phone of theirs still registered: None, nothing to rotate."""
        line = await self.store.line_of(user_id)
        if line.extension is None:
            if actor_id == user_id:
                raise NoExtension(f"user {user_id} has no phone extension", user_id=user_id)
            async with self._lock:
                await self._apply()
            log.info("phone lines written again without user %s (no extension)", user_id)
            return None
        async with self._lock:
            await self._make(user_id, actor_id=actor_id, rotated=True)
            await self._apply()
        log.info("phone secret of user %s (extension %s) rotated", user_id, line.extension)
        return line.extension

    # --- keeping Asterisk in step ----------------------------------------------------------------

    async def prepare(self) -> None:
        """At the start: a secret for everyone with an extension who has none, and the file
        written (Asterisk reads it at its next boot or reload)."""
        async with self._lock:
            made = 0
            for line in await self.store.lines():
                if not self._opens(line):
                    await self._make(line.user_id, actor_id=None, rotated=False)
                    made += 1
            if made:
                # Also after the service's key changed: a secret sealed with the old key no
                # longer opens, and its person gets a new one (the desk fetches it again).
                log.info("phone secrets made for %d people", made)
            if self.config is not None:
                await self.config.write(await self.lines())

    async def run(self, connection: Connection) -> None:
        """Reload Asterisk's phones after every AMI login, until the client closes."""
        with connection.connection_changes() as changes:
            if connection.state is ConnectionState.CONNECTED:
                await self._apply_logged()
            while True:
                try:
                    change = await changes.get()
                except StopAsyncIteration:
                    return
                except AmiEventsLost:  # a login may be among the changes lost
                    await self._apply_logged()
                    continue
                if change.state is ConnectionState.CONNECTED:
                    await self._apply_logged()

    async def _apply_logged(self) -> None:
        try:
            async with self._lock:
                await self._apply()
        except Exception as exc:  # the next login tries again; registrations fail meanwhile
            log.warning("phones not applied to Asterisk: %s", exc)
        else:
            self.applied.set()

    def _opens(self, line: StoredLine) -> bool:
        """Whether the line has a secret this service's key opens."""
        if line.sealed is None:
            return False
        try:
            self.box.open(line.sealed, context=_context(line.user_id))
        except SecretKeyError:
            log.warning("the phone secret of user %s does not open with this key", line.user_id)
            return False
        return True

    async def _make(self, user_id: int, *, actor_id: int | None, rotated: bool) -> None:
        sealed = self.box.seal(new_secret(), context=_context(user_id))
        await self.store.save(user_id, sealed, actor_id=actor_id, rotated=rotated)

    async def lines(self) -> list[PhoneLine]:
        """Every line with its secret in the clear, for pjsip_phones.conf (and the tests'
        phones); never logged."""
        return [
            PhoneLine(line.extension, self.box.open(line.sealed, context=_context(line.user_id)))
            for line in await self.store.lines()
            # One that does not open (the key changed since) has no line until prepare()
            # or the person's next request makes it a new secret.
            if line.extension is not None and line.sealed is not None and self._opens(line)
        ]

    async def _apply(self) -> None:
        if self.config is not None:
            await self.config.apply(await self.lines())
