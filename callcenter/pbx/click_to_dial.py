"""Click-to-dial over AMI: ``Originate`` rings the agent's own phone; once they answer,
the ``call-control-outbound`` context dials the number (``CC_DIAL``). The call id is ours,
given to Asterisk as the agent's channel's uniqueid (``ChannelId``), so its events can be
waited for before the Originate is even answered.

Which phase the call is in comes from Asterisk's events on that channel:
``OriginateResponse`` (did the agent's phone answer), ``DialEnd`` (did the dialled party),
``Hangup`` (the end). How the attempt ended (callcenter/acd/dial_outcome.py) also needs the
dialled channel's ``Hangup`` ``Cause``: see :data:`DIALLED_HANGUP`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from callcenter.acd.dial_outcome import DialOutcome, dial_outcome, parse_cause
from callcenter.asterisk.client import AmiClient
from callcenter.asterisk.errors import AmiError
from callcenter.asterisk.protocol import Message
from callcenter.pbx.call_states import PbxUnavailable

log = logging.getLogger(__name__)

OUTBOUND_CONTEXT = "call-control-outbound"
ORIGINATE_RING_MS = 30_000  # the agent's own phone rings this long
WAITED_FOR = ("OriginateResponse", "DialEnd", "Hangup")
# The Hangup of the dialled channel: a channel of the call (matched on Linkedid: the dialled
# channel inherits the agent's channel's linkedid, our call id, from the Dial that requested
# it) that is not the agent's own (whose Uniqueid is the call id). Its uniqueid is Asterisk's
# own, known only from DialBegin, and waiting for it from there would race: a 404 ends the
# dialled channel a millisecond after DialBegin, often in the same read from the AMI socket,
# before a wait registered on DialBegin could exist. Matched on the linkedid, the wait exists
# before the Originate is sent. Dial hangs up the dialled channel itself right after
# publishing DialEnd, but under load Asterisk may report the agent's channel's Hangup first:
# the condition lets that one pass by (a fresh-clone run once read "no cause" from it).
DIALLED_HANGUP = "DialledHangup"
# How long the dialled channel's Hangup may trail the agent's own before its cause is
# given up as unknown (it normally comes within milliseconds; the AMI link never drops it).
DIALLED_HANGUP_GRACE_SECONDS = 5.0

Phase = Callable[[int, str, dt.datetime], Awaitable[None]]


async def originate(
    ami: AmiClient,
    extension: str,
    number: str,
    target: str,
    call_id: str,
    *,
    ring_seconds: int,
    caller_id: str | None = None,
    recording: str | None = None,
    endpoint: str | None = None,
) -> dict[str, asyncio.Future[Message]]:
    """Ring the agent's phone at ``extension``, to dial ``target`` once answered; the waits
    for the call's events, registered before the Originate is sent. PbxUnavailable when the
    PBX does not take it. ``ring_seconds``: how long the dialled phone rings (the dialplan's
    ``CC_RING_SECONDS``). ``caller_id``: the number the dialled party is shown
    (``CC_CALLER_ID``), None: the agent's channel's own, as Dial passes it on.
    ``recording``: the file Asterisk records the call into (the dialplan's
    ``CC_RECORDING``), None: not recorded. ``endpoint``: which of the agent's lines rings
    (``<ext>`` or ``<ext>-web``: PhoneRegistrations.line_for), None: the desk phone's."""
    # AMI splits Variable on commas: no value here may hold one (digits, a dial string, a
    # path the service named).
    variables = [f"CC_DIAL={target}", f"CC_RING_SECONDS={ring_seconds}"]
    if caller_id is not None:
        variables.append(f"CC_CALLER_ID={caller_id}")
    if recording is not None:
        variables.append(f"CC_RECORDING={recording}")
    waits = {name: ami.expect_event(name, "Uniqueid", call_id) for name in WAITED_FOR}
    waits[DIALLED_HANGUP] = ami.expect_event(
        "Hangup", "Linkedid", call_id, where=lambda hangup: hangup.get("Uniqueid") != call_id
    )
    try:
        await ami.action(
            "Originate",
            {
                "Channel": f"PJSIP/{endpoint or extension}",
                "Context": OUTBOUND_CONTEXT,
                "Exten": "dial",
                "Priority": "1",
                "Timeout": str(ORIGINATE_RING_MS),
                "CallerID": f'"{number}" <{number}>',  # what the agent's phone shows
                "Variable": ",".join(variables),
                "ChannelId": call_id,
                "Async": "true",
            },
        )
    except AmiError as exc:
        for wait in waits.values():
            wait.cancel()
        raise PbxUnavailable(f"the PBX did not take the call: {exc}") from exc
    return waits


