"""The composition root: builds every long-lived object in the app's lifespan.

Nothing is created at import time; tests build apps with their own settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

from callcenter import __version__
from callcenter.api import api_router
from callcenter.api.errors import install_error_handlers
from callcenter.asterisk.client import AmiClient, AmiConfig, ConnectionState
from callcenter.asterisk.errors import AmiAuthenticationError
from callcenter.logfilters import install_access_log_filter
from callcenter.pbx.channels import ChannelTracker
from callcenter.pbx.greeting import greet_and_hang_up
from callcenter.pbx.link import CallHandler, PbxLink
from callcenter.persistence import migrate
from callcenter.persistence.db import Database, ensure_sqlite_folder
from callcenter.settings import Settings

log = logging.getLogger(__name__)


def ami_config(settings: Settings) -> AmiConfig:
    return AmiConfig(
        host=settings.ami_host,
        port=settings.ami_port,
        username=settings.ami_username,
        secret=settings.ami_secret.get_secret_value(),
        ssl_context=ssl.create_default_context() if settings.ami_tls else None,
        action_timeout=settings.ami_action_timeout,
        ping_interval=settings.ami_ping_interval,
        event_queue_size=settings.ami_event_queue_size,
    )


@dataclass
class Runtime:
    """Everything the running service holds; handed to routes through ``app.state``."""

    settings: Settings
    db: Database
    ami: AmiClient
    tracker: ChannelTracker
    link: PbxLink
    ami_error: str | None = None


class HealthOut(BaseModel):
    status: str
    version: str
    ami: str
    ami_generation: int
    ami_error: str | None
    live_channels: int


class ChannelOut(BaseModel):
    uniqueid: str
    name: str
    linkedid: str
    state: str
    caller_number: str
    caller_name: str
    context: str
    exten: str
    bridge_id: str


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def _run_ami(runtime: Runtime) -> None:
    try:
        await runtime.ami.run()
    except AmiAuthenticationError as exc:
        # Keep serving: /health says why there is no PBX, and an operator fixes the secret.
        runtime.ami_error = str(exc)
        log.error("%s", exc)


def create_app(settings: Settings, call_handler: CallHandler | None = greet_and_hang_up) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.effective_database_url
        ensure_sqlite_folder(url)
        if settings.database_auto_migrate:
            await migrate.upgrade_async(url)
        db = Database(url)
        ami = AmiClient(ami_config(settings))
        tracker = ChannelTracker()
        runtime = Runtime(settings, db, ami, tracker, PbxLink(ami, tracker, call_handler))
        app.state.runtime = runtime
        try:
            async with asyncio.TaskGroup() as tg:
                if settings.pbx_enabled:
                    tg.create_task(_run_ami(runtime), name="ami")
                    tg.create_task(runtime.link.run(), name="pbx-link")
                try:
                    yield
                finally:
                    await ami.close()
        finally:
            await db.dispose()

    install_access_log_filter()  # phone and ID numbers travel in search query strings
    app = FastAPI(title="callcenter", version=__version__, lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(api_router())

    @app.get("/health")
    async def health(runtime: RuntimeDep) -> HealthOut:
        connected = runtime.ami.state is ConnectionState.CONNECTED
        pbx = runtime.settings.pbx_enabled
        return HealthOut(
            status="ok" if connected or not pbx else "degraded",
            version=__version__,
            ami=runtime.ami.state.value if pbx else "disabled",
            ami_generation=runtime.ami.generation,
            ami_error=runtime.ami_error,
            live_channels=len(runtime.tracker.channels),
        )

    @app.get("/api/channels")
    async def channels(runtime: RuntimeDep) -> list[ChannelOut]:
        return [
            ChannelOut(
                uniqueid=c.uniqueid,
                name=c.name,
                linkedid=c.linkedid,
                state=c.state,
                caller_number=c.caller_number,
                caller_name=c.caller_name,
                context=c.context,
                exten=c.exten,
                bridge_id=c.bridge_id,
            )
            for c in runtime.tracker.channels.values()
        ]

    return app
