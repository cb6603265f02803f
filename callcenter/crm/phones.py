"""Phone numbers in E.164, the form the CRM stores and the IVR looks callers up by.

A caller ID from the carrier may arrive as 13800138000, 8613800138000, +86 138 0013 8000 or
008613800138000; all are the same client. Numbers without a country code are read as Chinese
(the default region, configurable).
"""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "CN"


class InvalidPhoneNumber(ValueError):
    error_id = "invalid-phone-number"


def to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """Normalise ``raw`` to E.164 (``+8613800138000``); raise InvalidPhoneNumber if it is not
    a possible number."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def caller_e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """Like :func:`to_e164` for caller IDs, which may be anonymous or garbage: None then."""
    try:
        return to_e164(raw, region)
    except InvalidPhoneNumber:
        return None


def mask_phone(e164: str) -> str:
    """+8613800138000 -> +86138****8000: enough to recognise, not enough to dial."""
    if len(e164) <= 8:
        return "*" * len(e164)
    return e164[:-8] + "****" + e164[-4:]
