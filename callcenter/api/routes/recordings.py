"""REST routes: playing recordings back, with why (issue 17, point 5).

=======  =========================================  =========================================
method   path                                       roles
=======  =========================================  =========================================
GET      /api/recordings                            playback roles (audited)
GET      /api/recordings/{id}                       playback roles (audited)
POST     /api/recordings/{id}/playbacks             playback roles, with a reason (audited)
GET      /api/recordings/{id}/audio?ticket=         the playback's own user
=======  =========================================  =========================================

Playback roles: supervisor, quality, compliance; agents and advisors their own calls when
``recordings_agent_playback`` is on (403 ``recording-agent-playback-off`` otherwise); branch
and admin 403 ``recording-playback-forbidden`` (callcenter/crm/recording_access.py). A
download is a playback with purpose ``download``, for the ``recordings_download_roles``
only (403 ``recording-download-forbidden``); its audio answers with
``Content-Disposition: attachment``.

The audio answers HTTP range requests: ``Accept-Ranges: bytes``, 206 with ``Content-Range``
for one range, 200 for the whole file (no Range, or several ranges), 416 with
``Content-Range: bytes */<size>`` for a range past the end. Like every API answer it says
``Cache-Control: no-store`` (callcenter/api/no_store.py): no browser keeps a client's call.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from callcenter.api.deps import ClockDep, DbDep, SettingsDep, Staff
from callcenter.api.schemas.common import Id, errors
from callcenter.api.schemas.recordings import (
    PlaybackIn,
    PlaybackOut,
    RecordingListOut,
    RecordingListParams,
    RecordingOut,
)
from callcenter.crm import recording_access as access
from callcenter.crm.recordings import RecordingStatus, RecordingStorage
from callcenter.crm.vocabulary import Role
from callcenter.persistence import recording_access as store
from callcenter.persistence.recording_files import recording_storage_for

log = logging.getLogger(__name__)

router = APIRouter(prefix="/recordings", tags=["recordings"])

RecordingId = Id


def get_policy(settings: SettingsDep) -> access.PlaybackPolicy:
    roles = set()
    for name in settings.recordings_download_roles:
        try:
            roles.add(Role(name))
        except ValueError:
            log.warning("recordings_download_roles: no role %r (ignored)", name)
    return access.PlaybackPolicy(
        agents_hear_own_calls=settings.recordings_agent_playback,
        download_roles=frozenset(roles),
        ticket_minutes=settings.recordings_ticket_minutes,
    )


PolicyDep = Annotated[access.PlaybackPolicy, Depends(get_policy)]


def get_recording_storage(settings: SettingsDep) -> RecordingStorage:
    """The recordings' folder (tests point it at their own)."""
    storage: RecordingStorage = recording_storage_for(settings)
    return storage


StorageDep = Annotated[RecordingStorage, Depends(get_recording_storage)]


async def _visible(
    db: DbDep, policy: access.PlaybackPolicy, principal: Staff, recording_id: int
) -> store.RecordingView:
    policy.check_role(principal.role)
    view = await store.load_recording(db, recording_id)
    if view is None:
        raise access.RecordingNotFound(f"no recording {recording_id}")
    policy.check_recording(principal.role, principal.user_id, view.agent_id)
    return view


@router.get("", responses=errors(403))
async def list_recordings(
    params: Annotated[RecordingListParams, Query()],
    db: DbDep,
    policy: PolicyDep,
    principal: Staff,
    clock: ClockDep,
) -> RecordingListOut:
    """The recordings of an interaction, a client or a complaint (else the newest), that
    you may play; newest first. Audited."""
    policy.check_role(principal.role)
    views = await store.list_recordings(
        db, principal.role, principal.user_id, params.to_query(), at=clock()
    )
    return RecordingListOut(items=[RecordingOut.of(view) for view in views])


@router.get("/{recording_id}", responses=errors(403, 404))
async def get_recording(
    recording_id: RecordingId, db: DbDep, policy: PolicyDep, principal: Staff, clock: ClockDep
) -> RecordingOut:
    """A recording: its call, times, duration, size, status, format and pauses. Audited."""
    view = await _visible(db, policy, principal, recording_id)
    await store.audit_view(db, principal.user_id, view, clock())
    return RecordingOut.of(view)


