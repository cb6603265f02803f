"""Load (issue 20, points 1 and 5): how many calls one box carries, where the knee is, and
the service's memory under load.

    sudo .venv/bin/python scripts/bench_load.py --levels 25:300:25 --hold 60

Real parts only, each its own process: the sandboxed Asterisk 22 (instance ``ld`` by default,
or ``CALLCENTER_TEST_INSTANCE`` and its ports), the service as ``callcenter serve`` on a
seeded SQLite database (its CPU and memory are its own), sipp callers on the carrier trunk,
and registered agent phones (tests/support/agent_phone.py) that answer and hang up after a
talk time. Hours of operation are forced open; bridged calls are recorded, as the service
records every call put through to an agent.

The calls. Each level keeps ``N`` callers up at once, half of each kind:

* IVR only: language "1", main menu "1" (balance), the PIN and "#", the balance and
  positions read, then the caller hangs up (about 16 s);
* to an agent: language "1", then "0"; the ACD dials a free agent (every demo agent and
  advisor, all put in the general queue for the run), whose phone answers, talks ``--talk``
  seconds and hangs up; with every agent busy the caller waits in the queue (music and its
  place) up to ``--patience`` seconds. So the agent half is bridged up to the number of
  agents, and queued past it.

Levels step up without a pause: each adds a crowd of callers (scripts/load_crowd.py) that runs
to the end, waits ``--settle`` seconds for the calls to reach their steady mix, then measures
``--hold`` seconds. Per level: callers up (AMI), calls per second, failed calls and SIP
retransmissions (sipp), CPU of the service, of Asterisk and of the machine (/proc), the
service's RSS every 20 ms (start and peak), AMI events per second, and key-to-prompt and
key-to-Dial on Asterisk's clock (scripts/load_observer.py says which events and why). The
knee is found by scripts/load_report.py. Results: JSON and an SVG chart (``--out``), and the
table printed for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.asterisk.client import open_ami
from callcenter.crm.pins import PIN_ITERATIONS, hash_pin
from callcenter.crm.vocabulary import Role
from callcenter.persistence.db import Database
from callcenter.persistence.seed import seed_demo
from callcenter.persistence.tables import AgentLanguage, AgentQueue, Client, User
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings, load_settings
from scripts.bench_acd import short_queue
from scripts.bench_ivr_dtmf import AS_OF, demo_phones
from scripts.load_crowd import Crowd, CrowdCounters
from scripts.load_observer import LoadObserver
from scripts.load_report import Knee, LevelFigures, chart_points, chart_svg, find_knee, table
from scripts.proc_stats import CLK_TCK, RssSampler, loadavg, machine_ticks, process_ticks
from tests.support.agent_phone import AgentPhone, Answer
from tests.support.ami import config_for
from tests.support.dtmf import Hangup, Keys, Step, Wait
from tests.support.hotline import DEMO_PIN, HOTLINE
from tests.support.logins import DEMO_PASSWORD, log_in
from tests.support.phone_secrets import stored_phone_secrets

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
MB = 1024 * 1024


def ivr_script(listen: float) -> list[Step]:
    """Language, balance, the PIN; then the figures read for ``listen`` seconds."""
    return [
        *(Wait(1.0), Keys("1"), Wait(1.5), Keys("1"), Wait(1.5)),
        *(Keys(f"{DEMO_PIN}#"), Wait(listen), Hangup()),
    ]


AGENT_SCRIPT: list[Step] = [Wait(1.0), Keys("1"), Wait(1.5), Keys("0")]


def load_settings_from_env(db_file: Path, http_port: int, agents: int) -> Settings:
    env = os.environ.get
    sip_port = int(env("CALLCENTER_TEST_SIP_PORT", "25460"))
    rtp_start = int(env("CALLCENTER_TEST_RTP_START", "34000"))
    rtp_end = int(env("CALLCENTER_TEST_RTP_END", str(rtp_start + 999)))
    return load_settings(
        sandbox_instance=env("CALLCENTER_TEST_INSTANCE", "ld"),
        ami_port=int(env("CALLCENTER_TEST_AMI_PORT", "25438")),
        sip_port=sip_port,
        sip_wss_port=int(env("CALLCENTER_TEST_WSS_PORT", str(sip_port + 29))),
        rtp_start=rtp_start,
        rtp_end=rtp_end,
        http_port=http_port,
        ami_username="callcenter-load",
        ami_secret=secrets.token_urlsafe(18),
        database_url=f"sqlite+aiosqlite:///{db_file}",
        secret_key=secrets.token_urlsafe(32),
        business_weekdays=[1, 2, 3, 4, 5, 6, 7],
        business_opens=dt.time(0, 0),
        business_closes=dt.time(23, 59, 59),
        cel_import_seconds=0,
        agent_desk_grace_seconds=0,  # agents go ready over REST, with no desk open
        agent_extensions=[str(n) for n in range(1001, 1011)]
        + extra_extensions(max(0, agents - 70)),
    )


def service_env(settings: Settings) -> dict[str, str]:
    """The same settings for ``callcenter serve``, as its environment."""
    values = {
        "SANDBOX_INSTANCE": settings.sandbox_instance,
        "AMI_PORT": settings.ami_port,
        "AMI_USERNAME": settings.ami_username,
        "AMI_SECRET": settings.ami_secret.get_secret_value(),
        "SIP_PORT": settings.sip_port,
        "SIP_WSS_PORT": settings.sip_wss_port,
        "RTP_START": settings.rtp_start,
        "RTP_END": settings.rtp_end,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": settings.http_port,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key.get_secret_value(),
        "BUSINESS_WEEKDAYS": ",".join(str(d) for d in settings.business_weekdays),
        "BUSINESS_OPENS": settings.business_opens.isoformat(),
        "BUSINESS_CLOSES": settings.business_closes.isoformat(),
        "CEL_IMPORT_SECONDS": settings.cel_import_seconds,
        "AGENT_DESK_GRACE_SECONDS": settings.agent_desk_grace_seconds,
        "AGENT_EXTENSIONS": ",".join(settings.agent_extensions),
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    return clean | {f"CALLCENTER_{k}": str(v) for k, v in values.items()}


EXTRA_EXTENSIONS = 3001  # the benchmark's own agents' extensions start here


def extra_extensions(count: int) -> list[str]:
    return [str(EXTRA_EXTENSIONS + n) for n in range(count)]


async def prepare_database(
    settings: Settings, clients: int, agents: int, *, production_pins: bool
) -> list[tuple[str, str]]:
    """Seed the demo; short ring and wrap-up; every agent and advisor in the general queue,
    and, past the demo's 70, agents of the benchmark's own (``loadagentNNN``, extensions
    3001.., as agent01 but for their name) up to ``agents``. Returns (username, extension)
    of everyone who takes calls. With ``production_pins`` every client's PIN is hashed with
    the work factor real PINs get (callcenter/crm/pins.py PIN_ITERATIONS), not the demo's
    token one: the PIN check is then what it costs in a deployment."""
    url = settings.effective_database_url
    await seed_demo(url, clients=clients, as_of=AS_OF, demo_password=DEMO_PASSWORD)
    await short_queue(url)
    db = Database(url)
    try:
        async with db.write() as session:
            if production_pins:
                pin_hash = await asyncio.to_thread(hash_pin, DEMO_PIN, iterations=PIN_ITERATIONS)
                await session.execute(update(Client).values(pin_hash=pin_hash))
            staff = await _staff(session)
            model = await session.scalar(select(User).where(User.username == "agent01"))
            assert model is not None
            for number, extension in enumerate(extra_extensions(agents - len(staff)), 1):
                user = User(
                    username=f"loadagent{number:03d}",
                    display_name=f"Load agent {number}",
                    role=Role.AGENT,
                    branch_id=model.branch_id,
                    extension=extension,
                    password_hash=model.password_hash,
                )
                session.add(user)
                await session.flush()
                session.add(AgentLanguage(agent_id=user.id, language="zh"))
            staff = await _staff(session)
            have = set(
                await session.scalars(
                    select(AgentQueue.agent_id).where(AgentQueue.queue_name == "general")
                )
            )
            session.add_all(
                AgentQueue(agent_id=uid, queue_name="general")
                for uid, _, _ in staff
                if uid not in have
            )
    finally:
        await db.dispose()
    return [(name, ext) for _, name, ext in staff][:agents]


async def _staff(session: AsyncSession) -> list[tuple[int, str, str]]:
    rows = await session.execute(
        select(User.id, User.username, User.extension)
        .where(User.role.in_([Role.AGENT, Role.ADVISOR]), User.extension.is_not(None))
        .order_by(User.id)
    )
    return [(uid, name, ext) for uid, name, ext in rows.all() if ext]


@contextlib.asynccontextmanager
async def service_process(settings: Settings, log: Path) -> AsyncIterator[int]:
    """``callcenter serve`` in a process of its own; yields its pid once /health is ok."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            str(ROOT / ".venv" / "bin" / "callcenter"),
            "serve",
            env=service_env(settings),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            await _healthy(settings.http_port, proc)
            yield proc.pid
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def _healthy(port: int, proc: asyncio.subprocess.Process, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise SystemExit(f"the service exited ({proc.returncode}): see its log")
            with contextlib.suppress(httpx.HTTPError):
                health = (await http.get("/health")).json()
                if health.get("ami") == "connected":
                    return
            await asyncio.sleep(0.5)
    raise SystemExit("the service did not become healthy")


async def agents_ready(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    staff: Sequence[tuple[str, str]],
    talk: float,
) -> int:
    """Register each one's phone (answers, talks ``talk`` s, hangs up) and log them in."""
    password: dict[str, str] = {}
    for _ in range(60):  # the service writes the secrets at its start
        password = await stored_phone_secrets(settings)
        if all(ext in password for _, ext in staff):
            break
        await asyncio.sleep(0.5)
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=30)
    stack.push_async_callback(http.aclose)
    ready = 0
    for username, extension in staff:
        phone = AgentPhone(
            settings.sip_port,
            extension,
            password=password,
            behaviour=Answer(after=0.3, hang_up_after=talk),
        )
        await stack.enter_async_context(phone)
        headers = await log_in(http, username)
        response = await http.post("/api/agents/me/login", headers=headers)
        response.raise_for_status()
        ready += 1
    return ready


