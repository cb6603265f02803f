"""Faults of the data: the database unreachable for 30 s (PostgreSQL through the cut proxy,
SQLite on a full filesystem), and records in impossible phases found at a start."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import time
from typing import Any

from sqlalchemy import select, update

from callcenter.crm.vocabulary import Channel, Direction
from callcenter.persistence.db import Database
from callcenter.persistence.tables import Interaction
from scripts.faults.floor import Floor, place_call, prepare_database, to_agent
from scripts.faults.measure import Outcome
from scripts.faults.scenarios import Run

OUTAGE_SECONDS = 30.0


async def watch_health(run: Run, until: asyncio.Event) -> dict[str, Any]:
    """/health every 0.5 s: the statuses seen, the most journal entries waiting, and when the
    journal was last seen holding any."""
    seen: dict[str, Any] = {"statuses": set(), "pending_max": 0, "pending_last_at": None}
    while not until.is_set():
        code, body = await run.lab.health()
        seen["statuses"].add(f"{code} {body.get('status', '-')}")
        journal = body.get("journal") or {}
        pending = journal.get("pending", 0) if isinstance(journal, dict) else 0
        if pending:
            seen["pending_max"] = max(seen["pending_max"], pending)
            seen["pending_last_at"] = time.time()
        await asyncio.sleep(0.5)
    return seen


async def call_during_outage(run: Run, outcome: Outcome, delay: float) -> None:
    """A new call put through to an agent while the database is away."""
    await asyncio.sleep(delay)
    floor = run.floor
    caller = await place_call("outage-call", floor.number(), to_agent(40.0))
    floor.callers.append(caller)
    await caller.finish(caller.phone.longest + 45)
    agent = next(
        (
            name
            for name, phone in floor.phones.items()
            for call in phone.calls
            if call.invite.from_user == caller.number and call.confirmed_at
        ),
        None,
    )
    log = caller.result.log if caller.result else None
    answered = "answered by Asterisk" if log and log.answered_at else "never answered"
    if log is not None and log.ended_at:  # the fallback's calls: imported 30 s after
        run.reconcile_after = max(run.reconcile_after, log.ended_at + 40)
    outcome.notes.append(
        f"a call during the outage: {answered}; "
        + (f"put through to {agent}" if agent else "reached no agent")
    )


async def outage(run: Run, outcome: Outcome, cut: Any, restore: Any) -> float:
    done = asyncio.Event()
    watcher = asyncio.create_task(watch_health(run, done))
    began = time.time()
    during = asyncio.create_task(call_during_outage(run, outcome, 5.0))
    try:
        try:
            await cut()
            await asyncio.sleep(OUTAGE_SECONDS)
        finally:
            await restore()  # whatever happened: the database comes back
        restored = time.time()
        await during
        await run.lab.wait_healthy(120)
        await asyncio.sleep(3.0)  # the journal seen empty for a while after
    finally:
        done.set()
        during.cancel()
        seen = await watcher
    drained = seen["pending_last_at"]
    outcome.notes.append(
        f"/health during: {', '.join(sorted(seen['statuses']))}; journal held up to "
        f"{seen['pending_max']} writes"
        + (f", last seen pending {drained - restored:.1f} s after" if drained else "")
    )
    outcome.notes.append(f"database away for {restored - began:.1f} s")
    return restored


async def postgres_away(run: Run, outcome: Outcome) -> float:
    """(d) PostgreSQL unreachable for 30 s: the proxy between the service and it refuses and
    drops every connection."""
    proxy = run.lab.pg_proxy
    assert proxy is not None

    async def cut() -> None:
        proxy.refuse = True
        proxy.cut()

    async def restore() -> None:
        proxy.refuse = False

    return await outage(run, outcome, cut, restore)


async def sqlite_disk_full(run: Run, outcome: Outcome) -> float:
    """(d) SQLite on a full filesystem for 30 s: the tmpfs holding it filled to the last byte."""
    lab = run.lab

    async def cut() -> None:
        filled = await asyncio.to_thread(lab.fill_tmpfs)
        outcome.notes.append(f"tmpfs filled with {filled / 1e6:.0f} MB")

    async def restore() -> None:
        await asyncio.to_thread(lab.empty_tmpfs)

    return await outage(run, outcome, cut, restore)


async def to_sqlite(run: Run, outcome: Outcome) -> None:
    """Before the SQLite fault: the service on SQLite, in a tmpfs of its own."""
    lab = run.lab
    await lab.stop_service()
    lab.database = "sqlite"
    if lab.tmpfs is None:
        await lab.mount_sqlite()
    numbers = await prepare_database(lab.sqlite_url)
    await lab.start_service()
    run.floor = await Floor.log_in_everyone(lab, numbers)


async def to_postgres(run: Run, outcome: Outcome) -> None:
    lab = run.lab
    await lab.stop_service()
    lab.database = "postgresql"
    numbers = run.floor.numbers
    await lab.start_service()
    run.floor = await Floor.log_in_everyone(lab, numbers)


# --- records in impossible phases ------------------------------------------------------------


def corrupt_rows(now: dt.datetime, agent_id: int, stamp: int) -> dict[str, dict[str, Any]]:
    """One record per impossible phase; open ones (no end) are the adoption's to find."""
    t = now - dt.timedelta(minutes=2)

    def at(seconds: float) -> dt.datetime:
        return t + dt.timedelta(seconds=seconds)

    common = {"queue": "general", "agent_id": agent_id}
    return {
        "wrapped up, never ended": {
            **common, "queued_at": at(5), "offered_at": at(6), "answered_at": at(8),
            "wrapup_ended_at": at(60),
        },
        "answered, never offered": {**common, "queued_at": at(5), "answered_at": at(8)},
        "offered, never queued": {**common, "offered_at": at(6)},
        "answered before offered": {
            **common, "queued_at": at(5), "offered_at": at(20), "answered_at": at(8),
        },
        "queued before started": {"queue": "general", "queued_at": at(-30)},
        "ended before started": {"ended_at": at(-60)},
        "wrapped up before answered": {
            **common, "queued_at": at(5), "offered_at": at(6), "answered_at": at(8),
            "ended_at": at(30), "wrapup_ended_at": at(4),
        },
    }  # fmt: skip


