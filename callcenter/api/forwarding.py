"""A standby forwards the API to the call owner (issue 21; docs/scaling.md).

Only the call owner runs the use cases that touch calls and agents' states, so that each has
one owner across the cluster. A standby serves the static pages and the websockets itself,
and hands every ``/api`` request to the owner's internal URL (from the instances'
heartbeats): the same method, path, query, headers (the bearer token, the session cookie,
the origin) and body, and answers with the owner's status, headers and body, streamed. The
client's address goes along in ``X-Forwarded-For``, which the owner believes only from its
trusted proxies (``CALLCENTER_TRUSTED_PROXIES``: list the instances there).

No owner known, or the owner not answering (it died and nobody took over yet): 503
``owner-unreachable``; a client tries again (the takeover takes about a second).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

OWNER_UNREACHABLE = "owner-unreachable"
# Hop-by-hop headers (RFC 9110 7.6.1) are the connection's, not the message's; Host and the
# length are the new request's.
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def _unreachable(why: str) -> JSONResponse:
    return JSONResponse(
        {"error": OWNER_UNREACHABLE, "message": why, "detail": {}},
        status_code=503,
        headers={"Retry-After": "1", "Cache-Control": "no-store"},
    )


class OwnerForwarder:
    """The HTTP client a standby forwards with; built and closed by the app's lifespan."""

    def __init__(self, timeout: float = 30.0) -> None:
        # No retry: a request that may have reached the owner is never sent twice (a
        # duplicated POST is a duplicated ticket or dial).
        self.http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        # httpx logs every request's URL at INFO: search query strings carry phone and ID
        # numbers (callcenter/logfilters.py keeps them out of the access log for the same
        # reason). The standby's own access log names each request already.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    async def forward(self, request: Request, owner_url: str) -> Response:
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP]
        client = request.client.host if request.client is not None else ""
        prior = request.headers.get("x-forwarded-for")
        headers.append(("x-forwarded-for", f"{prior}, {client}" if prior else client))
        outgoing = self.http.build_request(
            request.method,
            owner_url + request.url.path,
            params=request.url.query.encode("ascii") if request.url.query else None,
            headers=headers,
            content=await request.body(),
        )
        try:
            answer = await self.http.send(outgoing, stream=True)
        except httpx.TransportError as exc:
            log.warning("the call owner at %s did not answer: %s", owner_url, type(exc).__name__)
            return _unreachable("the call owner did not answer: try again")
        back = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in _HOP]
        response = StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            background=BackgroundTask(answer.aclose),
        )
        response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in back]
        if "content-length" in answer.headers:
            response.raw_headers.append(
                (b"content-length", answer.headers["content-length"].encode("latin-1"))
            )
        return response

    async def change_state(
        self, owner_url: str, token: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """A desk's ``state`` message on a standby, as ``POST /api/agents/me/state`` to the
        owner with the desk's own session token: the status and the JSON answer."""
        try:
            answer = await self.http.post(
                owner_url + "/api/agents/me/state",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.TransportError as exc:
            log.warning("the call owner at %s did not answer: %s", owner_url, type(exc).__name__)
            return 503, {"error": OWNER_UNREACHABLE, "message": "the call owner did not answer"}
        try:
            data = answer.json()
        except ValueError:
            data = {}
        return answer.status_code, data if isinstance(data, dict) else {}

    async def close(self) -> None:
        await self.http.aclose()


class ForwardToOwner:
    """ASGI middleware: ``/api`` on a standby goes to the call owner; all else is served."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        runtime = getattr(state, "runtime", None)
        cluster = runtime.cluster if runtime is not None else None
        if cluster is None or cluster.is_owner:
            await self.app(scope, receive, send)
            return
        forwarder: OwnerForwarder = state.forwarder
        owner = cluster.owner_url
        response = (
            await forwarder.forward(Request(scope, receive), owner)
            if owner is not None
            else _unreachable("no call owner is known: try again")
        )
        await response(scope, receive, send)
