"""Benchmark: progressive dialling, from "agent ready" to the client's INVITE (issue 18, Measure).

Real parts only: the sandboxed Asterisk 22 (an instance of its own, ``bench-rc`` unless
``CALLCENTER_TEST_INSTANCE`` says otherwise, with its own ports), the service from
``create_app`` served by uvicorn on a loopback port, on a seeded SQLite database (the demo
brokerage plus ``--items`` due work items of agent01, priorities 1 to 3, due 0 to 20 days
ago); a sipp "client" behind the carrier trunk (tests/support/sip_client.py, a UAS on
loopback) and agent01's registered test phone (tests/support/agent_phone.py), which answers,
talks 1 s and hangs up. agent01 turns progressive mode on (``PUT /api/outbound/progressive``)
and logs in. Three phases, one after the other, in one run:

* **agent ready** (the client answers): each answered client is put through to agent01, who
  talks and hangs up, and is then in wrap-up (the queue's wrap-up is long, so it never ends
  by itself). Once the dial has ended, the benchmark ends the wrap-up with
  ``POST /api/agents/me/state {"state": "ready"}``, as the agent's click does; the dialler
  dials the next item. Per dial: the ``agent.state`` READY event's publish time (and the
  request's send and 200 times) -> the INVITE reaching the client.
* **previous dial ended -> next INVITE** (the client is busy: 486): agent01 stays ready and
  the dialler works through the items back to back. Per dial: sipp's 486 for the previous
  dial -> the next INVITE.
* **baseline**: the same Originate the dialler sends (the same trunk, context, caller ID,
  timeout, async) sent directly on the service's AMI connection, one after the other, to the
  busy client: Originate sent -> INVITE, the floor of Asterisk and sipp on this machine.

Every dial's Originate is timed where the service sends it (``AmiClient.action`` wrapped, as
bench_acd.py wraps the AGI), so each span splits into the service's share (-> Originate sent)
and Asterisk's (Originate sent -> INVITE). All times are this machine's wall clock
(``time.time()``, the bus's ``Envelope.at``, and the epoch sipp logs with each message),
so they compare across the service and sipp. The INVITEs are matched to the Originates by
order (one dial at a time) and checked by the number dialled.

Usage (root: Asterisk runs in the sandbox; under the shared lock):
    sudo flock /tmp/asterisk-tests.lock env CALLCENTER_TEST_INSTANCE=bench-rc \\
        CALLCENTER_TEST_AMI_PORT=25338 CALLCENTER_TEST_SIP_PORT=25360 \\
        CALLCENTER_TEST_RTP_START=33000 CALLCENTER_TEST_CLIENT_PORT=25370 \\
        .venv/bin/python scripts/bench_progressive.py [--ready 120] [--chain 150] [--baseline 150]
Report the printed table in docs/benchmarks.md ("Outbound: progressive dialling").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import random
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import func, select, update

from callcenter.acd.model import AgentState
from callcenter.asterisk.client import AmiClient
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus
from callcenter.events import AgentStateChanged, Envelope, Event, OutboundCallEnded
from callcenter.outbound.service import OutboundService
from callcenter.pbx.call_states import dial_target
from callcenter.pbx.progressive import PROGRESSIVE_CONTEXT, ProgressiveCalls
from callcenter.persistence.db import Database
from callcenter.persistence.seed import seed_demo
from callcenter.persistence.tables import CallQueue, Client, ClientPhone, FollowUp, User
from callcenter.runtime import Runtime
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings, load_settings
from scripts.bench_ivr_dtmf import AS_OF, percentile
from scripts.bench_pop import free_port, served
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.logins import DEMO_PASSWORD, log_in
from tests.support.phone_secrets import service_phone_secrets
from tests.support.sip_client import SipClient, invites_in_trace

BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"
HOTLINE_NUMBER = "95777"
RING_SECONDS = 5  # the least the settings allow; the client answers or refuses at once
AGENT = "agent01"
EXTENSION = "1001"
READY = "agent ready (the client answers)"
CHAIN = "one dial after another (the client is busy)"
BASELINE = "baseline: a plain Originate to the same trunk"
STEP_TIMEOUT = 30.0  # a dial, an answered call or a state change that takes longer is a failure


def settings_for(db_file: Path) -> Settings:
    rtp = int(os.environ.get("CALLCENTER_TEST_RTP_START", "33000"))
    all_day = {
        f"outbound_{days}_{end}": value
        for days in ("weekday", "weekend")
        for end, value in (("start", dt.time(0, 0)), ("end", dt.time(23, 59, 59, 999999)))
    }
    return load_settings(
        sandbox_instance=os.environ.get("CALLCENTER_TEST_INSTANCE", "bench-rc"),
        ami_port=int(os.environ.get("CALLCENTER_TEST_AMI_PORT", "25338")),
        sip_port=int(os.environ.get("CALLCENTER_TEST_SIP_PORT", "25360")),
        rtp_start=rtp,
        rtp_end=rtp + 999,
        ami_username="callcenter-bench",
        ami_secret=secrets.token_urlsafe(18),
        database_url=f"sqlite+aiosqlite:///{db_file}",
        http_port=free_port(),
        cel_import_seconds=0,
        business_weekdays=[1, 2, 3, 4, 5, 6, 7],
        business_opens=dt.time(0, 0),
        business_closes=dt.time(23, 59, 59),
        outbound_trunk=f"127.0.0.1:{client_port()}",
        hotline_number=HOTLINE_NUMBER,
        outbound_ring_seconds=RING_SECONDS,
        **all_day,
    )


def client_port() -> int:
    return int(os.environ.get("CALLCENTER_TEST_CLIENT_PORT", "25370"))


# --- seeding --------------------------------------------------------------------------------


async def seed(url: str, clients: int, items: int) -> int:
    """The demo brokerage, the general queue's wrap-up long enough never to end by itself
    (the benchmark ends it, as the agent's "ready" does), and ``items`` due work items of
    agent01, each to a client of their own; agent01's id."""
    await seed_demo(url, clients=clients, as_of=AS_OF, demo_password=DEMO_PASSWORD)
    db = Database(url)
    rng = random.Random(18)
    try:
        async with db.write() as session:
            row = await session.get(CallQueue, "general")
            assert row is not None
            config = {**row.config, "ring_seconds": 10, "wrap_up_seconds": 3600}
            await session.execute(
                update(CallQueue).where(CallQueue.name == "general").values(config=config)
            )
            agent_id = await session.scalar(select(User.id).where(User.username == AGENT))
            assert agent_id is not None
            shared = (
                select(ClientPhone.e164)
                .group_by(ClientPhone.e164)
                .having(func.count(ClientPhone.id) > 1)
            )
            rows = (
                await session.execute(
                    select(ClientPhone.client_id, ClientPhone.e164)
                    .join(Client, Client.id == ClientPhone.client_id)
                    .where(Client.closed_on.is_(None), ClientPhone.e164.not_in(shared))
                    .order_by(ClientPhone.id)
                    .limit(items)
                )
            ).all()
            if len(rows) < items:
                raise SystemExit(f"only {len(rows)} clients with a number of their own")
            today = dt.datetime.now(dt.UTC).date()
            for n, (client_id, e164) in enumerate(rows):
                session.add(
                    FollowUp(
                        client_id=client_id,
                        kind=FollowUpKind.RETURN_VISIT if n % 2 else FollowUpKind.CALLBACK,
                        status=FollowUpStatus.OPEN,
                        due_on=today - dt.timedelta(days=rng.randint(0, 20)),
                        priority=rng.randint(1, 3),
                        assigned_to_id=agent_id,
                        number=e164,
                        reason="benchmark",
                        version=1,
                    )
                )
        return int(agent_id)
    finally:
        await db.dispose()


# --- what happened, timed where it is seen ----------------------------------------------------


@dataclass(frozen=True)
class Originate:
    at: float  # just before the action is written to the AMI socket
    call_id: str  # ChannelId: the dialler's prog-..., the baseline's base-...
    number: str


@dataclass
class Probe:
    """The Originates the service sends, and the bus's events about the agent's dials."""

    agent_id: int
    originates: list[Originate] = field(default_factory=list)
    ready_events: list[float] = field(default_factory=list)  # agent.state READY, publish time
    states: list[AgentState] = field(default_factory=list)
    ended: dict[str, float] = field(default_factory=dict)  # call id -> call.outbound_ended
    outcomes: dict[str, str] = field(default_factory=dict)  # call id -> its outcome
    looks: list[float] = field(default_factory=list)  # OutboundService.dial_for entered
    chosen: list[float] = field(default_factory=list)  # ProgressiveCalls.dial entered
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def install(self) -> Callable[[], None]:
        """Wrap ``AmiClient.action`` to time each Originate; returns the undo."""
        action = AmiClient.action
        probe = self

        async def timed(
            client: AmiClient,
            name: str,
            fields: Mapping[str, Any] | None = None,
            **kw: Any,
        ) -> Any:
            if name == "Originate" and fields is not None:
                number = str(fields["Channel"]).split("sip:", 1)[-1].split("@", 1)[0]
                probe.originates.append(Originate(time.time(), str(fields["ChannelId"]), number))
            return await action(client, name, fields, **kw)

        AmiClient.action = timed  # type: ignore[method-assign,assignment]
        # Inside the service: when the dialler starts looking for the agent's next item, and
        # when it has chosen and held one (the progressive dial begins: the call's record).
        dial_for, dial = OutboundService.dial_for, ProgressiveCalls.dial

        async def looking(service: OutboundService, *args: Any, **kw: Any) -> Any:
            probe.looks.append(time.time())
            return await dial_for(service, *args, **kw)

        async def chosen(calls: ProgressiveCalls, *args: Any, **kw: Any) -> Any:
            probe.chosen.append(time.time())
            return await dial(calls, *args, **kw)

        OutboundService.dial_for = looking  # type: ignore[method-assign,assignment]
        ProgressiveCalls.dial = chosen  # type: ignore[method-assign,assignment]

        def undo() -> None:
            AmiClient.action = action  # type: ignore[method-assign]
            OutboundService.dial_for = dial_for  # type: ignore[method-assign]
            ProgressiveCalls.dial = dial  # type: ignore[method-assign]

        return undo

    def service_split(
        self, phase: str, trigger: str, triggers: list[float], dials: list[Originate]
    ) -> list[tuple[str, str, list[float]]]:
        """The service's share of each dial, from its trigger: until the dialler looks,
        until it has chosen and held an item, until the Originate is sent."""
        looks = [max(t for t in self.looks if t <= d.at) for d in dials]
        chosen = [max(t for t in self.chosen if t <= d.at) for d in dials]
        return [
            (phase, f"    {trigger} -> the dialler looks", _minus(looks, triggers)),
            (phase, "    looks -> item chosen and held", _minus(chosen, looks)),
            (phase, "    held -> Originate sent", _minus([d.at for d in dials], chosen)),
        ]

    def take(self, envelope: Envelope[Event]) -> None:
        payload = envelope.payload
        if isinstance(payload, AgentStateChanged) and payload.agent_id == self.agent_id:
            self.states.append(payload.state)
            if payload.state is AgentState.READY:
                self.ready_events.append(envelope.at.timestamp())
        elif isinstance(payload, OutboundCallEnded) and payload.agent_id == self.agent_id:
            self.ended.setdefault(payload.call_id, envelope.at.timestamp())
            self.outcomes.setdefault(payload.call_id, payload.outcome.value)
        self.changed.set()

    async def until(self, ready: Callable[[], bool], what: str) -> None:
        """Wait until ``ready()``: looked at on each event, and every 50 ms for what no event
        tells (the dialler done with a dial it was preparing when progressive went off)."""
        try:
            async with asyncio.timeout(STEP_TIMEOUT):
                while not ready():
                    self.changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.changed.wait(), 0.05)
        except TimeoutError:
            raise SystemExit(f"waited {STEP_TIMEOUT} s in vain for {what}") from None

    def dials(self) -> list[Originate]:
        return [o for o in self.originates if o.call_id.startswith("prog-")]


