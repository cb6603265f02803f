"""The IVR's and call control's stores behind the write journal (the rules are in
callcenter/persistence/journal/__init__.py).

Journaled: the record's end of the IVR (its path, outcome, queue and maybe its end), a resumed
run's path and outcome, the end of a call, and a click-to-dial call's phases. Each is safe to
land twice: a phase is set once and in order, a path and an outcome are set whole.

Not journaled, and why:

* what answers the caller with data (the interaction's creation, its id; the caller's lookup,
  the PIN check, the account) cannot wait for the database;
* a callback request, a voice message's record and the hold time and transfer of an agent's part
  add a row or a sum: landing twice would count twice, and nothing in them says it landed
  already. Their callers see the error as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

from callcenter.acd.model import AgentState
from callcenter.ivr.account import AccountSnapshot
from callcenter.ivr.commands import AuthFailed, AuthLocked, AuthOk, ClientFacts, OutcomeKind
from callcenter.ivr.engine import Outcome, Step
from callcenter.ivr.flow import Language
from callcenter.ivr.ports import CallStart, IvrBackend
from callcenter.pbx.call_states import CallControlBackend
from callcenter.persistence.journal.file import JournalEntry
from callcenter.persistence.journal.writes import JournaledWrites, time_of, time_text


def outcome_args(outcome: Outcome) -> dict[str, Any]:
    """An IVR outcome as the journal keeps it (the caller's facts are not kept: the record
    needs only their client id)."""
    return {
        "kind": outcome.kind.value,
        "path": [[step.node, list(step.inputs)] for step in outcome.path],
        "hung_up_by": outcome.hung_up_by,
        "client_id": outcome.client_id,
        "authenticated": outcome.authenticated,
        "language": outcome.language,
        "queue": outcome.queue,
        "transferred_to": outcome.transferred_to,
    }


def outcome_of(args: Mapping[str, Any]) -> Outcome:
    return Outcome(
        kind=OutcomeKind(args["kind"]),
        path=tuple(Step(str(node), tuple(inputs)) for node, inputs in args["path"]),
        hung_up_by=args["hung_up_by"],
        client_id=args["client_id"],
        authenticated=bool(args["authenticated"]),
        language=cast(Language, args["language"]),
        queue=args["queue"],
        transferred_to=args["transferred_to"],
    )


class JournaledIvrBackend:
    """The IVR's store (callcenter/ivr/ports.py IvrBackend) behind the journal."""

    def __init__(self, inner: IvrBackend, writes: JournaledWrites) -> None:
        self._inner = inner
        self._writes = writes
        for op, replay in {
            "ivr.finish_ivr": self._replay_finish_ivr,
            "ivr.finish_resumed": self._replay_finish_resumed,
            "ivr.call_ended": self._replay_call_ended,
        }.items():
            writes.journal.handle(op, replay)

    async def start_call(self, start: CallStart) -> int | None:
        return await self._inner.start_call(start)

    async def identify_caller(self, e164: str) -> ClientFacts | None:
        return await self._inner.identify_caller(e164)

    async def authenticate(
        self, account: str, pin: str, *, interaction_id: int | None, caller_number: str | None
    ) -> AuthOk | AuthFailed | AuthLocked:
        return await self._inner.authenticate(
            account, pin, interaction_id=interaction_id, caller_number=caller_number
        )

    async def authenticate_known(
        self, client_id: int, pin: str, *, interaction_id: int | None, caller_number: str | None
    ) -> AuthOk | AuthFailed | AuthLocked:
        return await self._inner.authenticate_known(
            client_id, pin, interaction_id=interaction_id, caller_number=caller_number
        )

    async def account_snapshot(self, client_id: int) -> AccountSnapshot | None:
        return await self._inner.account_snapshot(client_id)

    async def file_callback(
        self,
        *,
        number: str,
        language: str,
        client_id: int | None,
        interaction_id: int | None,
        queue: str | None = None,
    ) -> int:
        return await self._inner.file_callback(
            number=number,
            language=language,
            client_id=client_id,
            interaction_id=interaction_id,
            queue=queue,
        )

    async def file_voice_message(
        self,
        *,
        recording_ref: str,
        client_id: int | None,
        interaction_id: int | None,
        caller_number: str | None,
    ) -> None:
        await self._inner.file_voice_message(
            recording_ref=recording_ref,
            client_id=client_id,
            interaction_id=interaction_id,
            caller_number=caller_number,
        )

    async def finish_ivr(
        self, interaction_id: int, outcome: Outcome, *, at: dt.datetime, call_ended: bool
    ) -> None:
        await self._writes.write(
            "ivr.finish_ivr",
            self._finish_args(interaction_id, outcome, at, call_ended),
            lambda: self._inner.finish_ivr(interaction_id, outcome, at=at, call_ended=call_ended),
            interaction_id=interaction_id,
            ends_call=call_ended,
        )

    async def finish_resumed(
        self, interaction_id: int, outcome: Outcome, *, at: dt.datetime, call_ended: bool
    ) -> None:
        await self._writes.write(
            "ivr.finish_resumed",
            self._finish_args(interaction_id, outcome, at, call_ended),
            lambda: self._inner.finish_resumed(
                interaction_id, outcome, at=at, call_ended=call_ended
            ),
            interaction_id=interaction_id,
            ends_call=call_ended,
        )

    async def call_ended(self, interaction_id: int, *, at: dt.datetime) -> None:
        await self._writes.write(
            "ivr.call_ended",
            {"interaction_id": interaction_id, "at": time_text(at)},
            lambda: self._inner.call_ended(interaction_id, at=at),
            interaction_id=interaction_id,
            ends_call=True,
        )

    @staticmethod
    def _finish_args(
        interaction_id: int, outcome: Outcome, at: dt.datetime, call_ended: bool
    ) -> dict[str, Any]:
        return {
            "interaction_id": interaction_id,
            "outcome": outcome_args(outcome),
            "at": time_text(at),
            "call_ended": call_ended,
        }

    async def _replay_finish_ivr(self, entry: JournalEntry) -> None:
        a = entry.args
        await self._inner.finish_ivr(
            a["interaction_id"],
            outcome_of(a["outcome"]),
            at=time_of(a["at"]),
            call_ended=bool(a["call_ended"]),
        )

    async def _replay_finish_resumed(self, entry: JournalEntry) -> None:
        a = entry.args
        await self._inner.finish_resumed(
            a["interaction_id"],
            outcome_of(a["outcome"]),
            at=time_of(a["at"]),
            call_ended=bool(a["call_ended"]),
        )

    async def _replay_call_ended(self, entry: JournalEntry) -> None:
        await self._inner.call_ended(entry.args["interaction_id"], at=time_of(entry.args["at"]))


