"""An agent's desk phone for tests: a small SIP user agent over UDP that registers with the
real Asterisk (digest auth) and answers, ignores or refuses the calls it is offered.

Why Python rather than sipp: the ACD tests need the phone to hang up *when the test says so*
(the agent hangs up, then wrap-up), to say when each INVITE arrived on the clock of AMI
``Timestamp`` headers, and to behave differently per test; a sipp scenario fixes all of that
before the call starts. Everything here speaks SIP to the real Asterisk PJSIP; nothing is faked.

    phone = AgentPhone(sip_port, "1001", password=..., behaviour=Answer(after=0.5))

``password`` is the person's own secret, or a mapping of extensions to secrets (a running
service's, :attr:`tests.support.hotline.Hotline.phone_secrets`), from which the phone takes
its extension's.
    await phone.start()                    # returns once registered
    invite = await phone.wait_invite()     # who is calling, as the phone's screen shows it
    call = await phone.wait_answered()     # the 200 OK was acknowledged: the call is up
    await phone.hang_up()                  # the agent hangs up (BYE)
    await phone.stop()                     # unregisters (Expires: 0)

What the phone does (RFC 3261 over UDP, only as much as Asterisk needs):

* REGISTER from its one socket, Contact naming that socket's port; it answers the 401
  challenge with an MD5 digest (RFC 2617, qop=auth) and refreshes at half the expiry.
* An INVITE gets 100 Trying at once, then per :data:`Behaviour`: 180 Ringing and 200 OK with a
  PCMU answer (:class:`Answer`), 180 until CANCEL, then 200 to the CANCEL and 487 to the INVITE
  (:class:`NeverAnswer`), or 486 Busy Here (:class:`Busy`). Final responses are resent until
  the ACK, as UDP requires; a resent INVITE gets the last response again.
* While a call is up it sends PCMU silence every 20 ms (or the ``audio`` it is given: a tone,
  scripts/phone.py) and counts the RTP it receives: a real phone streams all the time, and
  Asterisk's timing (Async AGI polls, ANSWER) depends on it.
* BYE either way; a re-INVITE (Asterisk refreshing the session) is answered with the same SDP.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import secrets
import struct
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

PCMU_PT = 0
SILENCE = b"\xff" * 160  # 20 ms of PCMU silence at 8 kHz
PACKET_TIME = 0.02
T1 = 0.5  # RFC 3261 timers: first retransmission interval,
T2 = 4.0  # the longest interval,
TRANSACTION_TIMEOUT = 64 * T1  # and how long a transaction lives (Timer B/F/H).
USER_AGENT = "callcenter-test-phone"

# --- behaviours --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """Ring for ``after`` seconds, then answer; hang up ``hang_up_after`` seconds after the
    answer was acknowledged, or never (the far end, or :meth:`AgentPhone.hang_up`, ends it)."""

    after: float = 0.5
    hang_up_after: float | None = None


@dataclass(frozen=True)
class NeverAnswer:
    """Ring until the caller side gives up (CANCEL)."""


@dataclass(frozen=True)
class Busy:
    """Refuse every call with 486 Busy Here."""


Behaviour = Answer | NeverAnswer | Busy


class PhoneError(Exception):
    """The phone could not do what the test asked (or saw SIP it cannot handle)."""


class PhoneRegistrationFailed(PhoneError):
    """Asterisk refused the REGISTER (a wrong password is answered with a fresh 401)."""


# --- SIP messages (pure) ---------------------------------------------------------------------

_COMPACT = {
    "i": "call-id",
    "f": "from",
    "t": "to",
    "v": "via",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
}
_BRANCH = re.compile(r";\s*branch=([^;,\s]+)", re.IGNORECASE)
_TAG = re.compile(r";\s*tag=([^;,\s>]+)", re.IGNORECASE)
_NAME_ADDR = re.compile(r'^\s*(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^>]*)>')
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


@dataclass(frozen=True)
class SipMessage:
    first_line: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return not self.first_line.startswith("SIP/2.0 ")

    @property
    def method(self) -> str:
        return self.first_line.split(" ", 1)[0] if self.is_request else self.cseq[1]

    @property
    def status(self) -> int:
        return 0 if self.is_request else int(self.first_line.split(" ", 2)[1])

    def get_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    def get(self, name: str) -> str:
        values = self.get_all(name)
        return values[0] if values else ""

    @property
    def call_id(self) -> str:
        return self.get("call-id")

    @property
    def cseq(self) -> tuple[int, str]:
        number, method = self.get("cseq").split()
        return int(number), method.upper()

    @property
    def branch(self) -> str:
        match = _BRANCH.search(self.get("via"))
        return match.group(1) if match else ""


def parse_sip(data: bytes) -> SipMessage:
    """One SIP message from one datagram; header names lower-cased, compact forms expanded,
    folded lines joined. Display names are UTF-8 (a caller's name may be Chinese)."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", errors="replace").split("\r\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers.append((_COMPACT.get(key, key), value.strip()))
    return SipMessage(lines[0], tuple(headers), body)


def format_sip(first_line: str, headers: Sequence[tuple[str, str]], body: bytes = b"") -> bytes:
    lines = [first_line, *(f"{name}: {value}" for name, value in headers)]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(frozen=True)
class NameAddr:
    display: str
    uri: str

    @property
    def user(self) -> str:
        """The user part of a sip: URI (``+8613800138000`` in ``sip:+8613800138000@host``)."""
        rest = self.uri.split(":", 1)[1] if ":" in self.uri else self.uri
        user = rest.split("@", 1)[0] if "@" in rest else ""
        return unquote(user.split(";", 1)[0])


def parse_name_addr(value: str) -> NameAddr:
    """``"Li Wei" <sip:+86138@host>;tag=x`` -> display ``Li Wei``, uri ``sip:+86138@host``."""
    match = _NAME_ADDR.match(value)
    if match is None:  # addr-spec without brackets: the parameters belong to the header
        return NameAddr("", value.split(";", 1)[0].strip())
    quoted, token, uri = match.groups()
    display = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (token or "").strip()
    return NameAddr(display, uri.strip())


def tag_of(value: str) -> str:
    match = _TAG.search(value.rsplit(">", 1)[-1] if ">" in value else value)
    return match.group(1) if match else ""


def digest_params(challenge: str) -> dict[str, str]:
    """The parameters of a ``Digest ...`` challenge, unquoted, names lower-cased."""
    text = challenge.split(None, 1)[1] if " " in challenge.strip() else ""
    return {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _PARAM.finditer(text)}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def digest_authorization(
    challenge: str,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    """The ``Authorization`` value answering an MD5 digest challenge (RFC 2617): with qop=auth
    when offered, else the RFC 2069 form."""
    params = digest_params(challenge)
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    fields = [f'username="{username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
    if "auth" in qops:
        count = f"{nc:08x}"
        response = _md5(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        fields += [f'response="{response}"', f'cnonce="{cnonce}"', "qop=auth", f"nc={count}"]
    else:
        fields.append(f'response="{_md5(f"{ha1}:{nonce}:{ha2}")}"')
    fields.append("algorithm=MD5")
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)


def md5_challenge(response: SipMessage) -> str:
    """The MD5 one among the ``WWW-Authenticate`` challenges (Asterisk may offer several)."""
    for challenge in response.get_all("www-authenticate"):
        algorithm = digest_params(challenge).get("algorithm", "MD5")
        if challenge.lower().startswith("digest") and algorithm.upper() == "MD5":
            return challenge
    raise PhoneRegistrationFailed(f"no MD5 digest challenge in: {response.first_line}")


def sdp_media_address(body: bytes) -> tuple[str, int] | None:
    """Where the far end wants our audio: the ``c=`` address and the ``m=audio`` port."""
    text = body.decode(errors="replace")
    address = re.search(r"^c=IN IP4 (\S+)", text, re.MULTILINE)
    port = re.search(r"^m=audio (\d+)", text, re.MULTILINE)
    if address is None or port is None:
        return None
    return address.group(1), int(port.group(1))


def sdp_answer(user: str, host: str, rtp_port: int, session: int, version: int) -> bytes:
    """PCMU only: a subset of what Asterisk offers (ulaw, alaw, telephone-event)."""
    lines = [
        "v=0",
        f"o={user} {session} {version} IN IP4 {host}",
        "s=agent phone",
        f"c=IN IP4 {host}",
        "t=0 0",
        f"m=audio {rtp_port} RTP/AVP {PCMU_PT}",
        f"a=rtpmap:{PCMU_PT} PCMU/8000",
        "a=ptime:20",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def secret_for(password: str | Mapping[str, str], extension: str) -> str:
    """The secret a phone registers with: ``password`` itself, or the extension's in a
    mapping (KeyError: no such person's phone)."""
    return password if isinstance(password, str) else password[extension.removesuffix("-web")]


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)  # the RFC 3261 magic cookie, then unique


# --- what happened at the phone ------------------------------------------------------------------


@dataclass(frozen=True)
class Invite:
    """An INVITE as it reached the phone. ``at`` is epoch seconds when the datagram arrived:
    the clock of AMI ``Timestamp`` headers (manager.conf ``timestampevents = yes``)."""

    at: float
    call_id: str
    from_display: str  # the caller's name, as the phone's screen shows it
    from_user: str  # the caller's number


@dataclass
class PhoneCall:
    """One call offered to the phone and what became of it (epoch seconds, like ``Invite.at``)."""

    invite: Invite
    answered_at: float | None = None  # 200 OK sent
    confirmed_at: float | None = None  # its ACK came: the call is up
    cancelled_at: float | None = None  # the caller side gave up while it rang
    refused_busy_at: float | None = None  # 486 sent
    bye_received_at: float | None = None  # the far end hung up
    hung_up_at: float | None = None  # the phone hung up (BYE sent)
    rtp_sent: int = 0
    rtp_received: int = 0

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def bye_received(self) -> bool:
        return self.bye_received_at is not None

    @property
    def hung_up_by_phone(self) -> bool:
        return self.hung_up_at is not None

    @property
    def up(self) -> bool:
        return self.confirmed_at is not None and not self.ended

    @property
    def ended(self) -> bool:
        ends = (self.cancelled_at, self.refused_busy_at, self.bye_received_at, self.hung_up_at)
        return any(end is not None for end in ends)


@dataclass
class _Dialog:
    """The SIP side of a call: what the phone needs to answer, resend and hang up."""

    invite: SipMessage
    peer: tuple[str, int]
    local_tag: str
    last_response: bytes = b""
    final_sent: bool = False
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    media: tuple[str, int] | None = None
    rtp: asyncio.DatagramTransport | None = None
    rtp_port: int = 0
    sdp_version: int = 1


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, received: Callable[[bytes, tuple[str, int]], None]) -> None:
        self.received = received

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received(data, addr)


# --- the phone ---------------------------------------------------------------------------------


class AgentPhone:
    """A registered agent phone at ``host``, on a UDP port of its own (:attr:`port`).

    ``expires`` is the registration's lifetime in seconds, refreshed at half of it; Asterisk
    refuses less than 60 (``423 Interval Too Brief``). Every INVITE is treated on its own with
    :attr:`behaviour`, so a second call while one is up is answered too (call waiting): a test
    that must prove an agent on a call is not offered another asserts on :attr:`invites`.
    """

    def __init__(
        self,
        sip_port: int,
        extension: str,
        *,
        password: str | Mapping[str, str],
        behaviour: Behaviour | None = None,
        host: str = "127.0.0.1",
        expires: int = 300,
        audio: Callable[[int], bytes] | None = None,
    ) -> None:
        self.sip_port = sip_port
        # The PCMU payload of a call's n-th 20 ms packet (160 bytes); None: silence.
        self.audio = audio
        self.extension = extension
        self.behaviour: Behaviour = behaviour if behaviour is not None else Answer()
        self.host = host
        self.expires = expires
        self._password = secret_for(password, extension)
        self.invites: list[Invite] = []
        self.calls: list[PhoneCall] = []
        self.errors: list[BaseException] = []
        self.port = 0
        self._registrar = (host, sip_port)
        self._transport: asyncio.DatagramTransport | None = None
        self._dialogs: dict[str, _Dialog] = {}
        self._by_call_id: dict[str, PhoneCall] = {}
        self._pending: dict[str, asyncio.Future[SipMessage]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._register_call_id = secrets.token_hex(10)
        self._register_tag = secrets.token_hex(6)
        self._cseq = 0
        self._session = secrets.randbelow(2**31)

    # -- what happened ----------------------------------------------------------------------

    @property
    def answered(self) -> list[PhoneCall]:
        return [call for call in self.calls if call.answered]

    @property
    def hung_up_by_phone(self) -> list[PhoneCall]:
        return [call for call in self.calls if call.hung_up_by_phone]

    @property
    def bye_received(self) -> list[PhoneCall]:
        return [call for call in self.calls if call.bye_received]

    @property
    def cancelled(self) -> list[PhoneCall]:
        return [call for call in self.calls if call.cancelled]

    @property
    def current(self) -> PhoneCall | None:
        """The latest call that is up (answered, acknowledged, not ended)."""
        return next((call for call in reversed(self.calls) if call.up), None)

    @property
    def contact_uri(self) -> str:
        """The Contact this phone registers: ``pjsip show contacts`` lists it after the AOR."""
        return f"sip:{self.extension}@{self.host}:{self.port}"

    # -- waiting, without sleeping ------------------------------------------------------------

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        """Return once ``predicate()`` holds; checked after each thing that happens."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    changed = self._changed
                    await changed.wait()
        except TimeoutError:
            raise TimeoutError(f"{self.extension}: no {what} within {timeout}s; {self}") from None

    async def wait_invite(self, count: int = 1, timeout: float = 10.0) -> Invite:
        """The ``count``-th INVITE (1 = the first), once it has arrived."""
        await self.wait_until(lambda: len(self.invites) >= count, timeout, f"INVITE #{count}")
        return self.invites[count - 1]

    async def wait_answered(self, timeout: float = 10.0) -> PhoneCall:
        """The latest call, once it is up (our 200 OK acknowledged)."""
        await self.wait_until(
            lambda: bool(self.calls) and self.calls[-1].confirmed_at is not None,
            timeout,
            "answered call",
        )
        return self.calls[-1]

    async def wait_ended(self, timeout: float = 10.0) -> PhoneCall:
        """The latest call, once it has ended (BYE either way, CANCEL, or refused)."""
        await self.wait_until(
            lambda: bool(self.calls) and self.calls[-1].ended, timeout, "ended call"
        )
        return self.calls[-1]

    def __str__(self) -> str:
        return f"AgentPhone({self.extension} at {self.host}:{self.port}, calls={self.calls})"

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen, then register; returns once Asterisk accepted the registration."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Datagrams(self._received), local_addr=(self.host, 0)
        )
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        try:
            await self._register(self.expires)
        except BaseException:
            transport.close()
            raise
        self._spawn(self._refresh_registration())

    async def stop(self) -> None:
        """Hang up a call still up, unregister (Expires: 0), close. Raises the first error a
        background task met, so that a protocol failure fails the test."""
        try:
            for call in [c for c in self.calls if c.up]:
                await self.hang_up(call)
            if self._transport is not None:
                await self._register(0)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for dialog in self._dialogs.values():
                if dialog.rtp is not None:
                    dialog.rtp.close()
            if self._transport is not None:
                self._transport.close()
                self._transport = None
        if self.errors:
            raise PhoneError(f"{self.extension}: {self.errors[0]!r}") from self.errors[0]

    async def __aenter__(self) -> AgentPhone:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def hang_up(self, call: PhoneCall | None = None) -> PhoneCall:
        """The agent hangs up: BYE on ``call`` (default: the current one); returns when the
        far end has answered the BYE. ``hung_up_at`` is when the BYE was sent."""
        target = call or self.current
        if target is None or not target.up:
            raise PhoneError(f"{self.extension}: no call up to hang up; {self}")
        dialog = self._dialogs[target.invite.call_id]
        target.hung_up_at = time.time()
        self._stop_media(dialog)
        self._notify()
        remote_target = parse_name_addr(dialog.invite.get("contact")).uri
        response = await self._request(
            "BYE", remote_target, self._bye_headers(dialog), to=dialog.peer
        )
        if response.status != 200:
            raise PhoneError(f"{self.extension}: BYE answered {response.first_line}")
        return target

    # -- registration -------------------------------------------------------------------------

    async def _register(self, expires: int) -> None:
        uri = f"sip:{self._registrar[0]}:{self._registrar[1]}"
        response = await self._request("REGISTER", uri, self._register_headers(expires))
        if response.status == 401:
            authorization = digest_authorization(
                md5_challenge(response),
                method="REGISTER",
                uri=uri,
                username=self.extension,
                password=self._password,
                cnonce=secrets.token_hex(8),
            )
            headers = [*self._register_headers(expires), ("Authorization", authorization)]
            response = await self._request("REGISTER", uri, headers)
        if response.status != 200:
            hint = " (wrong password?)" if response.status in (401, 403) else ""
            raise PhoneRegistrationFailed(
                f"{self.extension} could not register at {uri}: "
                f"{response.first_line.removeprefix('SIP/2.0 ')}{hint}"
            )

    def _register_headers(self, expires: int) -> list[tuple[str, str]]:
        aor = f"sip:{self.extension}@{self._registrar[0]}"
        return [
            ("From", f"<{aor}>;tag={self._register_tag}"),
            ("To", f"<{aor}>"),
            ("Call-ID", self._register_call_id),
            ("Contact", f"<{self.contact_uri}>"),
            ("Expires", str(expires)),
        ]

    async def _refresh_registration(self) -> None:
        while True:
            await asyncio.sleep(self.expires / 2)
            await self._register(self.expires)

    # -- client transactions (REGISTER, BYE) -------------------------------------------------

    async def _request(
        self,
        method: str,
        uri: str,
        headers: list[tuple[str, str]],
        *,
        to: tuple[str, int] | None = None,
    ) -> SipMessage:
        """Send a request and return its final response, resending it on UDP (Timer E)."""
        branch = new_branch()
        if not any(name == "CSeq" for name, _ in headers):
            self._cseq += 1
            headers = [*headers, ("CSeq", f"{self._cseq} {method}")]
        data = format_sip(
            f"{method} {uri} SIP/2.0",
            [
                ("Via", f"SIP/2.0/UDP {self.host}:{self.port};rport;branch={branch}"),
                ("Max-Forwards", "70"),
                ("User-Agent", USER_AGENT),
                *headers,
            ],
        )
        future: asyncio.Future[SipMessage] = asyncio.get_running_loop().create_future()
        self._pending[branch] = future
        try:
            async with asyncio.timeout(TRANSACTION_TIMEOUT):
                interval = T1
                while True:
                    self._send(data, to or self._registrar)
                    with contextlib.suppress(TimeoutError):
                        return await asyncio.wait_for(asyncio.shield(future), interval)
                    interval = min(interval * 2, T2)
        except TimeoutError:
            raise PhoneError(f"{self.extension}: no final answer to {method} {uri}") from None
        finally:
            del self._pending[branch]

    def _bye_headers(self, dialog: _Dialog) -> list[tuple[str, str]]:
        """In the dialog the INVITE made: we are its To (with our tag), the caller its From.
        Our CSeq space in this dialog is our own and starts here: we sent nothing in it."""
        invite = dialog.invite
        routes = [("Route", route) for route in invite.get_all("record-route")]
        return [
            *routes,
            ("From", f"{invite.get('to')};tag={dialog.local_tag}"),
            ("To", invite.get("from")),
            ("Call-ID", invite.call_id),
            ("CSeq", "1 BYE"),
        ]

    # -- what arrives ---------------------------------------------------------------------------

    def _received(self, data: bytes, peer: tuple[str, int]) -> None:
        at = time.time()
        if not data.strip():
            return  # a keep-alive (CRLF)
        try:
            message = parse_sip(data)
            if message.is_request:
                self._on_request(message, peer, at)
            else:
                self._on_response(message)
        except Exception as exc:  # a bug or SIP we cannot handle: the test must see it
            self.errors.append(exc)
        self._notify()

    def _on_response(self, response: SipMessage) -> None:
        future = self._pending.get(response.branch)
        if future is not None and not future.done() and response.status >= 200:
            future.set_result(response)

    def _on_request(self, request: SipMessage, peer: tuple[str, int], at: float) -> None:
        dialog = self._dialogs.get(request.call_id)
        method = request.method
        if method == "INVITE" and dialog is None:
            self._new_call(request, peer, at)
        elif method == "ACK" and dialog is None:
            return  # never answered (RFC 3261 17.2.3); nothing of ours to acknowledge
        elif dialog is None:
            self._reply(request, peer, 481, "Call/Transaction Does Not Exist")
        elif method == "INVITE" and request.cseq == dialog.invite.cseq:
            self._send(dialog.last_response, peer)  # our answer was lost or is late: again
        elif method == "INVITE":
            self._reinvite(dialog, request, peer)
        elif method == "ACK":
            self._on_ack(dialog, request, at)
        elif method == "CANCEL":
            self._on_cancel(dialog, request, peer, at)
        elif method == "BYE":
            self._on_bye(dialog, request, peer, at)
        else:  # OPTIONS, UPDATE, INFO, NOTIFY: nothing to do but agree
            self._reply(request, peer, 200, "OK", tag=dialog.local_tag)

    def _new_call(self, invite: SipMessage, peer: tuple[str, int], at: float) -> None:
        caller = parse_name_addr(invite.get("from"))
        record = Invite(at, invite.call_id, caller.display, caller.user)
        call = PhoneCall(record)
        dialog = _Dialog(invite, peer, secrets.token_hex(6))
        dialog.media = sdp_media_address(invite.body)
        self.invites.append(record)
        self.calls.append(call)
        self._by_call_id[invite.call_id] = call
        self._dialogs[invite.call_id] = dialog
        self._respond(dialog, 100, "Trying")
        match self.behaviour:
            case Busy():
                call.refused_busy_at = time.time()
                self._spawn(self._final(dialog, 486, "Busy Here"))
            case NeverAnswer():
                self._respond(dialog, 180, "Ringing")
            case Answer():
                self._respond(dialog, 180, "Ringing")
                self._spawn(self._answer(call, dialog, self.behaviour))

    def _on_ack(self, dialog: _Dialog, ack: SipMessage, at: float) -> None:
        call = self._by_call_id[ack.call_id]
        dialog.acked.set()
        if call.answered and call.confirmed_at is None:
            call.confirmed_at = at
            dialog.media = sdp_media_address(ack.body) or dialog.media

    def _on_cancel(
        self, dialog: _Dialog, cancel: SipMessage, peer: tuple[str, int], at: float
    ) -> None:
        """200 to the CANCEL; if the INVITE has no final answer yet, 487 ends it (RFC 3261
        9.2). A CANCEL that crosses our 200 OK changes nothing: the call goes on."""
        self._reply(cancel, peer, 200, "OK", tag=dialog.local_tag)
        if not dialog.final_sent:
            self._by_call_id[cancel.call_id].cancelled_at = at
            self._spawn(self._final(dialog, 487, "Request Terminated"))

    def _on_bye(self, dialog: _Dialog, bye: SipMessage, peer: tuple[str, int], at: float) -> None:
        call = self._by_call_id[bye.call_id]
        self._reply(bye, peer, 200, "OK", tag=dialog.local_tag)
        if not call.ended:
            call.bye_received_at = at
        self._stop_media(dialog)

    def _reinvite(self, dialog: _Dialog, invite: SipMessage, peer: tuple[str, int]) -> None:
        """Asterisk refreshing the session: same media, a new SDP version (RFC 4566 o=)."""
        dialog.media = sdp_media_address(invite.body) or dialog.media
        dialog.sdp_version += 1
        body = sdp_answer(
            self.extension, self.host, dialog.rtp_port, self._session, dialog.sdp_version
        )
        self._reply(invite, peer, 200, "OK", tag=dialog.local_tag, body=body)

    # -- answering ---------------------------------------------------------------------------

    async def _answer(self, call: PhoneCall, dialog: _Dialog, behaviour: Answer) -> None:
        await asyncio.sleep(behaviour.after)
        if dialog.final_sent:  # cancelled while it rang
            return
        loop = asyncio.get_running_loop()
        dialog.rtp, _ = await loop.create_datagram_endpoint(
            lambda: _Datagrams(lambda _data, _addr: self._count_rtp(call)),
            local_addr=(self.host, 0),
        )
        dialog.rtp_port = dialog.rtp.get_extra_info("sockname")[1]
        if dialog.final_sent:  # the CANCEL came while the socket opened
            dialog.rtp.close()
            return
        body = sdp_answer(self.extension, self.host, dialog.rtp_port, self._session, 1)
        call.answered_at = time.time()
        self._spawn(self._stream(call, dialog))
        await self._final(dialog, 200, "OK", body)
        if behaviour.hang_up_after is not None and call.up:
            await asyncio.sleep(behaviour.hang_up_after)
            if call.up:
                await self.hang_up(call)

    async def _final(self, dialog: _Dialog, status: int, reason: str, body: bytes = b"") -> None:
        """Send a final answer to the INVITE and resend it until the ACK (Timer G, then H)."""
        dialog.final_sent = True
        self._respond(dialog, status, reason, body)
        interval = T1
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TRANSACTION_TIMEOUT):
                while not dialog.acked.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(dialog.acked.wait(), interval)
                    if not dialog.acked.is_set():
                        self._send(dialog.last_response, dialog.peer)
                    interval = min(interval * 2, T2)
        if not dialog.acked.is_set():
            raise PhoneError(f"{self.extension}: no ACK for {status} {reason}")

    async def _stream(self, call: PhoneCall, dialog: _Dialog) -> None:
        """PCMU every 20 ms (on a steady clock, not drifting) while the call is up."""
        loop = asyncio.get_running_loop()
        ssrc, seq, stamp = secrets.randbits(32), secrets.randbits(15), secrets.randbits(31)
        marker = 0x80  # RTP marks the first packet of a talkspurt
        next_at = loop.time()
        while not call.ended and dialog.rtp is not None:
            if dialog.media is not None:
                header = struct.pack(">BBHII", 0x80, marker | PCMU_PT, seq, stamp, ssrc)
                payload = SILENCE if self.audio is None else self.audio(call.rtp_sent)
                dialog.rtp.sendto(header + payload, dialog.media)
                call.rtp_sent += 1
                marker = 0
            seq, stamp = (seq + 1) & 0xFFFF, (stamp + len(SILENCE)) & 0xFFFFFFFF
            next_at += PACKET_TIME
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    def _count_rtp(self, call: PhoneCall) -> None:
        call.rtp_received += 1
        self._notify()

    def _stop_media(self, dialog: _Dialog) -> None:
        if dialog.rtp is not None:
            dialog.rtp.close()
            dialog.rtp = None

    # -- sending --------------------------------------------------------------------------------

    def _respond(self, dialog: _Dialog, status: int, reason: str, body: bytes = b"") -> None:
        """Answer the dialog's INVITE; remembered so that a resent INVITE gets it again."""
        tag = dialog.local_tag if status > 100 else ""
        dialog.last_response = self._response(dialog.invite, status, reason, tag, body)
        self._send(dialog.last_response, dialog.peer)

    def _reply(
        self,
        request: SipMessage,
        peer: tuple[str, int],
        status: int,
        reason: str,
        *,
        tag: str = "",
        body: bytes = b"",
    ) -> None:
        self._send(self._response(request, status, reason, tag, body), peer)

    def _response(
        self, request: SipMessage, status: int, reason: str, tag: str, body: bytes
    ) -> bytes:
        """Via, From, Call-ID and CSeq copied; our tag added to To unless it has one."""
        to = request.get("to")
        if tag and not tag_of(to):
            to = f"{to};tag={tag}"
        headers = [
            *(("Via", via) for via in request.get_all("via")),
            *(("Record-Route", route) for route in request.get_all("record-route")),
            ("From", request.get("from")),
            ("To", to),
            ("Call-ID", request.call_id),
            ("CSeq", request.get("cseq")),
            ("Contact", f"<{self.contact_uri}>"),
            ("User-Agent", USER_AGENT),
        ]
        if body:
            headers.append(("Content-Type", "application/sdp"))
        return format_sip(f"SIP/2.0 {status} {reason}", headers, body)

    def _send(self, data: bytes, peer: tuple[str, int]) -> None:
        if self._transport is not None:
            self._transport.sendto(data, peer)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Background work lives until stop(), which cancels it; a failure is kept for
        stop() to raise, never lost."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())  # type: ignore[arg-type]
        self._notify()

    def _notify(self) -> None:
        """Wake every waiter; each checks its own condition again."""
        self._changed.set()
        self._changed = asyncio.Event()
