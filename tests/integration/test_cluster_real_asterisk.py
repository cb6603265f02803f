"""Two service instances on one Asterisk (issue 21, point 3): one call owner at a time.

Two ``callcenter serve`` processes on the same PostgreSQL and the sandbox Asterisk, with
``CALLCENTER_CLUSTER`` on: the first takes the call-owner lease, the second is a standby that
serves websockets and forwards the API to it. Every request of these tests goes to the standby
(so through the forwarding), and:

1. a call through the IVR to an agent is driven by the owner alone (the standby never logs in
   to the AMI) and has one interaction record; an owner whose lease session the database
   ends exits (fencing) and the standby takes over;
2. a desk open on the standby changes its agent's state there (handed to the owner), gets the
   pop of a call for its agent (over the broker) before the agent's phone rings, and its
   presence reaches the owner's desk watch: closed, the agent is taken out of ready;
3. kill -9 of the owner with one call bridged to an agent and one waiting in the queue: the
   standby becomes the owner within 5 s, the bridged call goes on, the waiting one reaches the
   agent, and each call ends with exactly one interaction record.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from pydantic import SecretStr
from sqlalchemy import select

from callcenter.broker import BrokerConfig
from callcenter.cli import EXIT_TASK_FAILED
from callcenter.persistence.call_owner import CALL_OWNER_KEY, asyncpg_dsn
from callcenter.persistence.db import Database
from callcenter.persistence.seed import seed_demo
from callcenter.persistence.tables import AgentStateChange, Interaction
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings
from tests.conftest import truncate_postgres
from tests.integration.test_acd_real_asterisk import to_an_agent
from tests.support.agent_phone import AgentPhone, Answer, PhoneRegistrationFailed
from tests.support.dtmf import KeypadCaller
from tests.support.hotline import AS_OF, DEMO_CLIENTS, HOTLINE, pick_client
from tests.support.logins import DEMO_PASSWORD, TEST_SECRET_KEY, secret_box_for_tests
from tests.support.logins import log_in as log_in_as
from tests.support.nats import drop_stream, own_config
from tests.support.phone_secrets import stored_phone_secrets

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(240)]

TAKEOVER_LIMIT = 5.0  # seconds from the owner's death to the standby owning the calls (issue 21)
DESK_GRACE = 1.5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Instance:
    """One ``callcenter serve`` process of the cluster."""

    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def health(self) -> dict[str, object]:
        async with httpx.AsyncClient(timeout=2.0) as http:
            body: dict[str, object] = (await http.get(f"{self.url}/health")).json()
            return body

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def service_env(settings: Settings, url: str, name: str, port: int, folder: Path) -> dict[str, str]:
    """The test's sandbox settings as a ``callcenter serve`` process reads them."""
    return {
        **os.environ,
        "CALLCENTER_SANDBOX_INSTANCE": settings.sandbox_instance,
        "CALLCENTER_AMI_PORT": str(settings.ami_port),
        "CALLCENTER_AMI_USERNAME": settings.ami_username,
        "CALLCENTER_AMI_SECRET": settings.ami_secret.get_secret_value(),
        "CALLCENTER_AMI_PING_INTERVAL": str(settings.ami_ping_interval),
        "CALLCENTER_SIP_PORT": str(settings.sip_port),
        "CALLCENTER_SIP_WSS_PORT": str(settings.sip_wss_port),
        "CALLCENTER_RTP_START": str(settings.rtp_start),
        "CALLCENTER_RTP_END": str(settings.rtp_end),
        "CALLCENTER_DATABASE_URL": url,
        "CALLCENTER_JOURNAL_DIR": str(folder / f"journal-{name}"),
        "CALLCENTER_CEL_IMPORT_SECONDS": "0",
        "CALLCENTER_BUSINESS_WEEKDAYS": "1,2,3,4,5,6,7",
        "CALLCENTER_BUSINESS_OPENS": "00:00",
        "CALLCENTER_BUSINESS_CLOSES": "23:59:59",
        "CALLCENTER_SECRET_KEY": TEST_SECRET_KEY,
        "CALLCENTER_CLUSTER": "true",
        "CALLCENTER_INSTANCE_ID": name,
        "CALLCENTER_HTTP_PORT": str(port),
        "CALLCENTER_CLUSTER_BEAT_SECONDS": "0.25",
    }


async def until_health(instance: Instance, check: str, timeout: float = 60.0) -> dict[str, object]:
    """Poll ``/health`` until ``check`` holds: ``owner`` (owns and is ready, 200) or
    ``standby`` (a standby that knows the owner)."""
    deadline = time.monotonic() + timeout
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        assert instance.process.returncode is None, instance.output()[-3000:]
        with contextlib.suppress(httpx.HTTPError, ValueError):
            body = await instance.health()
            if body.get("role") == check and (
                check != "owner" or body.get("status") != "unavailable"
            ):
                return body
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"{instance.name} never became {check}: {body}\n{instance.output()[-3000:]}"
    )


