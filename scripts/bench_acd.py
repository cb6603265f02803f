"""Benchmark: from "call queued" or "agent ready" to the Dial for the agent's phone being sent.

Real parts only: the sandboxed Asterisk 22 (instance ``bench``), the service from
``create_app`` on a seeded SQLite database, sipp callers that go through the IVR to the
general queue, and registered agent phones (tests/support/agent_phone.py) that answer, talk
a moment and hang up; a short wrap-up brings each agent back, so both triggers happen all the
time:

* **call queued**: the call joins the queue while an agent is ready: from ``Router.add_call``
  to the ``EXEC Dial`` AGI action being sent for that call;
* **agent ready**: an agent becomes ready while calls wait: from the agent's READY in the
  Router to the ``EXEC Dial`` for the call chosen.

On the path, both: the decision, the agent's OFFER stored, ``call.offered`` published, the
interaction's offered phase stored, the caller's name set (AMI Setvar), then the Dial action.
The same run also times the bare AMI round trip (Ping) as the floor.

Usage (root): sudo .venv/bin/python scripts/bench_acd.py [--calls 100] [--agents 10]
[--spacing 0.25] [--patience 20]. Few agents and many calls (``--agents 2 --calls 300``) make
agents scarce: nearly every decision is then an "agent ready" one, made while callers hear
music or their place in the queue (the demo's general queue announces it).
Report the printed table in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import update

from callcenter.acd.model import AgentState
from callcenter.acd.policy import Router
from callcenter.app import Runtime, create_app
from callcenter.asterisk.agi import AgiResult, AsyncAgi
from callcenter.persistence.db import Database
from callcenter.persistence.seed import seed_demo
from callcenter.persistence.tables import CallQueue
from callcenter.sandbox.instance import AsteriskInstance
from scripts.bench_ivr_dtmf import AS_OF, bench_settings, demo_phones, percentile
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Wait
from tests.support.logins import DEMO_PASSWORD, log_in
from tests.support.phone_secrets import service_phone_secrets


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


class Probe:
    """Times the triggers and the Dial actions, on the event loop's clock."""

    def __init__(self) -> None:
        self.queued: dict[str, float] = {}
        self.ready: dict[int, float] = {}
        self.assigned: dict[str, tuple[str, float]] = {}  # call -> (trigger, its time)
        self.samples: dict[str, list[float]] = {"call queued": [], "agent ready": []}
        self.channel_call: dict[str, str] = {}

    def install(self, runtime: Runtime) -> None:
        loop = asyncio.get_running_loop()
        probe = self
        acd = runtime.acd
        assert acd is not None
        add_call, set_state, assign = Router.add_call, Router.set_agent_state, Router.assign
        execute = AsyncAgi.execute

        def timed_add(router: Router, call: Any) -> None:
            probe.queued.setdefault(call.call_id, loop.time())
            add_call(router, call)

        def timed_state(router: Router, agent_id: int, state: AgentState, now: float) -> None:
            if state is AgentState.READY and router.agent_state(agent_id) is not AgentState.READY:
                probe.ready[agent_id] = loop.time()
            set_state(router, agent_id, state, now)

        def timed_assign(router: Router, call_id: str, agent_id: int) -> Any:
            queued, ready = probe.queued.get(call_id, 0.0), probe.ready.get(agent_id, 0.0)
            trigger = ("call queued", queued) if queued >= ready else ("agent ready", ready)
            probe.assigned[call_id] = trigger
            waiting = acd._queued.get(call_id)
            if waiting is not None:
                probe.channel_call[waiting.call.channel] = call_id
            return assign(router, call_id, agent_id)

        async def timed_execute(agi: AsyncAgi, channel: str, command: str, **kw: Any) -> AgiResult:
            if command.startswith("EXEC Dial"):
                call_id = probe.channel_call.get(channel)
                if call_id in probe.assigned:
                    kind, at = probe.assigned.pop(call_id)
                    probe.samples[kind].append((loop.time() - at) * 1000)
            return await execute(agi, channel, command, **kw)

        Router.add_call = timed_add  # type: ignore[method-assign]
        Router.set_agent_state = timed_state  # type: ignore[method-assign]
        Router.assign = timed_assign  # type: ignore[method-assign]
        AsyncAgi.execute = timed_execute  # type: ignore[method-assign]


BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"


async def run(calls: int, agents: int, clients: int, spacing: float, patience: float) -> None:
    db_file = BENCH_DIR / "acd.db"
    settings = bench_settings(db_file)
    print(f"seeding {clients} demo clients ...", flush=True)
    await seed_demo(
        settings.effective_database_url,
        clients=clients,
        as_of=AS_OF,
        demo_password=DEMO_PASSWORD,
    )
    await short_queue(settings.effective_database_url)
    phones = await demo_phones(settings.effective_database_url, calls)
    instance = AsteriskInstance(settings)
    instance.down()
    print(instance.up(), flush=True)
    probe = Probe()
    try:
        app = create_app(settings)
        async with app.router.lifespan_context(app), contextlib.AsyncExitStack() as stack:
            runtime: Runtime = app.state.runtime
            await asyncio.wait_for(runtime.link.resynced.wait(), 15)
            password = await service_phone_secrets(runtime)  # each person's own
            probe.install(runtime)
            pings = [await _ping_ms(runtime) for _ in range(200)]
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
            stack.push_async_callback(http.aclose)
            for number in range(1, agents + 1):
                phone = AgentPhone(
                    settings.sip_port,
                    f"{1000 + number}",
                    password=password,
                    behaviour=Answer(after=0.2, hang_up_after=1.5),
                )
                await stack.enter_async_context(phone)
                agent = await log_in(http, f"agent{number:02d}")
                response = await http.post("/api/agents/me/login", headers=agent)
                response.raise_for_status()
            started = time.perf_counter()
            limit = asyncio.Semaphore(max(agents * 2, 20))

            async def one(number: str, delay: float) -> None:
                await asyncio.sleep(delay)
                async with limit:
                    script = [Wait(1.0), Keys("1"), Wait(1.5), Keys("0"), Wait(patience), Hangup()]
                    caller = KeypadCaller(settings.sip_port, "95555", script, caller=number)
                    await caller.start()
                    await caller.wait()

            await asyncio.gather(*(one(p, i * spacing) for i, p in enumerate(phones)))
            seconds = time.perf_counter() - started
    finally:
        instance.down()
    print(f"\n{calls} calls, {agents} agents, one every {spacing} s, {seconds:.0f} s\n")
    print(f"{'trigger':<22}{'n':>5}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    rows = [*probe.samples.items(), ("AMI round trip (floor)", pings)]
    for kind, values in rows:
        if values:
            print(
                f"{kind:<22}{len(values):>5}{statistics.median(values):>9.2f}"
                f"{percentile(values, 99):>9.2f}{max(values):>9.2f}"
            )


async def _ping_ms(runtime: Runtime) -> float:
    start = time.perf_counter()
    await runtime.ami.ping()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--spacing", type=float, default=0.25, help="seconds between callers")
    parser.add_argument("--patience", type=float, default=20.0, help="seconds a caller waits")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: Asterisk runs in the sandbox")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (BENCH_DIR / "acd.db").unlink(missing_ok=True)
    asyncio.run(run(args.calls, args.agents, args.clients, args.spacing, args.patience))


if __name__ == "__main__":
    main()