async def corrupt_records(run: Run, outcome: Outcome) -> float:
    """(f) The service killed; records in every impossible phase written behind its back
    (and the live bridged call's record made 'answered, never offered'); then a start."""
    lab, floor = run.lab, run.floor
    lab.kill_service(signal.SIGKILL)
    await lab.stop_service()
    now = dt.datetime.now(dt.UTC)
    stamp = int(time.time())
    rows = corrupt_rows(now, floor.ids["agent07"], stamp)
    db = Database(lab.db_url)
    try:
        async with db.write() as session:
            for number, (phase, fields) in enumerate(rows.items()):
                call_id = f"corrupt-{stamp}-{number}"
                run.ignore_calls.add(call_id)
                session.add(
                    Interaction(
                        channel=Channel.VOICE,
                        direction=Direction.INBOUND,
                        caller_number="+8613700000099",
                        called_number="95555",
                        started_at=now - dt.timedelta(minutes=2),
                        ivr_path=["corrupt", phase],
                        call_id=call_id,
                        **fields,
                    )
                )
            bridged = next(c for c in floor.callers if c.role == "bridged")
            live = await session.execute(
                update(Interaction)
                .where(Interaction.caller_number == bridged.number, Interaction.ended_at.is_(None))
                .values(offered_at=None)
            )
        outcome.notes.append(
            f"{len(rows)} records written in impossible phases; the live bridged call's "
            f"record made 'answered, never offered' ({live.rowcount} row)"  # type: ignore[attr-defined]
        )
    finally:
        await db.dispose()
    run.corrupt_stamp = stamp
    restarted = time.time()
    await lab.start_service()
    return restarted


async def corrupt_check(run: Run, outcome: Outcome) -> None:
    """After (f): what the start made of each corrupt record."""
    db = Database(run.lab.db_url)
    try:
        async with db.read() as session:
            found = await session.execute(
                select(Interaction.ivr_path, Interaction.ended_at, Interaction.anomaly).where(
                    Interaction.call_id.like(f"corrupt-{run.corrupt_stamp}-%")
                )
            )
            for path, ended, anomaly in found.all():
                what = f"anomaly: {anomaly[:70]}" if anomaly else "no anomaly"
                state = "closed" if ended else "STILL OPEN"
                outcome.notes.append(f"  '{path[-1]}': {state}, {what}")
    finally:
        await db.dispose()
