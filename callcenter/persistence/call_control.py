"""Call control's port (callcenter.pbx.call_states.CallControlBackend) over the database:
hold time and transfers on the agent's interaction, click-to-dial interactions, audit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from callcenter.acd.model import AgentState
from callcenter.crm.interactions import (
    InteractionNotFound,
    NewInteraction,
    Phase,
    PhaseAlreadyRecorded,
    PhaseUpdate,
    create_interaction,
    durations,
    record_phase,
)
from callcenter.crm.phones import mask_phone
from callcenter.crm.ports import AuditRecord
from callcenter.crm.vocabulary import Channel, Direction
from callcenter.persistence import agents
from callcenter.persistence.crm import SqlCrm
from callcenter.persistence.db import Database

log = logging.getLogger(__name__)


class SqlCallControlBackend:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.crm = SqlCrm(db)

    async def agent_line(self, agent_id: int) -> tuple[str | None, AgentState]:
        async with self.db.read() as session:
            record = await agents.get_agent(session, agent_id)
            return record.extension, record.status.state

    async def part_ended(
        self, interaction_id: int, hold_seconds: int, transfer: str | None, actor_id: int
    ) -> None:
        """Adds the hold time (talk time is answered-to-ended less hold, so AHT counts it
        once) and the transfer as a path entry, in one transaction with its audit entry."""
        async with self.crm.write() as tx:
            record = await tx.interactions.get_for_update(interaction_id)
            if record is None:
                raise InteractionNotFound(f"no interaction {interaction_id}")
            changed = dataclasses.replace(
                record,
                hold_seconds=(record.hold_seconds or 0) + hold_seconds,
                ivr_path=(*record.ivr_path, transfer) if transfer else record.ivr_path,
                version=record.version + 1,
            )
            changed = dataclasses.replace(changed, **dataclasses.asdict(durations(changed)))
            await tx.interactions.save(changed)
            if transfer is not None:
                mode, _, target = transfer.removeprefix("transfer:").partition("=")
                await tx.audit.record(
                    AuditRecord(
                        actor_id,
                        "call.transferred",
                        client_id=record.client_id,
                        interaction_id=interaction_id,
                        detail={"mode": mode, "to": target},
                    )
                )
        log.info("interaction %s: hold %d s, %s", interaction_id, hold_seconds, transfer)

    async def outbound_started(
        self, agent_id: int, number: str, client_id: int | None, call_id: str, at: dt.datetime
    ) -> int:
        record = await create_interaction(
            self.crm,
            NewInteraction(
                channel=Channel.VOICE,
                direction=Direction.OUTBOUND,
                started_at=at,
                called_number=number,
                client_id=client_id,
                agent_id=agent_id,
                call_id=call_id,
                asterisk_linkedid=call_id,
            ),
        )
        async with self.crm.write() as tx:
            await tx.audit.record(
                AuditRecord(
                    agent_id,
                    "call.dialled",
                    client_id=client_id,
                    interaction_id=record.id,
                    detail={"number": mask_phone(number)},
                )
            )
        return record.id

    async def outbound_phase(self, interaction_id: int, phase: str, at: dt.datetime) -> None:
        try:
            await record_phase(self.crm, interaction_id, PhaseUpdate(Phase(phase), at))
        except PhaseAlreadyRecorded:
            log.debug("interaction %s: %s already recorded", interaction_id, phase)
