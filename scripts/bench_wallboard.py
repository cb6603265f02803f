"""Benchmark: do 100 supervisors' wallboards slow the agents' screen pops? (issue 7, point 1)

The app from ``create_app`` (no call handler) served by uvicorn on a free loopback port, on a
SQLite database seeded here (``var/bench/wallboard.db``): 100 agents and 100 service-center
supervisors, each with a session token. A busy floor: for each of ``--calls`` calls, one every
``--interval-ms`` on a fixed schedule (the ACD does not slow down because someone watches),
the benchmark publishes on ``runtime.events``, in one go, what the ACD publishes for a call:
``call.queued``, ``call.offered`` (the pop, to one agent in rotation), ``agent.state``
reserved, ``call.answered``, ``agent.state`` on_call,
``call.ended``, ``agent.state`` wrap_up (fields as in callcenter/acd/notices.py). The call
id ends with the time its events start to be published, ``wallboard-<n>@<ns>``
(``time.perf_counter_ns``, CLOCK_MONOTONIC, the same clock in every process on Linux): a
typed event has no field to spare.

The 100 agents' desks are always connected, in a second process; the supervisors' sockets are
held by a third one, so that reading a flood of floor events does not delay the measured
desks' own reading (bench_pop_ring.py does the same with its watchers). Each socket reads
everything it gets, answers pings, and reconnects after about a second when the server
closes it (as the desk's page does, agent_ui/js/socket.js). Three rounds on the same server:

* **A**: no supervisor socket: the baseline;
* **B**: 100 supervisor sockets with the routing of this change: managers get
  ``floor.snapshot`` (the whole wallboard, at most once a second) and no raw floor event;
* **C**: the same 100 supervisor sockets with the routing *before* this change, for
  comparison: ``callcenter.cti.routing.FLOOR_TOPICS`` and ``callcenter.cti.hub.FLOOR_TOPICS``
  patched in this (the server's) process to the old set, so managers get every raw
  ``agent.state``, ``queue.changed``, ``call.queued``/``abandoned``/``overflowed``/
  ``answered``/``ended`` and ``floor.snapshot``.

Measured: per pop, publish -> ``call.offered`` read by its agent's client (ms); per supervisor
socket, the messages received per second while calls were published, and how often the
server closed it as too slow (4408); in B and C, each ``floor.snapshot``'s age on arrival
(the client's ``time.time()`` against the message's ``at``: wall clocks of one machine).

Usage: .venv/bin/python scripts/bench_wallboard.py [--calls 2000] [--interval-ms 5]
Report the printed table in docs/benchmarks.md ("Wallboard: 100 supervisors and the screen
pop").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from callcenter.acd.model import AgentState, ClientSummary
from callcenter.app import Runtime
from callcenter.crm.vocabulary import RiskProfile, Tier, ValueClass
from callcenter.cti import routing as cti_routing
from callcenter.cti.hub import CtiHub
from callcenter.cti.projections import Projection, projection_of
from callcenter.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    Event,
    EventBus,
)
from callcenter.settings import load_settings
from scripts.bench_ivr_dtmf import percentile
from scripts.bench_pop import BENCH_DIR, free_port, published_at, seed, served, write_tokens

# The managers' topics before this change (git: callcenter/cti/routing.py), for round C.
OLD_FLOOR_TOPICS = frozenset(
    {
        "agent.state",
        "queue.changed",
        "call.queued",
        "call.abandoned",
        "call.overflowed",
        "call.answered",
        "call.ended",
        "floor.snapshot",
    }
)
QUEUES = ("general", "vip", "trading")
BUCKET_NS = 10_000_000  # supervisors count messages in 10 ms buckets of the monotonic clock
IDLE_SECONDS = 5.0  # the desks stop waiting for pops this long after the last one came


@dataclass(frozen=True)
class Round:
    name: str
    label: str
    supervisors: bool
    old_routing: bool


ROUNDS = (
    Round("A", "no supervisor (baseline)", supervisors=False, old_routing=False),
    Round("B", "supervisors, floor.snapshot", supervisors=True, old_routing=False),
    Round("C", "supervisors, old routing", supervisors=True, old_routing=True),
)


# --- the server's process -------------------------------------------------------------------


class HubTroubles(logging.Filter):
    """Counts the hub's overload warning (events lost), per round, and keeps it off the
    terminal (thousands of lines in round C; the table gives their totals)."""

    LOST = "cti: %d events lost: the hub fell behind the bus"

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0  # the hub's own count: since it started, all rounds together
        self._mark = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == self.LOST:
            if isinstance(record.args, tuple) and isinstance(record.args[0], int):
                self.dropped = record.args[0]
            return False
        return True

    def new_round(self) -> None:
        self._mark = self.dropped

    def of_round(self) -> dict[str, int]:
        return {"events_lost": self.dropped - self._mark}


@contextlib.contextmanager
def floor_topics(topics: frozenset[str]) -> Iterator[None]:
    """The managers' topics in both places that read them (routing.delivers, hub._candidates);
    and every event on a socket with all its fields, as before events had projections."""
    with (
        mock.patch("callcenter.cti.routing.FLOOR_TOPICS", topics),
        mock.patch("callcenter.cti.hub.FLOOR_TOPICS", topics),
        mock.patch("callcenter.cti.messages.projection_of", every_field),
    ):
        yield


def every_field(event: Event) -> Projection:
    return projection_of(event) or Projection(tuple(event.to_data()))


def publish_call(events: EventBus, n: int, agent: tuple[int, str], client_id: int) -> None:
    """What the ACD publishes for call ``n``, in its order, all at once, to ``agent`` (id,
    extension)."""
    call, queue = f"wallboard-{n}@{time.perf_counter_ns()}", QUEUES[n % len(QUEUES)]
    agent_id, extension = agent
    the_call = {"call_id": call, "interaction_id": None, "queue": queue, "client_id": client_id}
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
    extra = {"caller_number": None, "tier": None}
    events.publish(CallQueued.from_data({**the_call, **extra, "priority": 3, "language": "zh"}))
    events.publish(
        CallOffered.from_data(
            {
                **{k: v for k, v in the_call.items() if k != "client_id"},  # in the summary
                "agent_id": agent_id,
                "extension": extension,
                "client": client,
                "caller_number": "+8613800138000",
                "language": "zh",
                "priority": 3,
                "authenticated": True,
                "ivr_path": ("welcome", "menu", "agent"),
            }
        )
    )

    def state(value: AgentState) -> AgentStateChanged:
        return AgentStateChanged(agent_id=agent_id, state=value, reason=None, origin="acd")

    events.publish(state(AgentState.RESERVED))
    events.publish(CallAnswered.from_data({**the_call, "agent_id": agent_id}))
    events.publish(state(AgentState.ON_CALL))
    events.publish(CallEnded.from_data({**the_call, "agent_id": agent_id, "transferred": False}))
    events.publish(state(AgentState.WRAP_UP))


async def publish_calls(
    args: argparse.Namespace, runtime: Runtime, first: int, agents: list[int], client_id: int
) -> tuple[int, int]:
    """Calls ``first`` on, each on its schedule; the monotonic times of the first and last.
    Agent ``i`` is the seed's ``i``-th, extension 3000 + i (bench_pop.seed)."""
    interval = round(args.interval_ms * 1e6)
    start = time.perf_counter_ns()
    for n in range(args.calls):
        late = time.perf_counter_ns() - (start + n * interval)
        # Behind schedule (a busy loop): publish at once, but let the hub run in between.
        await asyncio.sleep(max(0.0, -late / 1e9))
        i = n % len(agents)
        publish_call(runtime.events, first + n, (agents[i], f"{3000 + i}"), client_id)
    return start, time.perf_counter_ns()


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
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
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


