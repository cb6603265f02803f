"""Be an agent's phone: register with the running sandbox as an extension, ring, answer with
a tone, and hang up, so that a call put through to an agent rings something.

    sudo .venv/bin/python scripts/phone.py 1001              # agent01's phone
    sudo .venv/bin/python scripts/phone.py 1001 --talk 20    # hang up 20 s after answering

It registers as the extension with that person's own secret (issue 19): the one the desk
shows (``GET /api/me/phone``, ``desk.password``) given in ``CALLCENTER_PHONE_PASSWORD``, or,
when that is not set, read from the service's own database with its key (the settings'
database and secret key: this machine's service; the script runs as root beside it). The
sandbox's SIP port is ``CALLCENTER_SIP_PORT``. It says when it registered; then for each
call it prints the caller as the phone's screen shows it (the service sets the client's name
before it dials), answers after ``--answer-after`` seconds, sends a 440 Hz
tone (a real phone streams audio all the time; you hear it on a monitoring supervisor's
phone), and when the call ends prints who hung up and the RTP it sent and received. It hangs
up ``--talk`` seconds after answering, or stays until the caller hangs up. Then the agent
wraps up on the desk. Ctrl-C unregisters (the service takes a ready agent whose phone goes
out of ready: not ready, "no phone").

The phone is the test suite's (tests/support/agent_phone.py): plain SIP over UDP with digest
authentication and PCMU audio, nothing faked. Run it as root beside ``sudo scripts/start``,
like scripts/call.py.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.settings import load_settings
from tests.support.agent_phone import AgentPhone, Answer, PhoneCall, PhoneRegistrationFailed

RATE = 8000  # samples a second (PCMU)
PACKET = 160  # samples in 20 ms
TONE_HZ = 440  # a whole number of cycles a second: one second of samples loops seamlessly
LEVEL = 0.25  # of full scale: clearly audible, never clipped
FOREVER = 365 * 86400.0  # seconds: no time limit on waiting for a call


def mulaw(sample: int) -> int:
    """One 16-bit linear sample as G.711 mu-law (ITU-T G.711, the bias-and-segment form)."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), clip) + bias
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def tone(hz: int = TONE_HZ, level: float = LEVEL) -> list[bytes]:
    """One second of a sine as 50 PCMU packets of 20 ms, to send in a loop."""
    samples = [
        mulaw(round(level * 32767 * math.sin(2 * math.pi * hz * n / RATE))) for n in range(RATE)
    ]
    return [bytes(samples[i : i + PACKET]) for i in range(0, RATE, PACKET)]


def ended_how(call: PhoneCall) -> str:
    if call.cancelled:
        return "the caller gave up while it rang"
    if call.bye_received:
        return "the other side hung up"
    if call.hung_up_by_phone:
        return "this phone hung up"
    return "refused"


async def follow(phone: AgentPhone, calls: int | None) -> None:
    """Print each call as it rings, is answered and ends; return after ``calls`` calls."""
    seen = 0
    while calls is None or seen < calls:
        invite = await phone.wait_invite(seen + 1, timeout=FOREVER)
        seen += 1
        name = f'"{invite.from_display}" ' if invite.from_display else ""
        print(f"ringing: {name}<{invite.from_user}>", flush=True)
        await one_call(phone, phone.calls[seen - 1])


async def one_call(phone: AgentPhone, call: PhoneCall) -> None:
    await phone.wait_until(lambda: call.answered or call.ended, FOREVER, "an answer")
    if call.answered:
        await phone.wait_until(lambda: call.up or call.ended, 10.0, "the ACK")
        print("answered: sending a 440 Hz tone", flush=True)
    await phone.wait_until(lambda: call.ended, FOREVER, "the end of the call")
    talked = ""
    if call.answered_at is not None:
        end = call.bye_received_at or call.hung_up_at or time.time()
        talked = f" after {end - call.answered_at:.1f} s"
    print(
        f"ended{talked}: {ended_how(call)}; RTP sent {call.rtp_sent} packets, "
        f"received {call.rtp_received}",
        flush=True,
    )
    if call.answered:
        print("now wrap up the call on the desk", flush=True)


async def own_secret(extension: str) -> str | None:
    """The person's own secret for ``extension``, from the service's database (None: none)."""
    from callcenter.pbx.phone_credentials import PhoneCredentials
    from callcenter.persistence.db import Database
    from callcenter.persistence.phone_secrets import SqlPhoneSecrets
    from callcenter.secretbox import box_for

    settings = load_settings()
    db = Database(settings.effective_database_url)
    try:
        lines = await PhoneCredentials(SqlPhoneSecrets(db), box_for(settings), None).lines()
    finally:
        await db.dispose()
    return next((line.secret for line in lines if line.extension == extension), None)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("extension", help="the phone to be, e.g. 1001 (agent01)")
    parser.add_argument(
        "--answer-after", type=float, default=3.0, help="seconds it rings before answering"
    )
    parser.add_argument(
        "--talk", type=float, default=None, help="hang up this long after answering"
    )
    parser.add_argument("--calls", type=int, default=None, help="stop after this many calls")
    parser.add_argument("--host", default=None, help="the PBX's SIP address (settings)")
    args = parser.parse_args()
    settings = load_settings()
    password = os.environ.get("CALLCENTER_PHONE_PASSWORD") or await own_secret(args.extension)
    if not password:
        print(
            f"no secret for {args.extension}: start the service once (it makes everyone's), "
            "or set CALLCENTER_PHONE_PASSWORD to the one the desk shows",
            file=sys.stderr,
        )
        return 1
    packets = tone()
    phone = AgentPhone(
        settings.sip_port,
        args.extension,
        password=password,
        behaviour=Answer(after=args.answer_after, hang_up_after=args.talk),
        host=args.host or settings.sip_bind,
        audio=lambda n: packets[n % len(packets)],
    )
    try:
        await phone.start()
    except PhoneRegistrationFailed as exc:
        print(f"not registered: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"not registered: no PBX at {phone.host}:{phone.sip_port} ({exc})", file=sys.stderr)
        return 1
    print(
        f"registered as {args.extension} ({phone.contact_uri}); waiting for calls, "
        "Ctrl-C unregisters",
        flush=True,
    )
    try:
        await follow(phone, args.calls)
    finally:
        await phone.stop()  # hangs up a call still up, then REGISTER with Expires: 0
        print(f"unregistered {args.extension}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(130)