@router.post("/{recording_id}/playbacks", status_code=201, responses=errors(403, 404, 409, 422))
async def open_playback(
    recording_id: RecordingId,
    body: PlaybackIn,
    db: DbDep,
    policy: PolicyDep,
    principal: Staff,
    clock: ClockDep,
) -> PlaybackOut:
    """Play (or download) a recording, saying why: one audit entry with the reason, and the
    ticket the audio's requests carry. 422 ``recording-reason-required`` without a reason."""
    policy.check_role(principal.role)
    reason_text = access.check_reason(body.reason, body.reason_text)
    assert body.reason is not None  # checked just above
    view = await _visible(db, policy, principal, recording_id)
    if body.purpose is access.PlaybackPurpose.DOWNLOAD:
        policy.check_download(principal.role)
    if view.recording.status is not RecordingStatus.COMPLETE:
        raise access.RecordingNotPlayable(
            f"recording {recording_id} is {view.recording.status}: nothing to play",
            status=view.recording.status.value,
        )
    ticket, ticket_sha256 = access.new_ticket()
    now = clock()
    expires_at = now + dt.timedelta(minutes=policy.ticket_minutes)
    playback_id = await store.open_playback(
        db,
        view,
        store.NewPlayback(
            principal.user_id,
            body.purpose,
            body.reason,
            reason_text,
            ticket_sha256,
            now,
            expires_at,
        ),
    )
    download = "&download=1" if body.purpose is access.PlaybackPurpose.DOWNLOAD else ""
    return PlaybackOut(
        playback_id=playback_id,
        recording_id=recording_id,
        purpose=body.purpose,
        ticket=ticket,
        audio_url=f"/api/recordings/{recording_id}/audio?ticket={ticket}{download}",
        expires_at=expires_at,
    )


async def _ticket(
    db: DbDep,
    principal: Staff,
    recording_id: int,
    ticket: str | None,
    download: bool,
    now: dt.datetime,
) -> None:
    if not ticket:
        raise access.TicketRequired(
            "open a playback with a reason first (POST /api/recordings/{id}/playbacks), "
            "then fetch the audio with its ticket"
        )
    found = await store.find_ticket(db, access.ticket_hash(ticket))
    if (
        found is None
        or found.by_user_id != principal.user_id
        or found.recording_id != recording_id
        or found.expires_at <= now
    ):
        raise access.TicketInvalid("this ticket does not open this recording: open a playback")
    if download and found.purpose is not access.PlaybackPurpose.DOWNLOAD:
        raise access.TicketInvalid("a playback's ticket does not download: open a download")


@router.get(
    "/{recording_id}/audio",
    responses={
        200: {"content": {"audio/wav": {}}},
        206: {"content": {"audio/wav": {}}, "description": "one range"},
        416: {"description": "a range past the end"},
        **errors(403, 404, 409, 422),
    },
    response_class=Response,
)
async def recording_audio(
    recording_id: RecordingId,
    db: DbDep,
    policy: PolicyDep,
    storage: StorageDep,
    principal: Staff,
    clock: ClockDep,
    ticket: Annotated[str | None, Query(max_length=100)] = None,
    download: bool = False,
    range_header: Annotated[str | None, Header(alias="range", max_length=200)] = None,
) -> Response:
    """The WAV file, whole or one range of it, for the ticket of a playback you opened (not
    audited again: the playback was)."""
    await _ticket(db, principal, recording_id, ticket, download, clock())
    view = await _visible(db, policy, principal, recording_id)  # the rules of now, not then
    path = view.recording.path
    size = await storage.size(path) if view.recording.status is RecordingStatus.COMPLETE else None
    if size is None:
        raise access.RecordingNotPlayable(f"recording {recording_id} has no file to play")
    headers = {"Accept-Ranges": "bytes"}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="recording-{recording_id}.wav"'
    else:
        headers["Content-Disposition"] = "inline"
    try:
        wanted = access.parse_range(range_header, size)
    except access.RangeNotSatisfiable as exc:
        return JSONResponse(
            {"error": exc.error_id, "message": exc.message, "detail": exc.detail},
            status_code=416,
            headers={**headers, "Content-Range": f"bytes */{size}"},
        )
    if wanted is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(storage.read(path), 200, headers, media_type="audio/wav")
    headers["Content-Length"] = str(wanted.length)
    headers["Content-Range"] = wanted.content_range(size)
    return StreamingResponse(
        storage.read(path, wanted.start, wanted.end), 206, headers, media_type="audio/wav"
    )
