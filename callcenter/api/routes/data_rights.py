"""REST routes: a client's data rights (issue 15, point 7). Policy: docs/operations.md, "A
client's data rights".

=======  ===============================  =======================  ===================
method   path                             roles                    audit action
=======  ===============================  =======================  ===================
POST     /api/clients/{id}/data-export    compliance, supervisor   client.data_export
POST     /api/clients/{id}/erasure        compliance               client.erasure
=======  ===============================  =======================  ===================

Both are POSTs with a reason: an export hands out everything held on a client (full ID number
included: it is theirs), an erasure changes their record for good.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from callcenter.api.deps import DbDep, Principal, SettingsDep, require_roles
from callcenter.api.schemas.common import Id, errors
from callcenter.api.schemas.data_rights import DataExportIn, ErasureIn, ErasureOut
from callcenter.crm.vocabulary import Role
from callcenter.persistence.data_export import export_archive, export_client, export_json
from callcenter.persistence.data_rights import erase_client, recordings_of

router = APIRouter(prefix="/clients", tags=["data rights"])

Exporters = Annotated[Principal, Depends(require_roles(Role.COMPLIANCE, Role.SUPERVISOR))]
Compliance = Annotated[Principal, Depends(require_roles(Role.COMPLIANCE))]
NO_STORE = {"Cache-Control": "no-store"}


@router.post(
    "/{client_id}/data-export",
    responses={
        **errors(403, 404, 422),
        200: {"content": {"application/json": {}, "application/zip": {}}},
    },
)
async def export_client_data(
    client_id: Id, body: DataExportIn, db: DbDep, settings: SettingsDep, principal: Exporters
) -> Response:
    """Everything held on the client as one JSON document (a subject-access request), or a
    zip of it with the audio of the voice messages they left. Audited with the reason."""
    export = await export_client(db, principal.user_id, client_id, body.reason)
    if not body.include_audio:
        return Response(
            export_json(export.document), media_type="application/json", headers=NO_STORE
        )
    archive = export_archive(export, recordings_of(settings))
    return Response(
        archive,
        media_type="application/zip",
        headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="client-{client_id}-data.zip"',
        },
    )


@router.post("/{client_id}/erasure", responses=errors(403, 404, 409, 422))
async def erase_client_data(
    client_id: Id, body: ErasureIn, db: DbDep, settings: SettingsDep, principal: Compliance
) -> ErasureOut:
    """Erase the client's personal data, keeping what retention requires (redacted). 409
    ``client-erasure-blocked`` while the account is open, a complaint is in hand or a
    retention period runs (``detail.blockers``). Leaves a tombstone; audited."""
    report = await erase_client(
        db,
        principal.user_id,
        client_id,
        body.reason,
        body.request_ref,
        audio_path=recordings_of(settings),
    )
    return ErasureOut.of(report)
