"""Faults seen from the screens: 2,000 websocket clients reconnecting at once after a crash
(g), and a restart between two screen pops of one agent's desk (h)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcenter.crm.vocabulary import Role
from callcenter.persistence.db import Database
from callcenter.persistence.sessions import new_token, token_hash
from callcenter.persistence.tables import User, UserSession
from scripts.faults.desks import Desk
from scripts.faults.lab import HTTP_PORT
from scripts.faults.measure import Outcome
from scripts.faults.scenarios import Run

HERD = 2000
SUPERVISOR_SHARE = 0.05  # wallboards among the sockets
DESKS_SCRIPT = Path(__file__).resolve().parent / "desks.py"


async def herd_tokens(url: str, count: int) -> list[str]:
    """``count`` sessions opened directly in the database (as tests/api/conftest.py's
    ``open_test_session`` does), spread over the demo's agents, advisors and supervisors."""
    db = Database(url)
    now = dt.datetime.now(dt.UTC)
    try:
        async with db.read() as session:
            rows = (await session.execute(select(User.id, User.role))).all()
        staff = [uid for uid, role in rows if role in (Role.AGENT, Role.ADVISOR)]
        bosses = [uid for uid, role in rows if role is Role.SUPERVISOR]
        wallboards = int(count * SUPERVISOR_SHARE)
        owners = [bosses[i % len(bosses)] for i in range(wallboards)]
        owners += [staff[i % len(staff)] for i in range(count - wallboards)]
        tokens = [new_token() for _ in owners]
        async with db.write() as session:
            session.add_all(
                UserSession(
                    user_id=uid,
                    token_hash=token_hash(token),
                    created_at=now,
                    expires_at=now + dt.timedelta(hours=12),
                    idle_seconds=3600,
                    last_seen_at=now,
                    revoked_at=None,
                    client_address="127.0.0.1",
                )
                for uid, token in zip(owners, tokens, strict=True)
            )
        return tokens
    finally:
        await db.dispose()


async def herd_report(run: Run) -> dict[str, Any]:
    proc = run.herd
    assert proc is not None
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(b"report\n")
    await proc.stdin.drain()
    report: dict[str, Any] = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
    return report


async def wait_herd(run: Run, timeout: float, epoch_not: str | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        report = await herd_report(run)
        if report["resumed"] >= HERD and report["epoch"] != epoch_not:
            break
        await asyncio.sleep(1.0)
    return report


async def open_herd(run: Run, outcome: Outcome) -> None:
    """Before (g): 2,000 sockets connected and resumed."""
    tokens = await herd_tokens(run.lab.db_url, HERD)
    path = run.lab.workdir / "herd-tokens.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(tokens))  # a file only we read: never argv, which ps shows
    began = time.time()
    run.herd = await asyncio.create_subprocess_exec(
        sys.executable,
        str(DESKS_SCRIPT),
        str(HTTP_PORT),
        str(path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    report = await wait_herd(run, 120)
    run.herd_epoch = report["epoch"]
    outcome.notes.append(
        f"{report['resumed']}/{HERD} sockets open and resumed {time.time() - began:.1f} s "
        "after they started"
    )


async def herd_crash(run: Run, outcome: Outcome) -> float:
    """(g) With the 2,000 sockets open, the service killed (SIGKILL) and restarted: every
    socket reconnects at once (0.2 s after its close, then every 0.2 s) and resumes."""
    lab = run.lab
    proc = run.herd
    assert proc is not None
    assert proc.stdin is not None
    lab.kill_service(signal.SIGKILL)
    killed = time.time()
    await lab.stop_service()
    await lab.start_service()
    up = lab.service.started if lab.service else killed
    proc.stdin.write(f"since {up}\n".encode())
    await proc.stdin.drain()
    report = await wait_herd(run, 120, epoch_not=run.herd_epoch)

    def secs(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    outcome.notes.append(
        f"after the restart: {report['resumed']}/{HERD} sockets resumed on the new epoch; "
        f"from the new process's start: median {secs(report['p50'])} s, p99 "
        f"{secs(report['p99'])} s, last {secs(report['last'])} s; closes seen {report['closes']}"
    )
    return killed


async def close_herd(run: Run, outcome: Outcome) -> None:
    proc = run.herd
    if proc is None:
        return
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 20)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    run.herd = None


# --- (h) a restart between two pops ----------------------------------------------------------


async def open_desks(run: Run, outcome: Outcome) -> None:
    """Before (h): the desks of the agents who get the floor's calls."""
    url = f"ws://127.0.0.1:{HTTP_PORT}/ws"
    for name in ("agent01", "agent02", "agent06"):
        token = run.floor.tokens[name]["Authorization"].removeprefix("Bearer ")
        desk = Desk(url, token)
        run.desks[name] = (desk, asyncio.create_task(desk.run()))


async def restart_between_pops(run: Run, outcome: Outcome) -> float:
    """(h) The service restarted (SIGTERM, as a deploy does) once the desks had their pops;
    the probe call after it is the second pop of an agent who had one before."""
    lab = run.lab
    await lab.stop_service(signal.SIGTERM)
    restarted = time.time()
    await lab.start_service()
    return restarted


async def check_pops(run: Run, outcome: Outcome) -> None:
    """After (h): the agent whose phone rang for the probe had pop 1 in the old epoch and
    pop 2 (the probe's) in the new one, before their phone rang."""
    probe = next((c for c in run.floor.callers if c.role == "probe"), None)
    verdicts = []
    for name, (desk, task) in run.desks.items():
        desk.stopped = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        pops = desk.pops()
        if probe is None or not pops:
            continue
        second = [(at, m) for at, m in pops if m["data"].get("caller_number") == probe.number]
        if not second:
            continue
        at2, pop2 = second[0]
        first = [(at, m) for at, m in pops if m["epoch"] != pop2["epoch"]]
        invite = next(
            (
                call.invite.at
                for call in run.floor.phones_seen.get(name, [])
                if call.invite.from_user == probe.number
            ),
            None,
        )
        if not first:
            verdicts.append(f"{name}: pop 2 arrived, but no pop 1 in an earlier epoch")
            continue
        _, pop1 = first[-1]
        margin = f"{invite - at2:.2f} s before the ring" if invite else "no ring seen"
        verdicts.append(
            f"{name}: pop 1 epoch {pop1['epoch'][:8]} seq {pop1['seq']}, pop 2 epoch "
            f"{pop2['epoch'][:8]} seq {pop2['seq']} (epoch changed: "
            f"{pop1['epoch'] != pop2['epoch']}; a seq-only client would "
            f"{'DROP' if pop2['seq'] <= pop1['seq'] else 'keep'} it), {margin}"
        )
    run.desks.clear()
    outcome.notes += verdicts or ["no desk received the probe's pop (pop 2): FAILED"]
    if not verdicts:
        outcome.failed = outcome.failed or "pop 2 not received"
