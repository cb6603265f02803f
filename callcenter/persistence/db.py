"""Engines and transactions for SQLite (the embedded default) and PostgreSQL.

The one rule: a transaction that reads and then writes must not lose a concurrent update.

* SQLite: ``BEGIN`` is deferred, so two writers can both read, then one fails at its first write
  ("database is locked") or, worse, one writes over what the other read. Every write
  transaction here starts with ``BEGIN IMMEDIATE``: it takes the write lock before reading, and
  ``busy_timeout`` makes the next writer wait for it. Reads use a plain deferred ``BEGIN`` and,
  with WAL, never block on writers.
* PostgreSQL: write transactions lock the rows they will change (``SELECT ... FOR UPDATE``) or
  change them in one atomic ``UPDATE ... RETURNING``; repositories do one or the other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Executable, event, text
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file (the embedded default lives in var/)."""
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any = None) -> None:
    """Every SQLite connection, async or not: no driver-issued BEGIN, WAL, foreign keys, and
    a writer that waits for the lock instead of failing at once."""
    # Take BEGIN away from the driver: we issue it ourselves (deferred or immediate), or not
    # at all for the single-statement reads.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; fsync at checkpoints
    cursor.close()


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine
    event.listen(sync_engine, "connect", _configure_sqlite_connection)

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _sync_sqlite_engine(url: str) -> Engine:
    """The same SQLite file on the plain sqlite3 driver, for single-statement hot-path reads.

    Autocommit (no BEGIN): each statement is its own snapshot. Connections move between the
    worker threads of asyncio.to_thread, one thread at a time, hence check_same_thread=False.
    """
    engine = sa_create_engine(
        url.replace("sqlite+aiosqlite", "sqlite+pysqlite", 1),
        connect_args={"check_same_thread": False},
        pool_reset_on_return=None,
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    # Both choices below keep the caller lookup (every incoming call) near 1 ms; measured in
    # docs/benchmarks.md ("Client lookup by caller number").
    if is_sqlite(url):
        # Every unit of work ends its transaction itself (read() rolls back, write() commits
        # or rolls back, closing an AsyncConnection rolls back), so the pool's rollback on
        # return would only add one more aiosqlite thread hop (~0.1 ms) to each of them.
        engine = create_async_engine(url, echo=echo, pool_reset_on_return=None)
        _install_sqlite_hooks(engine)
        return engine
    # No pool_pre_ping: on asyncpg it is three round trips per checkout (a transaction around
    # the ping), more than the lookup itself. A connection that died with the server fails
    # its next statement; SQLAlchemy then invalidates the pool and the next unit of work
    # reconnects.
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size)