def _minus(later: list[float], earlier: list[float]) -> list[float]:
    return [b - a for b, a in zip(later, earlier, strict=True)]


def sipp_lines(client: SipClient, word: str) -> list[float]:
    """The epoch of each ``word`` line of the client's log (sipp's ``[timestamp]``: date,
    time, then seconds since the epoch with microseconds)."""
    return [
        float(line.split()[-1])
        for line in client.call_log().splitlines()
        if line.split()[:1] == [word]
    ]


def matched(client: SipClient, originates: list[Originate], skip: int = 0) -> list[float]:
    """The INVITE each Originate caused, in order, after the client's first ``skip``;
    checked by the number dialled."""
    invites = sipp_lines(client, "INVITE")[skip : skip + len(originates)]
    trace = client._read(client._trace)  # read once, after the phase
    seen = [invite.dialled for invite in invites_in_trace(trace)][skip : skip + len(originates)]
    if len(invites) < len(originates) or [o.number for o in originates] != seen:
        raise SystemExit(
            f"{len(originates)} Originates, {len(invites)} INVITEs: they do not match one to one"
        )
    return invites


# --- the phases ---------------------------------------------------------------------------


@dataclass
class Results:
    rows: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (phase, span)
    notes: list[str] = field(default_factory=list)

    def add(self, phase: str, span: str, values_s: list[float]) -> None:
        self.rows[phase, span] = [v * 1000 for v in values_s]