@dataclass
class Cluster:
    settings: Settings
    db: Database
    folder: Path
    url: str
    instances: list[Instance]
    desk_grace: float
    broker: BrokerConfig

    async def start(self, name: str) -> Instance:
        port = _free_port()
        log = self.folder / f"{name}.log"
        out = log.open("wb")
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "callcenter.cli",
                "serve",
                env={
                    **service_env(self.settings, self.url, name, port, self.folder),
                    "CALLCENTER_AGENT_DESK_GRACE_SECONDS": str(self.desk_grace),
                    "CALLCENTER_BROKER_URL": self.broker.url,
                    "CALLCENTER_BROKER_STREAM": self.broker.stream,
                    "CALLCENTER_BROKER_SUBJECT_PREFIX": self.broker.prefix,
                },
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()
        instance = Instance(name, port, process, log)
        self.instances.append(instance)
        return instance

    async def stop(self) -> None:
        for instance in self.instances:
            if instance.process.returncode is None:
                instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances:
            try:
                await asyncio.wait_for(instance.process.wait(), 20)
            except TimeoutError:
                instance.process.kill()
                await instance.process.wait()


@pytest.fixture
async def cluster(
    request: pytest.FixtureRequest,
    asterisk: AsteriskInstance,
    asterisk_settings: Settings,
    postgres_url: str,
    tmp_path: Path,
) -> AsyncIterator[tuple[Cluster, Instance, Instance]]:
    """The demo seeded into PostgreSQL; ``a`` owns the calls, ``b`` is its standby. The desk
    grace (``request.param``; 0 by default: agents go ready over REST with no desk open, as
    the other feature tests do)."""
    grace: float = getattr(request, "param", 0.0)
    await truncate_postgres(postgres_url)
    await seed_demo(
        postgres_url,
        clients=DEMO_CLIENTS,
        as_of=AS_OF,
        demo_password=DEMO_PASSWORD,
        demo_mfa=secret_box_for_tests(),
    )
    db = Database(postgres_url)
    both = Cluster(asterisk_settings, db, tmp_path, postgres_url, [], grace, own_config())
    try:
        a = await both.start("a")
        await until_health(a, "owner")
        b = await both.start("b")
        await until_health(b, "standby")
        yield both, a, b
    finally:
        await both.stop()
        await db.dispose()
        await drop_stream(both.broker)


async def phone_secrets(line: Cluster) -> dict[str, str]:
    settings = line.settings.model_copy(
        update={"database_url": line.url, "secret_key": SecretStr(TEST_SECRET_KEY)}
    )
    return await stored_phone_secrets(settings)


@contextlib.asynccontextmanager
async def phone(line: Cluster, extension: str) -> AsyncIterator[AgentPhone]:
    """The agent's phone, registered once the owner has written and reloaded the secrets."""
    secrets = await phone_secrets(line)
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(50):
            try:
                registered = await stack.enter_async_context(
                    AgentPhone(
                        line.settings.sip_port, extension, password=secrets, behaviour=Answer(0.3)
                    )
                )
                break
            except PhoneRegistrationFailed:
                await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"phone {extension} never registered")
        yield registered


async def short_queue(http: httpx.AsyncClient) -> None:
    admin = await log_in_as(http, "admin")
    current = (await http.get("/api/queues/general", headers=admin)).json()
    body = {k: v for k, v in current.items() if k not in {"name", "updated_at", "updated_by_id"}}
    body.update({"ring_seconds": 5, "wrap_up_seconds": 1})
    response = await http.put("/api/queues/general", json=body, headers=admin)
    assert response.status_code == 200, response.text