async def one_round(
    args: argparse.Namespace,
    runtime: Runtime,
    port: int,
    agents: list[int],
    client_id: int,
    files: tuple[Path, Path],
    rnd: Round,
    troubles: HubTroubles,
) -> dict[str, Any]:
    desks = await start_clients("agents", args, port, files[0])
    boards = await start_clients("supervisors", args, port, files[1]) if rnd.supervisors else None
    await asyncio.sleep(2.0)  # let the connections settle (hellos, the first snapshot)
    troubles.new_round()
    with floor_topics(OLD_FLOOR_TOPICS if rnd.old_routing else cti_routing.FLOOR_TOPICS):
        first = ROUNDS.index(rnd) * args.calls  # call ids unique across rounds
        start, end = await publish_calls(args, runtime, first, agents, client_id)
        result = {"seconds": (end - start) / 1e9, **await finish(desks, start, end)}
        if boards is not None:
            result["boards"] = await finish(boards, start, end)
    return {**result, **troubles.of_round()}


async def run(args: argparse.Namespace) -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    for leftover in BENCH_DIR.glob("wallboard.db*"):
        leftover.unlink()
    url = f"sqlite+aiosqlite:///{BENCH_DIR / 'wallboard.db'}"
    ids, tokens, client_id = await seed(url, args.agents, supervisors=args.supervisors)
    settings = load_settings(database_url=url, pbx_enabled=False, database_auto_migrate=False)
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-wallboard-"))
    results = []
    troubles = HubTroubles()
    hub_log = logging.getLogger(CtiHub.__module__)
    try:
        files = (
            write_tokens(tmp / "agents.json", tokens[: args.agents]),
            write_tokens(tmp / "supervisors.json", tokens[args.agents :]),
        )
        async with served(settings, port) as runtime:
            hub_log.addFilter(troubles)
            for rnd in ROUNDS:
                results.append(
                    await one_round(
                        args, runtime, port, ids[: args.agents], client_id, files, rnd, troubles
                    )
                )
    finally:
        hub_log.removeFilter(troubles)
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, results)


