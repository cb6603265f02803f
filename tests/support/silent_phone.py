"""A SIP phone that never answers: it counts the INVITEs (by Call-ID) that reach it.

Used to prove that an Originate is never sent twice: a resent Originate would be a second
call, with a second Call-ID, at this phone.
"""

from __future__ import annotations

import asyncio
import re

_CALL_ID = re.compile(rb"^(?:Call-ID|i):\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class SilentPhone(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.call_ids: list[bytes] = []
        self.invited = asyncio.Event()
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0

    @classmethod
    async def listen(cls, host: str = "127.0.0.1") -> SilentPhone:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        protocol.transport = transport
        protocol.port = transport.get_extra_info("sockname")[1]
        return protocol

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data.startswith(b"INVITE "):
            match = _CALL_ID.search(data)
            if match and match.group(1) not in self.call_ids:
                self.call_ids.append(match.group(1))
            self.invited.set()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
