"""The IVR's ports: what a call run needs from the CRM and the interaction record.

The runner (callcenter.pbx.ivr_runner) calls them; callcenter.persistence.ivr_backend
implements them over the database; tests may implement them in memory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from callcenter.ivr.account import AccountSnapshot
from callcenter.ivr.commands import AuthFailed, AuthLocked, AuthOk, ClientFacts
from callcenter.ivr.engine import Outcome


@dataclass(frozen=True)
class CallStart:
    call_id: str  # the Asterisk uniqueid of the caller's channel
    asterisk_linkedid: str | None
    caller_number: str | None  # E.164, or None when withheld or not a number
    called_number: str | None
    flow: str
    at: dt.datetime


class IvrBackend(Protocol):
    """What the IVR needs besides the PBX: the CRM and the interaction record."""

    async def start_call(self, start: CallStart) -> int | None: ...

    async def identify_caller(self, e164: str) -> ClientFacts | None: ...

    async def authenticate(
        self, account: str, pin: str, *, interaction_id: int | None, caller_number: str | None
    ) -> AuthOk | AuthFailed | AuthLocked: ...

    async def authenticate_known(
        self, client_id: int, pin: str, *, interaction_id: int | None, caller_number: str | None
    ) -> AuthOk | AuthFailed | AuthLocked:
        """The PIN of a client already identified (by the caller's number): the same check,
        counting and lockout as ``authenticate`` on that client's account."""

    async def account_snapshot(self, client_id: int) -> AccountSnapshot | None: ...

    async def file_callback(
        self,
        *,
        number: str,
        language: str,
        client_id: int | None,
        interaction_id: int | None,
        queue: str | None = None,
    ) -> int:
        """File the callback and its work item (owned by ``queue``, None: anyone's); the work
        item's id."""
        ...

    async def file_voice_message(
        self,
        *,
        recording_ref: str,
        client_id: int | None,
        interaction_id: int | None,
        caller_number: str | None,
    ) -> None: ...

    async def finish_ivr(
        self, interaction_id: int, outcome: Outcome, *, at: dt.datetime, call_ended: bool
    ) -> None: ...

    async def finish_resumed(
        self, interaction_id: int, outcome: Outcome, *, at: dt.datetime, call_ended: bool
    ) -> None:
        """A run resumed after its queue overflowed ended: its path and outcome replace the
        first run's (they include it); the IVR end and queue recorded before stay."""

    async def call_ended(self, interaction_id: int, *, at: dt.datetime) -> None: ...