class Levels:
    """Steps the crowds up and measures each level's window."""

    def __init__(
        self,
        settings: Settings,
        args: argparse.Namespace,
        numbers: list[str],
        rss: RssSampler,
        staff: Sequence[tuple[str, str]],
    ) -> None:
        self.settings, self.args, self.numbers, self.pid = settings, args, numbers, rss.pid
        self.crowds: list[Crowd] = []
        self.instance = AsteriskInstance(settings)
        self.rss = rss
        self.staff = staff
        self.bursts: list[LevelFigures] = []

    def add_callers(self, count: int) -> list[Crowd]:
        """Half IVR-only, half to an agent. The rate lets a crowd reach its limit within one
        call's length, then replaces each call as it ends."""
        ivr, agent = count - count // 2, count // 2
        made = []
        for name, script, limit, length in (
            ("ivr", ivr_script(self.args.listen), ivr, 6.0 + self.args.listen),
            ("agent", AGENT_SCRIPT, agent, 4.0 + self.args.talk),
        ):
            if limit:
                made.append(
                    Crowd(
                        self.settings.sip_port,
                        HOTLINE,
                        script,
                        self.numbers,
                        limit=limit,
                        rate=max(0.5, 1.5 * limit / length),
                        hold=self.args.patience,
                        name=name,
                    )
                )
        return made

    def counters(self) -> CrowdCounters:
        total = CrowdCounters()
        for crowd in self.crowds:
            total = total + crowd.counters()
        return total

    async def measure(
        self, target: int, observer: LoadObserver, hold: float | None = None
    ) -> LevelFigures:
        hold = hold or self.args.hold
        ast_pids = self.instance._instance_pids()
        observer.cut()
        counters0, events0 = self.counters(), observer.events
        svc0, ast0, mach0 = process_ticks([self.pid]), process_ticks(ast_pids), machine_ticks()
        t0 = time.monotonic()
        up: list[int] = []
        agent: list[int] = []
        while time.monotonic() - t0 < hold:
            up.append(len(observer.live))
            agent.append(len(observer.with_agent))
            await asyncio.sleep(0.5)
        t1 = time.monotonic()
        seconds = t1 - t0
        done = self.counters() - counters0
        prompt, dial, by_key = observer.cut()
        rss = self.rss.between(t0, t1) or [0]

        def cores(ticks: int) -> float:
            return ticks / CLK_TCK / seconds

        return LevelFigures(
            target=target,
            seconds=round(seconds, 1),
            concurrent=sum(up) / len(up),
            concurrent_max=max(up),
            with_agent=sum(agent) / len(agent),
            calls_per_second=done.started / seconds,
            completed=done.succeeded,
            failed=done.failed,
            retransmissions=done.retransmissions,
            service_cpu=cores(process_ticks([self.pid]) - svc0),
            asterisk_cpu=cores(process_ticks(ast_pids) - ast0),
            machine_cpu=cores(machine_ticks() - mach0),
            service_rss_mb=rss[0] / MB,
            service_rss_peak_mb=max(rss) / MB,
            ami_events_per_second=(observer.events - events0) / seconds,
            key_to_prompt_ms=prompt,
            key_to_dial_ms=dial,
            key_to_prompt_by_key=by_key,
            loadavg=loadavg(),
        )

    async def login_burst(self, target: int, observer: LoadObserver) -> list[LevelFigures]:
        """Point 5's experiment: while the top level's calls go on, a short window as it is,
        then one in which ``--login-burst`` staff log in at once (each login's password
        check is argon2id: 64 MiB and tens of ms of CPU, in a worker thread)."""
        window = self.args.burst_window
        self.rss.mark(f"{target} callers: {window:.0f} s before the logins")
        quiet = await self.measure(target, observer, window)
        names = [name for name, _ in self.staff[: self.args.login_burst]]
        self.rss.mark(f"{target} callers: {len(names)} logins at once")
        logins = asyncio.gather(
            *(self._log_in_from(f"127.0.0.{10 + n}", name) for n, name in enumerate(names)),
            return_exceptions=True,
        )
        burst = await self.measure(target, observer, window)
        failed = [str(e) for e in await logins if isinstance(e, BaseException)]
        print(f"{len(names) - len(failed)} of {len(names)} logins succeeded {failed[:2]}")
        return [quiet, burst]

    async def _log_in_from(self, address: str, username: str) -> None:
        """A login from a desk of its own: the service throttles many logins from one address
        (20 attempts in flight count as 20 failures until their checks end), as a shift's
        start from one office's desks, each its own address, is not."""
        url = f"http://127.0.0.1:{self.settings.http_port}"
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with httpx.AsyncClient(base_url=url, timeout=60, transport=transport) as http:
            await log_in(http, username)

    async def run(self, targets: Sequence[int], observer: LoadObserver) -> list[LevelFigures]:
        results: list[LevelFigures] = []
        try:
            placed = 0
            for target in targets:
                new = self.add_callers(target - placed)
                self.rss.mark(f"{target} callers: settling")
                for crowd in new:
                    await crowd.start()
                self.crowds += new
                placed = target
                print(f"{target} callers: settling {self.args.settle:.0f} s", flush=True)
                await asyncio.sleep(self.args.settle)
                self.rss.mark(f"{target} callers: measured")
                level = await self.measure(target, observer)
                results.append(level)
                print(table([level]).splitlines()[-1], flush=True)
            if self.args.login_burst and targets:
                self.bursts = await self.login_burst(targets[-1], observer)
            self.rss.mark("callers end (no new calls)")
            await asyncio.gather(*(c.stop(self.args.patience + 60) for c in self.crowds))
            self.rss.mark("idle after the calls")
            await asyncio.sleep(5)
            for crowd in self.crowds:
                if crowd.counters().failed:
                    print(f"sipp {crowd.name} errors:\n{crowd.errors()}", flush=True)
        finally:
            for crowd in self.crowds:
                cleanup = crowd.stop(5)
                with contextlib.suppress(Exception):
                    await cleanup
                crowd.cleanup()
        return results


