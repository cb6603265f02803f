"""Websocket clients of the CTI protocol (docs/events.md), as the desktop behaves at the
protocol level: connect with the bearer subprotocol, ``resume`` at once with the last
(epoch, seq) seen, answer pings, forget the seqs seen when the epoch changes, and reconnect
without end when the socket closes.

Used in process for a few agents' desks (fault h), and as a process of its own for the herd of
2,000 sockets (fault g), which keeps their reading off the fault runs' event loop:

    python scripts/faults/desks.py <http port> <tokens file>   # one socket per token
    stdin "report\n" -> one JSON line of figures on stdout; stdin EOF -> close and exit
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException


@dataclass
class Desk:
    url: str
    token: str
    keep: bool = True  # keep every message (a desk), or only the figures (the herd)
    messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    epoch: str | None = None
    last_seq: int | None = None
    epochs: list[tuple[str, float]] = field(default_factory=list)  # (epoch, hello at)
    resumed_at: dict[str, float] = field(default_factory=dict)  # epoch -> resumed at
    closes: list[int | None] = field(default_factory=list)
    stopped: bool = False

    async def run(self) -> None:
        while not self.stopped:
            try:
                async with connect(
                    self.url,
                    subprotocols=["cti.v1", f"bearer.{self.token}"],  # type: ignore[list-item]
                    open_timeout=20,
                    ping_interval=None,
                    max_queue=None,
                ) as ws:
                    await ws.send(json.dumps(self._resume()))
                    async for raw in ws:
                        await self._received(ws, json.loads(raw))
                    self.closes.append(ws.close_code)
            except (OSError, TimeoutError, InvalidStatus, WebSocketException) as exc:
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                self.closes.append(code)
            if not self.stopped:
                await asyncio.sleep(0.2)

    def _resume(self) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "resume"}
        if self.epoch is not None:
            message["epoch"] = self.epoch
        if self.last_seq is not None:
            message["last_seq"] = self.last_seq
        return message

    async def _received(self, ws: Any, message: dict[str, Any]) -> None:
        at = time.time()
        if self.keep:
            self.messages.append((at, message))
        epoch = message.get("epoch")
        if epoch != self.epoch:  # a restarted service: its seqs start again
            self.epoch, self.last_seq = epoch, None
        kind = message.get("type")
        if kind == "hello":
            self.epochs.append((str(epoch), at))
        elif kind == "resumed":
            self.resumed_at.setdefault(str(epoch), at)
        elif kind == "ping":
            await ws.send('{"type": "pong"}')
        seq = message.get("seq")
        if isinstance(seq, int):
            self.last_seq = max(seq, self.last_seq or 0)

    def pops(self) -> list[tuple[float, dict[str, Any]]]:
        return [(at, m) for at, m in self.messages if m.get("type") == "call.offered"]


# --- the herd (its own process) -------------------------------------------------------------------


def report(desks: list[Desk], since: float) -> dict[str, Any]:
    """How many sockets resumed on the newest epoch, and how long after ``since`` they did."""
    epochs = [d.epoch for d in desks if d.epoch]
    newest = max(set(epochs), key=epochs.count) if epochs else None
    delays = sorted(
        d.resumed_at[newest] - since for d in desks if newest and newest in d.resumed_at
    )
    closes: dict[str, int] = {}
    for desk in desks:
        for code in desk.closes:
            closes[str(code)] = closes.get(str(code), 0) + 1
    return {
        "sockets": len(desks),
        "epoch": newest,
        "resumed": len(delays),
        "p50": statistics.median(delays) if delays else None,
        "p99": delays[int(len(delays) * 0.99) - 1] if len(delays) >= 100 else None,
        "last": delays[-1] if delays else None,
        "closes": closes,
    }


async def herd_main(port: int, tokens: list[str]) -> None:
    url = f"ws://127.0.0.1:{port}/ws"
    desks = [Desk(url, token, keep=False) for token in tokens]
    tasks = [asyncio.create_task(d.run()) for d in desks]
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    since = time.time()
    while line := (await reader.readline()).decode().strip():
        words = line.split()
        if words[0] == "since":  # measure from this moment (the fault's end)
            since = float(words[1])
        elif words[0] == "report":
            print(json.dumps(report(desks, since)), flush=True)
    for desk in desks:
        desk.stopped = True
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    with open(sys.argv[2]) as file:
        herd_tokens = json.load(file)
    asyncio.run(herd_main(int(sys.argv[1]), herd_tokens))
