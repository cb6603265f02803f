"""Benchmark: client lookup by caller number among a million clients, on SQLite and PostgreSQL.

What the IVR does when a call arrives: normalise the caller ID to E.164, open a read unit of
work and call ``callcenter.persistence.clients.find_clients_by_phone``. Measured per lookup,
in rounds that interleave the paths so drift on a noisy machine hits them all alike:

* ``driver, by id``: the floor: the plain driver fetching one client row by primary key;
* ``driver, by phone``: the plain driver running the same join as the app;
* ``app, known``: find_clients_by_phone through the app's Database (session, ORM), a number
  that exists;
* ``app, unknown``: the same with a number no client has (a prospect calling);
* ``app, raw caller ID``: callcenter.crm.phones.caller_e164 on the carrier's form (13812345678,
  8613812345678, +86 21 5234 5678, 0086...) and then the lookup.

It also times ``callcenter seed`` (100,000 clients with their history on each database, and the
million the lookups run against). The million is seeded with --minimal (branches, staff,
clients and phones, no history) unless --full: a lookup touches clients and client_phones only.

The SQLite file is kept under var/bench/ and reused; the PostgreSQL database is created for the
run and dropped after it unless --keep (then the next run reuses it).

Usage: .venv/bin/python scripts/bench_client_lookup.py [--clients 1000000] [--lookups 20000]
Report the printed table in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import phonenumbers
from sqlalchemy import bindparam, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.crm.phones import caller_e164
from callcenter.demo.people import MOBILE_PREFIXES, mobile_e164
from callcenter.persistence.clients import find_clients_by_phone, lookup_clients_by_phone
from callcenter.persistence.db import Database
from callcenter.persistence.tables import ClientPhone

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-25"  # fixed, so that reruns reuse the same data
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
BY_ID_SQL = "SELECT * FROM clients WHERE id = {p}"
BY_PHONE_SQL = (
    "SELECT clients.* FROM clients JOIN client_phones ON client_phones.client_id = clients.id "
    "WHERE client_phones.e164 = {p} ORDER BY clients.closed_on IS NOT NULL, clients.id"
)
TARGET_P99_MS = 2.0

Lookup = Callable[[], Awaitable[object]]


@dataclass
class Sample:
    name: str
    nanos: list[int] = field(default_factory=list)

    def row(self) -> str:
        ms = sorted(n / 1e6 for n in self.nanos)
        q = statistics.quantiles(ms, n=100, method="inclusive")
        return (
            f"{self.name:<22}{len(ms):>7,}{statistics.fmean(ms):>9.3f}{q[49]:>9.3f}"
            f"{q[94]:>9.3f}{q[98]:>9.3f}{ms[-1]:>9.2f}"
        )


HEADER = f"{'path':<22}{'lookups':>7}{'mean':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}  (ms)"


# --- seeding ----------------------------------------------------------------------------------


def seed(url: str, clients: int, *, minimal: bool) -> float:
    """Run ``callcenter seed`` in its own process (its memory is not the lookups'); seconds."""
    args = [sys.executable, "-m", "callcenter.cli", "seed", "--clients", str(clients)]
    args += ["--as-of", AS_OF, *(["--minimal"] if minimal else [])]
    env = {**os.environ, "CALLCENTER_DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"seed failed:\n{done.stderr[-3000:]}")
    elapsed = time.perf_counter() - started
    print(f"  seeded {clients:,} clients{' (minimal)' if minimal else ''}: {elapsed:.1f} s")
    return elapsed


async def pg_execute(sql: str, database: str = "postgres") -> None:
    conn = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{database}")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_client_count(name: str) -> int:
    try:
        conn = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
    except asyncpg.InvalidCatalogNameError:
        return -1
    try:
        return int(await conn.fetchval("SELECT count(*) FROM clients"))
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


def sqlite_client_count(path: Path) -> int:
    if not path.exists():
        return -1
    with contextlib.closing(sqlite3.connect(path)) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM clients").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def time_seeds_100k(scratch: Path) -> None:
    """100,000 clients with their whole history, on a fresh database of each kind."""
    print("seed 100,000 clients with history")
    path = scratch / "seed-100k.db"
    remove_sqlite(path)
    seed(f"sqlite+aiosqlite:///{path}", 100_000, minimal=False)
    remove_sqlite(path)
    name = f"cc_bench_seed_{os.getpid()}"
    asyncio.run(pg_execute(f'CREATE DATABASE "{name}"'))
    try:
        seed(PG_URL.format(name=name), 100_000, minimal=False)
    finally:
        asyncio.run(pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def prepare_sqlite(path: Path, clients: int, minimal: bool) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    if sqlite_client_count(path) != clients:
        remove_sqlite(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"SQLite: {path}")
        seed(url, clients, minimal=minimal)
    else:
        print(f"SQLite: reusing {path} ({clients:,} clients)")
    return url


def prepare_postgres(name: str, clients: int, minimal: bool) -> str:
    url = PG_URL.format(name=name)
    if asyncio.run(pg_client_count(name)) != clients:
        asyncio.run(pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(pg_execute(f'CREATE DATABASE "{name}"'))
        print(f"PostgreSQL: database {name}")
        seed(url, clients, minimal=minimal)
        # Statistics, as autovacuum would gather them soon after a load this size.
        asyncio.run(pg_execute("ANALYZE", database=name))
    else:
        print(f"PostgreSQL: reusing database {name} ({clients:,} clients)")
    return url


# --- what to look up --------------------------------------------------------------------------


@dataclass(frozen=True)
class Numbers:
    known: list[str]
    unknown: list[str]
    raw: list[str]
    client_ids: list[int]


async def pick_numbers(db: Database, clients: int, count: int, seed_value: int) -> Numbers:
    """Existing numbers from random rows of client_phones; absent ones from client indexes
    beyond the seeded range (the generator's numbering is a bijection, so they are free)."""
    rng = random.Random(seed_value)
    async with db.read() as session:
        phones = await session.scalar(
            select(ClientPhone.id).order_by(ClientPhone.id.desc()).limit(1)
        )
        assert phones is not None
        ids = rng.sample(range(1, phones + 1), count)
        stmt = select(ClientPhone.e164).where(ClientPhone.id.in_(bindparam("ids", expanding=True)))
        known = []
        for start in range(0, count, 5_000):
            known += list(await session.scalars(stmt, {"ids": ids[start : start + 5_000]}))
    rng.shuffle(known)
    unknown = [
        mobile_e164(42, rng.randrange(clients, 10**8), rng.choice(MOBILE_PREFIXES))
        for _ in range(count)
    ]
    raw = [carrier_form(rng, number) for number in known]
    return Numbers(known, unknown, raw, [rng.randrange(1, clients + 1) for _ in range(count)])


def carrier_form(rng: random.Random, e164: str) -> str:
    """How a carrier may present the number: national, with 86 or 0086, or spaced E.164."""
    number = phonenumbers.parse(e164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    forms = [
        national.replace(" ", ""),
        e164[1:],
        "00" + e164[1:],
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    ]
    return rng.choice(forms)


# --- measuring --------------------------------------------------------------------------------


async def measure(paths: dict[str, Callable[[int], Lookup]], lookups: int, warmup: int) -> None:
    samples = {name: Sample(name) for name in paths}
    for make in paths.values():  # warm caches, prepared statements, the pool
        for i in range(warmup):
            await make(i % lookups)()
    gc.collect()
    rounds = 4
    per_round = lookups // rounds
    for round_ in range(rounds):
        for name, make in paths.items():
            nanos = samples[name].nanos
            for i in range(round_ * per_round, (round_ + 1) * per_round):
                lookup = make(i)
                started = time.perf_counter_ns()
                await lookup()
                nanos.append(time.perf_counter_ns() - started)
    print(HEADER)
    for sample in samples.values():
        print(sample.row())


def app_paths(db: Database, numbers: Numbers) -> dict[str, Callable[[int], Lookup]]:
    async def lookup(e164: str) -> object:
        async with db.read() as session:
            return await find_clients_by_phone(session, e164)

    async def lookup_raw(raw: str) -> object:
        e164 = caller_e164(raw)
        assert e164 is not None
        return await lookup(e164)

    async def fast_raw(raw: str) -> object:
        e164 = caller_e164(raw)
        assert e164 is not None
        return await lookup_clients_by_phone(db, e164)

    return {
        "app, known": lambda i: lambda: lookup(numbers.known[i]),
        "app, unknown": lambda i: lambda: lookup(numbers.unknown[i]),
        "app, raw caller ID": lambda i: lambda: lookup_raw(numbers.raw[i]),
        # What the IVR and the screen pop call: lookup_clients_by_phone, one statement on the
        # database's fastest read path (Database.read_one_statement).
        "hot path, known": lambda i: lambda: lookup_clients_by_phone(db, numbers.known[i]),
        "hot path, unknown": lambda i: lambda: lookup_clients_by_phone(db, numbers.unknown[i]),
        "hot path, raw ID": lambda i: lambda: fast_raw(numbers.raw[i]),
    }


async def bench_sqlite(url: str, path: Path, args: argparse.Namespace) -> None:
    db = Database(url)
    numbers = await pick_numbers(db, args.clients, args.lookups, args.seed)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        print(
            "plan:",
            conn.execute("EXPLAIN QUERY PLAN " + BY_PHONE_SQL.format(p="?"), ("x",)).fetchall(),
        )

        async def by_id(client_id: int) -> object:
            return conn.execute(BY_ID_SQL.format(p="?"), (client_id,)).fetchall()

        async def by_phone(e164: str) -> object:
            return conn.execute(BY_PHONE_SQL.format(p="?"), (e164,)).fetchall()

        paths: dict[str, Callable[[int], Lookup]] = {
            "driver, by id": lambda i: lambda: by_id(numbers.client_ids[i]),
            "driver, by phone": lambda i: lambda: by_phone(numbers.known[i]),
            **app_paths(db, numbers),
        }
        await measure(paths, args.lookups, args.warmup)
    await db.dispose()


async def bench_postgres(url: str, args: argparse.Namespace) -> None:
    db = Database(url)
    numbers = await pick_numbers(db, args.clients, args.lookups, args.seed)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        plan = await conn.fetch("EXPLAIN " + BY_PHONE_SQL.format(p="$1"), numbers.known[0])
        print("plan:", " | ".join(r[0].strip() for r in plan))
        by_id_sql, by_phone_sql = BY_ID_SQL.format(p="$1"), BY_PHONE_SQL.format(p="$1")
        paths: dict[str, Callable[[int], Lookup]] = {
            "driver, by id": lambda i: lambda: conn.fetch(by_id_sql, numbers.client_ids[i]),
            "driver, by phone": lambda i: lambda: conn.fetch(by_phone_sql, numbers.known[i]),
            **app_paths(db, numbers),
        }
        await measure(paths, args.lookups, args.warmup)
    finally:
        await conn.close()
        await db.dispose()


# --- main -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=42, help="of the lookup sample")
    parser.add_argument("--full", action="store_true", help="seed the million with history")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--skip-seed-timing", action="store_true", help="no 100k seeds")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    return parser.parse_args()


@contextlib.contextmanager
def postgres_database(args: argparse.Namespace) -> Iterator[str]:
    name = f"cc_bench_lookup_{args.clients}{'_full' if args.full else ''}"
    url = prepare_postgres(name, args.clients, not args.full)
    try:
        yield url
    finally:
        if not args.keep:
            asyncio.run(pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    args = parse_args()
    scratch = ROOT / "var" / "bench"
    scratch.mkdir(parents=True, exist_ok=True)
    if not args.skip_seed_timing:
        time_seeds_100k(scratch)
    if args.only in (None, "sqlite"):
        path = scratch / f"clients-{args.clients}{'-full' if args.full else ''}.db"
        url = prepare_sqlite(path, args.clients, not args.full)
        print(f"\nSQLite, {args.clients:,} clients")
        asyncio.run(bench_sqlite(url, path, args))
    if args.only in (None, "postgresql"):
        with postgres_database(args) as url:
            print(f"\nPostgreSQL, {args.clients:,} clients")
            asyncio.run(bench_postgres(url, args))
    print(f"\ntarget: p99 of the app paths at most {TARGET_P99_MS} ms")


if __name__ == "__main__":
    main()
