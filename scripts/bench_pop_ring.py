"""Benchmark: does the screen pop beat the ring? For every call put through to an agent, the
time the agent's desktop read ``call.offered`` on its websocket against the time the agent's
phone received the INVITE, with the agents' desks (and optionally hundreds of other open
desks) connected.

Real parts only: the sandboxed Asterisk 22 (instance ``bench``), the service from
``create_app`` served by uvicorn on a loopback port, on a seeded SQLite database; sipp callers
that go through the IVR to the general queue; and, in a separate process (the "desks"), one
registered SIP phone (tests/support/agent_phone.py) and one websocket client per agent, plus
``--watchers`` supervisor sockets that receive the queue and agent events of everyone (load on
the hub), held by a third process so that reading them does not delay the measured desks.
Both timestamps are taken in the desks' process with ``time.time()`` when the message or the
INVITE is read, so the comparison is the one an agent would make.

Per call: ``margin = INVITE read - pop read`` (positive: the pop came first).

Usage (root): sudo .venv/bin/python scripts/bench_pop_ring.py [--calls 200] [--agents 10]
[--watchers 0|500]. Report the printed table in docs/benchmarks.md ("Screen pop").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from websockets.asyncio.client import ClientConnection, connect

from callcenter.persistence.seed import seed_demo
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.secretbox import box_for
from scripts.bench_acd import desk_tokens, short_queue
from scripts.bench_ivr_dtmf import AS_OF, bench_settings, demo_phones, percentile
from scripts.bench_pop import free_port, served
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Wait
from tests.support.logins import DEMO_PASSWORD
from tests.support.phone_secrets import stored_phone_secrets

BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"


# --- the desks' process ---------------------------------------------------------------------


async def desks_main(args: argparse.Namespace) -> None:
    """Phones and desks of ``args.agents`` agents (tokens on stdin, one line of JSON), plus
    watchers; prints READY, runs until a line on stdin, then prints what each saw."""
    config = json.loads(sys.stdin.readline())
    url = f"ws://127.0.0.1:{config['http_port']}/ws"
    pops: dict[str, list[float]] = {}
    pop_calls: dict[str, float] = {}  # call id -> when its pop was read (scripts/bench_acd.py)
    invites: dict[str, list[float]] = {}
    async with contextlib.AsyncExitStack() as stack:
        phones: dict[str, AgentPhone] = {}
        for extension in config["extensions"]:
            phone = AgentPhone(
                config["sip_port"],
                extension,
                password=config["password"],
                behaviour=Answer(after=0.2, hang_up_after=config.get("talk", 1.0)),
            )
            phones[extension] = await stack.enter_async_context(phone)
        sockets: list[tuple[str, ClientConnection]] = []
        for extension, token in zip(config["extensions"], config["tokens"], strict=True):
            ws = await connect(url, subprotocols=["cti.v1", f"bearer.{token}"], ping_interval=None)
            stack.push_async_callback(ws.close)
            sockets.append((extension, ws))
        for _ in range(args.watchers):
            ws = await connect(
                url, subprotocols=["cti.v1", f"bearer.{config['watcher']}"], ping_interval=None
            )
            stack.push_async_callback(ws.close)
            sockets.append(("", ws))

        async def read(extension: str, ws: ClientConnection) -> None:
            async for text in ws:
                at = time.time()
                message = json.loads(text)
                if message["type"] == "call.offered" and extension:
                    pops.setdefault(extension, []).append(at)
                    pop_calls.setdefault(message["data"]["call_id"], at)
                elif message["type"] == "ping":
                    await ws.send('{"type":"pong"}')

        readers = [asyncio.create_task(read(ext, ws)) for ext, ws in sockets]
        print("READY", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        for reader in readers:
            reader.cancel()
        for extension, phone in phones.items():
            invites[extension] = [invite.at for invite in phone.invites]
    print(json.dumps({"pops": pops, "pop_calls": pop_calls, "invites": invites}), flush=True)


# --- the service's process ------------------------------------------------------------------


async def start_desks(config: dict[str, Any], watchers: int = 0) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--desks",
        f"--watchers={watchers}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(json.dumps(config).encode() + b"\n")
    await process.stdin.drain()
    ready = await asyncio.wait_for(process.stdout.readline(), 300)
    if ready.strip() != b"READY":
        raise RuntimeError(f"the desks did not start: {ready!r}")
    return process


async def run(args: argparse.Namespace) -> dict[str, Any]:
    db_file = BENCH_DIR / "pop_ring.db"
    db_file.unlink(missing_ok=True)
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
    numbers = await demo_phones(settings.effective_database_url, args.calls)
    instance = AsteriskInstance(settings)
    instance.down()
    print(instance.up(), flush=True)
    extensions = [f"{1000 + n}" for n in range(1, args.agents + 1)]
    try:
        async with (
            served(settings, settings.http_port, ivr=True),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}") as http,
        ):
            tokens, watcher = await desk_tokens(http, args.agents)
            config = {
                "http_port": settings.http_port,
                "sip_port": settings.sip_port,
                "password": await stored_phone_secrets(settings),  # each person's own
                "watcher": watcher,
            }
            watchers = await start_desks(
                {**config, "extensions": [], "tokens": []}, watchers=args.watchers
            )
            desks = await start_desks({**config, "extensions": extensions, "tokens": tokens})
            assert desks.stdin is not None
            assert desks.stdout is not None
            for headers_for in range(1, args.agents + 1):
                token = tokens[headers_for - 1]
                response = await http.post(
                    "/api/agents/me/login", headers={"Authorization": f"Bearer {token}"}
                )
                response.raise_for_status()
            started = time.perf_counter()
            limit = asyncio.Semaphore(args.agents)

            async def one(number: str, delay: float) -> None:
                await asyncio.sleep(delay)
                async with limit:
                    script = [Wait(1.0), Keys("1"), Wait(1.5), Keys("0"), Wait(6.0), Hangup()]
                    caller = KeypadCaller(settings.sip_port, "95555", script, caller=number)
                    await caller.start()
                    await caller.wait()

            await asyncio.gather(*(one(n, i * args.spacing) for i, n in enumerate(numbers)))
            seconds = time.perf_counter() - started
            for process in (desks, watchers):
                assert process.stdin is not None
                process.stdin.write(b"done\n")
                await process.stdin.drain()
            out = await asyncio.wait_for(desks.stdout.readline(), 120)
            await desks.wait()
            await watchers.wait()
    finally:
        instance.down()
    seen = json.loads(out)
    return {"seen": seen, "seconds": seconds}


def report(args: argparse.Namespace, seen: dict[str, Any], seconds: float) -> None:
    margins: list[float] = []
    unmatched = 0
    for extension, invites in seen["invites"].items():
        pops = seen["pops"].get(extension, [])
        # One call at a time per agent, each answered: the n-th pop is the n-th INVITE's.
        unmatched += abs(len(pops) - len(invites))
        margins += [(invite - pop) * 1000 for pop, invite in zip(pops, invites, strict=False)]
    if not margins:
        raise SystemExit("no call reached an agent")
    first = sum(1 for m in margins if m > 0)
    print(
        f"\n{len(margins)} calls to {args.agents} agents, {args.watchers} other desks open, "
        f"{seconds:.0f} s; {unmatched} pops or INVITEs without a partner\n"
    )
    print(f"pop before the INVITE: {first}/{len(margins)} = {100 * first / len(margins):.1f} %")
    ordered = sorted(margins)
    print(
        f"margin (INVITE - pop) ms: min {ordered[0]:.2f}  p1 {percentile(margins, 1):.2f}  "
        f"p50 {statistics.median(margins):.2f}  p99 {percentile(margins, 99):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--spacing", type=float, default=0.3, help="seconds between callers")
    parser.add_argument("--watchers", type=int, default=0, help="other desks kept open")
    parser.add_argument("--desks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.desks:
        asyncio.run(desks_main(args))
        return
    if os.geteuid() != 0:
        raise SystemExit("run as root: Asterisk runs in the sandbox")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(run(args))
    report(args, result["seen"], result["seconds"])


if __name__ == "__main__":
    main()
