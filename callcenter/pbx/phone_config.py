"""The phones' endpoints and credentials as Asterisk reads them: ``pjsip_phones.conf``.

Every person with an extension has two endpoints (docs/agent-desktop.md, "The softphone's
contract"): ``<ext>``, a desk phone over UDP, and ``<ext>-web``, the browser over WSS. Each
has its own auth and AOR; the auth username is the endpoint's name, and both take the
person's own secret. pjsip.conf holds the templates (``[phone]``, ``[webrtc-phone]``,
``[phone-aor]``, ``[phone-auth]``) and includes this file, which the service writes at its
start and whenever a secret is rotated, then reloads res_pjsip over the AMI.

Why a hash and not the secret: the file holds ``password_digest = md5:<HA1>``, the digest's
MD5(username:realm:secret) that Asterisk compares against (Asterisk 22's successor of the
deprecated ``md5_cred``). Anyone who reads the file can register as the phone (the HA1 is
what digest authentication needs) but does not learn the secret itself, which the desk
shows and which the person's other line uses with another username. The file is written
with mode 0640 (Asterisk's group) and replaced atomically (a reader never sees half of it).

Why a file and a reload rather than Asterisk's realtime or astdb: no database driver in the
Asterisk image, and the file is easy to read when something goes wrong.

How the reload is asked for without a new AMI class: the ``Reload`` and ``ModuleLoad``
actions need the ``system`` or ``config`` write class, which the service's AMI user is
deliberately not given (either lets it run programs: an Originate of ``System()``, or
``UpdateConfig`` then a reload). Instead the service originates ``Local/s@phones-reload``
(the ``originate`` class it has): that context runs ``Reload(res_pjsip)`` and answers only
when the reload succeeded, so a synchronous Originate's ``Success`` means Asterisk now
challenges with the new secrets (asterisk_conf/extensions.conf).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from callcenter.asterisk.errors import AmiError
from callcenter.asterisk.protocol import HeaderValue, Message
from callcenter.errors import Conflict

log = logging.getLogger(__name__)

WEB_SUFFIX = "-web"
# A synchronous Originate (no Async): its response comes once the Local channel answered,
# i.e. after the dialplan's Reload(res_pjsip) succeeded; "Originate failed" otherwise.
RELOAD_ACTION = "Originate"
RELOAD_FIELDS = {
    "Channel": "Local/s@phones-reload/n",
    "Application": "Hangup",
    "Timeout": "10000",
    "CallerID": '"phones reload" <0>',
}
RELOAD_TIMEOUT = 15.0
# Behind a router (render_phones): how often each node asks the router whether a desk phone
# is registered, and how long it waits for the answer that does not come when it is not. A
# phone that registers or goes away is seen within about the sum.
ROUTER_QUALIFY_SECONDS = 2
ROUTER_QUALIFY_TIMEOUT = 1.0
# The router's HA1 table (render_router_subscribers): its file name and column line, as
# Kamailio's db_text reads them (callcenter/sandbox/router.py writes the same header).
ROUTER_SUBSCRIBER_TABLE = "subscriber"
ROUTER_SUBSCRIBER_HEADER = "username(string) domain(string) ha1(string)"
# An extension goes into section names and usernames: digits only, as users.extension holds.
_EXTENSION = re.compile(r"[0-9]{2,16}")


class PhonesNotApplied(Conflict):
    """Asterisk did not take the phones' new credentials (the AMI is down, or the reload was
    refused): the secret on the desk does not work yet."""

    error_id = "phones-not-applied"


@dataclass(frozen=True)
class PhoneLine:
    """One person's phone: the extension and its secret (plain, in memory only)."""

    extension: str
    secret: str


def web_endpoint(extension: str) -> str:
    """The browser's endpoint of an extension (``1001`` -> ``1001-web``)."""
    return f"{extension}{WEB_SUFFIX}"


def new_secret() -> str:
    """A fresh phone secret: 128 bits, URL-safe (typed on a desk phone's keypad rarely: the
    desk shows it to copy)."""
    return secrets.token_urlsafe(16)


def ha1(username: str, realm: str, secret: str) -> str:
    """The digest's HA1 (RFC 2617): MD5 of ``username:realm:secret``."""
    return hashlib.md5(f"{username}:{realm}:{secret}".encode(), usedforsecurity=False).hexdigest()


