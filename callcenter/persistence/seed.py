"""``callcenter seed``: write the demo brokerage (callcenter.demo.brokerage) fast.

Speed comes from these choices (100,000 clients with their history, 1.5 million rows, take
under 40 s on SQLite; docs/benchmarks.md):

* INSERTs compiled by SQLAlchemy Core from lightweight tables (column names, no types) and run
  with the driver's ``executemany`` on tuples: the typed tables would run a Python bind
  processor per value, and SQLAlchemy would rebuild every row's parameters, which together
  cost more than generating the data;
* a chunk of clients at a time, with all their rows, so memory stays flat;
* one transaction for the whole seed: an interrupted seed leaves the database empty, so
  ``--if-empty`` simply runs again, and SQLite writes its journal once.

Generating in a worker thread while the previous chunk is written was tried and dropped: the
GIL hands over badly between the generator and sqlite3's per-row loop, and it was slower.

The values the generator hands over are the domain's (aware UTC datetimes, dates, lists for
JSON, or JSON text); :class:`_Encoders` turns them into what the driver would receive from the
typed tables, so rows read back through the ORM exactly as if the ORM had written them.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from callcenter.crm.vocabulary import ValueClass
from callcenter.demo.brokerage import TABLES, CategoryRef, DemoBrokerage, Row
from callcenter.demo.history import BEIJING
from callcenter.errors import Conflict
from callcenter.passwords import hash_password_async
from callcenter.persistence import migrate
from callcenter.persistence.db import Database
from callcenter.persistence.mfa import DEMO_TOTP_SECRET, MFA_REQUIRED_ROLES, enrol_with_secret
from callcenter.persistence.tables import (
    Base,
    Branch,
    Client,
    ComplaintCategory,
    Interaction,
    User,
    UtcDateTime,
)
from callcenter.secretbox import SecretBox

CLIENTS_PER_CHUNK = 5_000
DEFAULT_SEED = 42
SQLITE_CACHE_KIB = 256 * 1024


class DatabaseNotEmpty(Conflict):
    error_id = "seed-database-not-empty"


@dataclass(frozen=True)
class SeedReport:
    seeded: bool  # False: --if-empty found data and left it alone
    clients: int
    rows: Mapping[str, int]  # table -> rows written
    as_of: dt.date
    seconds: float


def demo_today() -> dt.date:
    """The demo's default present: today in Beijing, where the brokerage is."""
    return dt.datetime.now(BEIJING).date()


