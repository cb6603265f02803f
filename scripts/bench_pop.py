"""Benchmark: screen-pop latency, from ``call.offered`` on the event bus to the message read by
a websocket client in another process, with 1 and with 500 clients connected.

Real parts: the app from ``create_app`` served by uvicorn on a free loopback port, on a small
SQLite database seeded here (500 agents, a client); clients are the ``websockets`` library in
a separate process (so they do not share the server's event loop), authenticated with the
bearer subprotocol as a script would.

The benchmark runs inside the server's process and adds nothing to the app: it publishes
``call.offered`` on ``runtime.events`` exactly as the ACD does, with the publish time
(``time.perf_counter_ns``: CLOCK_MONOTONIC, the same clock in both processes on Linux) at
the end of its call id, ``bench-<n>@<ns>``: a typed event has no field to spare. Pops
rotate over the connected agents, one every ``--interval-ms`` (an idle center: each pop is
done before the next); each is then answered, so nothing stays pending. Each pop carries the
seeded client's summary, read once before the run, as the ACD reads it once per call when the
call joins its queue (and audits it with the agent's reservation, both before the pop is
published: neither is on the path measured here). Measured per pop:

* **screen pop**: publish -> the ``call.offered`` frame read by its agent's client;
* **client summary**: publish -> the frame that brings the client summary to the desk: the
  ``call.offered`` frame itself, since the summary travels in the pop (the same figure as the
  screen pop; kept so that bench_compare sets it against a baseline revision in which the
  summary followed in a ``call.client`` frame, after a read and an audit write);
* **baseline**: the floor of this machine: a bare ``websockets`` server in the same process
  sending a timestamped frame to a client of the same client process, as directly as it can.

Usage: .venv/bin/python scripts/bench_pop.py [--pops 2000] [--interval-ms 10]
Report the printed table in docs/benchmarks.md ("Screen pop").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from callcenter.acd.model import ClientSummary
from callcenter.app import Runtime, create_app
from callcenter.crm.vocabulary import Role
from callcenter.events import CallAnswered, CallOffered
from callcenter.persistence import migrate
from callcenter.persistence.db import Database
from callcenter.persistence.screen_pop import client_summary
from callcenter.persistence.sessions import open_session
from callcenter.persistence.tables import User
from callcenter.settings import Settings, load_settings
from scripts.bench_ivr_dtmf import percentile
from tests.support.crm_data import add_branch, add_client

BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"
CLIENT_COUNTS = (1, 500)


def published_at(call_id: str) -> int:
    """The publish time a pop's call id ends with (``bench-<n>@<ns>``)."""
    return int(call_id.rsplit("@", 1)[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_tokens(path: Path, tokens: list[str]) -> Path:
    """For the clients' process: a file only we can read (never argv, which ps shows)."""
    path.touch(mode=0o600)
    path.write_text(json.dumps(tokens))
    return path


# --- the server's process -------------------------------------------------------------------


async def seed(url: str, agents: int, *, supervisors: int = 0) -> tuple[list[int], list[str], int]:
    """``agents`` agents, then ``supervisors`` service-center supervisors, with a session
    each (ids and tokens in that order), and one client with an advisor."""
    await asyncio.to_thread(migrate.upgrade, url)
    db = Database(url)
    try:
        branch_id = await add_branch(db, "BN01")
        async with db.write() as session:
            users = [
                User(
                    username=f"bench{n:03d}",
                    display_name=f"Bench {n}",
                    role=Role.AGENT,
                    branch_id=branch_id,
                    extension=f"{3000 + n}",
                )
                for n in range(agents)
            ]
            users += [
                User(
                    username=f"benchsup{n:03d}",
                    display_name=f"Bench supervisor {n}",
                    role=Role.SUPERVISOR,
                )
                for n in range(supervisors)
            ]
            session.add_all(users)
        ids = [u.id for u in users]
        client_id = await add_client(db, branch_id, advisor_id=ids[0])
        tokens = []
        async with db.write() as session:
            now = dt.datetime.now(dt.UTC)
            for user_id in ids:
                token, _row = await open_session(
                    session,
                    user_id,
                    now=now,
                    lifetime=dt.timedelta(hours=2),
                    idle=dt.timedelta(hours=2),
                    address="127.0.0.1",
                )
                tokens.append(token)
        return ids, tokens, client_id
    finally:
        await db.dispose()


async def summary_of(url: str, client_id: int) -> ClientSummary:
    """The client's summary, read as the ACD reads it when a call joins a queue."""
    db = Database(url)
    try:
        async with db.read() as session:
            client = await client_summary(session, client_id)
    finally:
        await db.dispose()
    assert client is not None
    return client


@contextlib.asynccontextmanager
async def served(settings: Settings, port: int, *, ivr: bool = False) -> AsyncIterator[Runtime]:
    """The app served by uvicorn on ``port``; with ``ivr``, calls run the IVR and the ACD."""
    app = create_app(settings) if ivr else create_app(settings, call_handler=None)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=65536
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield app.state.runtime
    finally:
        server.should_exit = True
        await task


class Baseline:
    """A bare websockets server: what a timestamped frame costs with nothing else around."""

    def __init__(self) -> None:
        self.clients: list[ServerConnection] = []
        self.ready = asyncio.Event()
        self.expected = 0

    async def handler(self, ws: ServerConnection) -> None:
        self.clients.append(ws)
        if len(self.clients) >= self.expected:
            self.ready.set()
        with contextlib.suppress(Exception):
            await ws.wait_closed()


async def start_clients(
    args: argparse.Namespace, port: int, base_port: int, tokens_file: Path, count: int
) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client-mode",
        f"--port={port}",
        f"--baseline-port={base_port}",
        f"--tokens={tokens_file}",
        f"--clients={count}",
        f"--pops={args.pops}",
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 120)
    if line.strip() != b"READY":
        raise RuntimeError(f"clients did not start: {line!r}")
    return proc


async def one_round(
    args: argparse.Namespace,
    runtime: Runtime,
    port: int,
    agents: list[int],
    tokens_file: Path,
    client: ClientSummary,
) -> dict[str, list[float]]:
    baseline = Baseline()
    baseline.expected = len(agents)
    base_port = free_port()
    async with serve(baseline.handler, "127.0.0.1", base_port):
        proc = await start_clients(args, port, base_port, tokens_file, len(agents))
        await asyncio.wait_for(baseline.ready.wait(), 60)
        interval = args.interval_ms / 1000
        for i in range(args.pops):  # the floor first: a frame straight onto a socket
            ws = baseline.clients[i % len(baseline.clients)]
            await ws.send(json.dumps({"t": time.perf_counter_ns()}))
            await asyncio.sleep(interval)
        for i in range(args.pops):
            agent = agents[i % len(agents)]
            call = f"bench-{i}@{time.perf_counter_ns()}"
            runtime.events.publish(
                CallOffered(
                    agent_id=agent,
                    extension="3000",
                    call_id=call,
                    interaction_id=None,
                    queue="general",
                    client=client,
                    caller_number="+8613800138000",
                    language="zh",
                    priority=3,
                    authenticated=True,
                    ivr_path=("welcome", "menu", "agent"),
                )
            )
            await asyncio.sleep(interval)
            runtime.events.publish(
                CallAnswered(
                    agent_id=agent,
                    call_id=call,
                    interaction_id=None,
                    queue="general",
                    client_id=client.client_id,
                )
            )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    result: dict[str, list[float]] = json.loads(out)
    return result


async def run(args: argparse.Namespace) -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    db_file = BENCH_DIR / "pop.db"
    for leftover in BENCH_DIR.glob("pop.db*"):
        leftover.unlink()
    url = f"sqlite+aiosqlite:///{db_file}"
    agents, tokens, client_id = await seed(url, max(CLIENT_COUNTS))
    client = await summary_of(url, client_id)
    settings = load_settings(database_url=url, pbx_enabled=False, database_auto_migrate=False)
    port = free_port()
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-pop-"))
    try:
        async with served(settings, port) as runtime:
            for count in CLIENT_COUNTS:
                tokens_file = write_tokens(tmp / f"tokens-{count}.json", tokens[:count])
                result = await one_round(args, runtime, port, agents[:count], tokens_file, client)
                for path in ("baseline", "screen pop", "client summary"):
                    rows.append((path, count, result[path]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{args.pops} pops per row, one every {args.interval_ms} ms\n")
    print(f"{'path':<18}{'clients':>8}{'n':>7}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for path, count, values in rows:
        print(
            f"{path:<18}{count:>8}{len(values):>7}{percentile(values, 50):>9.2f}"
            f"{percentile(values, 90):>9.2f}{percentile(values, 99):>9.2f}{max(values):>9.2f}"
        )


# --- the clients' process -------------------------------------------------------------------


async def clients_main(args: argparse.Namespace, tokens: list[str]) -> None:
    url = f"ws://127.0.0.1:{args.port}/ws"
    sockets: list[ClientConnection] = []
    for token in tokens:
        ws = await connect(
            url,
            subprotocols=[Subprotocol("cti.v1"), Subprotocol(f"bearer.{token}")],
            ping_interval=None,
        )
        json.loads(await ws.recv())  # hello
        sockets.append(ws)
    bases = [
        await connect(f"ws://127.0.0.1:{args.baseline_port}", ping_interval=None) for _ in tokens
    ]
    samples: dict[str, list[float]] = {"baseline": [], "screen pop": [], "client summary": []}
    done = asyncio.Event()

    def check() -> None:
        if all(len(v) >= args.pops for v in samples.values()):
            done.set()

    async def read_cti(ws: ClientConnection) -> None:
        async for text in ws:
            now = time.perf_counter_ns()
            message = json.loads(text)
            kind = message["type"]
            if kind == "call.offered":
                sent = published_at(message["data"]["call_id"])
                samples["screen pop"].append((now - sent) / 1e6)
                if message["data"]["client"] is not None:  # the summary came with it
                    samples["client summary"].append((now - sent) / 1e6)
            elif kind == "ping":
                await ws.send('{"type":"pong"}')
            check()

    async def read_baseline(ws: ClientConnection) -> None:
        async for text in ws:
            now = time.perf_counter_ns()
            samples["baseline"].append((now - json.loads(text)["t"]) / 1e6)
            check()

    print("READY", flush=True)
    async with asyncio.TaskGroup() as tg:
        readers = [tg.create_task(read_cti(ws)) for ws in sockets]
        readers += [tg.create_task(read_baseline(ws)) for ws in bases]
        await asyncio.wait_for(done.wait(), 600)
        for ws in [*sockets, *bases]:
            await ws.close()
        for task in readers:
            task.cancel()
    print(json.dumps(samples), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pops", type=int, default=2000)
    parser.add_argument("--interval-ms", type=float, default=10.0)
    parser.add_argument("--client-mode", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--baseline-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tokens", help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_mode:
        tokens: list[str] = json.loads(Path(args.tokens).read_text())[: args.clients]
        asyncio.run(clients_main(args, tokens))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
