"""The call-owner lease and the heartbeats (callcenter/persistence/call_owner.py,
callcenter/cluster/ownership.py) on the real PostgreSQL: one owner at a time, a standby takes
over once the owner's connection closes, an owner whose connection fails steps down, and the
desks open on a standby reach the owner's desk watch."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from callcenter.cluster.desks import ClusterDesks
from callcenter.cluster.model import LeaseLost, Role
from callcenter.cluster.ownership import CallOwnership
from callcenter.persistence.call_owner import CALL_OWNER_KEY, PgCoordination, asyncpg_dsn
from tests.conftest import truncate_postgres

BEAT = 0.05


@pytest.fixture
async def pg(postgres_url: str) -> str:
    await truncate_postgres(postgres_url)
    return postgres_url


def coordination(url: str, name: str) -> PgCoordination:
    return PgCoordination(url, name, f"http://{name}.internal:8080", fresh_seconds=1.0)


class Instance:
    """One instance's ownership loop and what it was asked to do."""

    def __init__(self, url: str, name: str) -> None:
        self.coordination = coordination(url, name)
        self.desks = ClusterDesks()
        self.took_over: list[dt.datetime] = []
        self.stepped_down = 0
        self.ownership = CallOwnership(
            self.coordination,
            self.desks,
            instance_id=name,
            internal_url=f"http://{name}.internal:8080",
            beat=BEAT,
            take_over=self._take_over,
            step_down=self._step_down,
        )
        self.task: asyncio.Task[None] | None = None

    async def _take_over(self, at: dt.datetime) -> None:
        self.took_over.append(at)

    async def _step_down(self) -> None:
        self.stepped_down += 1

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.ownership.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                await self.task


@contextlib.asynccontextmanager
async def running(*instances: Instance) -> AsyncIterator[None]:
    for instance in instances:
        instance.start()
    try:
        yield
    finally:
        for instance in instances:
            await instance.stop()


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not check():  # noqa: ASYNC110 - polls a state; wait_for bounds it
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        pytest.fail(f"not within {timeout} s: {what}")


async def test_the_lease_is_held_by_one_connection_and_freed_when_it_closes(pg: str) -> None:
    first, second = coordination(pg, "a"), coordination(pg, "b")
    await first.connect()
    await second.connect()
    try:
        assert await first.try_lease()
        assert not await second.try_lease()
        assert await first.try_lease()  # the holder asking again still holds it
        await first.close()
        assert await second.try_lease()
    finally:
        await first.close()
        await second.close()


async def test_heartbeats_name_the_owner_and_each_instance_s_desks(pg: str) -> None:
    first, second = coordination(pg, "a"), coordination(pg, "b")
    await first.connect()
    await second.connect()
    try:
        await first.beat(Role.OWNER, {7})
        peers = await second.beat(Role.STANDBY, {3, 5})
        assert [(p.instance_id, p.role, p.desks) for p in peers] == [
            ("a", Role.OWNER, frozenset({7}))
        ]
        assert peers[0].internal_url == "http://a.internal:8080"
        peers = await first.beat(Role.OWNER, set())
        assert [(p.instance_id, p.desks) for p in peers] == [("b", frozenset({3, 5}))]
    finally:
        await first.close()
        await second.close()


async def test_exactly_one_instance_takes_the_lease_and_the_standby_finds_it(pg: str) -> None:
    a, b = Instance(pg, "a"), Instance(pg, "b")
    async with running(a, b):
        await until(lambda: bool(a.took_over or b.took_over), "an owner")
        owner, standby = (a, b) if a.took_over else (b, a)
        await until(lambda: standby.ownership.owner_url is not None, "the standby finds it")
        await asyncio.sleep(10 * BEAT)  # ten more chances for the standby to take it too
        assert len(owner.took_over) == 1
        assert standby.took_over == []
        assert standby.ownership.role is Role.STANDBY
        assert standby.ownership.owner_url == owner.ownership.internal_url


async def test_a_standby_takes_over_once_the_owner_s_connection_closes(pg: str) -> None:
    a = Instance(pg, "a")
    async with running(a):
        await until(lambda: bool(a.took_over), "a owns")
        b = Instance(pg, "b")
        async with running(b):
            await until(lambda: b.ownership.owner_url is not None, "b finds a")
            await a.stop()  # its connection closes, as a killed process's does
            await until(lambda: bool(b.took_over), "b takes over")
            assert b.ownership.is_owner
            assert b.ownership.owner_since == b.took_over[0]


async def test_an_owner_whose_connection_is_ended_steps_down_and_raises(pg: str) -> None:
    a = Instance(pg, "a")
    a.start()
    try:
        await until(lambda: bool(a.took_over), "a owns")
        # The server ends the owner's session (as a failover of the database would).
        admin = await asyncpg.connect(asyncpg_dsn(pg))
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted "
                "AND ((classid::bigint << 32) | objid::bigint) = $1",
                CALL_OWNER_KEY,
            )
        finally:
            await admin.close()
        assert a.task is not None
        with pytest.raises(LeaseLost):
            await asyncio.wait_for(a.task, 5)
        assert a.stepped_down == 1
        assert a.ownership.role is Role.STANDBY
    finally:
        await a.stop()


async def test_desks_open_on_a_standby_reach_the_owner_s_desk_watch(pg: str) -> None:
    class Watch:
        def __init__(self) -> None:
            self.open: set[int] = set()

        def opened(self, user_id: int) -> None:
            assert user_id not in self.open
            self.open.add(user_id)

        def closed(self, user_id: int) -> None:
            self.open.remove(user_id)

    a = Instance(pg, "a")
    async with running(a):
        await until(lambda: bool(a.took_over), "a owns")
        watch = Watch()
        a.desks.attach(watch)
        a.desks.opened(1)
        b = Instance(pg, "b")
        b.desks.opened(2)
        b.desks.opened(2)  # two tabs
        b.desks.opened(1)  # user 1 on both instances
        async with running(b):
            await until(lambda: watch.open == {1, 2}, "b's desks at the owner")
            b.desks.closed(2)
            b.desks.closed(1)
            await asyncio.sleep(5 * BEAT)
            assert watch.open == {1, 2}  # one tab of 2 left on b; 1 still open on a
            b.desks.closed(2)
            await until(lambda: watch.open == {1}, "2's last desk closed")
        # b stopped (its row left the table): its desks are gone with it.
        await until(lambda: watch.open == {1}, "only a's")


async def test_a_new_owner_does_not_count_the_desks_of_the_previous_owner_s_row(pg: str) -> None:
    class Watch:
        def __init__(self) -> None:
            self.open: set[int] = set()

        def opened(self, user_id: int) -> None:
            self.open.add(user_id)

        def closed(self, user_id: int) -> None:
            self.open.discard(user_id)

    dead = coordination(pg, "dead")  # killed while owner: its row stays fresh for a while
    await dead.connect()
    try:
        await dead.beat(Role.OWNER, {8})
        b = Instance(pg, "b")
        b.desks.opened(9)
        async with running(b):
            await until(lambda: bool(b.took_over), "b owns")
            watch = Watch()
            b.desks.attach(watch)
            await asyncio.sleep(5 * BEAT)  # beats that see the dead owner's fresh row
            assert watch.open == {9}
    finally:
        await dead.close()
