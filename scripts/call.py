"""Place a test call into the running sandbox, pressing keys like a caller would.

    sudo .venv/bin/python scripts/call.py 95555 --from +8613800138000 --keys "1 1 246813#"

Each group of keys in ``--keys`` (separated by spaces) is pressed after a pause, so that the
IVR has started the next prompt: "1 1 246813#" is Mandarin, 1 in the main menu (the balance),
then the demo PIN (a caller known by number types only the PIN; without it no figure is read).
"2 310100000001# 246813# 0" is English, an account number, the demo PIN, then an agent. The
call hangs up ``--hold`` seconds after the last key. The call's record then shows in
``GET /api/interactions`` (see README).

Needs root (sipp sends the keys' RTP through a raw socket) and a running
``sudo scripts/start``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.settings import load_settings
from tests.support.dtmf import Hangup, KeypadCaller, Keys, Step, Wait


def script(groups: list[str], *, first: float, pause: float, hold: float) -> list[Step]:
    steps: list[Step] = [Wait(first)]
    for index, group in enumerate(groups):
        if index:
            steps.append(Wait(pause))
        steps.append(Keys(group))
    steps += [Wait(hold), Hangup()]
    return steps


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("number", help="the called number, e.g. 95555 (the hotline)")
    parser.add_argument("--from", dest="caller", default="+8613700000017", help="caller ID")
    parser.add_argument("--keys", default="", help='groups of keys, e.g. "1 1" or "2 0"')
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between groups")
    parser.add_argument("--hold", type=float, default=8.0, help="seconds after the last key")
    args = parser.parse_args()
    try:
        steps = script(args.keys.split(), first=1.0, pause=args.pause, hold=args.hold)
    except ValueError as exc:
        parser.error(str(exc))
    settings = load_settings()
    caller = KeypadCaller(settings.sip_port, args.number, steps, caller=args.caller)
    await caller.start()
    result = await caller.wait()
    keys = result.keys_sent or "none"
    print(f"call {'ended cleanly' if result.succeeded else 'FAILED'}; keys sent: {keys}")
    if not result.succeeded:
        print(result.output, file=sys.stderr)
    return 0 if result.succeeded else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
