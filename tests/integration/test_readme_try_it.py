"""The README's "Try it" calls, word for word, against the real Asterisk at a mocked hour.

The calls are read from README.md (the ``scripts/call.py`` lines of "Try it", as written) and
run as the newcomer runs them: scripts/call.py in its own process, on the test service's SIP
port and database. Agent 1001's phone is registered and answers (tests/support/agent_phone.py,
until the README's scripted phone exists), agent01 is logged in and watches the CTI websocket.

The hour: the service's clocks (the IVR's, which the opening-hours branch asks, and the ACD's,
which stamps the record) are mocked to a Wednesday at 10:00 or at 22:30 Beijing time; Asterisk
and sipp keep the real one. With the demo's hours, read from scripts/start as it sets them,
both hours reach agent01; with the production hours the night call lands after hours, and
scripts/call.py says so and exits 1.

And the README's restart: scripts/start itself, on an Asterisk instance of its own, stopped
with Ctrl-C (SIGINT to its process group) leaves Asterisk running, and starts again over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import os
import re
import shlex
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

import callcenter.app as composition_root
from callcenter.acd.service import AcdService
from callcenter.pbx.ivr_runner import IvrRunner
from callcenter.persistence.tables import Client, ClientPhone, Interaction, User
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import PROJECT_ROOT, Settings, load_settings
from tests.integration.test_acd_real_asterisk import log_in, until
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.asgi_ws import AsgiWebSocket, WsClosed
from tests.support.hotline import Hotline
from tests.support.logins import log_in as log_in_as

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(300)]

BEIJING = ZoneInfo("Asia/Shanghai")
DAY = dt.datetime(2026, 12, 9, 10, 0, tzinfo=BEIJING)  # a Wednesday, mid-morning
NIGHT = dt.datetime(2026, 12, 9, 22, 30, tzinfo=BEIJING)  # the same Wednesday, late


def try_it_calls() -> list[list[str]]:
    """The README's call lines in "Try it", as argv: ``sudo`` dropped (the tests run as root)
    and ``.venv/bin/python`` as this interpreter (the same venv)."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
    calls = []
    for line in section.splitlines():
        if "scripts/call.py" not in line or line.lstrip().startswith("#"):
            continue
        argv = shlex.split(line, comments=True)
        if argv[0] == "sudo":
            argv = argv[1:]
        assert argv[:2] == [".venv/bin/python", "scripts/call.py"], line
        calls.append([sys.executable, *argv[1:]])
    return calls


def demo_hours() -> dict[str, Any]:
    """The opening hours scripts/start gives the demo, as settings (read from the file it
    sources, scripts/demo-settings, parsed as the service parses its environment)."""
    start = (PROJECT_ROOT / "scripts" / "demo-settings").read_text()
    found = re.findall(r"^\s*export CALLCENTER_(BUSINESS_\w+)=(\S+)$", start, flags=re.M)
    assert found, "scripts/demo-settings sets no demo hours"
    given = {name.lower(): value for name, value in found}
    parsed = load_settings(**given)
    return {name: getattr(parsed, name) for name in given}


def production_hours() -> dict[str, Any]:
    """The settings' own defaults (Mon-Fri 08:30-17:30), over the conftest's all-day hours."""
    fields = Settings.model_fields
    names = ("business_opens", "business_closes", "business_weekdays", "business_holidays")
    return {name: fields[name].get_default(call_default_factory=True) for name in names}


class MockedClock:
    """Runs from ``at`` from the moment it is made: the service's hour, not Asterisk's."""

    def __init__(self, at: dt.datetime) -> None:
        self.offset = at - dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def at_hour(monkeypatch: pytest.MonkeyPatch, at: dt.datetime) -> None:
    """The next service built by create_app runs its IVR and ACD on a clock set to ``at``:
    the constructors' own clock parameters, given at the composition root."""
    clock = MockedClock(at)
    monkeypatch.setattr(composition_root, "IvrRunner", functools.partial(IvrRunner, clock=clock))
    monkeypatch.setattr(
        composition_root, "AcdService", functools.partial(AcdService, wallclock=clock)
    )