@dataclass(frozen=True)
class OutboundEnd:
    """How a click-to-dial attempt ended, and when it was answered and ended."""

    outcome: DialOutcome
    answered_at: dt.datetime | None
    ended_at: dt.datetime


async def follow_outbound(
    interaction_id: int,
    call_id: str,
    waits: dict[str, asyncio.Future[Message]],
    phase: Phase,
    wallclock: Callable[[], dt.datetime],
) -> OutboundEnd:
    """Answered when the dialled party answers; ended when the agent's leg hangs up (or the
    agent's phone never answered). The outcome is read from the same events."""
    originate_answered = False
    dial_status: str | None = None
    dialled_cause: int | None = None
    answered_at: dt.datetime | None = None
    lost = False
    try:
        response = await waits["OriginateResponse"]
        # Response: Success once the agent's phone answered; Failure when it rang out, was
        # busy or could not be reached (Reason says which; all are the agent's no answer).
        originate_answered = response.get("Response") == "Success"
        if originate_answered:
            await first_of(waits["DialEnd"], waits["Hangup"])
            dial_end = waits["DialEnd"]
            if dial_end.done():
                dial_status = dial_end.result().get("DialStatus")
                if dial_status == "ANSWER":
                    answered_at = wallclock()
                    await phase(interaction_id, "answered", answered_at)
                else:
                    dialled_cause = await _cause_of_dialled(waits)
            await waits["Hangup"]
    except AmiError as exc:
        lost = True
        log.warning("click-to-dial %s: lost track: %s", interaction_id, exc)
    finally:
        for wait in waits.values():
            wait.cancel()
        ended_at = wallclock()
        await phase(interaction_id, "ended", ended_at)
    if lost:  # what the PBX did after the link dropped is unknown: only an answer is sure
        outcome = DialOutcome.ANSWERED if answered_at is not None else DialOutcome.FAILED
    else:
        outcome = dial_outcome(
            originate_answered=originate_answered,
            dial_status=dial_status,
            dialled_cause=dialled_cause,
        )
    return OutboundEnd(outcome, answered_at, ended_at)


async def _cause_of_dialled(waits: dict[str, asyncio.Future[Message]]) -> int | None:
    """The Q.850 cause the dialled channel ended with; None when its Hangup did not come
    within :data:`DIALLED_HANGUP_GRACE_SECONDS` of the agent's own (see
    :data:`DIALLED_HANGUP`)."""
    dialled = waits[DIALLED_HANGUP]
    await first_of(dialled, waits["Hangup"])
    if not dialled.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(dialled), DIALLED_HANGUP_GRACE_SECONDS)
    if not dialled.done() or dialled.cancelled():
        return None
    return parse_cause(dialled.result().get("Cause"))


async def first_of(*waits: Awaitable[object]) -> None:
    """Return once the first of ``waits`` is done. Coroutines still running are cancelled;
    futures handed in are left alone (their owner waits on them later)."""
    futures = [asyncio.ensure_future(wait) for wait in waits]
    started = [f for f, wait in zip(futures, waits, strict=True) if f is not wait]
    try:
        await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in started:
            task.cancel()
