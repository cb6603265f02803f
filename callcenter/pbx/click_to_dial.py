"""Click-to-dial over AMI: ``Originate`` rings the agent's own phone; once they answer,
the ``call-control-outbound`` context dials the number (``CC_DIAL``). The call id is ours,
given to Asterisk as the agent's channel's uniqueid (``ChannelId``), so its events can be
waited for before the Originate is even answered.

Which phase the call is in comes from Asterisk's events on that channel:
``OriginateResponse`` (did the agent's phone answer), ``DialEnd`` (did the dialled party),
``Hangup`` (the end).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from callcenter.asterisk.client import AmiClient
from callcenter.asterisk.errors import AmiError
from callcenter.asterisk.protocol import Message
from callcenter.pbx.call_states import PbxUnavailable

log = logging.getLogger(__name__)

OUTBOUND_CONTEXT = "call-control-outbound"
ORIGINATE_RING_MS = 30_000  # the agent's own phone rings this long
WAITED_FOR = ("OriginateResponse", "DialEnd", "Hangup")

Phase = Callable[[int, str, dt.datetime], Awaitable[None]]


async def originate(
    ami: AmiClient,
    extension: str,
    number: str,
    target: str,
    call_id: str,
    *,
    recording: str | None = None,
) -> dict[str, asyncio.Future[Message]]:
    """Ring the agent's phone at ``extension``, to dial ``target`` once answered; the waits
    for the call's events, registered before the Originate is sent. PbxUnavailable when the
    PBX does not take it. ``recording``: the file Asterisk records the call into (the
    dialplan's ``CC_RECORDING``), None: not recorded."""
    variables = f"CC_DIAL={target}"
    if recording is not None:
        variables += f",CC_RECORDING={recording}"  # AMI splits Variable on commas
    waits = {name: ami.expect_event(name, "Uniqueid", call_id) for name in WAITED_FOR}
    try:
        await ami.action(
            "Originate",
            {
                "Channel": f"PJSIP/{extension}",
                "Context": OUTBOUND_CONTEXT,
                "Exten": "dial",
                "Priority": "1",
                "Timeout": str(ORIGINATE_RING_MS),
                "CallerID": f'"{number}" <{number}>',  # what the agent's phone shows
                "Variable": variables,
                "ChannelId": call_id,
                "Async": "true",
            },
        )
    except AmiError as exc:
        for wait in waits.values():
            wait.cancel()
        raise PbxUnavailable(f"the PBX did not take the call: {exc}") from exc
    return waits


async def follow_outbound(
    interaction_id: int,
    waits: dict[str, asyncio.Future[Message]],
    phase: Phase,
    wallclock: Callable[[], dt.datetime],
) -> None:
    """Answered when the dialled party answers; ended when the agent's leg hangs up (or the
    agent's phone never answered)."""
    try:
        response = await waits["OriginateResponse"]
        if response.get("Response") == "Success":
            await first_of(waits["DialEnd"], waits["Hangup"])
            dial_end = waits["DialEnd"]
            if dial_end.done() and dial_end.result().get("DialStatus") == "ANSWER":
                await phase(interaction_id, "answered", wallclock())
            await waits["Hangup"]
    except AmiError as exc:
        log.warning("click-to-dial %s: lost track: %s", interaction_id, exc)
    finally:
        for wait in waits.values():
            wait.cancel()
        await phase(interaction_id, "ended", wallclock())


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
