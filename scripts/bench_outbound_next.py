"""Benchmark: selecting the next due work item for an agent among a million clients' work items,
on SQLite and PostgreSQL (issue 18, "Measure": p99 at most 5 ms).

What the dialler does when an agent asks for the next item (POST /api/outbound/next):
``SqlOutboundStore.candidates`` (the open items the agent may take, due by their window and
retry time, not held by someone else, in the dialler's order: 8 at the first look, 50 at a
second one only when the rules held the first 8 back; one Core statement with each item's
number joined in) and then, in ``OutboundService.preview_next``, the rules for the first of
them (its attempts, its client's time zone and opt-out, the do-not-call list). Measured per
selection, in rounds that interleave the paths and the agents so that drift on a noisy
machine hits them all alike:

* ``candidates SQL (driver)``: the floor: the same SELECT the store sends (limit 8), by the
  plain driver (sqlite3 in process, asyncpg), without SQLAlchemy;
* ``candidates (limit 8)``: the store's call as the service makes it first (the target);
* ``candidates (limit 50)``: the store's call at a second look;
* ``preview (no hold)``: the whole preview_next but the reservation's UPDATE (a store that
  says "held" without writing, so that every run sees the same items);
* ``my work (100 items)``: the desk's "My work" (an agent's first 100 items with their
  attempts and the rules' verdict for each), read in five statements however many items;
* ``wallboard campaigns read``: what the floor reads every 10 s (open, due now, done today,
  dials today per kind; callcenter/persistence/outbound_reports.py), not per agent.

Each database is seeded twice: with the work of ``--clients`` clients (default 1,000,000)
and, as the baseline of the same run, of 10,000. The mix is a brokerage's after a year of
work: every client has a return visit (a twentieth of those still open: the accounts opened
lately), a care call or two (birthdays, listings, reports, alerts) and some callbacks, nearly
all done or cancelled; the open ones have priorities 1 to 9, owners (an advisor, a queue, or
nobody), due days from a month ago to a month ahead, retry times past and future, windows
that open later, a few held by another agent's preview. Rows are written with COPY
(PostgreSQL) and executemany (SQLite), not through the app: the seed is not what is measured.

The databases are made for the run under var/bench/ (SQLite) and as cc_bench_outbound_*
(PostgreSQL), and kept for the next run unless --fresh (PostgreSQL ones are dropped with
--drop). The EXPLAIN plan of the candidates query is printed for each.

Usage: .venv/bin/python scripts/bench_outbound_next.py [--clients 1000000] [--runs 5000]
Report the printed tables in docs/benchmarks.md ("Outbound: next due work item").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.outbound.model import DialRules
from callcenter.outbound.service import LOOKS, OutboundService
from callcenter.persistence.db import Database
from callcenter.persistence.migrate import upgrade
from callcenter.persistence.outbound import SqlOutboundStore
from callcenter.persistence.outbound_reports import campaign_reader

ROOT = Path(__file__).resolve().parent.parent
PG_DSN = "postgresql://postgres@127.0.0.1:5432/{name}"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
NOW = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)  # 11:00 in Shanghai: calling hours
TODAY = NOW.date()
BASELINE_CLIENTS = 10_000
TARGET_P99_MS = 5.0
FIRST_LOOK = LOOKS[0]  # what preview_next reads first
BRANCHES = 10
ADVISORS = 200
AGENTS = 60
QUEUES = ("general", "trading_support", "complaints", "advisors", "care")
KINDS_CARE = ("care_call", "birthday", "ipo_reminder", "investment_report", "market_alert")


# --- the work items --------------------------------------------------------------------------


@dataclass
class Rows:
    branches: list[tuple[Any, ...]] = field(default_factory=list)
    users: list[tuple[Any, ...]] = field(default_factory=list)
    queues: list[tuple[Any, ...]] = field(default_factory=list)
    agent_queues: list[tuple[Any, ...]] = field(default_factory=list)
    clients: list[tuple[Any, ...]] = field(default_factory=list)
    phones: list[tuple[Any, ...]] = field(default_factory=list)
    follow_ups: list[tuple[Any, ...]] = field(default_factory=list)


BRANCH_COLUMNS = ("id", "code", "name", "name_en", "city")
USER_COLUMNS = ("id", "username", "display_name", "role", "branch_id", "active", "created_at")
QUEUE_COLUMNS = ("name", "config", "version", "updated_at")
AGENT_QUEUE_COLUMNS = ("agent_id", "queue_name")
CLIENT_COLUMNS = (
    "id", "account_no", "name", "name_latin", "id_type", "id_number", "gender", "income_band",
    "language", "branch_id", "advisor_id", "opened_on", "risk_profile", "tier", "value_class",
    "consent_marketing", "consent_recording", "consent_data_sharing", "pin_failures",
    "created_at", "updated_at", "version", "care_calls_opt_out",
)  # fmt: skip
PHONE_COLUMNS = ("id", "client_id", "e164", "kind", "is_primary")
FOLLOW_UP_COLUMNS = (
    "id", "client_id", "kind", "status", "due_on", "assigned_to_id", "created_at", "done_at",
    "outcome", "version", "priority", "queue", "number", "reason", "not_before", "attempts",
    "next_attempt_at", "last_outcome", "reserved_by_id", "reserved_until",
)  # fmt: skip
ADVISOR_IDS = range(1, ADVISORS + 1)
AGENT_IDS = range(ADVISORS + 1, ADVISORS + AGENTS + 1)
NAIVE_NOW = NOW.replace(tzinfo=None)


def _minutes(rng: random.Random, low: int, high: int) -> dt.datetime:
    return NAIVE_NOW + dt.timedelta(minutes=rng.randint(low, high))


def _item(
    rng: random.Random, fid: int, client: int, advisor: int, kind: str, opened: dt.date
) -> tuple[Any, ...]:
    """One work item: closed long ago, or open with the spread a live center has."""
    open_share = {"return_visit": 0.0, "callback": 0.03}.get(kind, 0.02)
    if kind == "return_visit" and opened >= TODAY - dt.timedelta(days=31):
        open_share = 0.6  # accounts opened this month; the older ones' visits are closed
    if kind == "return_visit":
        due = opened + dt.timedelta(days=14)
        priority, owner, queue = 3, advisor, None
    elif kind == "callback":
        due = TODAY + dt.timedelta(days=rng.randint(-60, 1))
        priority, owner, queue = rng.choice((1, 2, 2, 2)), None, rng.choice(QUEUES[:3])
    else:
        due = TODAY + dt.timedelta(days=rng.randint(-90, 30))
        priority = rng.randint(4, 9)
        owner, queue = rng.choice(((advisor, None), (None, "care"), (None, None)))
    created = dt.datetime.combine(due - dt.timedelta(days=14), dt.time(2))
    if rng.random() >= open_share:
        done = rng.random() < 0.85
        at = created + dt.timedelta(days=rng.randint(0, 13), minutes=rng.randint(0, 600))
        at = min(at, NAIVE_NOW - dt.timedelta(minutes=rng.randint(1, 6000)))  # done: in the past
        return (
            fid, client, kind, "done" if done else "cancelled", due, owner, created, at,
            "completed" if done else "not reached after 5 attempts (last: no_answer)", 2,
            priority, queue, None, None, None, rng.randint(1, 5), None,
            "completed" if done else "no_answer", None, None,
        )  # fmt: skip
    if kind != "return_visit":
        due = TODAY + dt.timedelta(days=rng.randint(-20, 30))
    roll = rng.random()  # never tried; tried and due again; tried and to be tried later
    next_at = None if roll < 0.4 else _minutes(rng, -3000, -1)
    if roll >= 0.7:
        next_at = _minutes(rng, 1, 3000)  # a retry later today or in the next days
    not_before = _minutes(rng, 1, 20_000) if rng.random() < 0.15 else None  # a window ahead
    held = rng.random() < 0.002
    return (
        fid, client, kind, "open", due, owner, created, None, None, 1, priority, queue,
        None, "bench", not_before, 0 if next_at is None else rng.randint(1, 4), next_at,
        None if next_at is None else "no_answer",
        rng.choice(AGENT_IDS) if held else None,
        _minutes(rng, 1, 3) if held else None,
    )  # fmt: skip


def make_rows(clients: int, seed_value: int = 18) -> Rows:
    rng = random.Random(seed_value)
    rows = Rows()
    created = NAIVE_NOW - dt.timedelta(days=400)
    rows.branches = [
        (b, f"B{b:02d}", f"营业部{b}", f"Branch {b}", "Shanghai") for b in range(1, 11)
    ]
    for uid in ADVISOR_IDS:
        branch = (uid - 1) % BRANCHES + 1
        rows.users.append(
            (uid, f"advisor{uid}", f"Advisor {uid}", "advisor", branch, True, created)
        )
    for uid in AGENT_IDS:
        rows.users.append((uid, f"agent{uid}", f"Agent {uid}", "agent", None, True, created))
    rows.queues = [(q, "{}", 1, created) for q in QUEUES]
    for uid in AGENT_IDS:
        for queue in rng.sample(QUEUES, 2):
            rows.agent_queues.append((uid, queue))
    fid = 0
    for cid in range(1, clients + 1):
        advisor = rng.choice(ADVISOR_IDS)
        opened = TODAY - dt.timedelta(days=int(rng.expovariate(1 / 400)))
        client = (
            cid, f"A{cid:09d}", f"客户{cid}", f"Client {cid}", "resident_id", f"ID{cid:016d}",
            "unspecified", "undisclosed", "zh", (advisor - 1) % BRANCHES + 1, advisor, opened,
            "balanced", "standard", "ordinary", False, True, False, 0, created, created, 1, False,
        )  # fmt: skip
        rows.clients.append(client)
        rows.phones.append((cid, cid, f"+86138{cid:08d}", "mobile", True))
        kinds = ["return_visit"]
        kinds += [rng.choice(KINDS_CARE) for _ in range(rng.choice((0, 0, 1, 1, 2)))]
        kinds += ["callback"] * (1 if rng.random() < 0.15 else 0)
        for kind in kinds:
            fid += 1
            rows.follow_ups.append(_item(rng, fid, cid, advisor, kind, opened))
    return rows


TABLES = (
    ("branches", BRANCH_COLUMNS, "branches"),
    ("users", USER_COLUMNS, "users"),
    ("queues", QUEUE_COLUMNS, "queues"),
    ("agent_queues", AGENT_QUEUE_COLUMNS, "agent_queues"),
    ("clients", CLIENT_COLUMNS, "clients"),
    ("client_phones", PHONE_COLUMNS, "phones"),
    ("follow_ups", FOLLOW_UP_COLUMNS, "follow_ups"),
)


def _sqlite_value(value: Any) -> Any:
    # As SQLAlchemy's SQLite dialect stores them: compared as text, so the same format.
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def seed_sqlite(path: Path, rows: Rows) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for table, columns, attr in TABLES:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            data = getattr(rows, attr)
            conn.executemany(sql, ([_sqlite_value(v) for v in row] for row in data))
        conn.commit()
        conn.execute("ANALYZE")


async def seed_postgres(name: str, rows: Rows) -> None:
    conn = await asyncpg.connect(PG_DSN.format(name=name))
    try:
        for table, columns, attr in TABLES:
            await conn.copy_records_to_table(table, records=getattr(rows, attr), columns=columns)
        for table in ("users", "clients", "client_phones", "follow_ups"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        # As autovacuum leaves a table soon after a bulk load: statistics, and the visibility
        # map that lets the wallboard's counts come from the index alone.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_DSN.format(name="postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_admin_on(name: str, sql: str) -> None:
    conn = await asyncpg.connect(PG_DSN.format(name=name))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_count(name: str) -> int:
    try:
        conn = await asyncpg.connect(PG_DSN.format(name=name))
    except asyncpg.InvalidCatalogNameError:
        return -1
    try:
        return int(await conn.fetchval("SELECT count(*) FROM clients"))
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


def sqlite_count(path: Path) -> int:
    if not path.exists():
        return -1
    with contextlib.closing(sqlite3.connect(path)) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM clients").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def prepare(kind: str, clients: int, fresh: bool) -> str:
    """The database's URL, seeded with ``clients`` clients' work unless it holds it already."""
    if kind == "sqlite":
        path = ROOT / "var" / "bench" / f"outbound-{clients}.db"
        url = f"sqlite+aiosqlite:///{path}"
        if not fresh and sqlite_count(path) == clients:
            print(f"  SQLite: reusing {path.name}")
            upgrade(url)  # a database seeded before the latest migration gets it
            return url
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        name = f"cc_bench_outbound_{clients}"
        url = PG_URL.format(name=name)
        if not fresh and asyncio.run(pg_count(name)) == clients:
            print(f"  PostgreSQL: reusing {name}")
            upgrade(url)
            asyncio.run(pg_admin_on(name, "VACUUM ANALYZE"))
            return url
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    upgrade(url)
    started = time.perf_counter()
    rows = make_rows(clients)
    made = time.perf_counter() - started
    if kind == "sqlite":
        seed_sqlite(path, rows)
    else:
        asyncio.run(seed_postgres(name, rows))
    opened = sum(1 for r in rows.follow_ups if r[3] == "open")
    print(
        f"  {kind}: {clients:,} clients, {len(rows.follow_ups):,} work items ({opened:,} open): "
        f"rows made in {made:.1f} s, written in {time.perf_counter() - started - made:.1f} s"
    )
    return url


# --- measuring -------------------------------------------------------------------------------


class NoHoldStore(SqlOutboundStore):
    """The store, but a preview "holds" without writing, so every run sees the same items."""

    async def reserve(
        self, item_id: int, agent_id: int, until: dt.datetime, now: dt.datetime
    ) -> bool:
        return True

    async def postpone(self, item_id: int, until: dt.datetime | None) -> None:
        return None


@dataclass
class Sample:
    name: str
    nanos: list[int] = field(default_factory=list)
    found: int = 0

    def quantiles(self) -> tuple[float, float, float]:
        ms = sorted(n / 1e6 for n in self.nanos)
        q = statistics.quantiles(ms, n=100, method="inclusive")
        return q[49], q[98], ms[-1]

    def row(self) -> str:
        ms = [n / 1e6 for n in self.nanos]
        p50, p99, worst = self.quantiles()
        return (
            f"{self.name:<40}{len(ms):>7,}{statistics.fmean(ms):>9.3f}{p50:>9.3f}"
            f"{p99:>9.3f}{worst:>9.2f}{self.found / max(1, len(ms)):>8.1f}"
        )


HEADER = f"{'path':<40}{'runs':>7}{'mean':>9}{'p50':>9}{'p99':>9}{'max':>9}{'items':>8}  (ms)"


@contextlib.contextmanager
def captured_candidates() -> Iterator[list[tuple[str, Any]]]:
    """The SQL of the candidates query as the driver got it (for EXPLAIN). Listened for on
    every engine: on SQLite the store reads through Database.read_rows' own engine."""
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "FROM follow_ups" in statement and "LIMIT" in statement and not seen:
            seen.append((statement, params))

    event.listen(Engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", keep)


async def explain(db: Database, statement: str, params: Any) -> list[str]:
    if db.sqlite:
        path = db.url.split("///", 1)[1]
        with contextlib.closing(sqlite3.connect(path)) as conn:
            plan = conn.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
        return [str(row[-1]) for row in plan]
    conn = await asyncpg.connect(db.url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *params)
    finally:
        await conn.close()
    return [r[0] for r in rows]


async def driver_path(
    db: Database, store: SqlOutboundStore, queues: dict[int, list[str]]
) -> tuple[Callable[[int], Awaitable[int]], Callable[[], Awaitable[None]]]:
    """Each agent's candidates SELECT as the store sends it, run by the plain driver; and how
    to close its connection."""
    statements: dict[int, tuple[str, Any]] = {}
    for agent, names in queues.items():
        with captured_candidates() as seen:
            await store.candidates(agent, names, NOW, FIRST_LOOK)
        statements[agent] = seen[0]
    if db.sqlite:
        lite = sqlite3.connect(db.url.split("///", 1)[1])

        async def run_sqlite(agent: int) -> int:
            sql, params = statements[agent]
            return len(lite.execute(sql, params).fetchall())

        async def close_sqlite() -> None:
            lite.close()

        return run_sqlite, close_sqlite
    # As Database.read_rows' pool: generic plans (PostgreSQL otherwise plans it at each run).
    pg = await asyncpg.connect(
        db.url.replace("+asyncpg", ""), server_settings={"plan_cache_mode": "force_generic_plan"}
    )

    async def run_pg(agent: int) -> int:
        sql, params = statements[agent]
        return len(await pg.fetch(sql, *params))

    return run_pg, pg.close


async def measure(
    url: str, label: str, runs: int, seed_value: int
) -> tuple[list[Sample], list[str]]:
    db = Database(url)
    store = SqlOutboundStore(db)
    service = OutboundService(NoHoldStore(db), None, DialRules(), clock=lambda: NOW)
    rng = random.Random(seed_value)
    agents = list(ADVISOR_IDS[:40]) + list(AGENT_IDS[:40])
    queues = {a: await store.agent_queues(a) for a in agents}
    with captured_candidates() as seen:
        await store.candidates(agents[-1], queues[agents[-1]], NOW, FIRST_LOOK)
    plan = await explain(db, *seen[0])
    cand = Sample(f"{label} candidates (limit {FIRST_LOOK})")
    cand_more = Sample(f"{label} candidates (limit {LOOKS[-1]})")
    preview = Sample(f"{label} preview (no hold)")
    work = Sample(f"{label} my work (100 items)")
    sql = Sample(f"{label} candidates SQL (driver)")
    campaigns = Sample(f"{label} wallboard campaigns read")
    read_campaigns = campaign_reader(db, "Asia/Shanghai")
    by_driver, close_driver = await driver_path(db, store, queues)

    async def by_candidates(agent: int) -> int:
        return len(await store.candidates(agent, queues[agent], NOW, FIRST_LOOK))

    async def by_candidates_more(agent: int) -> int:
        return len(await store.candidates(agent, queues[agent], NOW, LOOKS[-1]))

    async def by_my_work(agent: int) -> int:
        return len(await service.my_work(agent, 100))

    async def by_preview(agent: int) -> int:
        return 0 if await service.preview_next(agent) is None else 1

    async def by_campaigns(_agent: int) -> int:
        return len(await read_campaigns(NOW))

    paths: list[tuple[Sample, Callable[[int], Awaitable[int]]]] = [
        (sql, by_driver),
        (cand, by_candidates),
        (cand_more, by_candidates_more),
        (preview, by_preview),
        (work, by_my_work),
        (campaigns, by_campaigns),
    ]
    for _ in range(50):  # warm the caches and the pool
        for _sample, run in paths:
            await run(rng.choice(agents))
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            agent = rng.choice(agents)
            for sample, run in rng.sample(paths, len(paths)):
                started = time.perf_counter_ns()
                sample.found += await run(agent)
                sample.nanos.append(time.perf_counter_ns() - started)
    finally:
        gc.enable()
    await close_driver()
    await db.engine.dispose()
    return [sql, cand, cand_more, preview, work, campaigns], plan


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--fresh", action="store_true", help="seed again even if present")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one database only")
    parser.add_argument("--seed", type=int, default=7, help="agents picked per run")
    args = parser.parse_args(argv)
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    results: list[Sample] = []
    for kind in kinds:
        print(f"{kind}:")
        for clients in (BASELINE_CLIENTS, args.clients):
            url = prepare(kind, clients, args.fresh)
            label = f"{kind[:6]} {clients // 1000:,}k"
            samples, plan = asyncio.run(measure(url, label, args.runs, args.seed))
            results += samples
            print(f"  plan of the candidates query at {clients:,} clients:")
            for line in plan:
                print(f"    {line}")
            for sample in samples:
                print(f"  {sample.row()}")
    print()
    print(HEADER)
    for sample in results:
        print(sample.row())
    worst = max(s.quantiles()[1] for s in results if s.name.endswith(f"(limit {FIRST_LOOK})"))
    verdict = "met" if worst <= TARGET_P99_MS else "MISSED"
    print(f"\ncandidates p99 at worst {worst:.3f} ms: target {TARGET_P99_MS} ms {verdict}")


if __name__ == "__main__":
    main()