def dial_over(probe: Probe, outbound: OutboundService, n: int) -> bool:
    """The agent's ``n``-th dial is over and they are in wrap-up, nothing under way."""
    dials = probe.dials()
    return (
        len(dials) == n + 1
        and dials[n].call_id in probe.ended
        and probe.states[-1:] == [AgentState.WRAP_UP]
        and outbound.dialling_for(probe.agent_id) is None
    )


def more_ready(probe: Probe, seen: int) -> bool:
    return len(probe.ready_events) > seen


async def phase_ready(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    probe: Probe,
    runtime: Runtime,
    samples: int,
    results: Results,
) -> None:
    sent: list[float] = []
    answered: list[float] = []
    async with SipClient(client_port(), "answer") as client:
        response = await http.put("/api/outbound/progressive", json={"on": True}, headers=headers)
        response.raise_for_status()
        async with asyncio.timeout(STEP_TIMEOUT):  # until the phone's registration is seen
            while (  # noqa: ASYNC110 - the phone's registration has no event to wait on
                response := await http.post("/api/agents/me/login", headers=headers)
            ).is_error:
                await asyncio.sleep(0.2)
        outbound = runtime.outbound
        assert outbound is not None
        for n in range(samples + 1):
            # The dial before (the login's, then each ready's) is over and the agent in
            # wrap-up: nothing is under way when they click ready.
            await probe.until(partial(dial_over, probe, outbound, n), f"dial {n} over")
            if n == samples:
                break
            readies = len(probe.ready_events)
            sent.append(time.time())
            response = await http.post(
                "/api/agents/me/state", json={"state": "ready"}, headers=headers
            )
            answered.append(time.time())
            response.raise_for_status()
            await probe.until(partial(more_ready, probe, readies), "ready")
        response = await http.put("/api/outbound/progressive", json={"on": False}, headers=headers)
        response.raise_for_status()
        dials = probe.dials()[1:]  # the first was the login's
        invites = matched(client, probe.dials())[1:]
    events = probe.ready_events[1:]  # the first was the login
    results.add(
        READY, "ready (event) -> INVITE", [i - e for i, e in zip(invites, events, strict=True)]
    )
    results.add(
        READY,
        "  ready (event) -> Originate sent",
        [d.at - e for d, e in zip(dials, events, strict=True)],
    )
    for row in probe.service_split(READY, "ready", events, dials):
        results.add(*row)
    results.add(
        READY, "  Originate sent -> INVITE", [i - d.at for i, d in zip(invites, dials, strict=True)]
    )
    results.add(
        READY, "ready request sent -> INVITE", [i - s for i, s in zip(invites, sent, strict=True)]
    )
    results.add(
        READY, "ready's 200 read -> INVITE", [i - a for i, a in zip(invites, answered, strict=True)]
    )


