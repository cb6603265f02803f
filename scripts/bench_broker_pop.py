"""Benchmark (issue 21, Measure): the extra latency of a screen pop that crosses the broker,
against an in-process pop, in the same run.

Three processes on loopback, with the NATS server of scripts/ensure-nats (``--nats``):

* instance A (this process): the app served by uvicorn, its broker link on; it publishes
  every pop, as the call owner's ACD does, through the hub's ``pop_out`` (the pop, then the
  wait for the agent's desk, the gate before the ring);
* instance B (a child process): the same app on the same SQLite database and NATS, another
  port; it publishes nothing;
* the desks (a child process): agent X's websocket on A, agent Y's on B.

Pops alternate between X and Y, one every ``--interval-ms``, each answered before the next,
so both paths share the same load. Measured per pop, on CLOCK_MONOTONIC (the same clock in
every process on Linux; the publish time rides at the end of the call id, as in
scripts/bench_pop.py):

* **pop read**: publish on A -> the ``call.offered`` frame read by the desk's client;
* **ring gate**: publish on A -> ``pop_out`` returns on A, which is when the ACD dials the
  agent's phone: for Y, once B's desk had the pop on its socket and B's word came back.

Usage: .venv/bin/python scripts/bench_broker_pop.py [--pops 1000] [--interval-ms 10]
Report the printed table in docs/benchmarks.md ("Scale-out: a pop across the broker").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from callcenter.app import Runtime
from callcenter.events import CallAnswered, CallOffered
from callcenter.settings import Settings, load_settings
from scripts.bench_ivr_dtmf import percentile
from scripts.bench_pop import BENCH_DIR, free_port, published_at, seed, served, write_tokens

PATHS = ("in process (desk on A)", "across the broker (desk on B)")


def instance_settings(args: argparse.Namespace, url: str, stream: str, name: str) -> Settings:
    return load_settings(
        database_url=url,
        pbx_enabled=False,
        database_auto_migrate=False,
        journal_dir=BENCH_DIR / f"journal-{name}",
        broker_url=args.nats,
        broker_stream=stream,
        broker_subject_prefix=stream.lower(),
    )


def offer(agent_id: int, call_id: str) -> CallOffered:
    return CallOffered(
        agent_id=agent_id,
        extension="3000",
        call_id=call_id,
        interaction_id=None,
        queue="general",
        client=None,
        caller_number="+8613800138000",
        language="zh",
        priority=3,
        authenticated=False,
        ivr_path=("welcome", "menu", "agent"),
    )


async def child(*argv: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 120)
    if line.strip() != b"READY":
        raise RuntimeError(f"{argv[0]} did not start: {line!r}")
    return proc


async def until(condition: Callable[[], bool], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - another process's doing; bounded
            await asyncio.sleep(0.05)


async def pops(args: argparse.Namespace, a: Runtime, agents: list[int]) -> list[list[float]]:
    """Publish the pops on A; the ring gate of each, per path."""
    gates: list[list[float]] = [[], []]
    hub = a.cti
    assert hub is not None
    for i in range(args.pops * 2):
        path = i % 2
        agent = agents[path]
        call = f"bench-{i}@{time.perf_counter_ns()}"
        began = time.perf_counter_ns()
        reached = await hub.pop_out(
            call, lambda a_=agent, c=call: a.events.publish(offer(a_, c)), 5
        )
        gates[path].append((time.perf_counter_ns() - began) / 1e6)
        if not reached:
            print(f"pop {i} ({PATHS[path]}) did not reach its desk within 5 s", file=sys.stderr)
        await asyncio.sleep(args.interval_ms / 1000)
        a.events.publish(
            CallAnswered(
                agent_id=agent, call_id=call, interaction_id=None, queue="general", client_id=None
            )
        )
    return gates


async def run(args: argparse.Namespace) -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    for leftover in BENCH_DIR.glob("broker-pop.db*"):
        leftover.unlink()
    url = f"sqlite+aiosqlite:///{BENCH_DIR / 'broker-pop.db'}"
    agents, tokens, _client = await seed(url, 2)
    stream = f"BENCH_{secrets.token_hex(4)}"
    port_a, port_b = free_port(), free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-broker-pop-"))
    load_before = os.getloadavg()
    try:
        async with served(instance_settings(args, url, stream, "a"), port_a) as a:
            b = await child(
                "--serve-b",
                f"--port={port_b}",
                f"--db={url}",
                f"--stream={stream}",
                f"--nats={args.nats}",
            )
            tokens_file = write_tokens(tmp / "tokens.json", tokens)
            desks = await child(
                "--desks",
                f"--ports={port_a},{port_b}",
                f"--tokens={tokens_file}",
                f"--pops={args.pops}",
            )
            desks_elsewhere = a.cti.elsewhere if a.cti is not None else None
            assert desks_elsewhere is not None
            await until(lambda: desks_elsewhere.open_elsewhere(agents[1]))
            gates = await pops(args, a, agents)
            out, _ = await asyncio.wait_for(desks.communicate(), 120)
            assert b.stdin is not None
            b.stdin.close()
            await b.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    reads: list[list[float]] = json.loads(out)
    report(args, reads, gates, load_before, os.getloadavg())


def report(
    args: argparse.Namespace,
    reads: list[list[float]],
    gates: list[list[float]],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    print(f"\n{args.pops} pops per path, alternating, one every {args.interval_ms} ms")
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"({os.cpu_count()} cores)\n"
    )
    print(
        f"{'path':<32}{'measure':<11}{'n':>6}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    for path, name in enumerate(PATHS):
        for measure, values in (("pop read", reads[path]), ("ring gate", gates[path])):
            print(
                f"{name:<32}{measure:<11}{len(values):>6}{percentile(values, 50):>9.2f}"
                f"{percentile(values, 90):>9.2f}{percentile(values, 99):>9.2f}"
                f"{max(values):>9.2f}"
            )
    for measure, pair in (("pop read", reads), ("ring gate", gates)):
        extra = [percentile(pair[1], q) - percentile(pair[0], q) for q in (50, 99)]
        print(f"extra across the broker, {measure}: p50 {extra[0]:+.2f} ms, p99 {extra[1]:+.2f} ms")


# --- instance B's process ---------------------------------------------------------------------


async def serve_b(args: argparse.Namespace) -> None:
    settings = instance_settings(args, args.db, args.stream, "b")
    async with served(settings, args.port) as b:
        await until(lambda: b.broker is not None and b.broker.status.up)
        print("READY", flush=True)
        await asyncio.to_thread(sys.stdin.read)  # until A closes our stdin


# --- the desks' process -----------------------------------------------------------------------


async def desks_main(args: argparse.Namespace) -> None:
    tokens: list[str] = json.loads(Path(args.tokens).read_text())  # noqa: ASYNC240 - at start
    reads: list[list[float]] = [[], []]
    sockets: list[ClientConnection] = []
    for port, token in zip(args.ports.split(","), tokens, strict=True):
        ws = await connect(
            f"ws://127.0.0.1:{port}/ws",
            subprotocols=[Subprotocol("cti.v1"), Subprotocol(f"bearer.{token}")],
            ping_interval=None,
        )
        json.loads(await ws.recv())  # hello
        sockets.append(ws)
    done = asyncio.Event()

    async def read(path: int, ws: ClientConnection) -> None:
        async for text in ws:
            now = time.perf_counter_ns()
            message = json.loads(text)
            if message["type"] == "call.offered":
                reads[path].append((now - published_at(message["data"]["call_id"])) / 1e6)
                if all(len(r) >= args.pops for r in reads):
                    done.set()
            elif message["type"] == "ping":
                await ws.send('{"type":"pong"}')

    print("READY", flush=True)
    async with asyncio.TaskGroup() as tg:
        readers = [tg.create_task(read(path, ws)) for path, ws in enumerate(sockets)]
        await asyncio.wait_for(done.wait(), 600)
        for ws in sockets:
            await ws.close()
        for task in readers:
            task.cancel()
    print(json.dumps(reads), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pops", type=int, default=1000)
    parser.add_argument("--interval-ms", type=float, default=10.0)
    parser.add_argument(
        "--nats", default=os.environ.get("CALLCENTER_TEST_NATS_URL", "nats://127.0.0.1:4222")
    )
    parser.add_argument("--serve-b", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--desks", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--stream", help=argparse.SUPPRESS)
    parser.add_argument("--tokens", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_b:
        asyncio.run(serve_b(args))
    elif args.desks:
        asyncio.run(desks_main(args))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
