"""How an outbound attempt ended, as the dialler counts it (issue 18): a closed vocabulary and
the pure rule that reads it from what the PBX reported. No clock, no IO, no Asterisk import:
the PBX adapter (callcenter/pbx/click_to_dial.py) hands in the fields of Asterisk's events as
plain values, and the same table can be driven from a test.

The facts read, each from one AMI event of the attempt:

* did the agent's own phone answer the service's ``Originate`` (``OriginateResponse``'s
  ``Response``: ``Success`` or ``Failure``);
* how the ``Dial`` to the client ended (``DialEnd``'s ``DialStatus``, on the agent's channel;
  None when no ``DialEnd`` came: the Dial never placed the call);
* the dialled channel's ``Hangup`` ``Cause`` (a Q.850 cause code, Asterisk's causes.h; None
  when unknown).

Why the cause as well as the status: Asterisk reports one and the same ``DialStatus`` for an
unanswered call and for a number that does not exist. A SIP 404 ends the dialled channel with
cause 1 (unallocated number, res_pjsip's sip2cause), and ``DialEnd`` turns a cause it has no
word for into ``NOANSWER`` (main/dial.c, ast_hangup_cause_to_dial_status), while the dialplan's
``DIALSTATUS`` of the very same Dial says ``CHANUNAVAIL`` (app_dial's handle_cause). Only the
cause tells "no answer" from "wrong number".
"""

from __future__ import annotations

from enum import StrEnum


class DialOutcome(StrEnum):
    AGENT_NO_ANSWER = "agent_no_answer"  # the agent's own phone never answered the Originate
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"  # rang out (the ring time) or the carrier said no answer
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"  # no such number (SIP 404, 410, 484, 604)
    FAILED = "failed"  # congestion, unavailable, refused, anything else
    CANCELLED = "cancelled"  # the agent hung up before the client answered


# Q.850 causes (Asterisk's causes.h) that say the number itself is wrong: 1 unallocated
# (SIP 404 and 604), 22 number changed (SIP 410), 28 invalid number format (SIP 484).
WRONG_NUMBER_CAUSES = frozenset({1, 22, 28})
# Causes of a call that simply was not answered: 16 normal clearing (Dial gave up after the
# ring time and hung the client's leg up), 18 no user responding (SIP 408), 19 no answer
# (SIP 480), 0 none given.
NO_ANSWER_CAUSES = frozenset({0, 16, 18, 19})
BUSY_CAUSE = 17  # user busy (SIP 486, 600)

# DialEnd's DialStatus (app_dial's documented DIALSTATUS values) read at once; NOANSWER and
# CHANUNAVAIL need the dialled channel's cause (see the module's docstring).
_BY_STATUS = {
    "ANSWER": DialOutcome.ANSWERED,
    "BUSY": DialOutcome.BUSY,
    "CANCEL": DialOutcome.CANCELLED,
    "CONGESTION": DialOutcome.FAILED,
    "DONTCALL": DialOutcome.FAILED,
    "TORTURE": DialOutcome.FAILED,
    "INVALIDARGS": DialOutcome.FAILED,
}


def dial_outcome(
    *, originate_answered: bool, dial_status: str | None, dialled_cause: int | None
) -> DialOutcome:
    """The outcome of one click-to-dial attempt from its events' fields (see the module)."""
    if not originate_answered:
        return DialOutcome.AGENT_NO_ANSWER
    if dial_status is None:
        return DialOutcome.FAILED  # the agent answered, but the Dial never placed the call
    status = dial_status.strip().upper()
    known = _BY_STATUS.get(status)
    if known is not None:
        return known
    if dialled_cause in WRONG_NUMBER_CAUSES:
        return DialOutcome.WRONG_NUMBER
    if dialled_cause == BUSY_CAUSE:
        return DialOutcome.BUSY
    if status == "NOANSWER" and (dialled_cause is None or dialled_cause in NO_ANSWER_CAUSES):
        return DialOutcome.NO_ANSWER
    # NOANSWER with another cause (21 rejected, 27 out of order, 34 congestion, ...), and
    # CHANUNAVAIL that is not a wrong number: the call could not be put through.
    return DialOutcome.FAILED


def parse_cause(value: str | None) -> int | None:
    """A ``Cause`` header as Asterisk sends it (a decimal code); None when absent or not one."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value)