async def agent_ready(http: httpx.AsyncClient, username: str) -> tuple[int, dict[str, str]]:
    headers = await log_in_as(http, username)
    response = await http.post("/api/agents/me/login", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    if body["state"] != "ready":
        response = await http.post("/api/agents/me/state", json={"state": "ready"}, headers=headers)
        assert response.status_code == 200, response.text
    return int(body["agent_id"]), headers


async def calls_since(db: Database, after: int) -> list[Interaction]:
    async with db.read() as session:
        rows = list(
            await session.scalars(
                select(Interaction)
                .where(Interaction.id > after, Interaction.call_id.is_not(None))
                .order_by(Interaction.id)
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


async def last_call_id(db: Database) -> int:
    async with db.read() as session:
        rows = await session.scalars(
            select(Interaction.id).order_by(Interaction.id.desc()).limit(1)
        )
        return next(iter(rows), 0)


async def until_calls(
    db: Database, after: int, count: int, what: str, *, ended: bool, timeout: float
) -> list[Interaction]:
    deadline = time.monotonic() + timeout
    rows: list[Interaction] = []
    while time.monotonic() < deadline:
        rows = await calls_since(db, after)
        if len(rows) >= count and (not ended or all(r.ended_at is not None for r in rows)):
            return rows
        await asyncio.sleep(0.2)
    raise AssertionError(
        f"{what}: {[(r.call_id, r.queued_at, r.answered_at, r.ended_at) for r in rows]}"
    )


async def states_of(db: Database, agent_id: int) -> list[tuple[str, str | None]]:
    async with db.read() as session:
        rows = await session.scalars(
            select(AgentStateChange)
            .where(AgentStateChange.agent_id == agent_id)
            .order_by(AgentStateChange.id)
        )
        return [(row.to_state.value, row.reason) for row in rows]


def _standby_never_drove_calls(standby: Instance) -> None:
    output = standby.output()
    assert "took the call-owner lease" not in output, output[-3000:]


async def test_only_the_owner_drives_a_call_and_the_standby_forwards_the_api(
    cluster: tuple[Cluster, Instance, Instance],
) -> None:
    line, owner, standby = cluster
    health = await standby.health()
    assert health["role"] == "standby"
    assert health["owner_url"] == owner.url
    assert health["ami"] == "disabled"  # a standby has no AMI connection at all
    async with httpx.AsyncClient(base_url=standby.url, timeout=10.0) as http:
        await short_queue(http)
        before = await last_call_id(line.db)
        async with phone(line, "1001") as agent_phone:
            agent_id, _ = await agent_ready(http, "agent01")
            client = await pick_client(line.db)
            caller = KeypadCaller(
                line.settings.sip_port, HOTLINE, to_an_agent(8.0), caller=client.phone
            )
            await caller.start()
            await agent_phone.wait_answered(timeout=30)
            await caller.wait(60)
            rows = await until_calls(
                line.db, before, 1, "the call's record", ended=True, timeout=30
            )
    assert len(rows) == 1
    assert rows[0].agent_id == agent_id
    assert rows[0].answered_at is not None
    assert rows[0].anomaly is None
    _standby_never_drove_calls(standby)
    assert (await standby.health())["role"] == "standby"

    # Fencing: the database ends the owner's lease session (a failover of PostgreSQL, say).
    # The owner stops driving calls and exits for its supervisor; the standby takes over.
    await end_lease_session(line.url)
    assert await asyncio.wait_for(owner.process.wait(), 15) == EXIT_TASK_FAILED
    assert "the call-owner lease is lost" in owner.output()
    await until_health(standby, "owner", timeout=15)


async def end_lease_session(url: str) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(url))
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = $1",
            CALL_OWNER_KEY,
        )
    finally:
        await admin.close()
    assert ended == 1


@pytest.mark.parametrize("cluster", [DESK_GRACE], indirect=True)
async def test_a_desk_on_the_standby_changes_state_gets_its_pop_and_its_closing_reaches_the_owner(
    cluster: tuple[Cluster, Instance, Instance],
) -> None:
    line, _, standby = cluster
    async with (
        httpx.AsyncClient(base_url=standby.url, timeout=10.0) as http,
        phone(line, "1002") as agent_phone,
    ):
        await short_queue(http)
        agent_id, headers = await agent_ready(http, "agent02")
        token = headers["Authorization"].removeprefix("Bearer ")
        socket_url = standby.url.replace("http://", "ws://") + "/ws"
        async with (
            websockets.connect(
                socket_url,
                subprotocols=["cti.v1", f"bearer.{token}"],  # type: ignore[list-item]
            ) as socket_,
            DeskReader(socket_) as desk,
        ):
            assert (await desk.next_of({"hello"}))["type"] == "hello"
            await desk.send({"type": "state", "state": "not_ready", "reason": "break", "ref": "r1"})
            answer = await desk.next_of({"state.ok", "error"})
            assert answer["type"] == "state.ok", answer
            assert answer["data"]["agent"]["state"] == "not_ready"
            await desk.send({"type": "state", "state": "ready", "ref": "r2"})
            answer = await desk.next_of({"state.ok", "error"})
            assert answer["type"] == "state.ok", answer
            assert answer["data"]["ref"] == "r2"

            # A call for agent02: the owner's pop reaches the desk on the standby (over the
            # broker) before the owner rings the agent's phone.
            client = await pick_client(line.db)
            caller = KeypadCaller(
                line.settings.sip_port, HOTLINE, to_an_agent(4.0), caller=client.phone
            )
            await caller.start()
            pop = await desk.next_of({"call.offered"}, timeout=30)
            invite = await agent_phone.wait_invite(timeout=30)
            assert pop["data"]["agent_id"] == agent_id
            lead = invite.at - desk.arrived[id(pop)]
            assert lead >= 0, f"the ring came {-lead * 1000:.0f} ms before the pop"
            print(f"pop on the standby's desk {lead * 1000:.0f} ms before the ring")
            await caller.wait(60)
            await until_state(line.db, agent_id, ("ready", None), 20)

            # Open past the grace: the owner counts the desk on the standby as open.
            await asyncio.sleep(DESK_GRACE * 2)
            assert (await states_of(line.db, agent_id))[-1] == ("ready", None)
        # Closed: the owner takes the agent out of ready once the grace has run out.
        await until_state(line.db, agent_id, ("not_ready", "desk_closed"), 10 + DESK_GRACE)


async def until_state(
    db: Database, agent_id: int, state: tuple[str, str | None], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while (await states_of(db, agent_id))[-1] != state:
        assert time.monotonic() < deadline, await states_of(db, agent_id)
        await asyncio.sleep(0.1)


class DeskReader:
    """Reads a desk's socket all along; each message with the time it arrived (epoch
    seconds, the clock of the test phone's ``Invite.at``)."""

    def __init__(self, socket_: websockets.ClientConnection) -> None:
        self.socket = socket_
        self.messages: list[dict[str, Any]] = []
        self.arrived: dict[int, float] = {}
        self._seen = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DeskReader:
        self._task = asyncio.get_running_loop().create_task(self._read())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await self._task

    async def _read(self) -> None:
        async for text in self.socket:
            message: dict[str, Any] = json.loads(text)
            self.arrived[id(message)] = time.time()
            self.messages.append(message)
            self._changed.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def next_of(self, kinds: set[str], timeout: float = 10.0) -> dict[str, Any]:
        """The next message of these kinds after the last one returned."""
        async with asyncio.timeout(timeout):
            while True:
                while self._seen < len(self.messages):
                    message = self.messages[self._seen]
                    self._seen += 1
                    if message["type"] in kinds:
                        return message
                self._changed.clear()
                await self._changed.wait()


async def test_kill_9_of_the_owner_the_standby_takes_over_within_5_s_and_no_call_is_lost(
    cluster: tuple[Cluster, Instance, Instance],
) -> None:
    line, owner, standby = cluster
    async with httpx.AsyncClient(base_url=standby.url, timeout=10.0) as http:
        await short_queue(http)
        before = await last_call_id(line.db)
        async with phone(line, "1001") as agent_phone:
            agent_id, _ = await agent_ready(http, "agent01")
            client = await pick_client(line.db)
            bridged = KeypadCaller(
                line.settings.sip_port, HOTLINE, to_an_agent(14.0), caller=client.phone
            )
            await bridged.start()
            first = await agent_phone.wait_answered(timeout=30)
            waiting = KeypadCaller(
                line.settings.sip_port, HOTLINE, to_an_agent(30.0), caller=client.phone
            )
            await waiting.start()
            rows = await until_calls(
                line.db, before, 2, "both calls queued", ended=False, timeout=20
            )
            while not all(r.queued_at is not None for r in rows):
                rows = await until_calls(line.db, before, 2, "both queued", ended=False, timeout=20)
                await asyncio.sleep(0.1)
            assert rows[1].answered_at is None  # the second waits: the only agent talks

            owner.process.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            await until_health(standby, "owner", timeout=TAKEOVER_LIMIT + 5)
            took = time.monotonic() - killed
            assert took < TAKEOVER_LIMIT, f"the standby took over after {took:.2f} s"
            print(f"takeover: {took * 1000:.0f} ms from kill -9 to /health role owner")

            assert first.up, "the bridged call went on through the takeover"
            await agent_phone.wait_until(
                lambda: len(agent_phone.calls) >= 2, 40, "the waiting call rang"
            )
            second = agent_phone.calls[1]
            await agent_phone.wait_until(lambda: second.answered, 10, "answered")
            await bridged.wait(60)
            await waiting.wait(80)
            rows = await until_calls(line.db, before, 2, "both ended", ended=True, timeout=30)
    assert len(rows) == 2, rows
    assert len({r.call_id for r in rows}) == 2
    for row in rows:
        assert row.agent_id == agent_id, (row.call_id, row.agent_id)
        assert row.answered_at is not None, row.call_id
        assert row.ended_at is not None, row.call_id
        assert row.anomaly is None, row.anomaly
    ready_ms = re.search(r"call owner ready (\d+) ms after taking the lease", standby.output())
    assert ready_ms is not None, standby.output()[-3000:]
    print(f"new owner ready {ready_ms.group(1)} ms after taking the lease")
