"""The call-owner lease and the instances' heartbeats on PostgreSQL (issue 21).

The lease is a session-level advisory lock taken on a connection of its own, kept open for as
long as the instance owns the calls: PostgreSQL frees it the moment that session ends, which
for a process killed with -9 is at once (the kernel closes its socket and the server sees the
end of the stream). ``pg_try_advisory_lock`` never waits, so a standby asks again at every
heartbeat instead of parking a query that a dead server could leave hanging.

The same connection writes the heartbeat row (``service_instances``) with the server's clock,
so that instances on hosts whose clocks disagree still agree on which rows are fresh. Every
statement is bounded by a timeout: an owner whose connection does not answer is told
(:class:`~callcenter.cluster.model.LeaseLost`) and steps down. The server frees the lock of a
session whose client went silent only after its TCP keepalives went unanswered (about 11 s,
asked for at connect), later than the owner's own timeout: the owner has stepped down before
a standby can take the lock. A session the server ends itself (a restart, an administrator)
closes the connection, and the owner's next beat, at most a beat later, fails at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from callcenter.cluster.model import LeaseLost, Peer, Role

log = logging.getLogger(__name__)

# The lease's key in PostgreSQL's advisory lock space: the bytes of "cc-owner".
CALL_OWNER_KEY = int.from_bytes(b"cc-owner", "big")

_TRY_LEASE = "SELECT pg_try_advisory_lock($1)"
_BEAT = """
INSERT INTO service_instances (instance_id, internal_url, role, desks, started_at, beat_at)
VALUES ($1, $2, $3, $4::json, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
ON CONFLICT (instance_id) DO UPDATE
SET internal_url = EXCLUDED.internal_url, role = EXCLUDED.role, desks = EXCLUDED.desks,
    beat_at = EXCLUDED.beat_at
"""
_PEERS = """
SELECT instance_id, internal_url, role, desks::text AS desks
FROM service_instances
WHERE instance_id <> $1 AND beat_at >= now() AT TIME ZONE 'UTC' - make_interval(secs => $2)
ORDER BY beat_at DESC
"""
_LEAVE = "DELETE FROM service_instances WHERE instance_id = $1"
# A host that dies without closing its sockets (power, a cut cable) is noticed by the server's
# TCP keepalives, which free the lock with the session: probes after 5 s of silence, every
# 2 s, 3 unanswered: about 11 s instead of the kernel's default two hours. The owner itself
# steps down sooner (its own beat times out), so two owners never overlap.
_KEEPALIVES = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
}


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL (postgresql+asyncpg://...) as asyncpg takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgCoordination:
    """:class:`~callcenter.cluster.model.Coordination` on one asyncpg connection."""

    def __init__(
        self,
        url: str,
        instance_id: str,
        internal_url: str,
        *,
        fresh_seconds: float,
        # A statement not answered within this long counts as a lost lease. Under the server's
        # keepalive detection (about 11 s, below) with a beat to spare, so an owner cut off
        # from the database steps down before anyone else can take the lock; not shorter, as
        # a busy database (or host) must not make the owner quit while it holds the lock.
        timeout: float = 5.0,
    ) -> None:
        self._dsn = asyncpg_dsn(url)
        self.instance_id = instance_id
        self.internal_url = internal_url
        self.fresh_seconds = fresh_seconds  # a peer's row older than this: gone
        self.timeout = timeout
        self._conn: asyncpg.Connection | None = None

    async def connect(self) -> None:
        try:
            self._conn = await asyncpg.connect(
                self._dsn, timeout=self.timeout, server_settings=_KEEPALIVES
            )
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            raise LeaseLost(f"no connection to the database: {type(exc).__name__}") from exc

    def _live(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            raise LeaseLost("the lease's database connection is closed")
        return self._conn

    async def try_lease(self) -> bool:
        conn = self._live()
        try:
            held = await conn.fetchval(_TRY_LEASE, CALL_OWNER_KEY, timeout=self.timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise LeaseLost(f"the lease could not be asked for: {type(exc).__name__}") from exc
        return bool(held)

    async def beat(self, role: Role, desks: Collection[int]) -> list[Peer]:
        conn = self._live()
        try:
            await conn.execute(
                _BEAT,
                self.instance_id,
                self.internal_url,
                role.value,
                json.dumps(sorted(desks)),
                timeout=self.timeout,
            )
            rows = await conn.fetch(
                _PEERS, self.instance_id, self.fresh_seconds, timeout=self.timeout
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise LeaseLost(f"the heartbeat failed: {type(exc).__name__}") from exc
        return [
            Peer(
                instance_id=row["instance_id"],
                internal_url=row["internal_url"],
                role=Role(row["role"]),
                desks=frozenset(int(user) for user in json.loads(row["desks"])),
            )
            for row in rows
        ]

    async def close(self) -> None:
        """Leave the table (a clean stop) and close the connection, which frees the lease."""
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        try:
            await conn.execute(_LEAVE, self.instance_id, timeout=self.timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            log.warning("instance %s: its row stays until it goes stale", self.instance_id)
        finally:
            try:
                await conn.close(timeout=self.timeout)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()
