"""Privacy rules: what of a client's identity a screen may show, and the audited actions.

Pure functions. ID numbers and phones are masked wherever the full value is not needed (lists,
the profile); the full ID number leaves the system only through an audited reveal with a
reason. Neither a full ID number nor a PIN is ever written to a log line.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from callcenter.crm.phones import mask_phone

MASK = "*"
# At most this many characters stay visible at each end of an ID number.
ID_VISIBLE_EACH_END = 4


class AuditAction(StrEnum):
    """What an audit entry records. One name per action, from the log to any report."""

    CLIENT_VIEW = "client.view"  # the full record (360-degree view) was read
    CLIENT_REVEAL_ID = "client.reveal_id"  # the full ID number was shown, with a reason
    CLIENT_UPDATE = "client.update"
    CLIENT_NOTE = "client.note"
    CLIENT_PIN_UNLOCK = "client.pin_unlock"  # staff lifted a telephone-PIN lockout
    CLIENT_SEARCH = "client.search"  # a list of clients was shown (masked), with any reason
    INTERACTION_VIEW = "interaction.view"  # one call record was read
    INTERACTION_LIST = "interaction.list"  # a list of call records was shown
    INTERACTION_AMEND = "interaction.amend"  # a supervisor corrected a call record's facts
    COMPLAINT_VIEW = "complaint.view"
    COMPLAINT_LIST = "complaint.list"
    FOLLOW_UP_VIEW = "follow_up.view"
    FOLLOW_UP_LIST = "follow_up.list"


def mask_id_number(id_number: str) -> str:
    """310101199001011234 -> 3101**********1234.

    A resident ID keeps its region prefix and last four (what clients read out to confirm);
    shorter documents (passports, permits) show at most a quarter of their characters at each
    end, so a short number is never mostly visible. The length is kept.
    """
    text = id_number.strip()
    visible = min(ID_VISIBLE_EACH_END, len(text) // 4)
    if visible == 0:
        return MASK * len(text)
    return text[:visible] + MASK * (len(text) - 2 * visible) + text[-visible:]


def mask_phones(e164_numbers: Iterable[str]) -> tuple[str, ...]:
    """Each phone as a list view shows it: +86138****8000."""
    return tuple(mask_phone(number) for number in e164_numbers)


def normalise_id_number(raw: str) -> str:
    """The form ID numbers are stored and searched in: no spaces, upper case (the check
    character of a resident ID is a digit or X, often typed as x)."""
    return "".join(raw.split()).upper()
