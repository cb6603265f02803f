"""The faults, each injected on a floor with a call in every phase, and what is measured after.

Every scenario: set the floor up (scripts/faults/floor.py), inject the fault, take the time
it ends, wait for ``/health`` 200, place a new call through to an agent (the probe), let every
call end and the wrap-ups pass, then measure: Asterisk's channels still up, the day's
reconciliation for the scenario's calls, agents in a state no call justifies, the callers'
longest silence, and the times to recover (both from the end of the fault).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from callcenter.persistence.db import Database
from callcenter.persistence.tables import Interaction
from scripts.faults.desks import Desk
from scripts.faults.floor import Floor, place_call
from scripts.faults.lab import Lab
from scripts.faults.measure import Outcome, dead_air, reconcile
from tests.support.dtmf import Hangup, Keys, Wait


@dataclass
class Run:
    lab: Lab
    floor: Floor
    sniff: Path
    ignore_calls: set[str] = field(default_factory=set)  # synthetic records (fault f)
    # Not before this (epoch s): calls the service imports from CEL once ended 30 s ago.
    reconcile_after: float = 0.0
    corrupt_stamp: int = 0  # fault f's records
    herd: asyncio.subprocess.Process | None = None  # fault g's 2,000 sockets
    herd_epoch: str | None = None
    desks: dict[str, tuple[Desk, asyncio.Task[None]]] = field(default_factory=dict)  # fault h


Inject = Callable[[Run, Outcome], Awaitable[float]]
Hook = Callable[[Run, Outcome], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    title: str
    inject: Inject  # returns when the fault ended (epoch s)
    before: Hook | None = None  # before the floor is set up
    after: Hook | None = None  # once measured
    spare: bool = True  # an idle agent for the probe (else it waits for a floor agent)


async def open_records(url: str, since: float) -> int:
    """Interactions of calls that started in the scenario and still have no end."""
    db = Database(url)
    try:
        async with db.read() as session:
            count = await session.scalar(
                select(func.count(Interaction.id)).where(
                    Interaction.call_id.is_not(None),
                    Interaction.ended_at.is_(None),
                    Interaction.started_at >= dt.datetime.fromtimestamp(since, dt.UTC),
                )
            )
            return int(count or 0)
    finally:
        await db.dispose()


@dataclass(frozen=True)
class Record:
    """A scenario call's record as phase letters: q(ueued) o(ffered) a(nswered) e(nded)
    w(rapped up), '-' for a phase it lacks."""

    number: str
    role: str
    letters: str
    agent_id: int | None
    anomaly: str | None

    def __str__(self) -> str:
        extra = f" agent {self.agent_id}" if self.agent_id else ""
        extra += f" ANOMALY {self.anomaly[:60]}" if self.anomaly else ""
        return f"{self.role} {self.letters}{extra}"


async def call_records(url: str, since: float, roles: dict[str, str]) -> list[Record]:
    db = Database(url)
    try:
        async with db.read() as session:
            rows = await session.scalars(
                select(Interaction)
                .where(
                    Interaction.call_id.is_not(None),
                    Interaction.started_at >= dt.datetime.fromtimestamp(since, dt.UTC),
                )
                .order_by(Interaction.id)
            )
            records = []
            for row in rows:
                phases = zip(
                    "qoaew",
                    (row.queued_at, row.offered_at, row.answered_at, row.ended_at,
                     row.wrapup_ended_at),
                    strict=True,
                )  # fmt: skip
                letters = "".join(letter if at else "-" for letter, at in phases)
                number = row.caller_number or ""
                role = roles.get(number, "?")
                records.append(Record(number, role, letters, row.agent_id, row.anomaly))
            return records
    finally:
        await db.dispose()


def wrong_records(records: list[Record], answered_at_phone: set[str]) -> list[str]:
    """Records that tell another story than the phones: a call an agent's phone answered
    recorded unanswered (or the reverse), or a record in an impossible phase."""
    wrong = []
    for record in records:
        answered = "a" in record.letters
        if (record.number in answered_at_phone) != answered:
            said = "unanswered" if not answered else "answered"
            wrong.append(f"{record.role}: recorded {said}, unlike the agent's phone")
        elif "o" in record.letters and "q" not in record.letters:
            wrong.append(f"{record.role}: offered, never queued")
        elif answered and "o" not in record.letters:
            wrong.append(f"{record.role}: answered, never offered")
    return wrong


async def run_scenario(run: Run, name: str, scenario: Scenario) -> Outcome:
    outcome = Outcome(name, scenario.title)
    run.reconcile_after = 0.0
    since = time.time()
    print(f"\n== ({name}) {scenario.title}", flush=True)
    try:
        if scenario.before is not None:
            await scenario.before(run, outcome)
        run.floor.callers = []
        await run.floor.set_up(spare=scenario.spare)
        roles = sorted(c.role for c in run.floor.callers)
        outcome.notes.append(f"live at the fault: {', '.join(roles)}")
        fault_end = await scenario.inject(run, outcome)
        outcome.healthy_after = await run.lab.wait_healthy(180, since=fault_end)
        _, answered = await run.floor.probe()
        outcome.answered_after = answered - fault_end if answered else None
        await run.floor.settle()
    except Exception as exc:
        outcome.failed = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    finally:
        await finish(run, outcome, since, scenario)
    print(f"   {outcome.row()}", flush=True)
    for line in outcome.notes + outcome.findings:
        print(f"   {line}", flush=True)
    return outcome


async def finish(run: Run, outcome: Outcome, since: float, scenario: Scenario) -> None:
    """Measure, hang the phones up, log the agents out, and undo the scenario's own setup;
    each step whatever the one before did."""
    steps: list[Callable[[], Awaitable[None]]] = [
        lambda: measure(run, outcome, since),
        run.floor.stop_phones,
        run.floor.reset_agents,
    ]
    if scenario.after is not None:
        after = scenario.after
        steps.append(lambda: after(run, outcome))
    for step in steps:
        try:
            await step()
        except Exception as exc:
            outcome.notes.append(f"after the scenario: {exc!r}")
            traceback.print_exc()


async def measure(run: Run, outcome: Outcome, since: float) -> None:
    lab, floor = run.lab, run.floor
    for caller in floor.callers:
        if caller.result is None and caller.error is None:
            await caller.finish(5)
    try:
        outcome.live_after = await lab.live_channels()
    except Exception as exc:
        outcome.notes.append(f"channels: {exc!r}")
    states = await floor.safe_states()
    outcome.stuck = [f"{n} {s}" for n, s in states.items() if s not in ("ready", "logged_out")]
    if not states:
        outcome.stuck = ["states unknown (service down?)"]
    await asyncio.sleep(max(0.0, run.reconcile_after - time.time()))
    try:
        outcome.open_records = await open_records(lab.db_url, since)
    except Exception as exc:
        outcome.notes.append(f"open records: {exc!r}")
    result = await asyncio.to_thread(reconcile, lab, since, time.time(), ignore=run.ignore_calls)
    outcome.calls = result.calls
    outcome.problems = result.counts
    outcome.findings = result.lines
    outcome.dead_air = dead_air(run.sniff, floor.callers, since)
    failed = [f"{c.role}: {c.error}" for c in floor.callers if c.error]
    outcome.notes += [f"caller did not end: {f}" for f in failed]
    phases = sorted(outcome.dead_air.values(), key=lambda s: s.role)
    outcome.notes.append(
        "dead air by phase: " + ", ".join(f"{s.role} {s.seconds:.1f}" for s in phases)
    )
    if outcome.open_records:
        outcome.notes.append(f"records still open: {outcome.open_records}")
    try:
        roles = {c.number: c.role for c in floor.callers}
        records = await call_records(lab.db_url, since, roles)
        outcome.notes.append(
            "records (queued offered answered ended wrapped): " + "; ".join(map(str, records))
        )
        answered = {
            call.invite.from_user
            for phone in floor.phones.values()
            for call in phone.calls
            if call.confirmed_at is not None
        }
        outcome.wrong_records = wrong_records(records, answered)
        outcome.notes += [f"record wrong: {line}" for line in outcome.wrong_records]
    except Exception as exc:
        outcome.notes.append(f"records: {exc!r}")
    if outcome.failed:
        outcome.notes.append(f"scenario failed: {outcome.failed}")


# --- the faults ----------------------------------------------------------------------------------


async def no_fault(run: Run, outcome: Outcome) -> float:
    """The baseline: the same floor, nothing injected."""
    return time.time()


async def kill_service(run: Run, outcome: Outcome) -> float:
    """(a) SIGKILL, and a new process at once, as systemd's Restart=always does."""
    lab = run.lab
    lab.kill_service(signal.SIGKILL)
    killed = time.time()
    await lab.stop_service()  # reaps it
    await lab.start_service()
    return killed


