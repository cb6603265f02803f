"""Every API response says ``Cache-Control: no-store``.

API responses carry client records, call records and other personal data: no browser cache,
proxy or shared computer's disk may keep a copy (issue 15). One rule for the whole API is
simpler to keep right than a header per route; the desk's static files are not under /api
and keep their own caching (callcenter/api/desk.py).

A plain ASGI middleware: it only edits the response's start message, so streamed responses
(CSV exports) pass through untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/api/"
NO_STORE = (b"cache-control", b"no-store")


class NoStoreForApi:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"cache-control"
                ]
                message = {**message, "headers": [*headers, NO_STORE]}
            await send(message)

        await self.app(scope, receive, send_no_store)