class WriteTurns:
    """A lock with two lanes: urgent writers are served before ordinary ones, each lane in
    the order it came. One per event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._ordinary: deque[asyncio.Future[None]] = deque()

    @contextlib.asynccontextmanager
    async def turn(self, urgent: bool = False) -> AsyncIterator[None]:
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        if not self._held and not self._urgent and not self._ordinary:
            self._held = True
            return
        waiter: asyncio.Future[None] = self.loop.create_future()
        lane = self._urgent if urgent else self._ordinary
        lane.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed the turn just as it was cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):  # release() may have dropped it
                    lane.remove(waiter)
            raise

    def _release(self) -> None:
        for lane in (self._urgent, self._ordinary):
            while lane:
                waiter = lane.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the turn passes on; still held
                    return
        self._held = False


class Database:
    """The one place that opens transactions. Repositories receive a session from here."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self.sqlite = is_sqlite(url)
        writer_engine = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.sqlite else self.engine
        )
        self._readers = async_sessionmaker(self.engine, expire_on_commit=False)
        # read_rows on PostgreSQL: a small pool of its own, in autocommit (one statement is its
        # own snapshot: no BEGIN and ROLLBACK round trips) and with generic plans for its
        # prepared statements: with "auto", PostgreSQL planned the dialler's candidates again
        # at every run (1.1 ms of a 1.6 ms read; docs/benchmarks.md, "Outbound: next due work
        # item"). Only the single-statement hot-path reads go through it.
        self._autocommit = (
            self.engine
            if self.sqlite
            else create_async_engine(
                url,
                echo=echo,
                pool_size=5,
                max_overflow=5,
                isolation_level="AUTOCOMMIT",
                connect_args={"server_settings": {"plan_cache_mode": "force_generic_plan"}},
            )
        )
        self._sync_sessions: sessionmaker[Session] | None = None
        self._turns: WriteTurns | None = None
        self._writers = async_sessionmaker(writer_engine, expire_on_commit=False)

    async def ping(self, timeout: float = 2.0) -> str | None:
        """None when the database answers a trivial query within ``timeout`` seconds, else
        what went wrong (for /health: a service without its database cannot take calls)."""
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except TimeoutError:
            return f"the database did not answer within {timeout:g} s"
        except (SQLAlchemyError, OSError) as exc:
            return f"the database is unreachable: {type(exc).__name__}"
        return None

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work (rolled back at the end)."""
        async with self._readers() as session:
            try:
                yield session
            finally:
                await session.rollback()

    async def read_one_statement(
        self, statement: Executable, params: Mapping[str, Any]
    ) -> list[Any]:
        """The rows (ORM entities or tuples) of one SELECT, for the hot path.

        One statement is its own consistent snapshot, so it needs no transaction of its own.
        On SQLite the whole read runs on the plain sqlite3 driver in one worker thread: one
        thread hop instead of aiosqlite's one per DB-API call (eight for a unit of work, about
        0.1 ms each); docs/benchmarks.md has the figures. On PostgreSQL it is a read().
        """
        if not self.sqlite:
            async with self.read() as session:
                rows = list((await session.execute(statement, params)).scalars().all())
                session.expunge_all()  # hand back loaded objects, not expired ones
                return rows
        return await asyncio.to_thread(self._sqlite_read_one, statement, params)

    def _sqlite_read_one(self, statement: Executable, params: Mapping[str, Any]) -> list[Any]:
        if self._sync_sessions is None:
            # Built on first use (in a worker thread); a race builds two, harmlessly.
            self._sync_sessions = sessionmaker(_sync_sqlite_engine(self.url))
        with self._sync_sessions() as session:
            rows = list(session.execute(statement, params).scalars().all())
            session.expunge_all()  # hand back loaded objects, not expired ones
            return rows

    async def read_rows(
        self, statement: Executable, params: Mapping[str, Any]
    ) -> list[Row[*tuple[Any, ...]]]:
        """The rows (tuples of columns) of one Core SELECT, on the hot path: no session, no
        ORM objects. On SQLite as :meth:`read_one_statement` (the plain sqlite3 driver, one
        worker-thread hop). On PostgreSQL a connection in autocommit: one statement is its
        own snapshot, so it goes alone, without the BEGIN and ROLLBACK round trips around it.
        """
        if not self.sqlite:
            async with self._autocommit.connect() as connection:
                return list((await connection.execute(statement, params)).all())
        return await asyncio.to_thread(self._sqlite_rows, statement, params)

    def _sqlite_rows(
        self, statement: Executable, params: Mapping[str, Any]
    ) -> list[Row[*tuple[Any, ...]]]:
        if self._sync_sessions is None:
            self._sync_sessions = sessionmaker(_sync_sqlite_engine(self.url))
        bind = self._sync_sessions.kw["bind"]
        assert isinstance(bind, Engine)
        with bind.connect() as connection:
            return list(connection.execute(statement, params).all())

    @contextlib.asynccontextmanager
    async def write(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work that commits at the end, or rolls everything back on an error.

        On SQLite it holds the database's write lock from its first statement. The service's
        own writers take turns for it in process first (:class:`WriteTurns`): SQLite's busy
        handler would make a waiting writer sleep in growing steps, up to tens of
        milliseconds, after the lock is already free. An ``urgent`` writer (the ACD reserving
        an agent, on the path to the agent's phone ringing) goes before the others waiting.
        Other processes (the CLI) still wait through ``busy_timeout``.
        """
        if not self.sqlite:
            async with self._writers() as session, session.begin():
                yield session
            return
        loop = asyncio.get_running_loop()
        if self._turns is None or self._turns.loop is not loop:  # turns belong to one loop
            self._turns = WriteTurns(loop)
        async with self._turns.turn(urgent), self._writers() as session, session.begin():
            yield session

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._autocommit is not self.engine:
            await self._autocommit.dispose()
        if self._sync_sessions is not None:
            bind = self._sync_sessions.kw.get("bind")
            if isinstance(bind, Engine):
                bind.dispose()
