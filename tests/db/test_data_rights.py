"""A client's data rights on both databases: the export holds every kind of record of the
client and nothing of another; the erasure removes what names them, keeps the facts retention
requires, deletes their audio, leaves a tombstone and an audit entry, and is refused while
the data must stay whole."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, or_, select

from callcenter.crm.data_rights import ERASED_TEXT, ClientErasureBlocked
from callcenter.crm.vocabulary import ComplaintStatus, FollowUpKind, FollowUpStatus, Role
from callcenter.persistence.clients import lookup_clients_by_phone
from callcenter.persistence.data_export import EXPORTED_TABLES, export_client
from callcenter.persistence.data_rights import erase_client, recordings_resolver
from callcenter.persistence.db import Database
from callcenter.persistence.ivr import identify_caller
from callcenter.persistence.tables import (
    AuditEntry,
    Base,
    CallbackRequest,
    Client,
    ClientErasure,
    ClientPhone,
    Complaint,
    ComplaintEvent,
    FollowUp,
    FollowUpAttempt,
    Interaction,
    InteractionAmendment,
    PinAttempt,
    VoiceMessage,
)
from tests.support.crm_data import add_branch
from tests.support.data_rights import (
    RECORDINGS_IN_ASTERISK,
    SeededClient,
    add_staff,
    seed_everything,
)

NOW = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    folder = tmp_path / "messages"
    folder.mkdir()
    return folder


async def _two_clients(
    db: Database, recordings: Path, **kwargs: object
) -> tuple[int, SeededClient, SeededClient]:
    branch_id = await add_branch(db)
    officer = await add_staff(db, branch_id, Role.COMPLIANCE, "compliance.1")
    one = await seed_everything(db, branch_id, officer, n=1, recordings=recordings, **kwargs)  # type: ignore[arg-type]
    two = await seed_everything(db, branch_id, officer, n=2, recordings=recordings)
    return officer, one, two


def test_every_table_with_a_client_id_has_its_place_in_the_export() -> None:
    """A table added later with a client_id must be decided on here (exported, erased)."""
    with_client = {
        table.name
        for table in Base.metadata.tables.values()
        if "client_id" in table.columns or table.name == "clients"
    }
    assert with_client <= set(EXPORTED_TABLES), with_client - set(EXPORTED_TABLES)


async def test_export_holds_every_kind_of_record_and_nothing_of_another_client(
    database: Database, recordings: Path
) -> None:
    officer, one, two = await _two_clients(database, recordings)

    export = await export_client(database, officer, one.client_id, "subject access SAR-1")
    document = export.document
    text = json.dumps(document, ensure_ascii=False)

    assert document["client_id"] == one.client_id
    assert document["client"]["name"] == one.name
    assert document["client"]["id_number"] == one.id_number  # theirs: in full
    assert document["client"]["pin_set"] is True
    assert "pin_hash" not in document["client"]
    assert "secret-hash-of-client" not in text
    assert {p["e164"] for p in document["phones"]} == {one.phone, "+8610600000001"}
    assert document["consents"] == {"marketing": False, "recording": True, "data_sharing": False}
    assert len(document["account_summaries"]) == 1
    assert len(document["tier_changes"]) == 1
    assert {i["id"] for i in document["interactions"]} == set(one.interaction_ids)
    inbound = next(i for i in document["interactions"] if i["direction"] == "inbound")
    assert inbound["notes"] == "my broker lost my order, says client 1"
    assert inbound["disposition"] == "resolved"
    assert len(inbound["amendments"]) == 1
    [complaint] = document["complaints"]
    assert complaint["id"] == one.complaint_id
    assert [e["note"] for e in complaint["events"]] == ["client 1 very upset"]
    assert len(document["follow_ups"]) == 1
    assert [r["number"] for r in document["callback_requests"]] == [one.phone]
    assert document["pin_attempts"] == [
        {
            "id": document["pin_attempts"][0]["id"],
            "at": "2021-04-06T02:15:00+00:00",
            "result": "failed",
        }
    ]
    [message] = document["voice_messages"]
    assert message["id"] == one.voice_message_id
    assert export.audio == ((message["audio_file"], f"{RECORDINGS_IN_ASTERISK}/call-1.wav"),)
    assert [e["action"] for e in document["audit_trail"]] == ["client.view"]
    assert document["erasure"] is None
    for secret in two.secrets:
        assert secret not in text, secret


async def test_export_is_audited_with_its_reason(database: Database, recordings: Path) -> None:
    officer, one, _two = await _two_clients(database, recordings)

    await export_client(database, officer, one.client_id, "subject access SAR-7", now=NOW)

    async with database.read() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "client.data_export")
        )
        assert entry is not None
        assert (entry.actor_id, entry.client_id, entry.at) == (officer, one.client_id, NOW)
        assert entry.detail == {"reason": "subject access SAR-7"}


async def test_erasure_removes_what_names_the_client_and_keeps_the_facts(
    database: Database, recordings: Path
) -> None:
    officer, one, two = await _two_clients(database, recordings)
    async with database.read() as session:
        calls_before = (
            await session.execute(
                select(
                    Interaction.id,
                    Interaction.started_at,
                    Interaction.ended_at,
                    Interaction.talk_seconds,
                    Interaction.disposition,
                    Interaction.queue,
                )
                .where(Interaction.client_id == one.client_id)
                .order_by(Interaction.id)
            )
        ).all()

    report = await erase_client(
        database,
        officer,
        one.client_id,
        "erasure request received by letter",
        "ER-2026-001",
        audio_path=recordings_resolver(recordings, RECORDINGS_IN_ASTERISK),
        now=NOW,
    )

    assert report.audio_left == ()
    assert one.audio_file is not None
    assert not one.audio_file.exists()
    assert two.audio_file is not None
    assert two.audio_file.exists()
    # Nobody finds them any more: not by phone, name, ID number or account number, and a
    # call from their old number is not identified as them.
    assert await identify_caller(database, one.phone) is None
    assert await lookup_clients_by_phone(database, one.phone) == []
    async with database.read() as session:
        matches = await session.scalar(
            select(func.count())
            .select_from(Client)
            .where(
                or_(
                    Client.name == one.name,
                    Client.name_latin == one.name_latin,
                    Client.id_number == one.id_number,
                    Client.account_no == one.account_no,
                )
            )
        )
        assert matches == 0
        client = await session.get_one(Client, one.client_id)
        assert (client.name, client.id_number, client.email, client.address, client.notes) == (
            f"erased-{one.client_id}",
            "",
            None,
            None,
            None,
        )
        assert (client.birthday, client.pin_hash) == (None, None)
        assert client.closed_on is not None  # the account's own facts stay
        phones = await session.scalar(
            select(func.count())
            .select_from(ClientPhone)
            .where(ClientPhone.client_id == one.client_id)
        )
        assert phones == 0
        # The calls are kept, with their times, durations and outcomes; not their numbers,
        # notes, or the account number typed in the IVR.
        calls_after = (
            await session.execute(
                select(
                    Interaction.id,
                    Interaction.started_at,
                    Interaction.ended_at,
                    Interaction.talk_seconds,
                    Interaction.disposition,
                    Interaction.queue,
                )
                .where(Interaction.client_id == one.client_id)
                .order_by(Interaction.id)
            )
        ).all()
        assert calls_after == calls_before
        for call in await session.scalars(
            select(Interaction).where(Interaction.client_id == one.client_id)
        ):
            assert call.caller_number is None
            assert call.notes is None
            assert one.account_no not in json.dumps(call.ivr_path)
            if call.direction == "outbound":
                assert call.called_number is None
        amendment = await session.scalar(
            select(InteractionAmendment).where(
                InteractionAmendment.interaction_id == one.interaction_ids[0]
            )
        )
        assert amendment is not None
        assert amendment.changes["caller_number"] == {"from": ERASED_TEXT, "to": ERASED_TEXT}
        assert amendment.changes["queue"] == {"from": "vip", "to": "general"}
        complaint = await session.get_one(Complaint, one.complaint_id)
        assert (complaint.summary, complaint.description, complaint.resolution) == (
            ERASED_TEXT,
            ERASED_TEXT,
            None,
        )
        assert (complaint.category_code, complaint.status) == ("trading.execution", "closed")
        notes = (
            await session.scalars(
                select(ComplaintEvent.note).where(ComplaintEvent.complaint_id == one.complaint_id)
            )
        ).all()
        assert notes == [ERASED_TEXT]
        follow_up = await session.scalar(
            select(FollowUp).where(FollowUp.client_id == one.client_id)
        )
        assert follow_up is not None
        assert (follow_up.outcome, follow_up.status) == (None, FollowUpStatus.CANCELLED)
        for model in (CallbackRequest, VoiceMessage):
            left = await session.scalar(
                select(func.count()).select_from(model).where(model.client_id == one.client_id)
            )
            assert left == 0, model
        attempt = await session.scalar(
            select(PinAttempt).where(PinAttempt.client_id == one.client_id)
        )
        assert attempt is not None
        assert (attempt.caller_number, attempt.account_no, attempt.result) == (
            None,
            f"erased-{one.client_id}",
            "failed",
        )
        tombstone = await session.scalar(select(ClientErasure))
        assert tombstone is not None
        assert (tombstone.client_id, tombstone.by_user_id, tombstone.erased_at) == (
            one.client_id,
            officer,
            NOW,
        )
        assert (tombstone.reason, tombstone.request_ref) == (
            "erasure request received by letter",
            "ER-2026-001",
        )
        assert tombstone.summary == report.summary
        assert tombstone.summary["interactions_redacted"] == 2
        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "client.erasure"))
        ).all()
        assert [(e.actor_id, e.client_id) for e in entries] == [(officer, one.client_id)]
        assert entries[0].detail["request_ref"] == "ER-2026-001"
        # The audit trail is kept whole (append-only): the view of 2021 is still there.
        views = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.client_id == one.client_id, AuditEntry.action == "client.view")
        )
        assert views == 1
    # Nothing of the erased client is left anywhere in their own export; the other client
    # is untouched.
    after = json.dumps(
        (await export_client(database, officer, one.client_id, "check erasure")).document,
        ensure_ascii=False,
    )
    for secret in one.secrets:
        assert secret not in after, secret
    assert await identify_caller(database, two.phone) is not None


@pytest.mark.parametrize(
    ("kwargs", "blocker"),
    [
        ({"complaint_status": ComplaintStatus.INVESTIGATING}, "complaint_in_hand"),
        ({"closed_on": None}, "account_open"),
        ({"closed_on": dt.date(2025, 6, 1)}, "retention"),
    ],
)
async def test_erasure_is_refused_while_the_data_must_stay_whole(
    database: Database, recordings: Path, kwargs: dict[str, object], blocker: str
) -> None:
    officer, one, _two = await _two_clients(database, recordings, **kwargs)

    with pytest.raises(ClientErasureBlocked) as refused:
        await erase_client(
            database,
            officer,
            one.client_id,
            "erasure request by letter",
            "ER-9",
            audio_path=recordings_resolver(recordings, RECORDINGS_IN_ASTERISK),
            now=NOW,
        )

    assert refused.value.error_id == "client-erasure-blocked"
    assert [b["blocker"] for b in refused.value.detail["blockers"]] == [blocker]
    assert one.audio_file is not None
    assert one.audio_file.exists()
    assert await identify_caller(database, one.phone) is not None
    async with database.read() as session:
        assert (await session.get_one(Client, one.client_id)).name == one.name
        assert await session.scalar(select(func.count()).select_from(ClientErasure)) == 0
        assert (
            await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "client.erasure")
            )
            == 0
        )


async def test_a_client_is_erased_once(database: Database, recordings: Path) -> None:
    officer, one, _two = await _two_clients(database, recordings)
    resolve = recordings_resolver(recordings, RECORDINGS_IN_ASTERISK)
    await erase_client(
        database, officer, one.client_id, "erasure request", "ER-1", audio_path=resolve, now=NOW
    )

    with pytest.raises(ClientErasureBlocked) as refused:
        await erase_client(
            database, officer, one.client_id, "erasure request", "ER-1", audio_path=resolve, now=NOW
        )
    assert refused.value.detail["blockers"] == [{"blocker": "already_erased", "until": None}]


def test_a_recording_reference_never_reaches_outside_the_recordings_folder(tmp_path: Path) -> None:
    resolve = recordings_resolver(tmp_path / "messages", "/spool/messages")
    assert resolve("/spool/messages/call-1.wav") == (tmp_path / "messages" / "call-1.wav").resolve()
    assert resolve("/spool/messages/../../etc/passwd") is None
    assert resolve("/etc/passwd") is None
    assert resolve("/spool/messages/") is None


async def test_the_dialler_s_work_of_a_client_is_exported_and_erased_with_them(
    database: Database, recordings: Path
) -> None:
    officer, one, _two = await _two_clients(database, recordings)
    async with database.write() as session:
        item = FollowUp(
            client_id=one.client_id,
            kind=FollowUpKind.CALLBACK,
            status=FollowUpStatus.OPEN,
            due_on=dt.date(2026, 12, 8),
            number="+8613911112222",
            reason="asked to be called about the margin call",
            version=1,
        )
        session.add(item)
        await session.flush()
        session.add(
            FollowUpAttempt(
                follow_up_id=item.id,
                mode="preview",
                started_at=NOW,
                outcome="skipped",
                note="client's wife answered: call after six",
            )
        )
        item_id = item.id
    export = await export_client(database, officer, one.client_id, "subject access SAR-2")
    [exported] = [f for f in export.document["follow_ups"] if f["id"] == item_id]
    assert exported["number"] == "+8613911112222"
    assert [a["note"] for a in exported["attempts"]] == ["client's wife answered: call after six"]
    assert export.document["return_visits"] == []
    await erase_client(
        database,
        officer,
        one.client_id,
        "erasure request received by letter",
        "ER-2026-002",
        audio_path=recordings_resolver(recordings, RECORDINGS_IN_ASTERISK),
        now=NOW,
    )
    async with database.read() as session:
        row = await session.get(FollowUp, item_id)
        assert row is not None
        assert (row.number, row.reason, row.status) == (None, None, FollowUpStatus.CANCELLED)
        notes = (await session.scalars(select(FollowUpAttempt.note))).all()
        assert notes == [None]
