"""The IVR's ports (callcenter.ivr.ports.IvrBackend) over the database.

Every call run gets one interaction, created when the call enters the IVR and completed when
it leaves: the path of nodes with what the caller typed (PINs already masked by the engine),
the outcome, who the caller turned out to be and whether they authenticated. Containment
reports read exactly these fields.
"""

from __future__ import annotations

import datetime as dt
import logging

from callcenter.crm.interactions import (
    DuplicateInteraction,
    NewInteraction,
    Phase,
    PhaseUpdate,
    create_interaction,
    record_phase,
    record_route,
)
from callcenter.crm.vocabulary import Channel, Direction
from callcenter.ivr.account import AccountSnapshot
from callcenter.ivr.commands import AuthFailed, AuthLocked, AuthOk, ClientFacts, OutcomeKind
from callcenter.ivr.engine import Outcome, Step
from callcenter.ivr.ports import CallStart
from callcenter.persistence import ivr
from callcenter.persistence.crm import SqlCrm
from callcenter.persistence.db import Database

log = logging.getLogger(__name__)


def path_entry(step: Step) -> str:
    """One visited node as stored: ``main_menu`` or ``main_menu=timeout,1``."""
    return step.entry()


class SqlIvrBackend:
    def __init__(self, db: Database, *, pin_max_failures: int) -> None:
        self.db = db
        self.crm = SqlCrm(db)
        self.pin_max_failures = pin_max_failures

    async def start_call(self, start: CallStart) -> int | None:
        new = NewInteraction(
            channel=Channel.VOICE,
            direction=Direction.INBOUND,
            started_at=start.at,
            caller_number=start.caller_number,
            called_number=start.called_number,
            call_id=start.call_id or None,
            asterisk_linkedid=start.asterisk_linkedid,
        )
        try:
            record = await create_interaction(self.crm, new)
        except DuplicateInteraction as exc:
            # The same channel entering the IVR twice (a dialplan loop): one record per call.
            log.warning("call %s already has interaction %s", start.call_id, exc.detail)
            interaction_id = exc.detail.get("interaction_id")
            return interaction_id if isinstance(interaction_id, int) else None
        return record.id

    async def identify_caller(self, e164: str) -> ClientFacts | None:
        return await ivr.identify_caller(self.db, e164)

    async def authenticate(
        self, account: str, pin: str, *, interaction_id: int | None, caller_number: str | None
    ) -> AuthOk | AuthFailed | AuthLocked:
        return await ivr.authenticate(
            self.db,
            account,
            pin,
            max_failures=self.pin_max_failures,
            interaction_id=interaction_id,
            caller_number=caller_number,
        )

    async def authenticate_known(
        self, client_id: int, pin: str, *, interaction_id: int | None, caller_number: str | None
    ) -> AuthOk | AuthFailed | AuthLocked:
        return await ivr.authenticate_client(
            self.db,
            client_id,
            pin,
            max_failures=self.pin_max_failures,
            interaction_id=interaction_id,
            caller_number=caller_number,
        )

    async def account_snapshot(self, client_id: int) -> AccountSnapshot | None:
        return await ivr.account_snapshot(self.db, client_id)

    async def file_callback(
        self,
        *,
        number: str,
        language: str,
        client_id: int | None,
        interaction_id: int | None,
        queue: str | None = None,
    ) -> int:
        filed = await ivr.file_callback_item(
            self.db,
            number=number,
            language=language,
            client_id=client_id,
            interaction_id=interaction_id,
            queue=queue,
        )
        return filed.item_id

    async def file_voice_message(
        self,
        *,
        recording_ref: str,
        client_id: int | None,
        interaction_id: int | None,
        caller_number: str | None,
    ) -> None:
        await ivr.file_voice_message(
            self.db,
            recording_ref=recording_ref,
            client_id=client_id,
            interaction_id=interaction_id,
            caller_number=caller_number,
        )

    async def finish_ivr(
        self, interaction_id: int, outcome: Outcome, *, at: dt.datetime, call_ended: bool
    ) -> None:
        updates = [
            PhaseUpdate(
                phase=Phase.IVR_ENDED,
                at=at,
                client_id=outcome.client_id,
                ivr_path=[path_entry(step) for step in outcome.path],
                ivr_outcome=outcome.kind.value,
                authenticated=outcome.authenticated,
            )
        ]
        if outcome.kind is OutcomeKind.QUEUED:
            updates.append(PhaseUpdate(phase=Phase.QUEUED, at=at, queue=outcome.queue))
        if call_ended:
            updates.append(PhaseUpdate(phase=Phase.ENDED, at=at))
        await record_phase(self.crm, interaction_id, *updates)  # one transaction

    async def finish_resumed(
        self, interaction_id: int, outcome: Outcome, *, at: dt.datetime, call_ended: bool
    ) -> None:
        await record_route(
            self.crm,
            interaction_id,
            # Queued again, maybe elsewhere: the call counts in the queue it waits in now.
            queue=outcome.queue if outcome.kind is OutcomeKind.QUEUED else None,
            ivr_path=[path_entry(step) for step in outcome.path],
            ivr_outcome=outcome.kind.value,
            then=[PhaseUpdate(phase=Phase.ENDED, at=at)] if call_ended else [],
        )

    async def call_ended(self, interaction_id: int, *, at: dt.datetime) -> None:
        await record_phase(self.crm, interaction_id, PhaseUpdate(phase=Phase.ENDED, at=at))
