"""A client's data rights over the database: the erasure (the export is data_export.py).

The erasure (:func:`erase_client`) checks the rule of
``callcenter/crm/data_rights.py`` in the transaction that locks the client, then erases,
redacts or keeps each kind of row (docs/operations.md, "A client's data rights"), leaves the
tombstone (``client_erasures``) and the audit entry (``client.erasure``), and commits; only
then are the voice messages' audio files deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.clients import ClientNotFound
from callcenter.crm.data_rights import (
    COMPLAINT_IN_HAND,
    ERASED_TEXT,
    ERASURE,
    ClientErasureBlocked,
    ErasureFacts,
    erasure_blockers,
    pseudonym,
)
from callcenter.crm.vocabulary import (
    Direction,
    FollowUpStatus,
    Gender,
    IncomeBand,
    Role,
)
from callcenter.errors import Forbidden, NotFound
from callcenter.persistence.audit import record_audit
from callcenter.persistence.data_export import rows_of
from callcenter.persistence.db import Database
from callcenter.persistence.locking import lock_row
from callcenter.persistence.tables import (
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
    User,
    VoiceMessage,
)
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings

log = logging.getLogger(__name__)

# Amendment fields whose values name the client (redacted by an erasure).
PERSONAL_FIELDS = frozenset({"caller_number", "called_number", "notes"})


# --- who acts from the command line ----------------------------------------------------------


async def acting_user(db: Database, username: str, roles: Sequence[Role]) -> int:
    """The id of the active user ``username`` if their role is among ``roles``: the command
    line names the officer who answers for an export or an erasure, and audits it as theirs."""
    async with db.read() as session:
        user = await session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            raise NotFound(f"no active user is named {username!r}", username=username)
        if user.role not in roles:
            raise Forbidden(
                f"{username} is {user.role.value}: this needs "
                + " or ".join(role.value for role in roles),
                role=user.role.value,
            )
        return user.id


# --- the erasure -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureReport:
    client_id: int
    erasure_id: int
    erased_at: dt.datetime
    summary: dict[str, int]
    # Audio files that could not be deleted (already gone is not a failure): named for the
    # operator, who must remove them by hand.
    audio_left: tuple[str, ...] = field(default=())


async def _facts(session: AsyncSession, client: Client) -> ErasureFacts:
    of_client = client.id
    erased = await session.scalar(
        select(ClientErasure.id).where(ClientErasure.client_id == of_client)
    )
    in_hand = await session.scalar(
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.client_id == of_client, Complaint.status.in_(COMPLAINT_IN_HAND))
    )
    last_closed = await session.scalar(
        select(func.max(Complaint.closed_at)).where(Complaint.client_id == of_client)
    )
    contacts = [
        await session.scalar(select(func.max(column)).where(model.client_id == of_client))
        for model, column in (
            (Interaction, Interaction.started_at),
            (VoiceMessage, VoiceMessage.recorded_at),
            (CallbackRequest, CallbackRequest.requested_at),
        )
    ]
    known = [_aware(c) for c in contacts if c is not None]
    return ErasureFacts(
        erased=erased is not None,
        account_closed_on=client.closed_on,
        complaints_in_hand=in_hand or 0,
        last_complaint_closed_at=_aware(last_closed) if last_closed else None,
        last_contact_at=max(known) if known else None,
    )


def _aware(value: dt.datetime) -> dt.datetime:
    # func.max() comes back untyped (naive) on SQLite: the stored times are UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def erase_client(
    db: Database,
    actor_id: int,
    client_id: int,
    reason: str,
    request_ref: str,
    *,
    audio_path: Callable[[str], Path | None],
    now: dt.datetime | None = None,
) -> ErasureReport:
    """Erase the client's personal data if :func:`erasure_blockers` allows it today, else
    raise :class:`ClientErasureBlocked` naming every blocker. One transaction: the
    redactions, the deletions, the tombstone and the audit entry commit together; the audio
    files are deleted after the commit (``audio_path`` maps a recording_ref to the file on
    this host, or None for one outside the recordings folder)."""
    at = now or dt.datetime.now(dt.UTC)
    async with db.write() as session:
        client = await lock_row(session, Client, client_id)
        if client is None:
            raise ClientNotFound(f"no client {client_id}", client_id=client_id)
        blocks = erasure_blockers(await _facts(session, client), at.date())
        if blocks:
            raise ClientErasureBlocked(
                f"client {client_id}'s data must be kept whole for now",
                client_id=client_id,
                blockers=[
                    {"blocker": b.blocker.value, "until": b.until.isoformat() if b.until else None}
                    for b in blocks
                ],
            )
        old_account_no = client.account_no
        refs = list(
            (
                await session.scalars(
                    select(VoiceMessage.recording_ref).where(VoiceMessage.client_id == client_id)
                )
            ).all()
        )
        summary = await _erase_rows(session, client, old_account_no, at)
        tombstone = ClientErasure(
            client_id=client_id,
            erased_at=at,
            by_user_id=actor_id,
            reason=reason,
            request_ref=request_ref,
            summary=summary,
        )
        session.add(tombstone)
        await session.flush()
        erasure_id = tombstone.id
        await record_audit(
            session,
            actor_id,
            ERASURE,
            client_id,
            detail={"reason": reason, "request_ref": request_ref, "erasure_id": erasure_id},
            at=at,
        )
    # After the commit: a failed transaction must not have lost the audio already.
    left = _delete_audio(refs, audio_path)
    log.info("client %s erased by user %s (erasure %s)", client_id, actor_id, erasure_id)
    return ErasureReport(client_id, erasure_id, at, summary, left)


async def _count(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def _erase_rows(
    session: AsyncSession, client: Client, old_account_no: str, at: dt.datetime
) -> dict[str, int]:
    """Each kind of row: erased, redacted or kept (the rule in docs/operations.md). Returns
    how many rows of each kind were touched, for the tombstone."""
    of_client = client.id
    name = pseudonym(of_client)
    summary: dict[str, int] = {}
    await session.execute(
        update(Client)
        .where(Client.id == of_client)
        .values(
            account_no=name,
            name=name,
            name_latin=name,
            id_type="erased",
            id_number="",
            email=None,
            address=None,
            birthday=None,
            gender=Gender.UNSPECIFIED,
            occupation=None,
            income_band=IncomeBand.UNDISCLOSED,
            consent_marketing=False,
            consent_recording=False,
            consent_data_sharing=False,
            pin_hash=None,
            pin_failures=0,
            pin_locked_at=None,
            notes=None,
            updated_at=at,
            version=Client.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    summary["phones_deleted"] = await _count(
        session, delete(ClientPhone).where(ClientPhone.client_id == of_client)
    )
    summary["callback_requests_deleted"] = await _count(
        session, delete(CallbackRequest).where(CallbackRequest.client_id == of_client)
    )
    summary["voice_messages_deleted"] = await _count(
        session, delete(VoiceMessage).where(VoiceMessage.client_id == of_client)
    )
    summary["interactions_redacted"] = await _redact_interactions(
        session, of_client, old_account_no
    )
    summary["complaints_redacted"] = await _redact_complaints(session, of_client)
    # A work item's number, reason and its attempts' notes are the client's too (issue 18).
    summary["follow_up_attempts_redacted"] = await _count(
        session,
        update(FollowUpAttempt)
        .where(
            FollowUpAttempt.follow_up_id.in_(
                select(FollowUp.id).where(FollowUp.client_id == of_client)
            )
        )
        .values(note=None),
    )
    summary["follow_ups_redacted"] = await _count(
        session,
        update(FollowUp)
        .where(FollowUp.client_id == of_client)
        .values(outcome=None, number=None, reason=None, version=FollowUp.version + 1),
    )
    summary["follow_ups_cancelled"] = await _count(
        session,
        update(FollowUp)
        .where(FollowUp.client_id == of_client, FollowUp.status == FollowUpStatus.OPEN)
        .values(status=FollowUpStatus.CANCELLED),
    )
    summary["pin_attempts_redacted"] = await _count(
        session,
        update(PinAttempt)
        .where(PinAttempt.client_id == of_client)
        .values(caller_number=None, account_no=name),
    )
    return summary


async def _redact_interactions(session: AsyncSession, client_id: int, account_no: str) -> int:
    """Keep each contact's facts (times, queue, agent, outcome, disposition); drop the
    numbers that name the client, the notes, and the account number typed in the IVR."""
    rows = await rows_of(session, Interaction, Interaction.client_id == client_id)
    for row in rows:
        values: dict[str, Any] = {
            "caller_number": None,
            "notes": None,
            "ivr_path": [_without(step, account_no) for step in row.ivr_path or []],
            "version": row.version + 1,
        }
        if row.direction is Direction.OUTBOUND:
            values["called_number"] = None  # the client's number, dialled by an agent
        await session.execute(
            update(Interaction)
            .where(Interaction.id == row.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    for amendment in await rows_of(
        session,
        InteractionAmendment,
        InteractionAmendment.interaction_id.in_([r.id for r in rows]),
    ):
        changes = {
            key: ({"from": ERASED_TEXT, "to": ERASED_TEXT} if key in PERSONAL_FIELDS else value)
            for key, value in (amendment.changes or {}).items()
        }
        await session.execute(
            update(InteractionAmendment)
            .where(InteractionAmendment.id == amendment.id)
            .values(changes=changes)
            .execution_options(synchronize_session=False)
        )
    return len(rows)


def _without(step: Any, account_no: str) -> Any:
    if isinstance(step, str) and account_no:
        return step.replace(account_no, ERASED_TEXT)
    if isinstance(step, list):
        return [_without(part, account_no) for part in step]
    return step


async def _redact_complaints(session: AsyncSession, client_id: int) -> int:
    """Keep the complaint file's facts (category, owner, status history and its times): its
    free text is the client's story, in their words, and goes."""
    ids = list(
        (await session.scalars(select(Complaint.id).where(Complaint.client_id == client_id))).all()
    )
    if not ids:
        return 0
    await session.execute(
        update(Complaint)
        .where(Complaint.id.in_(ids))
        .values(
            summary=ERASED_TEXT,
            description=ERASED_TEXT,
            resolution=None,
            version=Complaint.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(ComplaintEvent)
        .where(ComplaintEvent.complaint_id.in_(ids), ComplaintEvent.note.is_not(None))
        .values(note=ERASED_TEXT)
        .execution_options(synchronize_session=False)
    )
    return len(ids)


def _delete_audio(refs: Sequence[str], audio_path: Callable[[str], Path | None]) -> tuple[str, ...]:
    left: list[str] = []
    for ref in refs:
        path = audio_path(ref)
        if path is None:
            log.warning("voice message audio outside the recordings folder left alone")
            left.append(ref)
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("voice message audio not deleted: %s", exc.strerror)
            left.append(ref)
    return tuple(left)


# --- where the voice messages' audio is on this host -----------------------------------------


def recordings_resolver(recordings_dir: Path, in_asterisk: str) -> Callable[[str], Path | None]:
    """Map a voice message's ``recording_ref`` (the path Asterisk wrote, under
    ``in_asterisk``) to the file under ``recordings_dir`` on this host; None for a reference
    outside that folder (a stored path is never trusted to reach elsewhere)."""
    base = recordings_dir.resolve()
    prefix = in_asterisk.rstrip("/") + "/"

    def resolve(ref: str) -> Path | None:
        if not ref.startswith(prefix):
            return None
        path = (base / ref[len(prefix) :]).resolve()
        return path if path.is_relative_to(base) and path != base else None

    return resolve


def recordings_of(settings: Settings) -> Callable[[str], Path | None]:
    """The resolver for this service's recordings folder: the deployment's
    (``CALLCENTER_IVR_RECORDINGS_DIR``, the same path in Asterisk and here), else the sandbox
    instance's spool (a path inside its root)."""
    if settings.ivr_recordings_dir:
        shared = settings.ivr_recordings_dir
        return recordings_resolver(Path(shared), shared)
    instance = AsteriskInstance(settings)
    in_asterisk = instance.dir_in_root / "spool" / "messages"
    return recordings_resolver(instance.root / in_asterisk.relative_to("/"), str(in_asterisk))
