"""A client's subject-access export: every row that names the client, from every table with a
``client_id`` (:data:`EXPORTED_TABLES`; a test fails when a table is added without a decision
here), as one JSON document, audited (``client.data_export``) in the same transaction; and
its zip with the voice messages' audio. docs/operations.md, "A client's data rights".
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.clients import ClientNotFound
from callcenter.crm.data_rights import DATA_EXPORT
from callcenter.persistence.audit import record_audit
from callcenter.persistence.db import Database
from callcenter.persistence.tables import (
    AccountSummary,
    AuditEntry,
    Base,
    Branch,
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
    ReturnVisitAnswers,
    TierChange,
    User,
    VoiceMessage,
)

log = logging.getLogger(__name__)

EXPORT_FORMAT = "callcenter.client-data-export/1"

# Every table with a client_id, and where the export puts its rows. The audit log's rows
# about the client are the "audit_trail"; the tombstone is "erasure".
EXPORTED_TABLES = {
    "clients": "client",
    "client_phones": "phones",
    "account_summaries": "account_summaries",
    "tier_changes": "tier_changes",
    "interactions": "interactions",
    "complaints": "complaints",
    "follow_ups": "follow_ups",
    "return_visit_answers": "return_visits",
    "callback_requests": "callback_requests",
    "pin_attempts": "pin_attempts",
    "voice_messages": "voice_messages",
    "audit_log": "audit_trail",
    "client_erasures": "erasure",
}

# Never exported: a hash of the telephone PIN is still a secret (it can be attacked offline).
CLIENT_COLUMNS_WITHHELD = frozenset({"pin_hash"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def row_dict(row: Base, *, without: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every column of ``row`` as JSON values (times as ISO 8601), but ``without``."""
    return {
        column.key: _jsonable(getattr(row, column.key))
        for column in row.__table__.columns
        if column.key not in without
    }


async def rows_of(session: AsyncSession, model: type[Base], *where: Any) -> list[Any]:
    primary_key = model.__mapper__.primary_key[0]
    return list((await session.scalars(select(model).where(*where).order_by(primary_key))).all())


# --- the export ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientExport:
    document: dict[str, Any]
    # The voice messages' audio, by the name the export gives it: (file name, recording_ref).
    audio: tuple[tuple[str, str], ...] = ()


async def export_client(
    db: Database, actor_id: int, client_id: int, reason: str, *, now: dt.datetime | None = None
) -> ClientExport:
    """Everything held on the client, audited as ``client.data_export`` with the reason in
    the same transaction (no document leaves unless its audit entry committed)."""
    at = now or dt.datetime.now(dt.UTC)
    async with db.write() as session:
        client = await session.get(Client, client_id)
        if client is None:
            raise ClientNotFound(f"no client {client_id}", client_id=client_id)
        document = await _document(session, client, at)
        await record_audit(
            session, actor_id, DATA_EXPORT, client_id, detail={"reason": reason}, at=at
        )
    audio = tuple(
        (message["audio_file"], message["recording_ref"]) for message in document["voice_messages"]
    )
    log.info("client %s: data exported by user %s", client_id, actor_id)
    return ClientExport(document, audio)


