"""The README's outbound try-out on the real Asterisk, run as a newcomer runs it: the service
on the demo data with scripts/start's demo settings (scripts/demo-settings, sourced by bash:
the trunk, the hotline's number, calling hours around the clock, so whatever the hour the
suite runs at), the README's scripts/client.py line in its own process as the clients' phones
behind the trunk, agent 1001's test phone answering, and the README's curl lines word for
word (only the service's address changed) previewing and dialling agent01's next item.

The item is the demo seed's own (a care call to client 1, nothing added by the test); phone
1001 rings first, then scripts/client.py prints the call: the client's number dialled, the
hotline's number shown, answered, ended; the dialler records the attempt as answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import socket
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from callcenter.crm.vocabulary import FollowUpKind
from callcenter.demo.history import TRY_IT_REASON
from callcenter.persistence.tables import ClientPhone, FollowUp, FollowUpAttempt, User
from callcenter.settings import PROJECT_ROOT
from tests.integration.test_acd_real_asterisk import log_in, until
from tests.integration.test_outbound_trunk_real_asterisk import client_port
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.demo_settings import overrides, sourced
from tests.support.hotline import Hotline
from tests.support.logins import log_in as log_in_as

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]

README_SERVICE = "127.0.0.1:8080"  # where the README's curl lines find the service


def try_it() -> list[str]:
    """The lines of the README's "Try it" commands (its ```sh block, not the prose after)."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh\n", 1)[1].split("\n```", 1)[0].splitlines()


def client_argv() -> list[str]:
    """The README's scripts/client.py line as argv: ``sudo`` dropped (the tests run as root),
    ``.venv/bin/python`` as this interpreter (the same venv)."""
    [line] = [
        line
        for line in try_it()
        if "scripts/client.py" in line and not line.lstrip().startswith("#")
    ]
    argv = shlex.split(line, comments=True)
    if argv[0] == "sudo":
        argv = argv[1:]
    assert argv[:2] == [".venv/bin/python", "scripts/client.py"], line
    return [sys.executable, *argv[1:]]


