"""A client with one record of every kind a client can have, for the data-rights tests
(export, erasure): each value that names them is known, so a test can look for it anywhere."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from callcenter.crm.vocabulary import (
    CallbackStatus,
    Channel,
    ComplaintStatus,
    Direction,
    FollowUpKind,
    FollowUpStatus,
    PinAttemptResult,
    Role,
    Tier,
    VoiceMessageStatus,
)
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.tables import (
    AccountSummary,
    CallbackRequest,
    Client,
    Complaint,
    ComplaintEvent,
    FollowUp,
    Interaction,
    InteractionAmendment,
    PinAttempt,
    TierChange,
    User,
    VoiceMessage,
)
from tests.support.crm_data import add_client

# Long enough ago that every retention period has run out on any "today" after 2025.
OLD = dt.datetime(2021, 4, 6, 2, 15, tzinfo=dt.UTC)
RECORDINGS_IN_ASTERISK = "/var/spool/asterisk/messages"


@dataclass(frozen=True)
class SeededClient:
    client_id: int
    name: str
    name_latin: str
    id_number: str
    phone: str
    account_no: str
    email: str
    secrets: tuple[str, ...]  # every text that names the client or that they said
    interaction_ids: tuple[int, ...]
    complaint_id: int
    voice_message_id: int
    audio_file: Path | None


async def add_staff(db: Database, branch_id: int, role: Role, username: str) -> int:
    async with db.write() as session:
        user = User(
            username=username, display_name=username, role=role, branch_id=branch_id, active=True
        )
        session.add(user)
        await session.flush()
        return user.id


async def seed_everything(
    db: Database,
    branch_id: int,
    staff_id: int,
    *,
    n: int,
    recordings: Path | None = None,
    complaint_status: ComplaintStatus = ComplaintStatus.CLOSED,
    closed_on: dt.date | None = dt.date(2021, 5, 1),
) -> SeededClient:
    """Client number ``n`` (1, 2...: distinct names, numbers and accounts), with every kind of
    record, all dated ``OLD``; their account closed on ``closed_on``."""
    name = f"测试客户{n}号"
    latin = f"Ceshi Kehu{n}"
    id_number = f"11010119800101{n:03d}X"
    phone = f"+86139000000{n:02d}"
    account_no = f"99000000{n:02d}"
    notes = f"prefers calls after 6pm, client {n}"
    client_id = await add_client(
        db,
        branch_id,
        account_no=account_no,
        name=name,
        name_latin=latin,
        id_number=id_number,
        phones=(phone, f"+86106000000{n:02d}"),
        notes=notes,
    )
    said = f"my broker lost my order, says client {n}"
    story = f"the order of client {n} for 600519 was never sent"
    typed = f"{account_no}"
    audio_file = None
    ref = f"{RECORDINGS_IN_ASTERISK}/call-{n}.wav"
    if recordings is not None:
        audio_file = recordings / f"call-{n}.wav"
        audio_file.write_bytes(b"RIFF" + bytes(40) + f"voice of {n}".encode())
    async with db.write() as session:
        client = await session.get_one(Client, client_id)
        client.closed_on = closed_on
        client.pin_hash = f"pbkdf2$secret-hash-of-client-{n}"
        session.add(
            AccountSummary(
                client_id=client_id,
                period=dt.date(2021, 3, 1),
                total_assets_fen=123_456_00 + n,
                positions=[{"symbol": "600519", "name": "贵州茅台", "quantity": n}],
                turnover_fen=5_000_00,
                commission_fen=12_00,
            )
        )
        session.add(
            TierChange(
                client_id=client_id,
                from_tier=Tier.SILVER,
                to_tier=Tier.GOLD,
                changed_at=OLD,
                reason="assets above 1m",
            )
        )
        inbound = Interaction(
            client_id=client_id,
            channel=Channel.VOICE,
            direction=Direction.INBOUND,
            caller_number=phone,
            called_number="+864008888888",
            started_at=OLD,
            answered_at=OLD + dt.timedelta(seconds=8),
            ended_at=OLD + dt.timedelta(seconds=200),
            ivr_path=[f"identify:{typed}", "pin:*"],
            queue="general",
            agent_id=staff_id,
            talk_seconds=192,
            disposition="resolved",
            notes=said,
            call_id=f"call-{n}-in",
        )
        outbound = Interaction(
            client_id=client_id,
            channel=Channel.VOICE,
            direction=Direction.OUTBOUND,
            called_number=phone,
            started_at=OLD + dt.timedelta(days=1),
            agent_id=staff_id,
            disposition="follow_up_done",
            notes=f"return visit with client {n}",
            call_id=f"call-{n}-out",
        )
        session.add_all([inbound, outbound])
        await session.flush()
        session.add(
            InteractionAmendment(
                interaction_id=inbound.id,
                at=OLD + dt.timedelta(hours=1),
                by_user_id=staff_id,
                reason="caller number typed wrong",
                changes={
                    "caller_number": {"from": "+8613900000000", "to": phone},
                    "queue": {"from": "vip", "to": "general"},
                },
            )
        )
        complaint = Complaint(
            client_id=client_id,
            interaction_id=inbound.id,
            category_code="trading.execution",
            owner_department="trading",
            status=complaint_status,
            summary=f"order lost ({n})",
            description=story,
            created_by_id=staff_id,
            created_at=OLD,
            response_due_at=OLD + dt.timedelta(days=2),
            closed_at=OLD + dt.timedelta(days=3)
            if complaint_status is ComplaintStatus.CLOSED
            else None,
            resolution=f"order resent for client {n}",
        )
        session.add(complaint)
        await session.flush()
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                from_status=None,
                to_status=ComplaintStatus.OPEN,
                at=OLD,
                by_user_id=staff_id,
                note=f"client {n} very upset",
            )
        )
        session.add(
            FollowUp(
                client_id=client_id,
                kind=FollowUpKind.RETURN_VISIT,
                status=FollowUpStatus.OPEN,
                due_on=dt.date(2021, 4, 20),
                created_at=OLD,
                outcome=f"client {n} asked about fees",
            )
        )
        session.add(
            CallbackRequest(
                requested_at=OLD,
                interaction_id=inbound.id,
                client_id=client_id,
                number=phone,
                language="zh",
                status=CallbackStatus.DONE,
            )
        )
        session.add(
            PinAttempt(
                at=OLD,
                account_no=account_no,
                client_id=client_id,
                interaction_id=inbound.id,
                caller_number=phone,
                result=PinAttemptResult.FAILED,
            )
        )
        message = VoiceMessage(
            recorded_at=OLD,
            interaction_id=inbound.id,
            client_id=client_id,
            caller_number=phone,
            recording_ref=ref,
            status=VoiceMessageStatus.DONE,
        )
        session.add(message)
        await session.flush()
        await record_audit(
            session, staff_id, "client.view", client_id, inbound.id, detail={}, at=OLD
        )
        return SeededClient(
            client_id=client_id,
            name=name,
            name_latin=latin,
            id_number=id_number,
            phone=phone,
            account_no=account_no,
            email="zhang.wei@example.cn",
            secrets=(name, latin, id_number, phone, account_no, notes, said, story),
            interaction_ids=(inbound.id, outbound.id),
            complaint_id=complaint.id,
            voice_message_id=message.id,
            audio_file=audio_file,
        )


async def add_erasable_client(db: Database, branch_id: int) -> int:
    """A client whose account closed long ago, with no complaint and no contact: erasable."""
    client_id = await add_client(
        db,
        branch_id,
        account_no="9900009999",
        name="可删客户",
        name_latin="Keshan Kehu",
        id_number="110101197001019999",
        phones=("+8613900009999",),
    )
    async with db.write() as session:
        client = await session.get_one(Client, client_id)
        client.closed_on = dt.date(2020, 1, 31)
    return client_id
