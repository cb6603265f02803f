"""A browser softphone's signalling without the browser: SIP over a TLS WebSocket (RFC 7118).

What JsSIP does when the desk registers ``<ext>-web``, done by hand so that the Asterisk side
of the contract (docs/agent-desktop.md, "The softphone's contract") is tested on its own:
open ``wss://<host>:<sip_wss_port>/ws`` with the subprotocol ``sip`` (checked against the
certificate Asterisk serves), send REGISTER with a ``.invalid`` Via host and Contact (RFC
7118 section 5: the socket is the route back), answer the 401 with the MD5 digest of the
person's secret, and read the final answer. One SIP message per WebSocket text frame. An
INVITE that Asterisk sends down the socket (a call ringing this line) is kept for the test
and answered only as the test says (no media: the browser tests do WebRTC).

    async with WsSipClient(ws_url, "1001-web", cafile=cert) as client:
        first, final = await client.register(password)   # 401, then 200 (or 401/403)
        invite = await client.wait_invite()
        await client.reply(invite, 486, "Busy Here")
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import ssl
from pathlib import Path
from typing import Any

import websockets

from tests.support.agent_phone import (
    SipMessage,
    digest_authorization,
    format_sip,
    md5_challenge,
    new_branch,
    parse_sip,
)

RECEIVE_TIMEOUT = 10.0


class WsSipClient:
    def __init__(self, ws_url: str, username: str, *, cafile: Path, domain: str = "127.0.0.1"):
        self.ws_url = ws_url
        self.username = username
        self.domain = domain
        self.cafile = cafile
        self.subprotocol: str | None = None
        self.invites: asyncio.Queue[SipMessage] = asyncio.Queue()
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._responses: asyncio.Queue[SipMessage] = asyncio.Queue()
        self._host = f"{secrets.token_hex(6)}.invalid"
        self._call_id = secrets.token_hex(10)
        self._tag = secrets.token_hex(5)
        self._cseq = 0

    async def __aenter__(self) -> WsSipClient:
        context = ssl.create_default_context(cafile=str(self.cafile))
        self._ws = await websockets.connect(
            self.ws_url, subprotocols=[websockets.Subprotocol("sip")], ssl=context
        )
        self.subprotocol = self._ws.subprotocol
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._ws.close()

    async def drop(self) -> None:
        """Lose the connection as a closed or crashed page does: no unregistering, no
        closing handshake."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        self._ws.transport.abort()

    async def register(self, password: str, expires: int = 300) -> tuple[SipMessage, SipMessage]:
        """REGISTER, then (on a 401) again with the digest: (the first answer, the last)."""
        uri = f"sip:{self.domain}"
        first = await self._request(uri, expires, authorization=None)
        if first.status != 401:
            return first, first
        authorization = digest_authorization(
            md5_challenge(first),
            method="REGISTER",
            uri=uri,
            username=self.username,
            password=password,
            cnonce=secrets.token_hex(8),
        )
        return first, await self._request(uri, expires, authorization=authorization)

    async def unregister(self, password: str) -> SipMessage:
        return (await self.register(password, expires=0))[1]

    async def wait_invite(self, timeout: float = RECEIVE_TIMEOUT) -> SipMessage:
        return await asyncio.wait_for(self.invites.get(), timeout)

    async def reply(self, request: SipMessage, status: int, reason: str) -> None:
        """A final response to ``request`` (an INVITE gets a To tag), sent down the socket."""
        headers = [(name.title(), value) for name, value in request.headers if name == "via"]
        to = request.get("to")
        if ";tag=" not in to:
            to = f"{to};tag={secrets.token_hex(5)}"
        headers += [
            ("From", request.get("from")),
            ("To", to),
            ("Call-ID", request.call_id),
            ("CSeq", request.get("cseq")),
        ]
        await self._ws.send(format_sip(f"SIP/2.0 {status} {reason}", headers).decode())

    async def _read(self) -> None:
        async for frame in self._ws:
            message = parse_sip(frame.encode() if isinstance(frame, str) else frame)
            if not message.is_request:
                await self._responses.put(message)
            elif message.method == "INVITE":
                await self.invites.put(message)
            elif message.method in ("CANCEL", "BYE", "OPTIONS"):  # an ACK needs no answer
                await self.reply(message, 200, "OK")

    async def _request(self, uri: str, expires: int, *, authorization: str | None) -> SipMessage:
        self._cseq += 1
        aor = f"sip:{self.username}@{self.domain}"
        headers = [
            ("Via", f"SIP/2.0/WSS {self._host};branch={new_branch()}"),
            ("Max-Forwards", "70"),
            ("From", f"<{aor}>;tag={self._tag}"),
            ("To", f"<{aor}>"),
            ("Call-ID", self._call_id),
            ("CSeq", f"{self._cseq} REGISTER"),
            ("Contact", f"<sip:{self.username}@{self._host};transport=ws>"),
            ("Expires", str(expires)),
            ("User-Agent", "callcenter-test-wss"),
        ]
        if authorization is not None:
            headers.append(("Authorization", authorization))
        await self._ws.send(format_sip(f"REGISTER {uri} SIP/2.0", headers).decode())
        while True:
            message = await asyncio.wait_for(self._responses.get(), RECEIVE_TIMEOUT)
            # Provisional answers (100 Trying) and answers to earlier requests are skipped.
            if message.status >= 200 and message.cseq == (self._cseq, "REGISTER"):
                return message