async def _document(session: AsyncSession, client: Client, at: dt.datetime) -> dict[str, Any]:
    of_client = client.id
    branch = await session.get_one(Branch, client.branch_id)
    advisor = None if client.advisor_id is None else await session.get(User, client.advisor_id)
    interactions = await rows_of(session, Interaction, Interaction.client_id == of_client)
    amendments = await rows_of(
        session,
        InteractionAmendment,
        InteractionAmendment.interaction_id.in_([i.id for i in interactions]),
    )
    complaints = await rows_of(session, Complaint, Complaint.client_id == of_client)
    events = await rows_of(
        session, ComplaintEvent, ComplaintEvent.complaint_id.in_([c.id for c in complaints])
    )
    voice_messages = await rows_of(session, VoiceMessage, VoiceMessage.client_id == of_client)
    follow_ups = await rows_of(session, FollowUp, FollowUp.client_id == of_client)
    attempts = await rows_of(
        session, FollowUpAttempt, FollowUpAttempt.follow_up_id.in_([f.id for f in follow_ups])
    )
    erasure = await session.scalar(
        select(ClientErasure).where(ClientErasure.client_id == of_client)
    )
    client_fields = row_dict(client, without=CLIENT_COLUMNS_WITHHELD)
    return {
        "format": EXPORT_FORMAT,
        "generated_at": at.isoformat(),
        "client_id": client.id,
        "client": {
            **client_fields,
            "pin_set": client.pin_hash is not None,
            "branch": {"code": branch.code, "name": branch.name, "name_en": branch.name_en},
            "advisor": None
            if advisor is None
            else {"id": advisor.id, "display_name": advisor.display_name},
        },
        "consents": {
            "marketing": client.consent_marketing,
            "recording": client.consent_recording,
            "data_sharing": client.consent_data_sharing,
        },
        "phones": [
            row_dict(p, without=frozenset({"client_id"}))
            for p in await rows_of(session, ClientPhone, ClientPhone.client_id == of_client)
        ],
        "account_summaries": [
            row_dict(s, without=frozenset({"client_id"}))
            for s in await rows_of(session, AccountSummary, AccountSummary.client_id == of_client)
        ],
        "tier_changes": [
            row_dict(t, without=frozenset({"client_id"}))
            for t in await rows_of(session, TierChange, TierChange.client_id == of_client)
        ],
        "interactions": [
            {
                **row_dict(i, without=frozenset({"client_id"})),
                "amendments": [row_dict(a) for a in amendments if a.interaction_id == i.id],
            }
            for i in interactions
        ],
        "complaints": [
            {
                **row_dict(c, without=frozenset({"client_id"})),
                "events": [row_dict(e) for e in events if e.complaint_id == c.id],
            }
            for c in complaints
        ],
        "follow_ups": [
            {
                **row_dict(f, without=frozenset({"client_id"})),
                "attempts": [row_dict(a) for a in attempts if a.follow_up_id == f.id],
            }
            for f in follow_ups
        ],
        "return_visits": [
            row_dict(r, without=frozenset({"client_id"}))
            for r in await rows_of(
                session, ReturnVisitAnswers, ReturnVisitAnswers.client_id == of_client
            )
        ],
        "callback_requests": [
            row_dict(r, without=frozenset({"client_id"}))
            for r in await rows_of(session, CallbackRequest, CallbackRequest.client_id == of_client)
        ],
        # The result and time of each attempt only: never anything of the PIN, and not the
        # number it came from (a guesser's, as likely as the client's).
        "pin_attempts": [
            {"id": a.id, "at": _jsonable(a.at), "result": a.result.value}
            for a in await rows_of(session, PinAttempt, PinAttempt.client_id == of_client)
        ],
        "voice_messages": [
            {
                **row_dict(m, without=frozenset({"client_id"})),
                "audio_file": f"audio/voice-message-{m.id}{Path(m.recording_ref).suffix}",
            }
            for m in voice_messages
        ],
        "audit_trail": [
            row_dict(e, without=frozenset({"client_id"}))
            for e in await rows_of(session, AuditEntry, AuditEntry.client_id == of_client)
        ],
        "erasure": None if erasure is None else row_dict(erasure),
    }


def export_json(document: dict[str, Any]) -> bytes:
    """The document as a person reads it: UTF-8, Chinese as itself, indented."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def export_archive(export: ClientExport, audio_path: Callable[[str], Path | None]) -> bytes:
    """A zip of client.json and each voice message's audio under the name the document gives
    it; a file gone from the disk is listed in missing_audio.txt rather than failing it."""
    buffer = io.BytesIO()
    missing: list[str] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("client.json", export_json(export.document))
        for name, ref in export.audio:
            path = audio_path(ref)
            if path is None or not path.is_file():
                missing.append(name)
                continue
            archive.write(path, name)
        if missing:
            archive.writestr("missing_audio.txt", "\n".join(missing) + "\n")
    return buffer.getvalue()
