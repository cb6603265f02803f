"""A real NATS for the broker link's tests: the machine's (scripts/ensure-nats starts it on
127.0.0.1:4222; CALLCENTER_TEST_NATS_URL names another), each test on a stream and subjects of
its own, or a server of the test's own on a free port when the test restarts it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import nats

from callcenter.broker import BrokerConfig

NATS_URL = os.environ.get("CALLCENTER_TEST_NATS_URL", "nats://127.0.0.1:4222")


def own_config(url: str = NATS_URL, **more: float) -> BrokerConfig:
    """A stream and subjects no other test (or xdist worker, or center) shares."""
    name = secrets.token_hex(4)
    return BrokerConfig(url, stream=f"TEST_{name}", prefix=f"test{name}", **more)


async def drop_stream(config: BrokerConfig) -> None:
    nc = await nats.connect(config.url)
    try:
        with contextlib.suppress(Exception):  # the test may never have made it
            await nc.jetstream().delete_stream(config.stream)
    finally:
        await nc.close()


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait for a condition another task brings about (not a timing: ``within`` is a bound)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - another task's state; bounded by ``within``
            await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class OwnNats:
    """A nats-server with JetStream of the test's own, on loopback, that it stops and starts."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.store = store
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> None:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self._proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; killed by stop()
            [binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        async with asyncio.timeout(10):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                return

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()  # as a crash: no goodbye to the clients
            await asyncio.to_thread(proc.wait)


@contextlib.asynccontextmanager
async def own_nats(store: Path) -> AsyncIterator[OwnNats]:
    server = OwnNats(store)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class CutProxy:
    """A TCP proxy on loopback in front of a NATS server, whose connections the test cuts
    (:meth:`cut`) and lets through again (:meth:`mend`): a lost link for one client while the
    broker and the other clients go on."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._open = asyncio.Event()
        self._open.set()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def __aenter__(self) -> CutProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._open.is_set():
            writer.close()  # refused while cut: the client tries again
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._writers += [writer, up_writer]
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._pipe(reader, up_writer))
            tg.create_task(self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    def cut(self) -> None:
        self._open.clear()
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    def mend(self) -> None:
        self._open.set()