def parse_levels(text: str) -> list[int]:
    """``25:300:25`` (first:last:step) or ``2,4``."""
    if ":" in text:
        first, last, step = (int(part) for part in text.split(":"))
        return list(range(first, last + 1, step))
    return [int(part) for part in text.split(",")]


async def run(
    args: argparse.Namespace,
) -> tuple[list[LevelFigures], Knee, int, RssSampler]:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    db_file = BENCH_DIR / "load.db"
    for leftover in BENCH_DIR.glob("load.db*"):
        leftover.unlink()
    settings = load_settings_from_env(db_file, args.http_port, args.agents)
    print(f"seeding {args.clients} demo clients ...", flush=True)
    staff = await prepare_database(
        settings, args.clients, args.agents, production_pins=args.production_pins
    )
    numbers = await demo_phones(settings.effective_database_url, args.clients)
    instance = AsteriskInstance(settings)
    instance.down()
    print(instance.up(), flush=True)
    try:
        async with (
            service_process(settings, BENCH_DIR / "load-service.log") as pid,
            contextlib.AsyncExitStack() as stack,
            open_ami(config_for(settings)) as ami,
        ):
            rss = RssSampler(pid, BENCH_DIR / "load-rss.txt")
            rss.start()
            stack.callback(rss.stop)
            rss.mark("agents register and log in")
            ready = await agents_ready(stack, settings, staff, args.talk)
            rss.mark("idle before the calls")
            print(f"service pid {pid}; {ready} agents ready; load {loadavg()}", flush=True)
            await asyncio.sleep(5)
            observer = LoadObserver()
            with ami.subscribe(maxsize=1_000_000) as events:
                follower = asyncio.create_task(observer.follow(events))
                levels = Levels(settings, args, numbers, rss, staff)
                try:
                    results = await levels.run(parse_levels(args.levels), observer)
                finally:
                    follower.cancel()
    finally:
        instance.down()
    knee = find_knee(results, os.cpu_count() or 1)
    if levels.bursts:
        print("\nlogins at once during the top level: before, then during\n")
        print(table(levels.bursts))
    return results, knee, ready, rss