def api_lines() -> str:
    """The README's curl lines of the outbound preview: from agent01's login to the dial."""
    lines = try_it()
    first = next(
        i for i, line in enumerate(lines) if line.startswith("TOKEN=") and "agent01" in lines[i + 1]
    )
    last = next(i for i, line in enumerate(lines) if "/api/outbound/items/$ITEM/dial" in line)
    assert first < last
    return "\n".join(lines[first : last + 1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def served(line: Hotline, port: int) -> AsyncIterator[None]:
    """The running service's app on a TCP port, for curl (its lifespan already runs)."""
    assert line.app is not None
    server = uvicorn.Server(
        uvicorn.Config(line.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.get_running_loop().create_task(server.serve())
    await until(lambda: server.started or task.done())
    assert not task.done(), "uvicorn did not start"
    try:
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def run_api_lines(port: int) -> str:
    """The README's curl lines in bash, on the test service's port; what they print."""
    script = "set -euo pipefail\n" + api_lines().replace(README_SERVICE, f"127.0.0.1:{port}")
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        script,
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, (out, err)
    return out.decode()


async def test_the_readme_preview_dials_agent01s_demo_item_and_scripts_client_prints_it(
    hotline_factory: Callable[..., Any],
) -> None:
    # scripts/start's demo settings with nothing set by the user; the trunk goes to this
    # instance's client port (the README's 5070 may be a developer's), given to client.py.
    env, said = sourced()
    demo = overrides(env)
    assert demo["outbound_trunk"] == "127.0.0.1:5070"
    assert demo["hotline_number"] == "95555"
    port = client_port()
    demo["outbound_trunk"] = f"127.0.0.1:{port}"
    http_port = free_port()
    line: Hotline = await hotline_factory(http_port=http_port, **demo)
    async with line.db.read() as session:
        agent01 = await session.scalar(select(User.id).where(User.username == "agent01"))
        number = await session.scalar(
            select(ClientPhone.e164).where(ClientPhone.client_id == 1, ClientPhone.is_primary)
        )
    assert number == "+8619886314307"  # the README's demo client 1

    argv = [*client_argv(), "--port", str(port), "--answer-after", "0.5", "--talk", "2"]
    client = await asyncio.create_subprocess_exec(
        *argv,
        "--calls",
        "1",
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout = client.stdout
    assert stdout is not None
    printed: list[str] = []

    async def next_line(timeout: float = 20.0) -> str:
        text = (await asyncio.wait_for(stdout.readline(), timeout)).decode().rstrip("\n")
        printed.append(text)
        return text

    try:
        assert f"listen on 127.0.0.1:{port} (answering after 0.5 s)" in await next_line()
        async with AgentPhone(
            line.settings.sip_port, "1001", password=line.phone_secrets, behaviour=Answer(0.3)
        ) as phone:
            phones = line.runtime.phones
            await until(lambda: phones.registered_now("1001") is True)
            # agent01 on the desk, the call wrapped up, then not ready: the README's preview.
            assert await log_in(line, "agent01") == agent01
            headers = await log_in_as(line.http, "agent01")
            busy = {"state": "not_ready", "reason": "break"}
            response = await line.http.post("/api/agents/me/state", json=busy, headers=headers)
            assert response.status_code == 200, response.text
            async with served(line, http_port):
                output = await run_api_lines(http_port)
            dialled = json.loads(output.strip().splitlines()[-1])
            answered = await phone.wait_answered(timeout=15)
            ringing = await next_line()
            assert ringing == f"call 1: {number} dialled, the phone shows 95555", printed
            assert await next_line() == "call 1: answered, sending a 400 Hz tone", printed
            assert await next_line() == "call 1: ended: this phone hung up", printed
            assert await next_line() == f"stopped listening on 127.0.0.1:{port}", printed
            assert await asyncio.wait_for(client.wait(), 10) == 0
            await phone.wait_ended(timeout=10)
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()
    # The agent's phone rang first, showing whom it calls.
    assert answered.invite.from_user == number
    # The demo's own item for agent01, first in their work: nothing was added by the test.
    async with line.db.read() as session:
        item = await session.get(FollowUp, dialled["item_id"])
        assert item is not None
        assert (item.kind, item.client_id, item.assigned_to_id) == (
            FollowUpKind.CARE_CALL,
            1,
            agent01,
        )
        assert item.reason == TRY_IT_REASON

    async def answered_attempt() -> FollowUpAttempt | None:
        async with line.db.read() as session:
            attempt = await session.get(FollowUpAttempt, dialled["attempt_id"])
            if attempt is not None:
                session.expunge(attempt)
            return attempt

    async def applied() -> FollowUpAttempt:
        while (attempt := await answered_attempt()) is None or attempt.outcome is None:  # noqa: ASYNC110 - polls the database, bounded by wait_for
            await asyncio.sleep(0.1)
        return attempt

    attempt = await asyncio.wait_for(applied(), 10)
    assert (attempt.mode, attempt.agent_id, attempt.outcome) == ("preview", agent01, "answered")
    assert attempt.interaction_id == dialled["interaction_id"]
    assert "127.0.0.1:5070 showing 95555" in said  # what scripts/start prints of it


@pytest.mark.parametrize(
    ("mode", "ended"),
    [
        ("busy", "busy (486 Busy Here)"),
        ("not-found", "not found (404)"),
        ("reject", "rejected (603 Decline)"),
        ("no-answer", "the center gave up while it rang (no answer)"),
    ],
)
async def test_scripts_client_gives_and_prints_the_other_outcomes(
    hotline_factory: Callable[..., Any], mode: str, ended: str
) -> None:
    port = client_port()
    line: Hotline = await hotline_factory(
        outbound_trunk=f"127.0.0.1:{port}", hotline_number="95555", outbound_ring_seconds=5
    )
    client = await asyncio.create_subprocess_exec(
        *client_argv(),
        "--port",
        str(port),
        "--mode",
        mode,
        "--calls",
        "1",
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout = client.stdout
    assert stdout is not None

    async def next_line(timeout: float = 20.0) -> str:
        return (await asyncio.wait_for(stdout.readline(), timeout)).decode().rstrip("\n")

    number = "+8613900000001"
    try:
        assert f"listen on 127.0.0.1:{port} ({mode})" in await next_line()
        async with AgentPhone(
            line.settings.sip_port, "1001", password=line.phone_secrets, behaviour=Answer(0.3)
        ) as phone:
            headers = await log_in_as(line.http, "agent01")  # no shift: no ACD call can come
            response = await line.http.post(
                "/api/calls/me/dial", json={"number": number}, headers=headers
            )
            assert response.status_code == 201, response.text
            await phone.wait_answered(timeout=15)
            assert await next_line() == f"call 1: {number} dialled, the phone shows 95555"
            assert await next_line() == f"call 1: ended: {ended}"
            assert await next_line() == f"stopped listening on 127.0.0.1:{port}"
            assert await asyncio.wait_for(client.wait(), 10) == 0
            await phone.wait_ended(timeout=10)  # the agent's leg ends with the attempt
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()
