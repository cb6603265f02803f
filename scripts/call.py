"""Place a test call into the running sandbox, pressing keys like a caller would, then say
where the call ended.

    sudo .venv/bin/python scripts/call.py 95555 --from +8613800138000 --keys "1 1 246813#"

Each group of keys in ``--keys`` (separated by spaces) is pressed after a pause, so that the
IVR has started the next prompt: "1 1 246813#" is Mandarin, 1 in the main menu (the balance),
then the demo PIN (a caller known by number types only the PIN; without it no figure is read).
"1 310100000001# 246813# 0" is Mandarin, an account number, the demo PIN, then an agent. The
call hangs up ``--hold`` seconds after the last key.

Then it reads the call's interaction record (the one the service wrote for this very call:
callcenter/persistence/call_lookup.py) and prints its IVR path, where it ended (the flow's last
node and outcome, the queue, the agent) and whether that is what the keys asked for
(callcenter/ivr/call_verdict.py). It exits 1 when it was not (after hours, a key the IVR did
not take, a queued call no agent answered) or when the service wrote no record (it was not
running: the call got the dialplan's fallback).

Needs root (sipp sends the keys' RTP through a raw socket) and a running
``sudo scripts/start`` (on another database, set ``CALLCENTER_DATABASE_URL`` as it has it).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.crm.phones import caller_e164
from callcenter.ivr.call_verdict import CallRecord, Verdict, groups_pressed, judge
from callcenter.ivr.registry import FlowRegistry
from callcenter.persistence.call_lookup import calls_between
from callcenter.persistence.db import Database
from callcenter.settings import Settings, load_settings
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Step, Wait

RECORD_WAIT = 15.0  # seconds for the service to finish the call's record after the hang-up


def script(groups: list[str], *, first: float, pause: float, hold: float) -> list[Step]:
    steps: list[Step] = [Wait(first)]
    for index, group in enumerate(groups):
        if index:
            steps.append(Wait(pause))
        steps.append(Keys(group))
    steps += [Wait(hold), Hangup()]
    return steps


async def find_record(
    settings: Settings, *, caller: str, called: str, since: float, until: float
) -> list[CallRecord]:
    """The call's record once complete: Asterisk created its channel between ``since`` and
    ``until``. Several when two calls from the number fell in the same seconds."""
    db = Database(settings.effective_database_url)
    deadline = time.monotonic() + RECORD_WAIT
    try:
        while True:
            found = await calls_between(
                db, caller=caller_e164(caller), called=called, since=since - 1, until=until + 1
            )
            if (found and all(ended for _, ended in found)) or time.monotonic() > deadline:
                return [record for record, _ in found]
            await asyncio.sleep(0.25)
    finally:
        await db.engine.dispose()


def report(record: CallRecord, verdict: Verdict) -> None:
    print(f"interaction {record.interaction_id}: {' > '.join(record.path) or '(no IVR path)'}")
    print(f"IVR outcome: {record.outcome or 'none'}")
    print(verdict.summary)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("number", help="the called number, e.g. 95555 (the hotline)")
    parser.add_argument("--from", dest="caller", default="+8613700000017", help="caller ID")
    parser.add_argument("--keys", default="", help='groups of keys, e.g. "1 1" or "2 0"')
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between groups")
    parser.add_argument("--hold", type=float, default=8.0, help="seconds after the last key")
    args = parser.parse_args()
    groups = args.keys.split()
    try:
        steps = script(groups, first=1.0, pause=args.pause, hold=args.hold)
    except ValueError as exc:
        parser.error(str(exc))
    settings = load_settings()
    caller = KeypadCaller(settings.sip_port, args.number, steps, caller=args.caller)
    since = time.time()
    await caller.start()
    result = await caller.wait()
    until = time.time()
    placed = "placed" if result.succeeded else "FAILED"
    print(f"call {placed}; keys sent: {result.keys_sent or 'none'}")
    if not result.succeeded:
        print(result.output, file=sys.stderr)
        return 1
    records = await find_record(
        settings, caller=args.caller, called=args.number, since=since, until=until
    )
    if not records:
        print(
            "NOT REACHED: the service wrote no record of this call: is `sudo scripts/start` "
            "running? (a call it does not pick up within "
            f"{settings.service_pickup_seconds} s gets the dialplan's fallback)"
        )
        return 1
    if len(records) > 1:
        ids = ", ".join(str(record.interaction_id) for record in records)
        print(f"NOT SURE: calls {ids} came from {args.caller} at the same time; which is this?")
        return 1
    [record] = records
    flows = FlowRegistry(settings.ivr_flows_dir, settings.ivr_default_flow).current
    flow = flows.for_number(args.number)
    verdict = judge(record, flow, groups_pressed(groups, len(result.keys)), flows.flows)
    report(record, verdict)
    return 0 if verdict.reached else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
