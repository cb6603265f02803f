"""Benchmark: the ACD end to end on real calls, from the caller's key to the agent's phone
ringing, with the screen pop, at a set number of calls up at once.

Real parts only: the sandboxed Asterisk 22 (instance ``bench``, or ``CALLCENTER_TEST_INSTANCE``
and its ports), the service from ``create_app`` served by uvicorn on a seeded SQLite
database, and sipp callers on the carrier trunk. In a second process (scripts/bench_pop_ring.py's
desks), one registered SIP phone and one websocket desk per agent; in a third, ``--watchers``
supervisor sockets, each receiving the pushed wallboard. Two kinds of callers keep
``--concurrency`` calls up at once:

* **queue callers**, one every ``--spacing`` s: the language key, then "0" on the main menu
  (an agent: the general queue); the agent's phone answers, talks ``--talk`` s and hangs up;
  0.5 s of wrap-up brings the agent back;
* **IVR callers** fill the rest: the language key, then they listen to the main menu (its
  prompt again after each timeout) and hang up before it gives up on them.

Three clocks, all of one machine: Asterisk's (the AMI ``Timestamp`` header, microseconds,
wall clock), the service's (``time.time()`` at each step, wrapped around the service's own
methods: nothing is added to its code), and the desks' (``time.time()`` when a frame or an
INVITE is read). Measured per call put through:

* **key -> Dial** (Asterisk's timestamps): the "0" key's ``DTMFEnd`` to the agent leg's
  ``DialBegin``, split at each step: Asterisk ending ``GET DATA``; the ``AsyncAGIExec`` out;
  the service's IVR step, record and queue entry (to ``Router.add_call``); the decision; the
  agent's reservation stored; the pop written to the desk; the caller's name and the Dial sent
  (and the recording started); Async AGI picking the Dial up (``AGIExecStart``), and
  Asterisk's own Dial start (``DialBegin``). Calls an agent was ready for only: one that
  waited for an agent is timed from the agent's readiness instead;
* **call queued / agent ready -> AMI action** (the service's loop): from ``Router.add_call``,
  or from the agent's READY while calls wait, to the ``EXEC Dial`` AGI action being sent;
* **the pop**: from the ``AsyncAGIExec`` that hands the call to the ACD (Asterisk's clock) to
  the ``call.offered`` frame read by the agent's desk (the desks' clock), and its lead over
  the agent leg's first AMI event (``Newchannel``) and its ``DialBegin``;
* **where the time goes**: the event loop's lag (a 5 ms sleeper's oversleep), garbage
  collection pauses, the SQLite writers' waits for their turn, and the bare AMI round trip
  (Ping, the floor), in the same run.

Usage (root: Asterisk runs in the sandbox):
    sudo .venv/bin/python scripts/bench_acd.py [--concurrency 100] [--calls 300]
        [--spacing 0.5] [--talk 3] [--watchers 200]
Report the printed tables in docs/benchmarks.md ("ACD: from the caller's key to the Dial").
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import itertools
import json
import os
import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import update

from callcenter.acd.model import AgentState
from callcenter.acd.policy import Router
from callcenter.app import Runtime
from callcenter.asterisk.agi import AgiResult, AsyncAgi
from callcenter.pbx.recording import CallRecorder
from callcenter.persistence.db import Database, WriteTurns
from callcenter.persistence.seed import seed_demo
from callcenter.persistence.tables import CallQueue
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.secretbox import box_for
from scripts.bench_ivr_dtmf import AS_OF, bench_settings, demo_phones, percentile
from scripts.bench_pop import free_port, served
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Wait, plan_script
from tests.support.logins import DEMO_PASSWORD, log_in
from tests.support.phone_secrets import stored_phone_secrets

BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"
AMI_EVENTS = {"dtmfend", "agiexecend", "asyncagiexec", "agiexecstart", "newchannel", "dialbegin"}


async def short_queue(url: str) -> None:
    """Short ring and wrap-up in the general queue, so agents come back quickly."""
    db = Database(url)
    try:
        async with db.write() as session:
            row = await session.get(CallQueue, "general")
            assert row is not None
            config = dict(row.config)
            config.update(ring_seconds=10, wrap_up_seconds=0.5)
            await session.execute(
                update(CallQueue).where(CallQueue.name == "general").values(config=config)
            )
    finally:
        await db.dispose()


async def desk_tokens(http: httpx.AsyncClient, agents: int) -> tuple[list[str], str]:
    """The bearer tokens of agent01.. and of supervisor01, who watches the desks."""
    tokens = []
    for number in range(1, agents + 1):
        headers = await log_in(http, f"agent{number:02d}")
        tokens.append(headers["Authorization"].removeprefix("Bearer "))
    watcher = (await log_in(http, "supervisor01"))["Authorization"].removeprefix("Bearer ")
    return tokens, watcher


# --- the service's side: steps on its clock, and where its time goes ---------------------------


@dataclass
class Offer:
    """One offer of a call, on the service's clock (epoch seconds)."""

    trigger: str  # "call queued" or "agent ready"
    triggered: float
    serial: bool = False  # --ab: this offer's Dial waits for MixMonitor's result (as before)
    steps: dict[str, float] = field(default_factory=dict)


