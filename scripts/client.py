"""Be the clients' phones behind the carrier trunk: every number the center dials out on the
trunk rings here, so that a callback, a return visit or a care call reaches someone.

    sudo .venv/bin/python scripts/client.py                    # answers every call after 2 s
    sudo .venv/bin/python scripts/client.py --talk 20          # and hangs up 20 s later
    sudo .venv/bin/python scripts/client.py --mode busy        # or: no-answer, not-found, reject

``sudo scripts/start`` points the demo's trunk here (``CALLCENTER_OUTBOUND_TRUNK`` is
``127.0.0.1:5070`` unless you set it), so whatever number an agent dials that is not an
extension arrives at this one listener, whoever's number it is. For each call it prints the
number dialled and the caller ID the client's phone shows (the hotline's number, never the
agent's), then answers after ``--answer-after`` seconds and sends a 400 Hz tone (the agent
hears it), and when the call ends prints who ended it. ``--mode`` gives the other outcomes a
dialler must handle: ``busy`` (486), ``no-answer`` (it rings until the center gives up),
``not-found`` (404: a wrong number) and ``reject`` (603). Ctrl-C stops it.

The phone is the test suite's (tests/support/sip_client.py): sipp as a SIP UAS on loopback,
answering with PCMU audio, nothing faked. Run it as root beside ``sudo scripts/start``, like
scripts/call.py and scripts/phone.py.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.sip_client import TONE_HZ, ClientCall, ClientMode, SipClient

PORT = 5070  # where scripts/start's demo trunk sends the center's outbound calls
LOOK_SECONDS = 0.1  # how often sipp's message trace is read for news
MODES: dict[str, ClientMode] = {
    "answer": "answer",
    "busy": "busy",
    "no-answer": "ring_no_answer",
    "not-found": "not_found",
    "reject": "reject",
}
REFUSED = {486: "busy (486 Busy Here)", 404: "not found (404)", 603: "rejected (603 Decline)"}


def shown(call: ClientCall) -> str:
    """The caller ID as the client's phone shows it: the From user, with its name if any."""
    invite = call.invite
    name = f' "{invite.display}"' if invite.display and invite.display != invite.caller_id else ""
    return f"{invite.caller_id}{name}"


def ended_how(call: ClientCall) -> str:
    if call.ending == "far_end_hung_up":
        return "the center hung up"
    if call.ending == "client_hung_up":
        return "this phone hung up"
    if call.ending == "far_end_gave_up":
        return "the center gave up while it rang (no answer)"
    return REFUSED.get(call.refused_with or 0, f"refused ({call.refused_with})")


async def follow(client: SipClient, calls: int | None) -> None:
    """Print each call as it rings, is answered and ends; return once ``calls`` calls ended.
    Calls may overlap: each is told by its own Call-ID."""
    said: dict[str, set[str]] = {}
    while True:
        seen = client.calls
        for number, call in enumerate(seen, start=1):
            told = said.setdefault(call.invite.call_id, set())
            if "ringing" not in told:
                told.add("ringing")
                print(
                    f"call {number}: {call.invite.dialled} dialled, the phone shows {shown(call)}",
                    flush=True,
                )
            if call.answered and "answered" not in told:
                told.add("answered")
                print(f"call {number}: answered, sending a {TONE_HZ} Hz tone", flush=True)
            if call.ending is not None and "ended" not in told:
                told.add("ended")
                print(f"call {number}: ended: {ended_how(call)}", flush=True)
        ended = sum(1 for call in seen if call.ending is not None)
        if calls is not None and ended >= calls:
            return
        await asyncio.sleep(LOOK_SECONDS)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=PORT, help="the UDP port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument(
        "--mode", choices=sorted(MODES), default="answer", help="what every call gets"
    )
    parser.add_argument(
        "--answer-after", type=float, default=2.0, help="seconds it rings before answering"
    )
    parser.add_argument(
        "--talk", type=float, default=None, help="hang up this long after answering"
    )
    parser.add_argument("--calls", type=int, default=None, help="stop after this many calls")
    args = parser.parse_args()
    client = SipClient(
        args.port,
        MODES[args.mode],
        hang_up_after=args.talk,
        answer_after=args.answer_after,
        host=args.host,
    )
    try:
        await client.start()
    except (OSError, RuntimeError) as exc:  # no sipp, or the port is taken
        print(f"not listening on {client.address}: {exc}", file=sys.stderr)
        return 1
    what = f"answering after {args.answer_after:g} s" if args.mode == "answer" else args.mode
    print(
        f"the clients' phones listen on {client.address} ({what}); the center's trunk "
        "calls arrive here; Ctrl-C stops",
        flush=True,
    )
    try:
        await follow(client, args.calls)
    finally:
        await client.stop()
        print(f"stopped listening on {client.address}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(130)
