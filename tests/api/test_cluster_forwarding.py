"""A standby forwards the API to the call owner (callcenter/api/forwarding.py), on the real
PostgreSQL: the test holds the call-owner lease itself and beats as the owner, whose
internal URL is a small HTTP server of the test's that answers with what it received."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from callcenter.app import create_app
from callcenter.cluster.model import Role
from callcenter.persistence.call_owner import PgCoordination
from callcenter.settings import Settings, load_settings
from tests.conftest import truncate_postgres

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """The owner: answers 201 with the request as it arrived, two cookies and a header."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode(),
        "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
        "body": body.decode(),
    }
    payload = json.dumps(seen).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [
                (b"content-type", b"application/json"),
                (b"set-cookie", b"a=1; Path=/"),
                (b"set-cookie", b"b=2; Path=/"),
                (b"x-owner", b"yes"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


@contextlib.asynccontextmanager
async def owner_server() -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(echo, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn says so by this flag; bounded below
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def lease_held(url: str, owner_url: str | None) -> AsyncIterator[None]:
    """The lease taken by the test; with ``owner_url``, beating as the owner there."""
    lease = PgCoordination(url, "test-owner", owner_url or "", fresh_seconds=2.0)
    await lease.connect()
    assert await lease.try_lease()

    async def beat() -> None:
        while True:
            await lease.beat(Role.OWNER, set())
            await asyncio.sleep(0.1)

    task = asyncio.get_running_loop().create_task(beat()) if owner_url else None
    try:
        if task is not None:
            await asyncio.sleep(0)
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await lease.close()


def standby_settings(url: str) -> Settings:
    return load_settings(
        database_url=url,
        pbx_enabled=False,
        cluster=True,
        instance_id="standby",
        cluster_beat_seconds=0.05,
        secret_key=SecretStr("test-only-secret-key-0123456789-abcdef"),
    )


@contextlib.asynccontextmanager
async def standby(url: str, until_owner: bool) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(standby_settings(url))
    async with app.router.lifespan_context(app):
        cluster = app.state.runtime.cluster
        for _ in range(750):  # up to 15 s: a busy machine's first beats are slow
            if not until_owner or cluster.owner_url is not None:
                break
            await asyncio.sleep(0.02)
        assert cluster.is_owner is False
        transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://edge.test") as http:
            yield app, http


@pytest.fixture
async def pg(postgres_url: str) -> str:
    await truncate_postgres(postgres_url)
    return postgres_url


async def test_a_standby_forwards_method_path_query_headers_and_body_and_returns_the_answer(
    pg: str,
) -> None:
    async with owner_server() as owner, lease_held(pg, owner), standby(pg, True) as (_, http):
        response = await http.post(
            "/api/tickets?x=1&y=%E4%B8%AD",
            content=b'{"title": "t"}',
            headers={
                "Authorization": "Bearer tok",
                "Cookie": "cc_session=abc",
                "Origin": "http://desk.test",
                "Content-Type": "application/json",
            },
        )
    assert response.status_code == 201
    assert response.headers["x-owner"] == "yes"
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/api/tickets"
    assert seen["query"] == "x=1&y=%E4%B8%AD"
    assert seen["body"] == '{"title": "t"}'
    assert seen["headers"]["authorization"] == "Bearer tok"
    assert seen["headers"]["cookie"] == "cc_session=abc"
    assert seen["headers"]["origin"] == "http://desk.test"
    assert seen["headers"]["x-forwarded-for"] == "198.51.100.7"


async def test_a_standby_whose_owner_does_not_answer_says_owner_unreachable(pg: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with lease_held(pg, closed), standby(pg, True) as (_, http):
        response = await http.get("/api/auth/me")
    assert response.status_code == 503
    assert response.json()["error"] == "owner-unreachable"
    assert response.headers["retry-after"] == "1"


async def test_a_standby_that_knows_no_owner_says_so_and_is_unhealthy(pg: str) -> None:
    async with lease_held(pg, None), standby(pg, False) as (app, http):
        response = await http.get("/api/auth/me")
        health = await http.get("/health")
    assert response.status_code == 503
    assert response.json()["error"] == "owner-unreachable"
    assert health.status_code == 503
    body = health.json()
    assert body["role"] == "standby"
    assert "no call owner is known: the API cannot be forwarded" in body["problems"]
    assert app.state.runtime.cluster.owner_url is None