async def run_call(line: Hotline, argv: list[str]) -> tuple[int, str]:
    """scripts/call.py as the README has it, on the test service's SIP port and database."""
    env = {
        **os.environ,
        "CALLCENTER_SIP_PORT": str(line.settings.sip_port),
        "CALLCENTER_DATABASE_URL": line.settings.effective_database_url,
        "CALLCENTER_IVR_FLOWS_DIR": str(line.settings.ivr_flows_dir),
    }
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 150)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def collect(socket: AsgiWebSocket, into: list[dict[str, Any]]) -> None:
    """Every message the agent's desk gets, until the socket closes."""
    while True:
        try:
            into.append(await socket.receive_json())
        except TimeoutError:
            continue
        except WsClosed:
            return


async def new_calls(line: Hotline, after: int) -> list[Interaction]:
    async with line.db.read() as session:
        rows = (
            await session.scalars(
                select(Interaction)
                .where(Interaction.id > after, Interaction.call_id.is_not(None))
                .order_by(Interaction.id)
            )
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


@pytest.mark.parametrize(
    ("hours", "at", "reaches"),
    [
        pytest.param("demo", NIGHT, True, id="demo-hours-at-night"),
        pytest.param("demo", DAY, True, id="demo-hours-in-the-day"),
        pytest.param("production", NIGHT, False, id="production-hours-at-night"),
        pytest.param("production", DAY, True, id="production-hours-in-the-day"),
    ],
)
async def test_the_readme_calls_reach_self_service_and_agent01_or_say_after_hours(
    hotline_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    hours: str,
    at: dt.datetime,
    reaches: bool,
) -> None:
    calls = try_it_calls()
    assert len(calls) == 2, calls  # the demo client's balance, then an agent
    # The conftest's all-day hours are replaced: the demo's from scripts/start (over the
    # production defaults, as the service would see them), or the production defaults.
    opening = production_hours() | (demo_hours() if hours == "demo" else {})
    at_hour(monkeypatch, at)
    line: Hotline = await hotline_factory(**opening, ws_heartbeat_seconds=3600.0)
    assert line.runtime.link is not None
    async with line.db.read() as session:
        before = await session.scalar(select(func.max(Interaction.id))) or 0
        client_id, name = (
            await session.execute(
                select(Client.id, Client.name)
                .join(ClientPhone, ClientPhone.client_id == Client.id)
                .where(ClientPhone.e164 == "+8619886314307")
            )
        ).one()
        account = await session.scalar(select(Client.account_no).where(Client.id == client_id))
        agent01 = await session.scalar(select(User.id).where(User.username == "agent01"))
    # The README's demo client 1, whom its agent call says the desk pops.
    assert (client_id, account, name) == (1, "310100000001", "李凯亮")

    desk: list[dict[str, Any]] = []
    async with AgentPhone(
        line.settings.sip_port,
        "1001",
        password=line.phone_secrets,
        behaviour=Answer(after=0.5),
    ) as phone:
        # agent01 goes ready only once the service knows 1001 is registered (issue 16).
        phones = line.runtime.phones
        await until(lambda: phones.registered_now("1001") is True)
        assert await log_in(line, "agent01") == agent01
        token = (await log_in_as(line.http, "agent01"))["Authorization"].removeprefix("Bearer ")
        socket = AsgiWebSocket(
            line.app,  # type: ignore[arg-type]
            headers=[("host", "test")],
            subprotocols=["cti.v1", f"bearer.{token}"],
        )
        async with socket:
            assert socket.accepted
            reader = asyncio.create_task(collect(socket, desk))
            try:
                balance = await run_call(line, calls[0])
                to_an_agent = await run_call(line, calls[1])
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        invites = list(phone.invites)
    print(*balance, *to_an_agent, sep="\n")  # what the newcomer reads (shown on a failure)

    first, second = await new_calls(line, before)
    # The mocked hour is the one the IVR saw.
    assert first.started_at.astimezone(BEIJING).hour == at.hour
    assert first.client_id == client_id  # identified by number
    assert second.client_id == client_id  # by the account number and PIN
    pops = [m["data"] for m in desk if m["type"] == "call.offered"]
    if not reaches:
        for code, output in (balance, to_an_agent):
            assert code == 1, output
            assert "NOT REACHED: after hours: the hotline was closed" in output, output
        for call in (first, second):
            assert "after_hours_check=otherwise" in call.ivr_path
            assert call.queue is None
        assert pops == []
        assert invites == []
        return

    code, output = balance
    assert code == 0, output
    assert "IVR outcome: self_served\nreached: " in output, output
    assert first.ivr_outcome == "self_served"
    assert first.authenticated
    assert "check_known_pin=ok" in first.ivr_path

    code, output = to_an_agent
    assert code == 0, output
    assert "reached: queue general, agent agent01 (answered after " in output, output
    assert (second.queue, second.agent_id, second.authenticated) == ("general", agent01, True)
    assert second.answered_at is not None
    assert "check_pin=ok" in second.ivr_path
    assert "main_menu=0" in second.ivr_path
    # The pop: agent01's desk got the caller's record, then phone 1001 rang.
    [pop] = pops
    assert pop["interaction_id"] == second.id
    assert pop["queue"] == "general"
    assert pop["client"]["client_id"] == client_id
    assert pop["client"]["name"] == name
    assert pop["extension"] == "1001"
    [invite] = invites
    assert invite.from_display  # the client's name on the phone's screen


# --- scripts/start: Ctrl-C stops the service, not Asterisk ------------------------------------

START_PORTS = {  # an instance of its own, beside the tests' and a developer's
    "CALLCENTER_SANDBOX_INSTANCE": "readme-start",
    "CALLCENTER_AMI_PORT": "25038",
    "CALLCENTER_SIP_PORT": "25060",
    "CALLCENTER_RTP_START": "14000",
    "CALLCENTER_RTP_END": "14999",
}


def _free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _start(env: dict[str, str], log: Path, *args: str) -> asyncio.subprocess.Process:
    """scripts/start as from a terminal: its own process group, which Ctrl-C signals; what
    it prints goes to ``log`` (a file: the service logs every request, a pipe would fill)."""
    with log.open("wb") as output:
        return await asyncio.create_subprocess_exec(
            str(PROJECT_ROOT / "scripts" / "start"),
            *args,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )


async def _healthy(port: int, process: asyncio.subprocess.Process) -> None:
    """Until /health answers 200 (the service is linked to Asterisk); the start's first run
    seeds 20,000 demo clients first."""
    async with httpx.AsyncClient() as http:
        for _ in range(900):
            assert process.returncode is None, "scripts/start ended before the service was up"
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError("the service never answered /health")


async def _ctrl_c(process: asyncio.subprocess.Process, log: Path) -> str:
    os.killpg(process.pid, signal.SIGINT)
    await asyncio.wait_for(process.wait(), 60)
    return await asyncio.to_thread(log.read_text, errors="replace")


async def test_ctrl_c_on_scripts_start_leaves_asterisk_up_for_the_next_start(
    tmp_path: Path,
) -> None:
    port = _free_tcp_port()
    env = {
        **os.environ,
        **START_PORTS,
        "CALLCENTER_HTTP_PORT": str(port),
        "CALLCENTER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'start.db'}",
        "CALLCENTER_JOURNAL_DIR": str(tmp_path / "journal"),
    }
    instance = AsteriskInstance(
        load_settings(
            sandbox_instance=START_PORTS["CALLCENTER_SANDBOX_INSTANCE"],
            ami_port=int(START_PORTS["CALLCENTER_AMI_PORT"]),
            sip_port=int(START_PORTS["CALLCENTER_SIP_PORT"]),
        )
    )
    instance.down()
    try:
        first = await _start(env, tmp_path / "first.log")
        await _healthy(port, first)
        output = await _ctrl_c(first, tmp_path / "first.log")
        assert "open around the clock for the demo" in output, output
        # The dialler's demo settings (scripts/demo-settings), said as they apply.
        trunk = "Dialler: outbound calls go to sip:<number>@127.0.0.1:5070 showing 95555;"
        assert trunk in output, output
        assert "clients may be called around the clock for the demo" in output, output
        assert "Asterisk is still up with its calls" in output, output
        up = instance.status()
        assert up.running, output  # Ctrl-C left Asterisk running

        # The next start finds it up and runs the service over it; with --stop-asterisk,
        # Ctrl-C then stops both.
        second = await _start(env, tmp_path / "second.log", "--stop-asterisk")
        await _healthy(port, second)
        assert instance.status().pid == up.pid  # the same Asterisk: its calls go on
        output = await _ctrl_c(second, tmp_path / "second.log")
        assert "is already running" in output, output
        assert "stopped" in output, output
        assert not instance.status().running
    finally:
        instance.down()
