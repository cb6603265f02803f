"""Benchmark: from a caller's key to the next prompt starting, on real calls through the IVR.

Real parts only: a sandboxed Asterisk 22 (its own instance and ports), the service built by
``create_app`` on a seeded SQLite database, and sipp callers sending RFC 4733 keys with PCMU
silence between them (an audio caller: see tests/support/dtmf.py for why that matters).

Each call presses two keys, each of which moves to a new prompt:

* ``language key``: "1" over the language menu -> the caller lookup by number, then the main
  menu's ``GET DATA`` starts;
* ``menu key``: "1" over the main menu -> since issue 15 the account's figures need the PIN
  in this call, so the key leads to the PIN prompt (``GET DATA``) for a caller known by
  number; before, it led to the account snapshot read and the balance's ``EXEC Playback``.
  Runs recorded before issue 15 measured the balance; later ones measure the PIN prompt.

Both ends are Asterisk's own clock (the ``Timestamp`` header of AMI events, timestampevents
on): the key's ``DTMFEnd`` (Direction Received) on the caller's channel, and the next
``AGIExecStart`` on that channel that plays something. The span splits at the ``AGIExecEnd``
of the command the key ended: the part before is Asterisk ending the command it was running
(the floor no service can go below, measured in the same run), the part after is the service:
the AMI event out, the engine, the database, the next AGI action in, and Async AGI picking
it up.

Usage (root: Asterisk runs in the sandbox):
    sudo .venv/bin/python scripts/bench_ivr_dtmf.py [--calls 100] [--concurrency 10]
Report the printed table in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from callcenter.app import Runtime, create_app
from callcenter.asterisk.agi import AgiResult, AsyncAgi
from callcenter.asterisk.protocol import Message
from callcenter.persistence.db import Database
from callcenter.persistence.seed import seed_demo
from callcenter.persistence.tables import Client, ClientPhone, Interaction
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings, load_settings
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Wait

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 20)
PROMPTS = ("GET DATA", "STREAM FILE", "EXEC Playback")


def bench_settings(db_file: Path) -> Settings:
    """Instance ``bench`` on its own ports, unless ``CALLCENTER_TEST_INSTANCE`` and its ports
    say otherwise (as for the tests: two benchmarks at once each need their own)."""
    env = os.environ.get
    sip_port = int(env("CALLCENTER_TEST_SIP_PORT", "35060"))
    rtp_start = int(env("CALLCENTER_TEST_RTP_START", "32000"))
    return load_settings(
        sandbox_instance=env("CALLCENTER_TEST_INSTANCE", "bench"),
        ami_port=int(env("CALLCENTER_TEST_AMI_PORT", "35038")),
        sip_port=sip_port,
        sip_wss_port=int(env("CALLCENTER_TEST_WSS_PORT", str(sip_port + 29))),
        rtp_start=rtp_start,
        rtp_end=rtp_start + 999,
        ami_username="callcenter-bench",
        ami_secret=secrets.token_urlsafe(18),
        database_url=f"sqlite+aiosqlite:///{db_file}",
        business_weekdays=[1, 2, 3, 4, 5, 6, 7],
        business_opens=dt.time(0, 0),
        business_closes=dt.time(23, 59, 59),
        ivr_hold_seconds=5,
    )


async def demo_phones(url: str, count: int) -> list[str]:
    """Numbers that identify exactly one open demo client each."""
    db = Database(url)
    try:
        async with db.read() as session:
            shared = (
                select(ClientPhone.e164)
                .group_by(ClientPhone.e164)
                .having(func.count(ClientPhone.id) > 1)
            )
            rows = await session.execute(
                select(ClientPhone.e164)
                .join(Client, Client.id == ClientPhone.client_id)
                .where(Client.closed_on.is_(None), ClientPhone.e164.not_in(shared))
                .order_by(ClientPhone.id)
                .limit(count)
            )
            return [e164 for (e164,) in rows.all()]
    finally:
        await db.dispose()


async def complete_records(db: Database, since: dt.datetime) -> str:
    """How many of the benchmark's calls have a finished interaction record."""
    async with db.read() as session:
        calls = select(Interaction).where(Interaction.started_at >= since)
        total = await session.scalar(select(func.count()).select_from(calls.subquery()))
        done = await session.scalar(
            select(func.count()).select_from(
                calls.where(
                    Interaction.ivr_ended_at.is_not(None), Interaction.ended_at.is_not(None)
                ).subquery()
            )
        )
    return f"{done}/{total}"


@dataclass
class ChannelEvents:
    events: list[Message] = field(default_factory=list)
    received: list[float] = field(default_factory=list)  # loop time each event arrived
    sent: list[tuple[float, str]] = field(default_factory=list)  # (loop time, AGI command)


def _stamp(message: Message) -> float:
    return float(message.get("Timestamp") or "nan")


@dataclass(frozen=True)
class Sample:
    kind: str
    asterisk_ms: float  # DTMFEnd -> AGIExecEnd of the command the key ended
    service_ms: float  # that AGIExecEnd -> AGIExecStart of the next prompt
    decision_ms: float  # in the service: AsyncAGIExec received -> next AGI command sent

    @property
    def total_ms(self) -> float:
        return self.asterisk_ms + self.service_ms