async def phase_chain(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    probe: Probe,
    outbound: OutboundService,
    client: SipClient,
    samples: int,
    results: Results,
) -> None:
    before = len(probe.dials())
    response = await http.put("/api/outbound/progressive", json={"on": True}, headers=headers)
    response.raise_for_status()
    response = await http.post("/api/agents/me/state", json={"state": "ready"}, headers=headers)
    response.raise_for_status()
    await probe.until(
        lambda: sum(1 for d in probe.dials()[before:] if d.call_id in probe.ended) > samples,
        "the chain",
    )
    response = await http.put("/api/outbound/progressive", json={"on": False}, headers=headers)
    response.raise_for_status()
    # A dial the dialler was preparing when progressive went off still goes out: wait for it.
    await probe.until(
        lambda: (
            outbound.dialling_for(probe.agent_id) is None
            and all(d.call_id in probe.ended for d in probe.dials())
        ),
        "the last dial",
    )
    dials = probe.dials()[before:]
    invites = matched(client, dials)
    refused = sipp_lines(client, "REFUSED")[: len(dials)]
    ended = [probe.ended[d.call_id] for d in dials]
    # Dial k+1 against dial k's end.
    if len(refused) != len(dials):
        raise SystemExit(f"{len(dials)} dials, {len(refused)} refused by the busy client")
    results.add(
        CHAIN,
        "486 sent -> next INVITE",
        [i - r for r, i in zip(refused[:-1], invites[1:], strict=True)],
    )
    results.add(
        CHAIN,
        "  486 sent -> dial's end published",
        [e - r for r, e in zip(refused[:-1], ended[:-1], strict=True)],
    )
    results.add(
        CHAIN,
        "  dial's end -> next Originate sent",
        [d.at - e for e, d in zip(ended[:-1], dials[1:], strict=True)],
    )
    for row in probe.service_split(CHAIN, "end", ended[:-1], dials[1:]):
        results.add(*row)
    results.add(
        CHAIN,
        "  Originate sent -> INVITE",
        [i - d.at for i, d in zip(invites[1:], dials[1:], strict=True)],
    )