async def seed_demo(
    url: str,
    *,
    clients: int,
    seed: int = DEFAULT_SEED,
    as_of: dt.date | None = None,
    if_empty: bool = False,
    history: bool = True,
    demo_password: str | None = None,
    demo_mfa: SecretBox | None = None,
) -> SeedReport:
    """Upgrade the schema, then write the demo brokerage with ``clients`` clients into an
    empty database. A database with branches, users or clients is refused
    (:class:`DatabaseNotEmpty`), or left alone with ``if_empty``.

    With ``demo_password``, every demo user can log in with it (demo data only). It is hashed
    once and the hash shared: one argon2 hash per user would cost seconds. The hash's random
    salt is the one part of the database that differs between two seeds.

    With ``demo_mfa`` (the service's secret box), the users whose role requires a second
    factor are enrolled with the demo-only TOTP secret (:data:`DEMO_TOTP_SECRET`), whose
    current code ``callcenter users totp-code <username>`` prints. Demo data only."""
    started = time.perf_counter()
    as_of = as_of or demo_today()
    password_hash = await hash_password_async(demo_password) if demo_password else None
    await migrate.upgrade_async(url)
    db = Database(url)
    try:
        async with db.write() as session:
            if db.sqlite:
                # The indexes of a million rows do not fit SQLite's default 2 MB page cache.
                await session.execute(sa.text(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}"))
            else:
                # A second seed started meanwhile waits here, then finds the data.
                await session.execute(
                    sa.text("LOCK TABLE branches, users, clients IN EXCLUSIVE MODE")
                )
            if not await _is_empty(session):
                if if_empty:
                    return SeedReport(False, 0, {}, as_of, time.perf_counter() - started)
                raise DatabaseNotEmpty(
                    "the database already has branches, users, clients or calls; seed an empty one "
                    "(or pass --if-empty to leave it alone)"
                )
            brokerage = DemoBrokerage(
                seed=seed, as_of=as_of, categories=await _complaint_leaves(session), history=history
            )
            counts = await _write_brokerage(session, brokerage, clients, sqlite=db.sqlite)
            if password_hash is not None:
                await session.execute(sa.update(User).values(password_hash=password_hash))
            if demo_mfa is not None:
                await _enrol_demo_managers(session, demo_mfa)
            if not db.sqlite:
                await _advance_sequences(session, counts)
    finally:
        await db.dispose()
    return SeedReport(True, clients, dict(counts), as_of, time.perf_counter() - started)


async def _write_brokerage(
    session: AsyncSession, brokerage: DemoBrokerage, clients: int, *, sqlite: bool
) -> Counter[str]:
    encoders = _Encoders(sqlite)
    writer = _BulkWriter(await session.connection())
    await writer.write(encoders.encode(brokerage.staff_rows()))

    for start in range(0, clients, CLIENTS_PER_CHUNK):
        count = min(CLIENTS_PER_CHUNK, clients - start)
        await writer.write(encoders.encode(brokerage.client_rows(count)))
    # The agents' states follow every client's calls: known only once all are generated.
    await writer.write(encoders.encode(brokerage.agent_state_rows()))
    # Value classes rank clients against each other: known only once all are generated.
    await _store_value_classes(session, brokerage.value_classes())
    return writer.counts


async def _enrol_demo_managers(session: AsyncSession, box: SecretBox) -> None:
    now = dt.datetime.now(dt.UTC)
    managers = await session.scalars(
        sa.select(User.id).where(User.role.in_(sorted(MFA_REQUIRED_ROLES)))
    )
    for user_id in list(managers):
        await enrol_with_secret(session, box, user_id, DEMO_TOTP_SECRET, now=now)


async def _store_value_classes(session: AsyncSession, classes: Mapping[int, ValueClass]) -> None:
    if not classes:
        return
    clients_table = sa.table("clients", sa.column("id"), sa.column("value_class"))
    stmt = (
        sa.update(clients_table)
        .where(clients_table.c.id == sa.bindparam("b_id"))
        .values(value_class=sa.bindparam("b_value_class"))
    )
    await session.execute(
        stmt, [{"b_id": cid, "b_value_class": vc.value} for cid, vc in classes.items()]
    )


async def _is_empty(session: AsyncSession) -> bool:
    # Interactions too: calls into a database with no clients yet (the IVR answers unknown
    # callers) would collide with the demo's explicit ids.
    for table in (Branch, User, Client, Interaction):
        if await session.scalar(sa.select(table.id).limit(1)) is not None:
            return False
    return True


async def _complaint_leaves(session: AsyncSession) -> list[CategoryRef]:
    """The taxonomy's active leaves, as migration 0002 (and later edits) left them."""
    rows = await session.execute(
        sa.select(ComplaintCategory.code, ComplaintCategory.owner)
        .where(ComplaintCategory.parent_code.is_not(None), ComplaintCategory.active.is_(True))
        .order_by(ComplaintCategory.code)
    )
    return [CategoryRef(code, owner) for code, owner in rows]


async def _advance_sequences(session: AsyncSession, counts: Mapping[str, int]) -> None:
    """PostgreSQL: the seed wrote explicit ids, so move each serial sequence past them (the
    next ordinary insert would collide otherwise). Ids run 1..count in every table that has
    an ``id`` (queues and the agents' skills, languages and queues are keyed otherwise)."""
    for table, count in counts.items():
        if count and "id" in Base.metadata.tables[table].c:
            sequence = sa.func.pg_get_serial_sequence(table, "id")
            await session.execute(sa.select(sa.func.setval(sequence, count)))


class _Encoders:
    """Per table, the columns whose values need converting to the driver's form, found from
    the real tables' column types."""

    def __init__(self, sqlite: bool) -> None:
        self._sqlite = sqlite
        self._by_table: dict[str, list[tuple[str, Callable[[Any], Any]]]] = {}

    def encode(self, rows_by_table: dict[str, list[Row]]) -> dict[str, list[Row]]:
        """Convert the rows in place (they are the generator's, made for this)."""
        for table, rows in rows_by_table.items():
            if not rows:
                continue
            for column, encode in self._for_table(table):
                if column not in rows[0]:
                    continue
                for row in rows:
                    value = row[column]
                    if value is not None:
                        row[column] = encode(value)
        return rows_by_table

    def _for_table(self, name: str) -> list[tuple[str, Callable[[Any], Any]]]:
        if name not in self._by_table:
            table = Base.metadata.tables[name]
            encoders = [(c.name, self._encoder(c.type)) for c in table.columns]
            self._by_table[name] = [(n, e) for n, e in encoders if e is not None]
        return self._by_table[name]

    def _encoder(self, column_type: sa.types.TypeEngine[Any]) -> Callable[[Any], Any] | None:
        if isinstance(column_type, UtcDateTime):
            return _sqlite_datetime if self._sqlite else _naive_utc
        if isinstance(column_type, sa.Date) and self._sqlite:
            return dt.date.isoformat
        if isinstance(column_type, sa.JSON):
            return _json_text
        return None


def _json_text(value: Any) -> str:
    """What SQLAlchemy's JSON type sends (json.dumps), on both databases; text that the
    generator already wrote as JSON (account positions) goes as it is."""
    return value if isinstance(value, str) else json.dumps(value)


def _naive_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _sqlite_datetime(value: dt.datetime) -> str:
    """SQLAlchemy's SQLite DATETIME storage format, naive UTC: "2026-11-25 01:02:03.000000"."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


class _BulkWriter:
    """INSERTs with the driver's executemany: statements compiled once per table and column
    set by SQLAlchemy, rows handed over as tuples."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._statements: dict[tuple[str, tuple[str, ...]], tuple[str, Callable[[Row], Any]]] = {}
        self.counts: Counter[str] = Counter()

    async def write(self, rows_by_table: Mapping[str, Sequence[Row]]) -> None:
        for table in TABLES:  # parents first
            rows = rows_by_table.get(table)
            if rows:
                await self._insert(table, rows)

    async def _insert(self, name: str, rows: Sequence[Row]) -> None:
        sql, values = self._statement(name, tuple(rows[0]))
        await self._connection.exec_driver_sql(sql, [values(row) for row in rows])
        self.counts[name] += len(rows)

    def _statement(self, name: str, columns: tuple[str, ...]) -> tuple[str, Callable[[Row], Any]]:
        key = (name, columns)
        if key not in self._statements:
            known = Base.metadata.tables[name].c
            unknown = [c for c in columns if c not in known]
            if unknown:
                raise ValueError(f"demo rows for {name} have unknown columns: {unknown}")
            light = sa.table(name, *(sa.column(c) for c in columns))
            compiled = sa.insert(light).compile(dialect=self._connection.dialect)
            order = compiled.positiontup or []
            getter = operator.itemgetter(*order)
            values = getter if len(order) > 1 else (lambda row: (getter(row),))
            self._statements[key] = (compiled.string, values)
        return self._statements[key]