def samples_of(channel: ChannelEvents) -> list[Sample]:
    """Per key: the key's DTMFEnd, the AGIExecEnd after it, the next prompt's AGIExecStart;
    and in the service, the AsyncAGIExec's arrival and the next prompt command's sending."""
    events = channel.events
    kinds = ["language key", "menu key"]
    out: list[Sample] = []
    for index, event in enumerate(events):
        if event.name != "DTMFEnd" or event.get("Direction") != "Received" or not kinds:
            continue
        later = events[index:]
        ended = next((e for e in later if e.name == "AGIExecEnd"), None)
        start = next((e for e in later if e.name == "AGIExecStart" and _plays(e)), None)
        exec_at = next(
            (channel.received[index + n] for n, e in enumerate(later) if e.name == "AsyncAGIExec"),
            None,
        )
        if ended is None or start is None or exec_at is None:
            continue
        sent_at = next((t for t, c in channel.sent if t >= exec_at and c.startswith(PROMPTS)), None)
        if sent_at is None:
            continue
        out.append(
            Sample(
                kinds.pop(0),
                (_stamp(ended) - _stamp(event)) * 1000,
                (_stamp(start) - _stamp(ended)) * 1000,
                (sent_at - exec_at) * 1000,
            )
        )
    return out


def _plays(event: Message) -> bool:
    return (event.get("Command") or "").startswith(PROMPTS)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def report(samples: list[Sample], calls: int, concurrency: int, seconds: float) -> None:
    print(f"\n{calls} calls, {concurrency} at a time, {len(samples)} keys, {seconds:.0f} s\n")
    print(f"{'keys':<14}{'part':<24}{'n':>5}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind in ("language key", "menu key", "all"):
        chosen = [s for s in samples if kind in ("all", s.kind)]
        if not chosen:
            continue
        for part, values in (
            ("key -> next prompt", [s.total_ms for s in chosen]),
            ("  Asterisk (floor)", [s.asterisk_ms for s in chosen]),
            ("  service + pickup", [s.service_ms for s in chosen]),
            ("    service decision", [s.decision_ms for s in chosen]),
        ):
            print(
                f"{kind:<14}{part:<24}{len(values):>5}{statistics.median(values):>9.1f}"
                f"{percentile(values, 99):>9.1f}{max(values):>9.1f}"
            )


async def run(calls: int, concurrency: int, clients: int) -> None:
    bench_dir = ROOT / "var" / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    db_file = bench_dir / "ivr-dtmf.db"
    db_file.unlink(missing_ok=True)
    settings = bench_settings(db_file)
    print(f"seeding {clients} demo clients ...", flush=True)
    await seed_demo(settings.effective_database_url, clients=clients, as_of=AS_OF)
    phones = await demo_phones(settings.effective_database_url, calls)
    if len(phones) < calls:
        raise SystemExit(f"only {len(phones)} callers with their own number; seed more clients")
    instance = AsteriskInstance(settings)
    instance.down()
    print(instance.up(), flush=True)
    try:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            runtime: Runtime = app.state.runtime
            await asyncio.wait_for(runtime.link.resynced.wait(), 15)
            since = dt.datetime.now(dt.UTC)
            samples, seconds = await _calls(runtime, settings, phones, concurrency)
            await asyncio.sleep(2.0)  # the last records are written as their calls end
            complete = await complete_records(runtime.db, since)
    finally:
        instance.down()
    report(samples, calls, concurrency, seconds)
    print(f"\ninteraction records complete (IVR ended and call ended): {complete}")


async def _calls(
    runtime: Runtime, settings: Settings, phones: list[str], concurrency: int
) -> tuple[list[Sample], float]:
    by_channel: dict[str, ChannelEvents] = {}
    names = {"dtmfend", "agiexecstart", "agiexecend", "asyncagiexec"}
    loop = asyncio.get_running_loop()
    execute = AsyncAgi.execute

    async def timed(self: AsyncAgi, channel: str, command: str, **options: Any) -> AgiResult:
        by_channel.setdefault(channel, ChannelEvents()).sent.append((loop.time(), command))
        return await execute(self, channel, command, **options)

    AsyncAgi.execute = timed  # type: ignore[method-assign]
    with runtime.ami.subscribe(names, maxsize=100_000) as events:

        async def collect() -> None:
            while True:
                try:
                    message = await events.get()
                except StopAsyncIteration:
                    return
                channel = by_channel.setdefault(message.get("Channel") or "", ChannelEvents())
                channel.events.append(message)
                channel.received.append(loop.time())

        collector = asyncio.create_task(collect())
        limit = asyncio.Semaphore(concurrency)
        failed = 0

        async def one(phone: str, delay: float) -> None:
            nonlocal failed
            await asyncio.sleep(delay)
            async with limit:
                script = [Wait(1.0), Keys("1"), Wait(1.5), Keys("1"), Wait(2.0), Hangup()]
                caller = KeypadCaller(settings.sip_port, "95555", script, caller=phone)
                await caller.start()
                result = await caller.wait()
                failed += not result.succeeded

        started = time.perf_counter()
        # Staggered starts: calls overlap at every stage rather than pressing keys in step.
        await asyncio.gather(*(one(p, i * 0.37) for i, p in enumerate(phones)))
        seconds = time.perf_counter() - started
        await asyncio.sleep(1.0)
        collector.cancel()
    if failed:
        print(f"warning: {failed} sipp calls did not end cleanly", flush=True)
    AsyncAgi.execute = execute  # type: ignore[method-assign]
    samples = [s for channel in by_channel.values() for s in samples_of(channel)]
    return samples, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: Asterisk runs in the sandbox")
    asyncio.run(run(args.calls, args.concurrency, args.clients))


if __name__ == "__main__":
    main()
