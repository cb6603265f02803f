"""The app with its websocket, on a test database: two agents, an advisor, a supervisor and
an admin, each with a live session, and sockets opened as any of them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from callcenter.acd.model import ClientSummary
from callcenter.app import create_app
from callcenter.crm.vocabulary import Role
from callcenter.cti.hub import CtiHub
from callcenter.events import CallOffered, EventBus
from callcenter.persistence.db import Database
from callcenter.persistence.screen_pop import client_summary
from callcenter.persistence.tables import User
from callcenter.settings import Settings, load_settings
from tests.api.conftest import open_test_session
from tests.support.asgi_ws import AsgiWebSocket
from tests.support.crm_data import add_branch

ORIGIN = "http://desk.test"
STAFF = {
    "agent_a": (Role.AGENT, "1001"),
    "agent_b": (Role.AGENT, "1002"),
    "advisor": (Role.ADVISOR, "1003"),
    "supervisor": (Role.SUPERVISOR, "1901"),
    "admin": (Role.ADMIN, None),
}


@dataclass
class Desk:
    app: FastAPI
    db: Database
    http: httpx.AsyncClient
    ids: dict[str, int]
    tokens: dict[str, str]
    branch_id: int

    @property
    def events(self) -> EventBus:
        events: EventBus = self.app.state.runtime.events
        return events

    @property
    def hub(self) -> CtiHub:
        hub: CtiHub = self.app.state.runtime.cti
        return hub

    async def summary(self, client_id: int) -> ClientSummary:
        """The client's summary as the ACD reads it (once per call, at queue entry)."""
        async with self.db.read() as session:
            client = await client_summary(session, client_id)
        assert client is not None
        return client

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def socket(
        self,
        who: str | None,
        *,
        origin: str | None = ORIGIN,
        bearer: bool = False,
        token: str | None = None,
        stalled: bool = False,
        query: str = "",
    ) -> AsgiWebSocket:
        """A socket as the desktop opens it (the session cookie, our Origin), or as a script
        does (``bearer``: the token in the subprotocol)."""
        headers: list[tuple[str, str]] = [("host", "desk.test")]
        if origin is not None:
            headers.append(("origin", origin))
        token = token or (self.tokens[who] if who else None)
        subprotocols: list[str] = []
        if token and bearer:
            subprotocols = ["cti.v1", f"bearer.{token}"]
        elif token:
            headers.append(("cookie", f"cc_session={token}"))
        return AsgiWebSocket(
            self.app, headers=headers, subprotocols=subprotocols, stalled=stalled, query=query
        )


@contextlib.asynccontextmanager
async def open_desk(database_url: str, database: Database, **ws: Any) -> AsyncIterator[Desk]:
    branch_id = await add_branch(database, "WS01")
    async with database.write() as session:
        users = {
            name: User(
                username=name,
                display_name=name.replace("_", " ").title(),
                role=role,
                branch_id=branch_id,
                extension=extension,
            )
            for name, (role, extension) in STAFF.items()
        }
        session.add_all(users.values())
    ids = {name: user.id for name, user in users.items()}
    tokens = {name: await open_test_session(database, user_id) for name, user_id in ids.items()}
    settings = load_settings(
        database_url=database_url,
        pbx_enabled=False,
        database_auto_migrate=False,
        allowed_origins=[ORIGIN],
        # No heartbeat or wallboard snapshot comes between the messages a test expects,
        # unless the test asks for them.
        **{"ws_heartbeat_seconds": 3600.0, "ws_floor_snapshot_seconds": 3600.0, **ws},
    )
    async with _run(settings, ids, tokens, branch_id) as desk:
        yield desk


@contextlib.asynccontextmanager
async def restarted(desk: Desk) -> AsyncIterator[Desk]:
    """The service of ``desk`` started again, as after a restart: the same settings and
    database, so the same staff and sessions, and a new app with its own bus and hub. Open it
    once ``desk``'s own run has stopped."""
    runtime = desk.app.state.runtime
    async with _run(runtime.settings, desk.ids, desk.tokens, desk.branch_id) as again:
        yield again


@contextlib.asynccontextmanager
async def _run(
    settings: Settings, ids: dict[str, int], tokens: dict[str, str], branch_id: int
) -> AsyncIterator[Desk]:
    app = create_app(settings, call_handler=None)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Desk(app, app.state.runtime.db, http, ids, tokens, branch_id)


def offered(
    agent_id: int,
    call_id: str,
    *,
    interaction_id: int | None = None,
    client: ClientSummary | None = None,
) -> CallOffered:
    """A call.offered as the ACD publishes it (``client``: the caller's summary, as the ACD
    read it when the call joined its queue; see :meth:`Desk.summary`)."""
    return CallOffered(
        agent_id=agent_id,
        extension="1001",
        call_id=call_id,
        interaction_id=interaction_id,
        queue="general",
        client=client,
        caller_number="+8613800138000",
        language="zh",
        priority=3,
        authenticated=client is not None,
        ivr_path=("welcome", "menu", "agent"),
    )
