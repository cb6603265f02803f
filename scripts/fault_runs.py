"""Issue 14, "Show it works": inject each fault into a running contact center with calls live
in the IVR, waiting, ringing, bridged and in wrap-up, and measure what it cost.

A script run on purpose, never in CI. It builds its own world (scripts/faults/lab.py): the
sandbox Asterisk instance ``faults`` on its own ports, a demo database of its own on the local
PostgreSQL (``faults_<pid>``, dropped at the end) reached through a TCP proxy it can cut,
SQLite on a small tmpfs it can fill, a TCP proxy in front of AMI, and ``callcenter serve`` as
a real subprocess. Everything is undone at the end, on failure too.

Run as root, holding the lock the test suite's Asterisk takes, so neither fights the other
for the CPU:

    flock /tmp/asterisk-tests.lock .venv/bin/python scripts/fault_runs.py [--only 0,a,e]

Prints one table row per fault and writes the figures to var/faults/<time>/results.json.
The faults: docs/operations.md, "Fault runs (issue 14)".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.settings import PROJECT_ROOT
from scripts.faults import data_faults, scenarios, ws_faults
from scripts.faults.floor import Floor, prepare_database
from scripts.faults.lab import RTP_END, RTP_START, Lab
from scripts.faults.measure import table
from scripts.faults.scenarios import Run, Scenario, run_scenario

SNIFFER = Path(__file__).resolve().parent / "faults" / "rtp_sniff.py"

SCENARIOS = {
    "0": Scenario("baseline: the same floor, no fault", scenarios.no_fault),
    "a": Scenario("service killed (SIGKILL) and restarted", scenarios.kill_service),
    "b": Scenario("AMI connection reset six times in a row, Asterisk up", scenarios.ami_resets),
    "c": Scenario("Asterisk restarted (down, then up)", scenarios.restart_asterisk),
    "d-pg": Scenario("PostgreSQL unreachable for 30 s", data_faults.postgres_away),
    "d-sqlite": Scenario(
        "SQLite on a full filesystem for 30 s",
        data_faults.sqlite_disk_full,
        before=data_faults.to_sqlite,
        after=data_faults.to_postgres,
    ),
    "e": Scenario("a call arrives while the service is down", scenarios.call_while_down),
    "f": Scenario(
        "records in impossible phases, then a start",
        data_faults.corrupt_records,
        after=data_faults.corrupt_check,
    ),
    "g": Scenario(
        "2,000 websocket clients reconnect at once (service killed and restarted)",
        ws_faults.herd_crash,
        before=ws_faults.open_herd,
        after=ws_faults.close_herd,
    ),
    "h": Scenario(
        "a restart (SIGTERM) between two pops of one desk",
        ws_faults.restart_between_pops,
        before=ws_faults.open_desks,
        after=ws_faults.check_pops,
        spare=False,
    ),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated faults to run, in order (default: all: {','.join(SCENARIOS)})",
    )
    args = parser.parse_args()
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.only if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown faults {unknown}; there are {list(SCENARIOS)}")
    return args


async def main(names: list[str]) -> int:
    # SIGTERM (a timeout, an impatient operator) cancels the run like Ctrl-C: the cleanup runs.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    if os.geteuid() != 0:
        print("the Asterisk sandbox, the tmpfs and the packet capture need root", file=sys.stderr)
        return 2
    stamp = time.strftime("%Y%m%d-%H%M%S")
    workdir = PROJECT_ROOT / "var" / "faults" / stamp
    lab = Lab(workdir)
    sniffer: subprocess.Popen[bytes] | None = None
    outcomes = []
    began = time.monotonic()
    # Asterisk, sipp and the service inherit the limit: 2,000 websockets need the descriptors.
    with contextlib.suppress(ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
    try:
        print(f"setting up in {workdir} ...", flush=True)
        await lab.open()
        sniff = workdir / "rtp.txt"
        sniffer = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, str(SNIFFER), str(RTP_START), str(RTP_END), str(sniff)],
        )
        numbers = await prepare_database(lab.pg_url_direct)
        await lab.start_service()
        floor = await Floor.log_in_everyone(lab, numbers)
        run = Run(lab, floor, sniff)
        for name in names:
            outcomes.append(await run_scenario(run, name, SCENARIOS[name]))
    finally:
        if sniffer is not None:
            sniffer.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                sniffer.wait(5)
            if sniffer.poll() is None:
                sniffer.kill()
        await lab.close()
    took = time.monotonic() - began
    print(f"\nFault runs, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {took:.0f} s\n")
    print(table([o.row() for o in outcomes]))
    for outcome in outcomes:
        print(f"\n({outcome.name}) {outcome.title}")
        for line in outcome.notes + outcome.findings:
            print(f"  {line}")
    results = workdir / "results.json"
    results.write_text(json.dumps([asdict(o) for o in outcomes], indent=2, default=str))
    print(f"\nfigures: {results}")
    return 0 if all(o.failed is None for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args().only)))
