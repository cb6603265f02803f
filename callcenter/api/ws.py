"""The CTI websocket, ``/ws``: screen pops, agent states and queue changes to the desktop, and
the agent's own ready / not ready back. docs/events.md is the catalogue of its messages.

The handshake, in order (nothing is read from the client, and the hub knows nothing of the
connection, until all three pass):

1. No ``token`` in the URL: query strings end up in access logs.
2. ``Origin`` (a browser always sends it) must be one of the configured origins
   (``CALLCENTER_ALLOWED_ORIGINS``); no Origin at all is accepted only from a client that
   authenticates with the bearer subprotocol, which a browser page never does by itself.
3. The session token: the ``cc_session`` cookie, or ``Sec-WebSocket-Protocol: cti.v1,
   bearer.<token>`` for scripts and tools. The server selects ``cti.v1`` when it was offered
   and never echoes the token back. The REST routes' MFA rule applies
   (callcenter/api/auth.py check_mfa): a session that lacks it is refused with 4401.

A refused handshake is accepted and closed at once with 4403 (origin) or 4401 (no, unknown,
expired or revoked token): a browser's WebSocket API shows a page the close code but never an
HTTP status, and the desktop must tell "log in again" from "the server is down".

Close codes the server sends: see :data:`CLOSE_CODES` and docs/events.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from callcenter.acd.agent_states import AgentStates
from callcenter.api.agent_state import AGENT_ROLES
from callcenter.api.auth import (
    SESSION_COOKIE,
    BadOrigin,
    MfaRequired,
    Principal,
    check_mfa,
    origin_allowed,
    principal_for_token,
)
from callcenter.api.deps import Clock, ClockDep
from callcenter.api.forwarding import OWNER_UNREACHABLE, OwnerForwarder
from callcenter.api.schemas.agents import AgentOut, AgentStateIn
from callcenter.cluster.ownership import CallOwnership
from callcenter.cti.hub import CloseKind, Connection, ConnectionClosed, CtiHub, HubConfig
from callcenter.cti.messages import (
    ClientMessage,
    FrameTooLarge,
    MessageRefused,
    Ping,
    ProtocolViolation,
    Resume,
    StateChange,
    parse_frame,
)
from callcenter.cti.routing import Viewer
from callcenter.errors import DomainError, NotAuthenticated, NotFound
from callcenter.events import EventBus
from callcenter.persistence import agents
from callcenter.persistence.db import Database
from callcenter.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter()

SUBPROTOCOL = "cti.v1"
BEARER = "bearer."  # Sec-WebSocket-Protocol entry carrying the session token
MAX_CLOSE_REASON = 123  # bytes: RFC 6455 leaves 123 of a control frame's 125 for the reason

NOT_AUTHENTICATED = 4401
BAD_ORIGIN = 4403
CLOSE_CODES = {
    CloseKind.SESSION_ENDED: 4401,  # logged out, expired, or the user's role changed
    CloseKind.TOO_SLOW: 4408,  # the send queue overflowed
    CloseKind.NO_HEARTBEAT: 4410,  # silent for three heartbeat intervals
    CloseKind.UNSUPPORTED_DATA: 1003,  # binary, not JSON or Unicode, too deep, no "type"
    CloseKind.FRAME_TOO_LARGE: 1009,
    CloseKind.SERVER_STOPPING: 1001,
    CloseKind.SERVER_ERROR: 1011,
}


def cti_hub(settings: Settings, events: EventBus) -> CtiHub:
    """The hub the app's lifespan runs, configured from the ``ws_*`` settings (it needs no
    database: a pop arrives with its client summary, audited already)."""
    config = HubConfig(
        send_queue=settings.ws_send_queue,
        heartbeat_seconds=settings.ws_heartbeat_seconds,
        pending_pop_seconds=settings.ws_pending_pop_seconds,
    )
    return CtiHub(events, config)


# --- the handshake --------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    token: str
    subprotocol: str | None  # what the server selects


def offered_subprotocols(websocket: WebSocket) -> list[str]:
    return [str(p) for p in websocket.scope.get("subprotocols", [])]


def credentials(
    settings: Settings,
    origin: str | None,
    cookie: str | None,
    offered: list[str],
    query_keys: list[str],
) -> Credentials:
    """Where the token is, once the origin is known to be good (the module's docstring)."""
    if "token" in query_keys:
        raise NotAuthenticated(
            "a token in the URL is refused (URLs are logged): send the cc_session cookie or "
            "offer the subprotocol bearer.<token>"
        )
    bearer = next((p[len(BEARER) :] for p in offered if p.startswith(BEARER)), None)
    if origin is not None and not origin_allowed(settings, origin):
        raise BadOrigin("this page's origin may not open the websocket", origin=origin)
    if origin is None and bearer is None:
        raise BadOrigin("no Origin: a browser sends one; scripts use the bearer subprotocol")
    token = bearer or cookie
    if not token:
        raise NotAuthenticated("log in first: POST /api/auth/login, then open /ws")
    return Credentials(token, SUBPROTOCOL if SUBPROTOCOL in offered else None)


def close_reason(text: str) -> str:
    return text.encode()[:MAX_CLOSE_REASON].decode(errors="ignore")


async def refuse(websocket: WebSocket, error: DomainError) -> None:
    code = BAD_ORIGIN if isinstance(error, BadOrigin) else NOT_AUTHENTICATED
    subprotocol = SUBPROTOCOL if SUBPROTOCOL in offered_subprotocols(websocket) else None
    log.info("cti: handshake refused (%s)", error.error_id)
    await websocket.accept(subprotocol=subprotocol)
    await websocket.close(code, close_reason(error.message))


async def authenticate(
    websocket: WebSocket, settings: Settings, db: Database, clock: Clock
) -> tuple[Credentials, Principal]:
    creds = credentials(
        settings,
        websocket.headers.get("origin"),
        websocket.cookies.get(SESSION_COOKIE),
        offered_subprotocols(websocket),
        list(websocket.query_params.keys()),
    )
    principal = await principal_for_token(db, creds.token, now=clock())
    if principal is None:
        raise NotAuthenticated("the session has expired or ended: log in again")
    check_mfa(principal)  # the REST routes' rule: closed with 4401, its reason says why
    return creds, principal


@router.websocket("/ws")
async def cti_socket(websocket: WebSocket, clock: ClockDep) -> None:
    runtime = websocket.app.state.runtime
    settings: Settings = runtime.settings
    try:
        creds, principal = await authenticate(websocket, settings, runtime.db, clock)
    except (NotAuthenticated, BadOrigin, MfaRequired) as exc:
        await refuse(websocket, exc)
        return
    hub: CtiHub = runtime.cti
    await websocket.accept(subprotocol=creds.subprotocol)
    conn = hub.connect(Viewer(principal.user_id, principal.username, principal.role))
    session = CtiSession(websocket, runtime.db, runtime.agent_states, hub, conn, creds.token, clock)
    if runtime.cluster is not None:  # a standby hands state changes to the call owner
        session.owner = OwnerStates(runtime.cluster, websocket.app.state.forwarder)
    try:
        await session.serve(settings)
    finally:
        hub.disconnect(conn)


@dataclass(frozen=True)
class OwnerStates:
    """Where a standby's desks change their agent's state: the call owner."""

    cluster: CallOwnership
    forwarder: OwnerForwarder


# --- one connection -------------------------------------------------------------------------


class CtiSession:
    """The tasks of one open connection: a writer that empties its queue into the socket, a
    reader, and a watch on the login session. Whichever ends the connection closes it."""

    def __init__(
        self,
        websocket: WebSocket,
        db: Database,
        states: AgentStates,
        hub: CtiHub,
        conn: Connection,
        token: str,  # kept to re-check the session; never logged
        clock: Clock,
    ) -> None:
        self.websocket = websocket
        self.db = db
        self.states = states
        self.hub = hub
        self.conn = conn
        self._token = token
        self._clock = clock
        self.owner: OwnerStates | None = None  # in a cluster: where agents' states live

    async def serve(self, settings: Settings) -> None:
        viewer = self.conn.viewer
        self.conn.push(
            self.hub.message(
                "hello",
                {
                    "user_id": viewer.user_id,
                    "username": viewer.username,
                    "role": viewer.role.value,
                    "last_seq": self.hub.last_seq,
                    "heartbeat_seconds": settings.ws_heartbeat_seconds,
                    "max_frame_bytes": settings.ws_max_frame_bytes,
                },
            )
        )
        name = f"cti-{self.conn.id}"
        async with asyncio.TaskGroup() as tg:
            tasks = [
                tg.create_task(self._guard(self._write()), name=f"{name}-write"),
                tg.create_task(
                    self._guard(self._read(settings.ws_max_frame_bytes)),
                    name=f"{name}-read",
                ),
                tg.create_task(
                    self._guard(self._watch_session(settings.ws_session_check_seconds)),
                    name=f"{name}-session",
                ),
            ]
            # Whichever task ends the connection says why; then the others stop.
            closing = await self.conn.wait_closed()
            for task in tasks:
                task.cancel()
        if closing.kind is not CloseKind.CLIENT_GONE:
            # The client may be gone already, or stuck: nothing more to do then.
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.websocket.close(CLOSE_CODES[closing.kind], close_reason(closing.reason))

    async def _guard(self, work: Awaitable[None]) -> None:
        """A task's failure closes the connection (1011) instead of leaving it half served."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cti: connection %d failed", self.conn.id)
            self.conn.close(CloseKind.SERVER_ERROR, "internal error")

    async def _write(self) -> None:
        while True:
            try:
                text = await self.conn.next()
            except ConnectionClosed:
                return
            try:
                await self.websocket.send_text(text)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.conn.close(CloseKind.CLIENT_GONE, "")
                return
            self.conn.sent()

    async def _read(self, max_bytes: int) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                self.conn.close(CloseKind.CLIENT_GONE, "")
                return
            self.hub.heard(self.conn)
            try:
                parsed = parse_frame(message.get("text"), message.get("bytes"), max_bytes=max_bytes)
            except FrameTooLarge as exc:
                self.conn.close(CloseKind.FRAME_TOO_LARGE, exc.message)
                return
            except ProtocolViolation as exc:
                self.conn.close(CloseKind.UNSUPPORTED_DATA, exc.message)
                return
            except MessageRefused as exc:
                self._error(exc.error_id, exc.message, exc.detail)
                continue
            await self._handle(parsed)

    async def _handle(self, message: ClientMessage) -> None:
        if isinstance(message, Ping):
            self.conn.push(self.hub.message("pong"))
        elif isinstance(message, Resume):
            await self._resume(message)
        elif isinstance(message, StateChange):
            await self._change_state(message)
        # Pong: being heard was the point.

    def _error(self, error: str, message: str, detail: dict[str, Any]) -> None:
        detail = dict(detail)
        ref = detail.pop("ref", None)
        self.conn.push(
            self.hub.message(
                "error", {"error": error, "message": message, "detail": detail, "ref": ref}
            )
        )

    async def _resume(self, message: Resume) -> None:
        """The agent's state as stored now, then every pop still pending for them: the whole
        of what this run holds, whichever run the client last saw."""
        viewer = self.conn.viewer
        if viewer.role in AGENT_ROLES:
            try:
                async with self.db.read() as session:
                    out = AgentOut.of(await agents.get_agent(session, viewer.user_id))
            except NotFound:
                out = None
            if out is not None:
                self.conn.push(
                    self.hub.message(
                        "agent.state",
                        {
                            "agent_id": out.agent_id,
                            "state": out.state.value,
                            "reason": out.reason,
                            "origin": "snapshot",
                        },
                    )
                )
        pops = self.hub.resume(self.conn)
        # A seq the client saw in an earlier run (the service restarted) names nothing in this
        # one: not echoed as if it did. A client that says no epoch is taken at its word.
        client_last_seq = message.last_seq
        if message.epoch is not None and message.epoch != self.hub.epoch:
            log.info("cti: connection %d resumes from an earlier run", self.conn.id)
            client_last_seq = None
        self.conn.push(
            self.hub.message(
                "resumed",
                {"last_seq": self.hub.last_seq, "client_last_seq": client_last_seq, "pops": pops},
            )
        )

    async def _current_principal(self) -> Principal | None:
        principal = await principal_for_token(self.db, self._token, now=self._clock())
        viewer = self.conn.viewer
        if principal is None or (principal.user_id, principal.role) != (
            viewer.user_id,
            viewer.role,
        ):
            self.conn.close(CloseKind.SESSION_ENDED, "the session has ended: log in again")
            return None
        return principal

    async def _change_state(self, message: StateChange) -> None:
        """The REST route's rules: the session still valid, an agent or advisor, then the
        same use case as POST /api/agents/me/state (callcenter/acd/agent_states.py)."""
        principal = await self._current_principal()
        if principal is None:
            return
        ref = {"ref": message.ref}
        if principal.role not in AGENT_ROLES:
            self._error("forbidden", f"{principal.role} has no agent state to change", ref)
            return
        try:
            change = AgentStateIn(state=message.state, reason=message.reason)
        except ValidationError as exc:
            fields = [".".join(str(p) for p in e["loc"]) for e in exc.errors()]
            self._error("invalid-message", "invalid state change", {**ref, "fields": fields})
            return
        if self.owner is not None and not self.owner.cluster.is_owner:
            await self._change_state_at_owner(self.owner, change, ref)
            return
        try:
            record = await self.states.set_own(principal.user_id, change.state, change.reason)
        except DomainError as exc:
            self._error(exc.error_id, exc.message, {**exc.detail, **ref})
            return
        out = AgentOut.of(record)
        self.conn.push(self.hub.message("state.ok", {"agent": out.model_dump(mode="json"), **ref}))

    async def _change_state_at_owner(
        self, owner: OwnerStates, change: AgentStateIn, ref: dict[str, Any]
    ) -> None:
        """On a standby: the same use case, run by the call owner (one owner per state)."""
        url = owner.cluster.owner_url
        if url is None:
            status, body = 503, {"error": OWNER_UNREACHABLE, "message": "no call owner is known"}
        else:
            body_in = change.model_dump(mode="json")
            status, body = await owner.forwarder.change_state(url, self._token, body_in)
        if status == 200:
            self.conn.push(self.hub.message("state.ok", {"agent": body, **ref}))
            return
        detail = body.get("detail")
        self._error(
            str(body.get("error", OWNER_UNREACHABLE)),
            str(body.get("message", "the call owner refused the change")),
            {**(detail if isinstance(detail, dict) else {}), **ref},
        )

    async def _watch_session(self, every: float) -> None:
        """Logout, expiry or a changed role end the connection, not only the next request."""
        while True:
            # Spread over time: sockets opened together (a shift starting, a restart) would
            # otherwise all query the sessions table in the same instant.
            await asyncio.sleep(every * random.uniform(0.5, 1.5))  # noqa: S311 (not a secret)
            try:
                principal = await self._current_principal()
            except Exception as exc:
                # The database is away for a moment: keep the screen, check again later.
                # Only the error's kind: a database error's text may quote the token's hash.
                log.warning(
                    "cti: connection %d: session not checked (%s)", self.conn.id, type(exc).__name__
                )
                continue
            if principal is None:
                return