def render_phones(lines: Sequence[PhoneLine], realm: str, *, router: str = "") -> str:
    """The text of pjsip_phones.conf for these lines, in extension order.

    With a ``router`` (``host:port`` of the Kamailio in front of several nodes), the desk
    phone registers there, not here: its AOR gets the router as a static contact
    (``sip:<ext>@router``), so ``PJSIP/<ext>`` still names the phone in every dial string and
    channel name, and the INVITE goes to the router, which sends it on to where the phone
    registered. The contact is qualified every ROUTER_QUALIFY_SECONDS: the router answers
    only while the extension is registered there (asterisk_conf/kamailio/kamailio.cfg,
    route[FROM_NODE]), so the endpoint's device state, which the ACD asks before "ready"
    (callcenter/pbx/registrations.py), follows the registration at the router. The browser's
    line (``<ext>-web``, WSS) still registers at a node directly."""
    out = [
        "; Written by the contact-center service (callcenter/pbx/phone_config.py): do not edit,",
        "; it is replaced at every start of the service and every rotation of a secret.",
        "",
    ]
    for line in sorted(lines, key=lambda item: item.extension):
        ext = line.extension
        if not _EXTENSION.fullmatch(ext):
            raise ValueError(f"not an extension: {ext!r}")
        for endpoint, template in ((ext, "phone"), (web_endpoint(ext), "webrtc-phone")):
            out += [
                f"[{endpoint}]({template})",
                f"auth = {endpoint}-auth",
                f"aors = {endpoint}",
                f'callerid = "{ext}" <{ext}>',
                "",
                f"[{endpoint}-auth](phone-auth)",
                f"username = {endpoint}",
                f"password_digest = md5:{ha1(endpoint, realm, line.secret)}",
                "",
                f"[{endpoint}](phone-aor)",
                *(_router_contact(ext, router) if router and endpoint == ext else []),
                "",
            ]
    return "\n".join(out)


def _router_contact(extension: str, router: str) -> list[str]:
    return [
        f"contact = sip:{extension}@{router}",
        f"qualify_frequency = {ROUTER_QUALIFY_SECONDS}",
        f"qualify_timeout = {ROUTER_QUALIFY_TIMEOUT}",
    ]


def render_router_subscribers(lines: Sequence[PhoneLine], realm: str) -> str:
    """The router's table of the desk phones' HA1 (Kamailio's db_text ``subscriber``: the
    column line, then ``username:domain:ha1`` rows): the same HA1 as pjsip_phones.conf's, so
    a phone registers at the router with the person's own secret. Values are digits and hex:
    db_text's ``:`` separator never needs escaping."""
    out = [ROUTER_SUBSCRIBER_HEADER]
    for line in sorted(lines, key=lambda item: item.extension):
        ext = line.extension
        if not _EXTENSION.fullmatch(ext):
            raise ValueError(f"not an extension: {ext!r}")
        out.append(f"{ext}:{realm}:{ha1(ext, realm, line.secret)}")
    return "\n".join(out) + "\n"


def write_phones(path: Path, text: str, *, group: int | None = None) -> None:
    """Replace ``path`` with ``text`` at once (a temporary file renamed over it), mode 0640,
    in ``group`` when given (Asterisk's, so that it can read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        if group is not None:
            os.chown(draft, -1, group)
        os.replace(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def _group_of(path: Path) -> int | None:
    return path.parent.stat().st_gid if path.parent.exists() else None


class Reloader(Protocol):
    """What the reload needs of the AMI client."""

    async def action(
        self,
        name: str,
        fields: Mapping[str, HeaderValue] | None = None,
        *,
        timeout: float | None = None,
        check: bool = True,
    ) -> Message: ...


class PhoneConfig:
    """Writes pjsip_phones.conf and makes Asterisk read it again."""

    def __init__(
        self,
        path: Path,
        realm: str,
        ami: Reloader | None,
        *,
        router: str = "",
        router_db: Path | None = None,
    ) -> None:
        self.path = path
        self.realm = realm
        self.ami = ami
        # Several nodes behind a router (CALLCENTER_SIP_ROUTER): the desk phones' AORs point
        # at it, and its HA1 table is written into router_db (render_phones,
        # render_router_subscribers).
        self.router = router
        self.router_db = router_db
        self.applied = 0

    async def write(self, lines: Sequence[PhoneLine]) -> None:
        """Write the file only (Asterisk reads it at its next boot or reload), in the group
        of its folder (the sandbox's etc folder is Asterisk's); and the router's table.

        The router needs no reload: Kamailio's db_text reads the table again at the next
        REGISTER after the file changed (its modification time, to the second)."""
        if self.router_db is not None:
            table = self.router_db / ROUTER_SUBSCRIBER_TABLE
            write_phones(
                table, render_router_subscribers(lines, self.realm), group=_group_of(table)
            )
        text = render_phones(lines, self.realm, router=self.router)
        write_phones(self.path, text, group=_group_of(self.path))

    async def apply(self, lines: Sequence[PhoneLine]) -> None:
        """Write the file, then reload res_pjsip: from the reload's answer on, Asterisk
        challenges with the new secrets and refuses the old ones. Raises PhonesNotApplied
        when the reload fails (the file is written all the same: the next reload, or
        Asterisk's next start, takes it)."""
        await self.write(lines)
        if self.ami is None:
            return
        try:
            # res_pjsip's reload re-reads pjsip.conf and its includes; registrations and
            # calls under way are kept.
            await self.ami.action(RELOAD_ACTION, RELOAD_FIELDS, timeout=RELOAD_TIMEOUT)
        except AmiError as exc:
            raise PhonesNotApplied(f"Asterisk did not reload the phones: {exc}") from exc
        self.applied += 1
        log.info("phones applied: %d extensions, two lines each", len(lines))
