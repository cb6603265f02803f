"""A TCP proxy in front of the real Asterisk's AMI port, to inject network faults.

It does not imitate Asterisk: every byte goes to and comes from the real server. It can cut
all connections, refuse new ones, hold back what the server sends, and it records what each
client connection sent, so a test can prove that nothing was resent after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.connections = 0
        self.sent_by_client: list[bytearray] = []
        self.refuse = False
        self.hold_downstream = False
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        """Drop every open connection, both sides, at once."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.refuse:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        record = bytearray()
        self.sent_by_client.append(record)
        self._writers += [writer, up_writer]

        async def client_to_server() -> None:
            while data := await reader.read(65536):
                record.extend(data)
                up_writer.write(data)

        async def server_to_client() -> None:
            while data := await up_reader.read(65536):
                if not self.hold_downstream:
                    writer.write(data)

        tasks = [asyncio.create_task(client_to_server()), asyncio.create_task(server_to_client())]
        with contextlib.suppress(Exception):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for w in (writer, up_writer):
            w.transport.abort()
