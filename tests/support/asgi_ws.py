"""A websocket client for an ASGI app in the test's own event loop: no server, no thread.

Starlette's TestClient runs the app in another thread and event loop, where neither the
app's database engine (asyncpg connections belong to one loop) nor its event bus can be
shared with the test. This client speaks the ASGI websocket messages directly instead.

``stalled=True`` plays a browser that stopped reading: every data frame the server sends
blocks forever, as a full TCP window would, while a close frame is still recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

from starlette.types import ASGIApp, Message

WAIT = 10.0  # seconds: a safety net for a broken test, never a timing assertion


class WsClosed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class AsgiWebSocket:
    def __init__(
        self,
        app: ASGIApp,
        path: str = "/ws",
        *,
        headers: Iterable[tuple[str, str]] = (),
        subprotocols: Iterable[str] = (),
        query: str = "",
        stalled: bool = False,
    ) -> None:
        self._app = app
        self._scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("test", 80),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
            "subprotocols": list(subprotocols),
            "state": {},
            "extensions": {},
        }
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._stalled = stalled
        self._unstall = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.accepted = False
        self.subprotocol: str | None = None
        self.close: tuple[int, str] | None = None  # what the server closed with
        self.sends_blocked = 0  # data frames held by a stalled client

    # --- the ASGI side -----------------------------------------------------------------

    async def _receive(self) -> Message:
        return await self._to_app.get()

    async def _send(self, message: Message) -> None:
        if message["type"] == "websocket.send" and self._stalled:
            self.sends_blocked += 1
            await self._unstall.wait()
        await self._from_app.put(message)

    async def _run(self) -> None:
        try:
            await self._app(self._scope, self._receive, self._send)
        finally:
            await self._from_app.put({"type": "test.app_returned"})

    # --- the client's side ---------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self._to_app.put({"type": "websocket.connect"})
        self._task = asyncio.create_task(self._run())
        first = await self._next()
        if first["type"] == "websocket.accept":
            self.accepted = True
            self.subprotocol = first.get("subprotocol")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._unstall.set()
        if self.close is None:
            await self._to_app.put({"type": "websocket.disconnect", "code": 1000, "reason": ""})
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), WAIT)
            if not self._task.done():
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    async def _next(self) -> Message:
        message = await asyncio.wait_for(self._from_app.get(), WAIT)
        if message["type"] == "websocket.close":
            self.close = (int(message.get("code", 1000)), str(message.get("reason") or ""))
        elif message["type"] == "test.app_returned" and self.close is None:
            self.close = (1006, "the app returned without a close")
        return message

    async def receive_json(self) -> dict[str, Any]:
        """The next message the server sent; WsClosed if it closed instead."""
        if self.close is not None:
            raise WsClosed(*self.close)
        message = await self._next()
        if message["type"] != "websocket.send":
            assert self.close is not None
            raise WsClosed(*self.close)
        body: dict[str, Any] = json.loads(message["text"])
        return body

    async def receive_type(self, kind: str) -> dict[str, Any]:
        """Read on until a message of type ``kind`` (others are skipped)."""
        while True:
            message = await self.receive_json()
            if message["type"] == kind:
                return message

    async def messages_until(self, kind: str) -> list[dict[str, Any]]:
        """Every message up to and including the first of type ``kind``."""
        seen = []
        while True:
            message = await self.receive_json()
            seen.append(message)
            if message["type"] == kind:
                return seen

    async def closed(self) -> tuple[int, str]:
        """Read on until the server closes; its code and reason."""
        while self.close is None:
            await self._next()
        return self.close

    async def send_text(self, text: str) -> None:
        await self._to_app.put({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self._to_app.put({"type": "websocket.receive", "bytes": data})

    async def send_json(self, body: dict[str, Any]) -> None:
        await self.send_text(json.dumps(body))