class Probe:
    """Wraps the service's own methods to stamp each step of an offer; nothing is added to the
    service's code. Only the first offer of each call is kept."""

    def __init__(self) -> None:
        self.queued: dict[str, float] = {}
        self.ready: dict[int, float] = {}
        self.offers: dict[str, Offer] = {}
        self.pending: dict[int, str] = {}  # agent -> the call being offered to them
        self.channel_call: dict[str, str] = {}
        self.turn_waits: dict[str, list[float]] = {"urgent": [], "ordinary": []}
        self.recordings: dict[str, asyncio.Task[Any]] = {}
        self.ab = False
        self._undo: list[Callable[[], None]] = []

    def _patch(self, owner: Any, name: str, wrapper: Any) -> None:
        original = getattr(owner, name)
        setattr(owner, name, wrapper)
        self._undo.append(lambda: setattr(owner, name, original))

    def uninstall(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo, self.recordings = [], {}  # what is left pickles (--saved)

    def step(self, call_id: str | None, name: str) -> None:
        offer = self.offers.get(call_id or "")
        if offer is not None:
            offer.steps.setdefault(name, time.time())

    def install(self, runtime: Runtime) -> None:
        probe, acd = self, runtime.acd
        assert acd is not None
        add_call, set_state, assign = Router.add_call, Router.set_agent_state, Router.assign
        execute, record = AsyncAgi.execute, CallRecorder.start
        acquire = WriteTurns._acquire
        states, pops = acd.agent_states, acd.offers._pops
        apply = states.apply
        assert pops is not None
        deliver = pops.deliver

        def timed_add(router: Router, call: Any) -> None:
            probe.queued.setdefault(call.call_id, time.time())
            add_call(router, call)

        def timed_state(router: Router, agent_id: int, state: AgentState, now: float) -> None:
            if state is AgentState.READY and router.agent_state(agent_id) is not AgentState.READY:
                probe.ready[agent_id] = time.time()
            set_state(router, agent_id, state, now)

        def timed_assign(router: Router, call_id: str, agent_id: int) -> Any:
            if call_id not in probe.offers:
                queued, ready = probe.queued.get(call_id, 0.0), probe.ready.get(agent_id, 0.0)
                trigger = ("call queued", queued) if queued >= ready else ("agent ready", ready)
                serial = probe.ab and len(probe.offers) % 2 == 1
                probe.offers[call_id] = Offer(
                    *trigger, steps={"assigned": time.time()}, serial=serial
                )
                probe.pending[agent_id] = call_id
            waiting = acd._queued.get(call_id)
            if waiting is not None:
                probe.channel_call[waiting.leg.call.channel] = call_id  # type: ignore[attr-defined]
            return assign(router, call_id, agent_id)

        async def timed_apply(agent_id: int, event: Any, **kw: Any) -> Any:
            status = await apply(agent_id, event, **kw)
            if event.value == "offer":
                probe.step(probe.pending.get(agent_id), "reserved")
            return status

        async def timed_deliver(offered: Any, head_start: float) -> bool:
            done = await deliver(offered, head_start)
            probe.step(offered.call_id, "pop written")
            return done

        async def timed_record(recorder: CallRecorder, call: Any, *a: Any, **kw: Any) -> Any:
            probe.step(call.uniqueid, "recording asked")
            task = asyncio.current_task()
            if task is not None:
                probe.recordings[call.uniqueid] = task
            return await record(recorder, call, *a, **kw)

        async def timed_execute(agi: AsyncAgi, channel: str, command: str, **kw: Any) -> AgiResult:
            if command.startswith("EXEC Dial"):
                call_id = probe.channel_call.get(channel, "")
                offer, recording = probe.offers.get(call_id), probe.recordings.get(call_id)
                if offer is not None and offer.serial and recording is not None:
                    await asyncio.wait({recording})  # the order before: MixMonitor, then Dial
                probe.step(call_id, "dial sent")
            return await execute(agi, channel, command, **kw)

        async def timed_acquire(turns: WriteTurns, urgent: bool) -> None:
            start = time.perf_counter()
            await acquire(turns, urgent)
            lane = "urgent" if urgent else "ordinary"
            probe.turn_waits[lane].append((time.perf_counter() - start) * 1000)

        self._patch(Router, "add_call", timed_add)
        self._patch(Router, "set_agent_state", timed_state)
        self._patch(Router, "assign", timed_assign)
        self._patch(AsyncAgi, "execute", timed_execute)
        self._patch(CallRecorder, "start", timed_record)
        self._patch(WriteTurns, "_acquire", timed_acquire)
        self._patch(states, "apply", timed_apply)
        self._patch(pops, "deliver", timed_deliver)


class LoopWatch:
    """The event loop's lag (how late a 5 ms sleep wakes) and garbage collection pauses."""

    PERIOD = 0.005

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.gc_pauses: list[tuple[int, float]] = []  # (generation, ms)
        self._gc_start = 0.0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gc_pauses.append(
                (info["generation"], (time.perf_counter() - self._gc_start) * 1000)
            )

    async def run(self) -> None:
        gc.callbacks.append(self._on_gc)
        try:
            while True:
                start = time.perf_counter()
                await asyncio.sleep(self.PERIOD)
                self.lags.append((time.perf_counter() - start - self.PERIOD) * 1000)
        finally:
            gc.callbacks.remove(self._on_gc)


KEPT = ("Timestamp", "Digit", "Direction", "Command", "DestUniqueid")


class Seen(NamedTuple):
    """An AMI event, kept small: tuples of strings, which the garbage collector stops tracking
    (tens of thousands of whole messages would lengthen the service's full collections)."""

    name: str
    headers: tuple[tuple[str, str], ...]

    def get(self, key: str, default: str | None = None) -> str | None:
        return next((value for name, value in self.headers if name == key), default)


class AmiTrace:
    """Per channel, the AMI events of AMI_EVENTS as Asterisk stamped them."""

    def __init__(self) -> None:
        self.by_uniqueid: dict[str, list[Seen]] = {}

    async def run(self, runtime: Runtime) -> None:
        with runtime.ami.subscribe(AMI_EVENTS, maxsize=1_000_000) as events:
            while True:
                try:
                    message = await events.get()
                except StopAsyncIteration:
                    return
                headers = tuple((k, v) for k in KEPT if (v := message.get(k)) is not None)
                seen = Seen(message.name, headers)
                self.by_uniqueid.setdefault(message.get("Uniqueid") or "", []).append(seen)


def stamp(message: Seen | None) -> float | None:
    value = message.get("Timestamp") if message is not None else None
    return float(value) if value else None


def first(events: list[Seen], name: str, after: float, test: Any = None) -> Seen | None:
    for event in events:
        at = stamp(event)
        if event.name == name and at is not None and at >= after and (test is None or test(event)):
            return event
    return None


# --- one call's story, on the three clocks -------------------------------------------------------

KEY_PARTS = (  # (row, from, to): the key's way to the Dial, in order
    ("Asterisk ends GET DATA", "key", "get data ended"),
    ("AsyncAGIExec out", "get data ended", "exec"),
    ("IVR step, record, queue entry", "exec", "queued"),
    ("decision", "queued", "assigned"),
    ("reservation stored", "assigned", "reserved"),
    ("pop written to the desk", "reserved", "pop written"),
    ("name, recording, Dial sent", "pop written", "dial sent"),
    ("Async AGI picks the Dial up", "dial sent", "dial started"),
    ("Asterisk starts the Dial", "dial started", "dial begin"),
)


def timeline(
    offer: Offer, call_id: str, trace: AmiTrace, pop_read: float | None
) -> dict[str, float]:
    """The call's steps on one time axis (epoch seconds); missing steps are left out."""
    events = trace.by_uniqueid.get(call_id, [])
    at: dict[str, float] = dict(offer.steps)
    at["triggered"] = offer.triggered
    key = first(
        events,
        "DTMFEnd",
        0.0,
        lambda e: e.get("Digit") == "0" and e.get("Direction") == "Received",
    )
    found = stamp(key)
    if found is not None:
        at["key"] = found
        for step, name in (("get data ended", "AGIExecEnd"), ("exec", "AsyncAGIExec")):
            value = stamp(first(events, name, found))
            if value is not None:
                at[step] = value
    dial = at.get("dial sent")
    if dial is not None:
        started = first(
            events,
            "AGIExecStart",
            dial - 0.001,
            lambda e: e.get("Command", "").startswith("EXEC Dial"),
        )
        begin = first(events, "DialBegin", dial - 0.001)
        if stamp(started) is not None:
            at["dial started"] = stamp(started) or 0.0
        if begin is not None:
            at["dial begin"] = stamp(begin) or 0.0
            leg = trace.by_uniqueid.get(begin.get("DestUniqueid") or "", [])
            new = first(leg, "Newchannel", 0.0)
            if stamp(new) is not None:
                at["agent leg"] = stamp(new) or 0.0
    if offer.trigger == "call queued":
        at.setdefault("queued", offer.triggered)
    if pop_read is not None:
        at["pop read"] = pop_read
    return at


def span(at: dict[str, float], start: str, end: str) -> float | None:
    if start in at and end in at:
        return (at[end] - at[start]) * 1000
    return None


# --- the calls ----------------------------------------------------------------------------------


@dataclass
class Load:
    up: int = 0
    peak: int = 0
    samples: list[int] = field(default_factory=list)
    failed: int = 0
    finished: bool = False
    measuring: bool = False

    def started(self) -> None:
        self.up += 1
        self.peak = max(self.peak, self.up)

    async def sample(self) -> None:
        while not self.finished:
            if self.measuring:
                self.samples.append(self.up)
            await asyncio.sleep(1.0)


async def call(load: Load, caller: KeypadCaller) -> None:
    load.started()
    try:
        await caller.start()
        result = await caller.wait()
        load.failed += not result.succeeded
    finally:
        load.up -= 1


# An IVR caller stays in the main menu: an invalid key every 10 s brings the menu back before
# its timeouts give the caller to an agent (the third, about 18 s in).
IVR_SCRIPT = [Wait(1.0), Keys("1"), *[Wait(10.0), Keys("9")] * 4, Wait(5.0), Hangup()]
IVR_SECONDS = 47.0  # about, with the call's set-up
RAMP_SECONDS = 40.0


async def drive(args: argparse.Namespace, sip_port: int, numbers: list[str]) -> Load:
    """Queue callers on their schedule; IVR callers keep the count up to ``--concurrency``.
    Each script's RTP stream is built once (a long one takes a quarter of a second of CPU)."""
    load = Load()
    queue_script = [Wait(1.0), Keys("1"), Wait(1.5), Keys("0"), Wait(args.patience), Hangup()]
    streams = [
        plan_script(s, hold=30.0).stream.to_capture().to_bytes() for s in (queue_script, IVR_SCRIPT)
    ]
    queue_callers = [
        KeypadCaller(sip_port, "95555", queue_script, caller=number, stream=streams[0])
        for number in numbers[: args.calls]
    ]
    ivr_numbers = numbers[args.calls :]
    expected_queue_up = (3.5 + args.talk) / args.spacing  # callers, about
    ivr_slots = max(0, round(args.concurrency - expected_queue_up))
    ending = asyncio.Event()

    async def ivr_slot(index: int) -> None:
        await asyncio.sleep(index * RAMP_SECONDS / max(ivr_slots, 1))
        turn = 0
        while not ending.is_set():
            number = ivr_numbers[(index + turn * ivr_slots) % len(ivr_numbers)]
            caller = KeypadCaller(sip_port, "95555", IVR_SCRIPT, caller=number, stream=streams[1])
            await call(load, caller)
            turn += 1

    async def queue_caller(index: int, caller: KeypadCaller) -> None:
        await asyncio.sleep(RAMP_SECONDS + 5.0 + index * args.spacing)  # once the IVR is full
        load.measuring = index < len(queue_callers) - 1  # calls up: while queue callers come
        await call(load, caller)

    async with asyncio.TaskGroup() as group:
        group.create_task(load.sample())
        fillers = [group.create_task(ivr_slot(i)) for i in range(ivr_slots)]
        await asyncio.gather(*(queue_caller(i, c) for i, c in enumerate(queue_callers)))
        ending.set()
        await asyncio.gather(*fillers)
        load.finished = True
    return load


async def callers_process(args: argparse.Namespace, sip_port: int, numbers: list[str]) -> Load:
    """The callers in a process of their own: building a caller's RTP stream (a long wait is
    thousands of packets) takes the CPU for up to 200 ms, which on the service's event loop
    would be measured as the service's own delay."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--callers",
        *sys.argv[1:],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    try:
        out, _ = await process.communicate(json.dumps([sip_port, numbers]).encode() + b"\n")
    finally:
        if process.returncode is None:  # this run failed or was stopped: no caller outlives it
            process.kill()
    if process.returncode != 0:
        raise RuntimeError(f"the callers' process failed ({process.returncode})")
    return Load(**json.loads(out.splitlines()[-1]))


async def callers_main(args: argparse.Namespace) -> None:
    sip_port, numbers = json.loads(sys.stdin.readline())
    load = await drive(args, sip_port, numbers)
    print(json.dumps(dataclasses.asdict(load)), flush=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    db_file = BENCH_DIR / "acd.db"
    for leftover in BENCH_DIR.glob("acd.db*"):
        leftover.unlink()
    settings = bench_settings(db_file).model_copy(update={"http_port": free_port()})
    print(f"seeding {args.clients} demo clients ...", flush=True)
    await seed_demo(
        settings.effective_database_url,
        clients=args.clients,
        as_of=AS_OF,
        demo_password=DEMO_PASSWORD,
        demo_mfa=box_for(settings),  # supervisor01 watches: the demo's second factor
    )
    await short_queue(settings.effective_database_url)
    numbers = await demo_phones(settings.effective_database_url, args.calls + 400)
    instance = AsteriskInstance(settings)
    instance.down()
    print(instance.up(), flush=True)
    # Imported here: the desks' process needs none of the service's side.
    from scripts.bench_pop_ring import start_desks

    probe, watch, trace = Probe(), LoopWatch(), AmiTrace()
    extensions = [f"{1000 + n}" for n in range(1, args.agents + 1)]
    try:
        async with (
            served(settings, settings.http_port, ivr=True) as runtime,
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{settings.http_port}", timeout=120
            ) as http,
            asyncio.TaskGroup() as group,
        ):
            await asyncio.wait_for(runtime.link.resynced.wait(), 15)
            tokens, watcher = await desk_tokens(http, args.agents)
            config = {
                "http_port": settings.http_port,
                "sip_port": settings.sip_port,
                "password": await stored_phone_secrets(settings),  # each person's own
                "watcher": watcher,
                "talk": args.talk,
            }
            watchers = await start_desks(
                {**config, "extensions": [], "tokens": []}, watchers=args.watchers
            )
            desks = await start_desks({**config, "extensions": extensions, "tokens": tokens})
            for token in tokens:
                response = await http.post(
                    "/api/agents/me/login", headers={"Authorization": f"Bearer {token}"}
                )
                response.raise_for_status()
            pings = [await _ping_ms(runtime) for _ in range(200)]
            probe.ab = args.ab
            probe.install(runtime)
            tasks = [group.create_task(watch.run()), group.create_task(trace.run(runtime))]
            started = time.perf_counter()
            load = await callers_process(args, settings.sip_port, numbers)
            seconds = time.perf_counter() - started
            pings += [await _ping_ms(runtime) for _ in range(200)]
            tracked = len(gc.get_objects())  # what a full collection walks, service and probe
            probe.uninstall()
            for task in tasks:
                task.cancel()
            for process in (desks, watchers):
                assert process.stdin is not None
                process.stdin.write(b"done\n")
                await process.stdin.drain()
            assert desks.stdout is not None
            out = await asyncio.wait_for(desks.stdout.readline(), 120)
            await desks.wait()
            await watchers.wait()
    finally:
        instance.down()
    seen = json.loads(out)
    return {
        "probe": probe,
        "watch": watch,
        "trace": trace,
        "pops": seen.get("pop_calls", {}),
        "pings": pings,
        "load": load,
        "seconds": seconds,
        "tracked": tracked,
    }


async def _ping_ms(runtime: Runtime) -> float:
    start = time.perf_counter()
    await runtime.ami.ping()
    return (time.perf_counter() - start) * 1000


# --- the report ----------------------------------------------------------------------------------


def row(name: str, values: list[float]) -> None:
    if not values:
        print(f"{name:<40}{0:>6}")
        return
    print(
        f"{name:<40}{len(values):>6}{percentile(values, 50):>9.2f}{percentile(values, 95):>9.2f}"
        f"{percentile(values, 99):>9.2f}{max(values):>9.2f}"
    )


def header(title: str) -> None:
    print(f"\n{title:<40}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")


def report(args: argparse.Namespace, result: dict[str, Any], load_avg: str) -> None:
    probe: Probe = result["probe"]
    watch: LoopWatch = result["watch"]
    load: Load = result["load"]
    lines = {
        call_id: timeline(offer, call_id, result["trace"], result["pops"].get(call_id))
        for call_id, offer in probe.offers.items()
    }
    kinds = {call_id: offer.trigger for call_id, offer in probe.offers.items()}
    queued = [at for call_id, at in lines.items() if kinds[call_id] == "call queued"]
    busy = load.samples or [0]
    print(
        f"\n{len(lines)} calls put through to {args.agents} agents, {args.watchers} wallboards "
        f"open; calls up at once: median {percentile(busy, 50):.0f}, peak {load.peak}; "
        f"{load.failed} sipp calls not ended cleanly; {result['seconds']:.0f} s; "
        f"load average {load_avg}"
    )

    def values(which: list[dict[str, float]], start: str, end: str) -> list[float]:
        return [v for at in which if (v := span(at, start, end)) is not None]

    serial = {call_id for call_id, offer in probe.offers.items() if offer.serial}
    groups = [("", set(lines))]
    if args.ab:
        groups = [
            (" [MixMonitor, then Dial]", serial),
            (" [together]", set(lines) - serial),
        ]
    for label, chosen in groups:
        mine = [at for call_id, at in lines.items() if call_id in chosen]
        ready = [
            at
            for call_id, at in lines.items()
            if call_id in chosen and kinds[call_id] == "call queued"
        ]
        header(f'key "0" -> DialBegin{label}')
        row("key -> DialBegin (Asterisk's clock)", values(ready, "key", "dial begin"))
        for name, start, end in KEY_PARTS:
            row(f"  {name}", values(ready, start, end))
        header(f"the service's own target{label}")
        for kind in ("call queued", "agent ready"):
            which = [
                at for call_id, at in lines.items() if call_id in chosen and kinds[call_id] == kind
            ]
            row(f"{kind} -> Dial sent", values(which, "triggered", "dial sent"))
            # Sent is the service's part; with MixMonitor queued ahead of it, Asterisk runs it
            # first: the Dial's own start (Asterisk's clock) is the figure that compares.
            row(f"{kind} -> DialBegin", values(which, "triggered", "dial begin"))
        row("both -> Dial sent", values(mine, "triggered", "dial sent"))
    row("AMI round trip (Ping, floor)", result["pings"])
    everyone = list(lines.values())
    header("the pop (desks' clock against Asterisk's)")
    row("AsyncAGIExec -> pop read (ready agent)", values(queued, "exec", "pop read"))
    row("key -> pop read (ready agent)", values(queued, "key", "pop read"))
    row("pop written -> pop read", values(everyone, "pop written", "pop read"))
    leads = values(everyone, "pop read", "agent leg")
    row("lead: pop read -> agent leg Newchannel", leads)
    row("lead: pop read -> agent leg DialBegin", values(everyone, "pop read", "dial begin"))
    if leads:
        ahead = sum(1 for lead in leads if lead > 0)
        print(
            f"pop read before the agent leg's Newchannel: {ahead}/{len(leads)}; "
            f"min {min(leads):.2f} ms"
        )
    header("where the time goes (service's process)")
    row("event loop lag (5 ms sleeper)", watch.lags)
    for generation in (0, 1, 2):
        row(
            f"GC pause, generation {generation}",
            [ms for g, ms in watch.gc_pauses if g == generation],
        )
    print(f"objects the garbage collector tracked at the end: {result['tracked']:,}")
    row("SQLite turn wait, urgent (reservation)", probe.turn_waits["urgent"])
    row("SQLite turn wait, ordinary", probe.turn_waits["ordinary"])
    slowest = sorted(
        (at for at in queued if "dial sent" in at), key=lambda at: at["dial sent"] - at["triggered"]
    )[-5:]
    print("\nslowest 'call queued' offers, ms per step:")
    steps = ("queued", "assigned", "reserved", "pop written", "recording asked", "dial sent")
    for at in reversed(slowest):
        parts = [
            f"{b}+{v:.1f}"
            for a, b in itertools.pairwise(steps)
            if (v := span(at, a, b)) is not None
        ]
        print("  " + "  ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="queue callers")
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100, help="calls up at once")
    parser.add_argument("--spacing", type=float, default=0.5, help="seconds between queue callers")
    parser.add_argument("--talk", type=float, default=3.0, help="seconds an agent talks")
    parser.add_argument("--patience", type=float, default=15.0, help="seconds a caller waits")
    parser.add_argument("--watchers", type=int, default=200, help="wallboards open")
    parser.add_argument(
        "--ab",
        action="store_true",
        help="every other offer's Dial waits for MixMonitor's result, as before the fix",
    )
    parser.add_argument("--saved", action="store_true", help="report the last run again")
    parser.add_argument("--callers", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callers:
        asyncio.run(callers_main(args))
        return
    if os.geteuid() != 0:
        raise SystemExit("run as root: Asterisk runs in the sandbox")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    saved = BENCH_DIR / "acd-run.pickle"  # the run's raw figures: report again with --saved
    if args.saved:
        result = pickle.loads(saved.read_bytes())
    else:
        result = asyncio.run(run(args))
        saved.write_bytes(pickle.dumps(result))
    with open("/proc/loadavg") as loadavg:
        report(args, result, " ".join(loadavg.read().split()[:3]))


if __name__ == "__main__":
    main()
