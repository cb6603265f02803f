"""Benchmark: the pushed wallboard, end to end, and what 100 open wallboards cost the agents'
screen pops (issue 20, points 2 and 3; issue 7 before it).

The app from ``create_app`` (no call handler) served by uvicorn on a free loopback port, on a
SQLite database seeded here (``var/bench/wallboard.db``): 100 agents and 100 service-center
supervisors, each with a session token; the wallboard's settings as configured (batch, gap and
refresh: ``--batch-ms``, ``--gap-ms`` override them). A floor with calls that last: one call
every ``--interval-ms`` on a fixed schedule (the ACD does not slow down because someone
watches), each published on ``runtime.events`` as the ACD publishes it, step by step:

* t: ``call.queued``;
* t + ``--ring-ms``: ``call.offered`` (the screen pop, to one agent in rotation) and
  ``agent.state`` reserved;
* 300 ms later: ``call.answered`` and ``agent.state`` on_call;
* ``--talk-ms`` later: ``call.ended`` and ``agent.state`` wrap_up.

The server notes when it published each step (``time.perf_counter_ns``, CLOCK_MONOTONIC: the
same clock in every process on Linux). The 100 agents' desks are connected in a second process;
the supervisors' 100 sockets in a third, so that reading the snapshots does not delay the
measured desks. Each socket reads everything it gets, answers pings, and reconnects after about a
second when the server closes it (as the pages do).

Measured:

* **the wallboard, event -> supervisor**: for each call and each supervisor socket, the first
  ``floor.snapshot`` read that shows the call (waiting, or talking) minus when its
  ``call.queued`` was published, and the first one that shows it talking minus when its
  ``call.answered`` was published: from the event's publication, through the floor, the
  batching, the hub and the socket, to the message in the supervisor's client;
* **the pop**: ``call.offered`` published -> read by its agent's client, in round A (no
  supervisor socket: the baseline) and round B (100 wallboards open), in the same run;
* per supervisor socket: snapshots per second while the calls flowed, and closes for being too
  slow (4408).

Usage: .venv/bin/python scripts/bench_wallboard.py [--calls 600] [--interval-ms 50]
Report the printed table in docs/benchmarks.md ("Wallboard: pushed, and 100 supervisors
beside the screen pop").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from callcenter.acd.model import AgentState, ClientSummary
from callcenter.crm.vocabulary import RiskProfile, Role, Tier, ValueClass
from callcenter.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    EventBus,
)
from callcenter.persistence.db import Database
from callcenter.persistence.sessions import open_session
from callcenter.persistence.tables import User
from callcenter.runtime import Runtime
from callcenter.settings import load_settings
from scripts.bench_ivr_dtmf import percentile
from scripts.bench_pop import BENCH_DIR, free_port, seed, served, write_tokens

QUEUES = ("general", "vip", "trading")
ANSWER_NS = 300_000_000  # from the pop to the answer
SETTLE_SECONDS = 1.0  # after the last step: the last snapshots go out (batch + gap < 1 s)
IDLE_SECONDS = 5.0  # the desks stop waiting for pops this long after the last one came
STEPS = ("queued", "offered", "answered", "ended")
CALL_ID = re.compile(r'"call_id":"wallboard-(\d+)"')


@dataclass(frozen=True)
class Round:
    name: str
    label: str
    supervisors: bool


ROUNDS = (
    Round("A", "no wallboard (baseline)", supervisors=False),
    Round("B", "100 wallboards open", supervisors=True),
)


# --- the server's process -------------------------------------------------------------------


def call_id(n: int) -> str:
    return f"wallboard-{n}"


def publish_step(events: EventBus, step: str, n: int, agent: tuple[int, str], client: int) -> None:
    """What the ACD publishes at ``step`` of call ``n`` to ``agent`` (id, extension)."""
    agent_id, extension = agent
    the_call = {"call_id": call_id(n), "interaction_id": None, "queue": QUEUES[n % 3]}

    def state(value: AgentState) -> AgentStateChanged:
        return AgentStateChanged(agent_id=agent_id, state=value, reason=None, origin="acd")

    if step == "queued":
        extra = {"caller_number": "+8613800138000", "tier": "gold", "client_id": client}
        events.publish(CallQueued.from_data({**the_call, **extra, "priority": 3, "language": "zh"}))
    elif step == "offered":
        events.publish(CallOffered.from_data({**the_call, **offer(agent_id, extension, client)}))
        events.publish(state(AgentState.RESERVED))
    elif step == "answered":
        events.publish(
            CallAnswered.from_data({**the_call, "agent_id": agent_id, "client_id": client})
        )
        events.publish(state(AgentState.ON_CALL))
    else:
        the_end = {"agent_id": agent_id, "client_id": client, "transferred": False}
        events.publish(CallEnded.from_data({**the_call, **the_end}))
        events.publish(state(AgentState.WRAP_UP))


def offer(agent_id: int, extension: str, client_id: int) -> dict[str, Any]:
    client = ClientSummary(
        client_id=client_id,
        name="李凯亮",
        name_latin="Li Kailiang",
        tier=Tier.GOLD,
        value_class=ValueClass.CORE_VOLUME,
        risk_profile=RiskProfile.BALANCED,
        advisor_id=None,
        advisor_name=None,
    )
    return {
        "agent_id": agent_id,
        "extension": extension,
        "client": client,
        "caller_number": "+8613800138000",
        "language": "zh",
        "priority": 3,
        "authenticated": True,
        "ivr_path": ("welcome", "menu", "agent"),
    }


async def publish_calls(
    args: argparse.Namespace, runtime: Runtime, first: int, agents: list[int], client_id: int
) -> tuple[int, int, dict[str, dict[int, int]]]:
    """Calls ``first`` on, every step on its schedule: the monotonic times of the first and
    last, and when each step of each call was published."""
    interval, ring, talk = (
        round(ms * 1e6) for ms in (args.interval_ms, args.ring_ms, args.talk_ms)
    )
    offsets = {"queued": 0, "offered": ring, "answered": ring + ANSWER_NS}
    offsets["ended"] = offsets["answered"] + talk
    plan = sorted(
        (n * interval + offsets[step], STEPS.index(step), step, n)
        for n in range(args.calls)
        for step in STEPS
    )
    published: dict[str, dict[int, int]] = {step: {} for step in STEPS}
    start = time.perf_counter_ns()
    for due, _order, step, n in plan:
        # Behind schedule (a busy loop): publish at once, but let the hub run in between.
        await asyncio.sleep(max(0.0, (start + due - time.perf_counter_ns()) / 1e9))
        i = n % len(agents)
        published[step][first + n] = time.perf_counter_ns()
        publish_step(runtime.events, step, first + n, (agents[i], f"{3000 + i}"), client_id)
    end = time.perf_counter_ns()
    await asyncio.sleep(SETTLE_SECONDS)
    return start, end, published


async def start_clients(
    mode: str, args: argparse.Namespace, port: int, tokens_file: Path
) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        f"--client-mode={mode}",
        f"--port={port}",
        f"--tokens={tokens_file}",
        f"--calls={args.calls}",
        *(["--no-deflate"] if args.no_deflate else []),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 26,  # the supervisors' answer is one long line
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 120)
    if line.strip() != b"READY":
        raise RuntimeError(f"{mode} did not start: {line!r}")
    return proc


async def finish(proc: asyncio.subprocess.Process, start: int, end: int) -> dict[str, Any]:
    """Tell the clients when the calls were published; their results once they are done."""
    out, _ = await asyncio.wait_for(proc.communicate(f"END {start} {end}\n".encode()), 600)
    result: dict[str, Any] = json.loads(out)
    return result


def latencies(received: dict[str, int], published: dict[int, int]) -> list[float]:
    """Milliseconds from each publication to its receipt (call numbers as JSON keys)."""
    return [(ns - published[int(n)]) / 1e6 for n, ns in received.items() if int(n) in published]


async def one_round(
    args: argparse.Namespace,
    runtime: Runtime,
    port: int,
    agents: list[int],
    client_id: int,
    files: tuple[Path, Path],
    rnd: Round,
) -> dict[str, Any]:
    desks = await start_clients("agents", args, port, files[0])
    boards = await start_clients("supervisors", args, port, files[1]) if rnd.supervisors else None
    await asyncio.sleep(2.0)  # let the connections settle (hellos, a first snapshot)
    first = ROUNDS.index(rnd) * args.calls  # call numbers unique across rounds
    start, end, published = await publish_calls(args, runtime, first, agents, client_id)
    desk_result = await finish(desks, start, end)
    result: dict[str, Any] = {
        "seconds": (end - start) / 1e9,
        "pops": latencies(desk_result["pops"], published["offered"]),
        "closed": desk_result["closed"],
    }
    if boards is not None:
        got = await finish(boards, start, end)
        result["shown"] = [ms for b in got["shown"] for ms in latencies(b, published["queued"])]
        result["talking"] = [
            ms for b in got["talking"] for ms in latencies(b, published["answered"])
        ]
        result["never_shown"] = sum(len(published["queued"]) - len(b) for b in got["shown"])
        result["boards"] = got
    return result


async def seed_supervisors(url: str, count: int) -> list[str]:
    """``count`` supervisors, each with a session that proved its second factor (a
    supervisor's socket needs one)."""
    db = Database(url)
    try:
        async with db.write() as session:
            users = [
                User(
                    username=f"benchsup{n:03d}",
                    display_name=f"Supervisor {n}",
                    role=Role.SUPERVISOR,
                )
                for n in range(count)
            ]
            session.add_all(users)
        async with db.write() as session:
            now = dt.datetime.now(dt.UTC)
            hours = dt.timedelta(hours=2)
            return [
                (
                    await open_session(
                        session,
                        u.id,
                        now=now,
                        lifetime=hours,
                        idle=hours,
                        address="127.0.0.1",
                        mfa_verified=True,
                    )
                )[0]
                for u in users
            ]
    finally:
        await db.dispose()


async def run(args: argparse.Namespace) -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    for leftover in BENCH_DIR.glob("wallboard.db*"):
        leftover.unlink()
    url = f"sqlite+aiosqlite:///{BENCH_DIR / 'wallboard.db'}"
    ids, tokens, client_id = await seed(url, args.agents)
    tokens += await seed_supervisors(url, args.supervisors)
    floor: dict[str, float] = {}
    if args.batch_ms is not None:
        floor["ws_floor_batch_seconds"] = args.batch_ms / 1000
    if args.gap_ms is not None:
        floor["ws_floor_snapshot_seconds"] = args.gap_ms / 1000
    settings = load_settings(
        database_url=url, pbx_enabled=False, database_auto_migrate=False, **floor
    )
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-wallboard-"))
    results = []
    try:
        files = (
            write_tokens(tmp / "agents.json", tokens[: args.agents]),
            write_tokens(tmp / "supervisors.json", tokens[args.agents :]),
        )
        async with served(settings, port) as runtime:
            for rnd in ROUNDS:
                results.append(
                    await one_round(args, runtime, port, ids[: args.agents], client_id, files, rnd)
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, settings.ws_floor_batch_seconds, settings.ws_floor_snapshot_seconds, results)


def _row(label: str, values: list[float]) -> str:
    if not values:
        return f"{label:<40}{0:>8}"
    cols = "".join(f"{percentile(values, p):>9.1f}" for p in (50, 95, 99))
    return f"{label:<40}{len(values):>8}{cols}{max(values):>9.1f}"


def report(
    args: argparse.Namespace, batch: float, gap: float, results: list[dict[str, Any]]
) -> None:
    rate = 1000 / args.interval_ms
    print(
        f"\n{args.calls} calls per round, one every {args.interval_ms:g} ms ({rate:g}/s), "
        f"ring {args.ring_ms:g} ms, talk {args.talk_ms:g} ms; {args.agents} agents' desks; "
        f"wallboard batch {batch * 1000:g} ms, gap {gap * 1000:g} ms; "
        f"permessage-deflate {'off' if args.no_deflate else 'on'}\n"
    )
    print(f"{'':<40}{'n':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for rnd, res in zip(ROUNDS, results, strict=True):
        print(_row(f"pop, {rnd.name} {rnd.label}", res["pops"]))
    b = results[1]
    print(_row("wallboard: call.queued -> shown", b["shown"]))
    print(_row("wallboard: call.answered -> talking", b["talking"]))
    print(_row("wallboard: both", b["shown"] + b["talking"]))
    base, busy = results[0]["pops"], b["pops"]
    print(
        f"\npop B / A: p50 {percentile(busy, 50) / percentile(base, 50):.2f}x, "
        f"p95 {percentile(busy, 95) / percentile(base, 95):.2f}x, "
        f"p99 {percentile(busy, 99) / percentile(base, 99):.2f}x"
    )
    boards = b["boards"]
    rates = [n / b["seconds"] for n in boards["in_window"]]
    print(
        f"snapshots per wallboard per second: mean {sum(rates) / len(rates):.2f}, "
        f"min {min(rates):.2f}, max {max(rates):.2f}; largest {boards['largest']} characters; "
        f"calls never shown (per wallboard, summed): {b['never_shown']}"
    )
    for rnd, res in zip(ROUNDS, results, strict=True):
        closed = {
            **res["closed"],
            **{f"board {k}": v for k, v in res.get("boards", {}).get("closed", {}).items()},
        }
        if closed:
            print(f"{rnd.name}: sockets closed by the server (close code: times): {closed}")


# --- the clients' processes -----------------------------------------------------------------


async def open_socket(url: str, token: str, *, deflate: bool = True) -> ClientConnection:
    """A socket as a browser opens it: offering permessage-deflate, unless ``deflate`` is
    False (``--no-deflate``: what the server's compressing each snapshot for each socket
    costs)."""
    ws = await connect(
        url,
        subprotocols=[Subprotocol("cti.v1"), Subprotocol(f"bearer.{token}")],
        ping_interval=None,
        max_size=None,
        compression="deflate" if deflate else None,
    )
    hello = json.loads(await ws.recv())
    if hello["type"] != "hello":
        raise RuntimeError(f"expected hello, got {hello['type']}")
    return ws


class Reader:
    """One desk or wallboard: reads everything, answers pings, reconnects when closed."""

    def __init__(
        self, url: str, token: str, ws: ClientConnection, closed: Counter[str], deflate: bool
    ) -> None:
        self.url = url
        self.deflate = deflate
        self.token = token
        self.ws = ws
        self.closed = closed
        self.stopping = False

    async def read(self, handle: Callable[[str, int], None]) -> None:
        while True:
            with contextlib.suppress(ConnectionClosed):
                async for text in self.ws:
                    now = time.perf_counter_ns()
                    assert isinstance(text, str)
                    if text.startswith('{"type":"ping"'):
                        await self.ws.send('{"type":"pong"}')
                    else:
                        handle(text, now)
            if self.stopping:
                return
            self.closed[str(self.ws.close_code)] += 1
            await asyncio.sleep(random.uniform(0.5, 1.5))  # the page's jittered backoff
            if self.stopping:
                return
            self.ws = await open_socket(self.url, self.token, deflate=self.deflate)

    async def stop(self) -> None:
        self.stopping = True
        await self.ws.close()


async def connect_all(
    args: argparse.Namespace, tokens: list[str], closed: Counter[str]
) -> list[Reader]:
    url = f"ws://127.0.0.1:{args.port}/ws"
    deflate = not args.no_deflate
    return [
        Reader(url, token, await open_socket(url, token, deflate=deflate), closed, deflate)
        for token in tokens
    ]


async def read_end() -> tuple[int, int]:
    line = await asyncio.to_thread(sys.stdin.readline)
    word, start, end = line.split()
    if word != "END":
        raise RuntimeError(f"unexpected line from the server: {line!r}")
    return int(start), int(end)


def number(call: str) -> int | None:
    return int(call.rsplit("-", 1)[1]) if call.startswith("wallboard-") else None


async def desks_main(args: argparse.Namespace, tokens: list[str]) -> None:
    """The agents' desks: when each pop came, until every call's pop came (or none for 5 s)."""
    closed: Counter[str] = Counter()
    readers = await connect_all(args, tokens, closed)
    pops: dict[int, int] = {}
    came = asyncio.Event()

    def handle(text: str, now: int) -> None:
        if text.startswith('{"type":"call.offered"'):
            n = number(json.loads(text)["data"]["call_id"])
            if n is not None:
                pops.setdefault(n, now)
                came.set()

    print("READY", flush=True)
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(r.read(handle)) for r in readers]
        await read_end()
        while len(pops) < args.calls:
            came.clear()
            try:
                await asyncio.wait_for(came.wait(), IDLE_SECONDS)
            except TimeoutError:
                break  # the rest was lost: reported as fewer pops than calls
        await asyncio.gather(*(reader.stop() for reader in readers))
        for task in tasks:
            task.cancel()
    print(json.dumps({"pops": pops, "closed": closed}), flush=True)


async def boards_main(args: argparse.Namespace, tokens: list[str]) -> None:
    """The supervisors' sockets: per socket, when each call was first shown (waiting or
    talking) and first shown talking; snapshots received per socket."""
    closed: Counter[str] = Counter()
    readers = await connect_all(args, tokens, closed)
    shown: list[dict[int, int]] = [{} for _ in readers]
    talking: list[dict[int, int]] = [{} for _ in readers]
    received: list[list[int]] = [[] for _ in readers]
    largest = [0]

    def handler(i: int) -> Callable[[str, int], None]:
        def handle(text: str, now: int) -> None:
            if not text.startswith('{"type":"floor.snapshot"'):
                return
            received[i].append(now)
            largest[0] = max(largest[0], len(text))
            # Found in the text, not parsed: 100 sockets' snapshots are read one after the
            # other in this process, and a full parse of each would delay the next socket's.
            waiting = text.find('"waiting":')
            calls = text.find('"calls":', waiting)
            if min(waiting, calls, text.find('"campaigns":', calls)) < 0:
                raise RuntimeError("a floor.snapshot without waiting, calls or campaigns")
            for found in CALL_ID.finditer(text, waiting, calls):
                shown[i].setdefault(int(found[1]), now)
            for found in CALL_ID.finditer(text, calls, text.find('"campaigns":', calls)):
                shown[i].setdefault(int(found[1]), now)
                talking[i].setdefault(int(found[1]), now)

        return handle

    print("READY", flush=True)
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(r.read(handler(i))) for i, r in enumerate(readers)]
        start, end = await read_end()  # sent once the desks are done
        await asyncio.gather(*(reader.stop() for reader in readers))
        for task in tasks:
            task.cancel()
    result = {
        "shown": shown,
        "talking": talking,
        "in_window": [sum(1 for at in r if start <= at <= end) for r in received],
        "largest": largest[0],
        "closed": closed,
    }
    print(json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--interval-ms", type=float, default=50.0)
    parser.add_argument("--ring-ms", type=float, default=500.0)
    parser.add_argument("--talk-ms", type=float, default=3000.0)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--supervisors", type=int, default=100)
    parser.add_argument("--batch-ms", type=float, help="the wallboard's batching delay")
    parser.add_argument("--gap-ms", type=float, help="the least time between two snapshots")
    parser.add_argument(
        "--no-deflate", action="store_true", help="the clients do not offer permessage-deflate"
    )
    parser.add_argument("--client-mode", choices=["agents", "supervisors"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tokens", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_mode is None:
        asyncio.run(run(args))
        return
    tokens: list[str] = json.loads(Path(args.tokens).read_text())
    if args.client_mode == "agents":
        asyncio.run(desks_main(args, tokens))
    else:
        asyncio.run(boards_main(args, tokens))


if __name__ == "__main__":
    main()
