"""An in-memory IvrBackend for runner unit tests: records what the runner asked of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from callcenter.ivr.account import AccountSnapshot
from callcenter.ivr.commands import AuthFailed, AuthLocked, AuthOk, ClientFacts
from callcenter.ivr.engine import Outcome
from callcenter.ivr.ports import CallStart


@dataclass
class MemoryIvrBackend:
    clients_by_phone: dict[str, ClientFacts] = field(default_factory=dict)
    pins: dict[str, tuple[str, ClientFacts]] = field(default_factory=dict)  # account -> pin
    snapshots: dict[int, AccountSnapshot] = field(default_factory=dict)
    starts: list[CallStart] = field(default_factory=list)
    finished: list[tuple[int, Outcome, bool]] = field(default_factory=list)
    resumed: list[tuple[int, Outcome, bool]] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def start_call(self, start: CallStart) -> int | None:
        self.starts.append(start)
        return len(self.starts)

    async def identify_caller(self, e164: str) -> ClientFacts | None:
        return self.clients_by_phone.get(e164)

    async def authenticate(
        self, account: str, pin: str, *, interaction_id: int | None, caller_number: str | None
    ) -> AuthOk | AuthFailed | AuthLocked:
        self.requests.append(("authenticate", {"account": account}))
        known = self.pins.get(account)
        if known is not None and known[0] == pin:
            return AuthOk(known[1])
        return AuthFailed()

    async def authenticate_known(
        self, client_id: int, pin: str, *, interaction_id: int | None, caller_number: str | None
    ) -> AuthOk | AuthFailed | AuthLocked:
        self.requests.append(("authenticate_known", {"client_id": client_id}))
        for known_pin, client in self.pins.values():
            if client.client_id == client_id and known_pin == pin:
                return AuthOk(client)
        return AuthFailed()

    async def account_snapshot(self, client_id: int) -> AccountSnapshot | None:
        return self.snapshots.get(client_id)

    async def file_callback(
        self,
        *,
        number: str,
        language: str,
        client_id: int | None,
        interaction_id: int | None,
        queue: str | None = None,
    ) -> int:
        filed: dict[str, object] = {"number": number, "client_id": client_id}
        if queue is not None:
            filed["queue"] = queue
        self.requests.append(("callback", filed))
        return 9000 + len(self.requests)  # a work item id

    async def file_voice_message(
        self,
        *,
        recording_ref: str,
        client_id: int | None,
        interaction_id: int | None,
        caller_number: str | None,
    ) -> None:
        self.requests.append(("message", {"recording_ref": recording_ref}))

    async def finish_ivr(
        self, interaction_id: int, outcome: Outcome, *, at: dt.datetime, call_ended: bool
    ) -> None:
        self.finished.append((interaction_id, outcome, call_ended))

    async def finish_resumed(
        self, interaction_id: int, outcome: Outcome, *, at: dt.datetime, call_ended: bool
    ) -> None:
        self.resumed.append((interaction_id, outcome, call_ended))

    async def call_ended(self, interaction_id: int, *, at: dt.datetime) -> None:
        self.ended.append(interaction_id)
