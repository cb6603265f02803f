"""What a hotline call the service never saw is recorded as: its interaction, from Asterisk's
own record (callcenter/pbx/cel.py). Pure.

Such a call either reached the dialplan's fallback (the service was down, restarting, or gave
the call up), or its caller hung up before the pickup deadline, while nobody picked it up.

How it counts (docs/metrics.md 4.2, callcenter/crm/counting.py), with no rule of its own:

- A call the fallback took is **offered** to the queue ``fallback`` when the fallback took it
  (``queued_at``): the center-wide figures count it, and the queue rows show it apart. It is
  **answered** when the fallback connected the caller to someone (queue or transfer mode); it
  went **to_ivr** when the caller asked for a call back (its path ends
  ``overflow:fallback=closed``, the queue's rule for "a callback instead"); otherwise it was
  **abandoned**: the caller heard the apology and hung up, or gave up ringing.
- A call whose caller hung up within the pickup deadline never reached a queue: it counts for
  the IVR only, ``abandoned_in_ivr``, as a caller who hangs up in the greeting does.

Its path says what happened: ``fallback:<mode>``, ``callback:<zh|en>``, or ``no-pickup``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Final

from callcenter.crm.counting import OVERFLOW_PREFIX
from callcenter.crm.phones import caller_e164
from callcenter.ivr.commands import OutcomeKind
from callcenter.pbx.cel import HotlineCall

FALLBACK_QUEUE: Final = "fallback"
FALLBACK_PREFIX: Final = "fallback:"
CALLBACK_PREFIX: Final = "callback:"
NO_PICKUP: Final = "no-pickup"
# The queue's rule for "sent back to a callback instead" (counting.IVR_OVERFLOW_REASONS).
TO_CALLBACK: Final = f"{OVERFLOW_PREFIX}{FALLBACK_QUEUE}=closed"
CALLBACK_LANGUAGES: Final = frozenset({"zh", "en"})


@dataclass(frozen=True, slots=True)
class UnseenCall:
    """The interaction of a call the service never saw."""

    call_id: str
    asterisk_linkedid: str
    caller_number: str | None  # E.164, or None when withheld or not a number
    called_number: str | None
    started_at: dt.datetime
    ended_at: dt.datetime
    queue: str | None = None
    queued_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    ivr_outcome: str | None = OutcomeKind.ABANDONED_IN_IVR.value
    ivr_path: tuple[str, ...] = (NO_PICKUP,)
    # The caller asked for a call back to caller_number, in this language, at callback_at.
    callback_language: str | None = None
    callback_at: dt.datetime | None = None


def unseen_call(call: HotlineCall) -> UnseenCall:
    """The record of an ended call (``call.ended_at`` set) that has no interaction."""
    assert call.ended_at is not None, "only an ended call is recorded"
    caller = caller_e164(call.caller) if call.caller else None
    never_picked_up = UnseenCall(
        call_id=call.call_id,
        asterisk_linkedid=call.asterisk_linkedid,
        caller_number=caller,
        called_number=call.called or None,
        started_at=call.started_at,
        ended_at=call.ended_at,
    )
    if call.fallback is None:
        return never_picked_up
    path = [f"{FALLBACK_PREFIX}{call.fallback}"]
    language = call.callback_language if call.callback_language in CALLBACK_LANGUAGES else None
    if caller is None:
        language = None  # no number to call back (the dialplan does not offer it then)
    if language is not None:
        path.append(f"{CALLBACK_PREFIX}{language}")
        if call.connected_at is None:
            path.append(TO_CALLBACK)
    return replace(
        never_picked_up,
        queue=FALLBACK_QUEUE,
        queued_at=call.fallback_at,
        answered_at=call.connected_at,
        ivr_outcome=None,
        ivr_path=tuple(path),
        callback_language=language,
        callback_at=call.callback_at if language is not None else None,
    )