def memory_table(rss: RssSampler) -> str:
    rows = ["| phase | seconds | RSS MB at start | peak | at end |", "|---|---|---|---|---|"]
    for p in rss.phases():
        rows.append(
            f"| {p.phase} | {p.seconds:.0f} | {p.start / MB:.1f} | {p.peak / MB:.1f} "
            f"| {p.end / MB:.1f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="25:300:25", help="first:last:step, or a,b,c")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds before measuring")
    parser.add_argument("--hold", type=float, default=60.0, help="seconds measured per level")
    parser.add_argument("--talk", type=float, default=20.0, help="an agent's talk time, s")
    parser.add_argument("--listen", type=float, default=10.0, help="IVR caller, after the PIN")
    parser.add_argument("--patience", type=float, default=40.0, help="a queued caller's, s")
    parser.add_argument(
        "--agents", type=int, default=150, help="agents with phones (demo's 70, then extra)"
    )
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument(
        "--production-pins", action="store_true", help="PINs at the real work factor"
    )
    parser.add_argument("--login-burst", type=int, default=0, help="staff logging in at once")
    parser.add_argument("--burst-window", type=float, default=15.0, help="seconds, each")
    parser.add_argument("--http-port", type=int, default=25470)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "load")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: Asterisk runs in the sandbox")
    started = loadavg()
    results, knee, agents, rss = asyncio.run(run(args))
    cores = os.cpu_count() or 1
    print(f"\nloadavg at start {started}, at end {loadavg()}; {cores} cores\n")
    print(table(results))
    print(f"\nknee: {knee.reason}\n\nthe service's memory (RSS every 20 ms) by phase:\n")
    print(memory_table(rss), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    title = f"Load on {cores} cores: p99 latency and CPU against callers up at once"
    args.out.with_suffix(".svg").write_text(chart_svg(chart_points(results), knee, cores, title))
    summary = {
        "command": " ".join(sys.argv),
        "cores": cores,
        "loadavg_start": started,
        "knee": {"level": knee.level, "reason": knee.reason},
        "agents": agents,
        "levels": [level.summary() for level in results],
        "memory_by_phase": [asdict(p) for p in rss.phases()],
    }
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    rss_file = BENCH_DIR / "load-rss.json"
    taken = rss.samples
    start = taken[0][0] if taken else 0.0
    marks = [(round(at - start, 3), name) for at, name in rss.marks]
    samples = [(round(at - start, 3), kib // 1024) for at, kib in taken]
    rss_file.write_text(json.dumps({"marks": marks, "rss_kib": samples}))
    print(f"wrote {args.out.with_suffix('.json')}, {args.out.with_suffix('.svg')}, {rss_file}")


if __name__ == "__main__":
    main()
