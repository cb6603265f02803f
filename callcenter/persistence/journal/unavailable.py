"""Whether the database cannot take a write now, or the write itself is wrong.

The write journal (callcenter/persistence/journal/) keeps only the first kind: a database
that is unreachable or refuses writes for now (PostgreSQL restarting or failed over, SQLite on
a full disk, read-only or locked). A programming error or an integrity violation goes to the
caller as before: it would fail again, and a journal must not hide a bug.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

# SQLite's primary result codes (the low byte of ``sqlite_errorcode``) that mean "not now":
# BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL. Everything else (a syntax
# error, a missing table, a constraint) is a wrong write that would fail again.
SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 8, 10, 13, 14, 15})
# PostgreSQL SQLSTATE classes: connection exception, insufficient resources (disk full, too
# many connections), operator intervention (shutdown, cannot connect now), system error (I/O).
POSTGRES_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
# Single states: a read-only standby after a failover, a serialization failure, a deadlock.
POSTGRES_UNAVAILABLE_STATES = frozenset({"25006", "40001", "40P01"})


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot take a write now, rather than that the write
    is wrong: only those writes are journaled; a programming error or an integrity violation
    goes to the caller as before."""
    if isinstance(exc, OSError):  # refused, reset, unreachable; TimeoutError is one too
        return True
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):  # the pool's
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        return isinstance(code, int) and code & 0xFF in SQLITE_UNAVAILABLE
    state = getattr(orig, "sqlstate", None)  # asyncpg's, through SQLAlchemy's adapter
    if isinstance(state, str) and state:
        return state[:2] in POSTGRES_UNAVAILABLE_CLASSES or state in POSTGRES_UNAVAILABLE_STATES
    # A driver error without a code: asyncpg's "connection is closed" and the like.
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