async def phase_baseline(
    runtime: Runtime,
    probe: Probe,
    client: SipClient,
    numbers: list[str],
    skip: int,
    results: Results,
) -> None:
    settings = runtime.settings
    first = len(probe.originates)
    for number in numbers:
        call_id = f"base-{secrets.token_hex(10)}"
        hangup = runtime.ami.expect_event("Hangup", "Uniqueid", call_id)
        try:
            await runtime.ami.action(
                "Originate",
                {
                    "Channel": dial_target(number, (), settings.outbound_trunk),
                    "Context": PROGRESSIVE_CONTEXT,
                    "Exten": "s",
                    "Priority": "1",
                    "Timeout": str(settings.outbound_ring_seconds * 1000),
                    "CallerID": f'"{settings.hotline_number}" <{settings.hotline_number}>',
                    "ChannelId": call_id,
                    "Async": "true",
                },
            )
            async with asyncio.timeout(STEP_TIMEOUT):
                await hangup
        finally:
            hangup.cancel()
    originates = probe.originates[first:]
    invites = matched(client, originates, skip=skip)  # the chain's dials came first
    results.add(
        BASELINE,
        "Originate sent -> INVITE",
        [i - o.at for i, o in zip(invites, originates, strict=True)],
    )


# --- the run --------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> Results:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    db_file = BENCH_DIR / "progressive.db"
    db_file.unlink(missing_ok=True)
    settings = settings_for(db_file)
    items = args.ready + args.chain + 50
    print(f"seeding {args.clients} demo clients and {items} work items ...", flush=True)
    agent_id = await seed(settings.effective_database_url, args.clients, items)
    instance = AsteriskInstance(settings)
    instance.down()
    print(instance.up(), flush=True)
    probe = Probe(agent_id)
    undo = probe.install()
    results = Results()
    try:
        async with (
            served(settings, settings.http_port, ivr=True) as runtime,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}") as http,
        ):
            await asyncio.wait_for(runtime.link.resynced.wait(), 15)
            with runtime.events.subscribe(
                lambda e: isinstance(e.payload, AgentStateChanged | OutboundCallEnded),
                maxsize=100_000,
            ) as events:

                async def collect() -> None:
                    while True:
                        try:
                            probe.take(await events.get())
                        except StopAsyncIteration:
                            return

                collector = asyncio.create_task(collect())
                headers = await log_in(http, AGENT)
                async with AgentPhone(
                    settings.sip_port,
                    EXTENSION,
                    password=await service_phone_secrets(runtime),
                    behaviour=Answer(after=0.2, hang_up_after=1.0),
                ):
                    await phases(args, http, headers, probe, runtime, results)
                collector.cancel()
    finally:
        undo()
        instance.down()
    return results