class JournaledCallControl:
    """Call control's store (callcenter/pbx/call_states.py CallControlBackend) behind the
    journal: a click-to-dial call's answer and end."""

    def __init__(self, inner: CallControlBackend, writes: JournaledWrites) -> None:
        self._inner = inner
        self._writes = writes
        writes.journal.handle("calls.outbound_phase", self._replay_outbound_phase)

    async def agent_line(self, agent_id: int) -> tuple[str | None, AgentState]:
        return await self._inner.agent_line(agent_id)

    async def part_ended(
        self, interaction_id: int, hold_seconds: int, transfer: str | None, actor_id: int
    ) -> None:
        await self._inner.part_ended(interaction_id, hold_seconds, transfer, actor_id)

    async def outbound_started(
        self, agent_id: int, number: str, client_id: int | None, call_id: str, at: dt.datetime
    ) -> int:
        return await self._inner.outbound_started(agent_id, number, client_id, call_id, at)

    async def outbound_phase(self, interaction_id: int, phase: str, at: dt.datetime) -> None:
        await self._writes.write(
            "calls.outbound_phase",
            {"interaction_id": interaction_id, "phase": phase, "at": time_text(at)},
            lambda: self._inner.outbound_phase(interaction_id, phase, at),
            interaction_id=interaction_id,
            ends_call=phase == "ended",
        )

    async def _replay_outbound_phase(self, entry: JournalEntry) -> None:
        a = entry.args
        await self._inner.outbound_phase(a["interaction_id"], a["phase"], time_of(a["at"]))