async def ami_resets(run: Run, outcome: Outcome, times: int = 6) -> float:
    """(b) The AMI connection cut under the service, six times in a row, Asterisk up: each
    cut as soon as the service has logged in again (often in the middle of its resync)."""
    lab = run.lab
    proxy = lab.ami_proxy
    assert proxy is not None
    gaps = []
    for _ in range(times):
        before = proxy.connections
        cut_at = time.time()
        proxy.cut()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, body = await lab.health()
            if proxy.connections > before and body.get("ami") == "connected":
                break
            await asyncio.sleep(0.05)
        gaps.append(time.time() - cut_at)
    outcome.notes.append(
        f"{times} cuts; logged in again after " + ", ".join(f"{g:.1f}" for g in gaps) + " s"
    )
    return time.time()


async def restart_asterisk(run: Run, outcome: Outcome) -> float:
    """(c) ``callcenter asterisk down`` then ``up`` on the run's instance: every channel
    ends with it."""
    asterisk = run.lab.asterisk
    assert asterisk is not None
    began = time.time()
    await asyncio.to_thread(asterisk.down)
    await asyncio.to_thread(asterisk.up)
    outcome.notes.append(f"Asterisk down and up again in {time.time() - began:.1f} s")
    return time.time()


async def call_while_down(run: Run, outcome: Outcome) -> float:
    """(e) The service killed; a call arrives while it is down (the dialplan's pickup deadline
    gives it to the fallback: an apology, 1 for a call back), then the service is started."""
    lab, floor = run.lab, run.floor
    lab.kill_service(signal.SIGKILL)
    killed = time.time()
    await lab.stop_service()
    caller = await place_call(
        "fallback", floor.number(), [Wait(1.0), Keys("1"), Wait(1.5), Hangup()]
    )
    floor.callers.append(caller)
    await caller.finish(40)
    log = caller.result.log if caller.result else None
    if log is not None and log.answered_at is not None:
        outcome.notes.append(
            f"the call while down: answered by the fallback {log.answered_at - caller.started:.2f}"
            f" s after its INVITE (deadline {lab.settings.service_pickup_seconds} s)"
        )
    else:
        outcome.notes.append(f"the call while down was never answered: {caller.error}")
    outcome.notes.append(f"service down for {time.time() - killed:.1f} s")
    # The service imports calls it never saw once they ended 30 s ago, every 5 s here.
    ended = log.ended_at if log is not None and log.ended_at else time.time()
    run.reconcile_after = ended + 40
    restarted = time.time()
    await lab.start_service()
    return restarted