async def phases(
    args: argparse.Namespace,
    http: httpx.AsyncClient,
    headers: dict[str, str],
    probe: Probe,
    runtime: Runtime,
    results: Results,
) -> None:
    outbound = runtime.outbound
    assert outbound is not None
    started = time.perf_counter()
    print(f"agent ready: {args.ready} dials (the client answers) ...", flush=True)
    await phase_ready(http, headers, probe, runtime, args.ready, results)
    results.notes.append(f"agent-ready phase: {time.perf_counter() - started:.0f} s")
    async with SipClient(client_port(), "busy") as client:
        started = time.perf_counter()
        print(f"one dial after another: {args.chain} dials (busy) ...", flush=True)
        await phase_chain(http, headers, probe, outbound, client, args.chain, results)
        results.notes.append(f"one-after-another phase: {time.perf_counter() - started:.0f} s")
        numbers = [o.number for o in probe.dials()[: args.baseline]]
        print(f"baseline: {len(numbers)} Originates ...", flush=True)
        chained = len(probe.dials()) - args.ready - 1
        await phase_baseline(runtime, probe, client, numbers, chained, results)
    counts = Counter(probe.outcomes.get(d.call_id, "not ended") for d in probe.dials())
    results.notes.append(f"the dialler's dials: {len(probe.dials())}, {dict(counts)}")


def report(results: Results) -> None:
    print()
    for note in results.notes:
        print(note)
    print(f"{'span':<40}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    phase = ""
    for (name, span), values in results.rows.items():
        if name != phase:
            print(name)
            phase = name
        if values:
            print(
                f"  {span:<38}{len(values):>5}{statistics.median(values):>9.1f}"
                f"{percentile(values, 95):>9.1f}{percentile(values, 99):>9.1f}"
                f"{max(values):>9.1f}"
            )
    loads = ", ".join(f"{load:.1f}" for load in os.getloadavg())
    print(f"\n{cpu_model()}, {os.cpu_count()} cores, load average {loads}")


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ready", type=int, default=120, help="dials after agent ready")
    parser.add_argument("--chain", type=int, default=150, help="dials one after another")
    parser.add_argument("--baseline", type=int, default=150, help="plain Originates")
    parser.add_argument("--clients", type=int, default=2000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: Asterisk runs in the sandbox")
    report(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