def _ms(values: list[float]) -> str:
    if not values:
        return f"{'-':>9}{'-':>9}{'-':>9}"
    return f"{percentile(values, 50):>9.1f}{percentile(values, 99):>9.1f}{max(values):>9.1f}"


def report(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    print(
        f"\n{args.calls} calls per round (7 events each), one every {args.interval_ms} ms; "
        f"{args.agents} agents' desks connected\n"
    )
    print(
        f"{'round':<34}{'sups':>5}{'calls/s':>8}{'pops':>6}"
        f"{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    )
    for rnd, res in zip(ROUNDS, results, strict=True):
        pops: list[float] = res["pops"]
        sups = args.supervisors if rnd.supervisors else 0
        print(
            f"{rnd.name + '  ' + rnd.label:<34}{sups:>5}{args.calls / res['seconds']:>8.0f}"
            f"{len(pops):>6}{percentile(pops, 50):>9.2f}{percentile(pops, 90):>9.2f}"
            f"{percentile(pops, 99):>9.2f}{max(pops):>9.2f}"
        )
    for rnd, res in zip(ROUNDS, results, strict=True):
        if res["events_lost"]:
            print(f"{rnd.name}: the hub fell behind the bus and lost {res['events_lost']} events")
    base = results[0]["pops"]
    for rnd, res in zip(ROUNDS[1:], results[1:], strict=True):
        print(
            f"{rnd.name} / A: p50 {percentile(res['pops'], 50) / percentile(base, 50):.2f}x, "
            f"p99 {percentile(res['pops'], 99) / percentile(base, 99):.2f}x"
        )
    report_boards(results)


def report_boards(results: list[dict[str, Any]]) -> None:
    sizes = []
    print(
        f"\n{'supervisor sockets':<34}{'msgs/s per socket':>18}{'msgs':>7}{'closed':>7}"
        f"{'snapshot age ms':>17}"
    )
    print(
        f"{'':<34}{'mean':>6}{'min':>6}{'max':>6}{'total':>7}{'4408':>7}"
        f"{'p50':>9}{'p99':>9}{'max':>9}"
    )
    for rnd, res in zip(ROUNDS, results, strict=True):
        boards = res.get("boards")
        if boards is None:
            continue
        rates = [n / res["seconds"] for n in boards["in_window"]]
        total = sum(boards["in_round"]) / len(boards["in_round"])
        print(
            f"{rnd.name + '  ' + rnd.label:<34}{sum(rates) / len(rates):>6.1f}"
            f"{min(rates):>6.1f}{max(rates):>6.1f}{total:>7.0f}"
            f"{boards['closed'].get('4408', 0):>7}{_ms(boards['snapshot_ages'])}"
        )
        sizes.append(boards["snapshot_chars"])
    print(f"largest floor.snapshot: {max(sizes)} characters")
    for rnd, res in zip(ROUNDS, results, strict=True):
        boards = res.get("boards", {})
        if res["closed"] or boards.get("closed"):
            print(
                f"{rnd.name}: sockets closed by the server (close code: times): desks "
                f"{res['closed']}, supervisors {boards.get('closed', {})}"
            )


# --- the clients' processes -----------------------------------------------------------------


async def open_socket(url: str, token: str) -> ClientConnection:
    ws = await connect(
        url,
        subprotocols=[Subprotocol("cti.v1"), Subprotocol(f"bearer.{token}")],
        ping_interval=None,
    )
    hello = json.loads(await ws.recv())
    if hello["type"] != "hello":
        raise RuntimeError(f"expected hello, got {hello['type']}")
    return ws


class Reader:
    """One desk or wallboard: reads everything, answers pings, reconnects when closed."""

    def __init__(self, url: str, token: str, ws: ClientConnection, closed: Counter[str]) -> None:
        self.url = url
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
            self.ws = await open_socket(self.url, self.token)

    async def stop(self) -> None:
        self.stopping = True
        await self.ws.close()


async def connect_all(port: int, tokens: list[str], closed: Counter[str]) -> list[Reader]:
    url = f"ws://127.0.0.1:{port}/ws"
    return [Reader(url, token, await open_socket(url, token), closed) for token in tokens]


async def read_end() -> tuple[int, int]:
    line = await asyncio.to_thread(sys.stdin.readline)
    word, start, end = line.split()
    if word != "END":
        raise RuntimeError(f"unexpected line from the server: {line!r}")
    return int(start), int(end)


async def desks_main(args: argparse.Namespace, tokens: list[str]) -> None:
    """The agents' desks: each pop's latency, until every call's pop came (or none for 5 s)."""
    closed: Counter[str] = Counter()
    readers = await connect_all(args.port, tokens, closed)
    pops: dict[str, float] = {}
    came = asyncio.Event()

    def handle(text: str, now: int) -> None:
        if not text.startswith('{"type":"call.offered"'):
            return
        data = json.loads(text)["data"]
        pops.setdefault(data["call_id"], (now - published_at(data["call_id"])) / 1e6)
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
    print(json.dumps({"pops": list(pops.values()), "closed": closed}), flush=True)


async def boards_main(args: argparse.Namespace, tokens: list[str]) -> None:
    """The supervisors' sockets: messages per 10 ms bucket each, and the snapshots' ages."""
    closed: Counter[str] = Counter()
    readers = await connect_all(args.port, tokens, closed)
    buckets: list[Counter[int]] = [Counter() for _ in readers]
    snapshots: list[tuple[int, float, int]] = []  # (received, age ms, characters)

    def handler(i: int) -> Callable[[str, int], None]:
        def handle(text: str, now: int) -> None:
            buckets[i][now // BUCKET_NS] += 1
            if text.startswith('{"type":"floor.snapshot"'):
                at = dt.datetime.fromisoformat(json.loads(text)["at"])
                snapshots.append((now, (time.time() - at.timestamp()) * 1000, len(text)))

        return handle

    print("READY", flush=True)
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(r.read(handler(i))) for i, r in enumerate(readers)]
        start, end = await read_end()  # sent once the desks are done
        await asyncio.gather(*(reader.stop() for reader in readers))
        for task in tasks:
            task.cancel()
    first, last = start // BUCKET_NS, end // BUCKET_NS
    result = {
        "in_window": [sum(n for b, n in c.items() if first <= b <= last) for c in buckets],
        "in_round": [sum(n for b, n in c.items() if first <= b) for c in buckets],
        "snapshot_ages": [age for at, age, _ in snapshots if at >= start],
        "snapshot_chars": max((size for at, _, size in snapshots if at >= start), default=0),
        "closed": closed,
    }
    print(json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--supervisors", type=int, default=100)
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
