"""A client's data rights over HTTP, on both databases: who may export and erase, what the
answers carry, the audit rows, and that an erased client is found by no search."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.api.deps import get_settings
from callcenter.crm.vocabulary import ComplaintStatus, Role
from callcenter.persistence.tables import AuditEntry, ClientErasure, VoiceMessage
from tests.api.conftest import Api
from tests.support.data_rights import RECORDINGS_IN_ASTERISK, SeededClient, seed_everything

EXPORT_REASON = {"reason": "subject-access request SAR-2026-014"}
ERASURE = {"reason": "client asked by letter to be forgotten", "request_ref": "ER-2026-003"}


async def _client(api: Api, n: int = 1, **kwargs: object) -> SeededClient:
    return await seed_everything(
        api.db,
        api.branch.id,
        api.users[Role.SUPERVISOR].id,
        n=n,
        **kwargs,  # type: ignore[arg-type]
    )


async def _actions(api: Api, action: str) -> list[tuple[int | None, int | None, dict[str, Any]]]:
    """(actor, client, detail) of each audit entry of ``action``."""
    async with api.db.read() as session:
        rows = (await session.scalars(select(AuditEntry).where(AuditEntry.action == action))).all()
        return [(r.actor_id, r.client_id, r.detail) for r in rows]


@pytest.mark.parametrize("role", [Role.COMPLIANCE, Role.SUPERVISOR])
async def test_compliance_and_supervisors_export_a_client_audited_with_the_reason(
    api: Api, role: Role
) -> None:
    one = await _client(api)
    other = await _client(api, n=2)

    answer = await api.http.post(
        f"/api/clients/{one.client_id}/data-export", json=EXPORT_REASON, headers=api.as_(role)
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    document = answer.json()
    assert document["client"]["id_number"] == one.id_number
    assert len(document["interactions"]) == 2
    assert other.name not in answer.text
    assert await _actions(api, "client.data_export") == [
        (api.users[role].id, one.client_id, EXPORT_REASON)
    ]


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADVISOR, Role.ADMIN, Role.BRANCH])
async def test_other_roles_may_not_export(api: Api, role: Role) -> None:
    one = await _client(api)
    answer = await api.http.post(
        f"/api/clients/{one.client_id}/data-export", json=EXPORT_REASON, headers=api.as_(role)
    )
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"
    assert await _actions(api, "client.data_export") == []


async def test_export_of_an_unknown_client_is_404_and_a_reason_is_required(api: Api) -> None:
    headers = api.as_(Role.COMPLIANCE)
    missing = await api.http.post(
        "/api/clients/999/data-export", json=EXPORT_REASON, headers=headers
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "client-not-found")
    one = await _client(api)
    bare = await api.http.post(
        f"/api/clients/{one.client_id}/data-export", json={}, headers=headers
    )
    assert (bare.status_code, bare.json()["error"]) == (422, "invalid-request")


async def test_export_with_audio_is_a_zip_of_the_document_and_the_voice_messages(
    api: Api, tmp_path: Path
) -> None:
    # The recordings folder as a deployment shares it with Asterisk (the same path).
    folder = tmp_path / "messages"
    folder.mkdir()
    settings = api.app.state.runtime.settings.model_copy(update={"ivr_recordings_dir": str(folder)})
    api.app.dependency_overrides[get_settings] = lambda: settings
    one = await seed_everything(
        api.db, api.branch.id, api.users[Role.SUPERVISOR].id, n=1, recordings=folder
    )
    async with api.db.write() as session:  # the ref as Asterisk wrote it, in that folder
        message = await session.get_one(VoiceMessage, one.voice_message_id)
        message.recording_ref = message.recording_ref.replace(RECORDINGS_IN_ASTERISK, str(folder))

    answer = await api.http.post(
        f"/api/clients/{one.client_id}/data-export",
        json={**EXPORT_REASON, "include_audio": True},
        headers=api.as_(Role.COMPLIANCE),
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    document = json.loads(archive.read("client.json"))
    [voice] = document["voice_messages"]
    assert one.audio_file is not None
    assert archive.read(voice["audio_file"]) == one.audio_file.read_bytes()
    assert "missing_audio.txt" not in archive.namelist()


async def test_compliance_erases_a_client_whom_no_search_finds_afterwards(api: Api) -> None:
    one = await _client(api)
    await _client(api, n=2)

    answer = await api.http.post(
        f"/api/clients/{one.client_id}/erasure", json=ERASURE, headers=api.as_(Role.COMPLIANCE)
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["client_id"] == one.client_id
    assert body["summary"]["phones_deleted"] == 2
    for query in (
        {"name": one.name},
        {"name": one.name_latin},
        {"phone": one.phone},
        {"id_number": one.id_number},
        {"account_no": one.account_no},
    ):
        found = await api.http.get("/api/clients", params=query, headers=api.as_(Role.SUPERVISOR))
        assert found.status_code == 200, found.text
        assert found.json()["items"] == [], query
    [(actor, client, detail)] = await _actions(api, "client.erasure")
    assert (actor, client) == (api.users[Role.COMPLIANCE].id, one.client_id)
    assert detail["request_ref"] == "ER-2026-003"
    async with api.db.read() as session:
        tombstone = await session.scalar(select(ClientErasure.id))
    assert tombstone == body["erasure_id"]


async def test_erasure_with_a_complaint_in_hand_is_409_and_changes_nothing(api: Api) -> None:
    one = await _client(api, complaint_status=ComplaintStatus.OPEN)

    answer = await api.http.post(
        f"/api/clients/{one.client_id}/erasure", json=ERASURE, headers=api.as_(Role.COMPLIANCE)
    )

    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "client-erasure-blocked"
    assert body["detail"]["blockers"] == [{"blocker": "complaint_in_hand", "until": None}]
    found = await api.http.get(
        "/api/clients", params={"phone": one.phone}, headers=api.as_(Role.SUPERVISOR)
    )
    assert [c["id"] for c in found.json()["items"]] == [one.client_id]
    assert await _actions(api, "client.erasure") == []


@pytest.mark.parametrize(
    "role", [Role.AGENT, Role.ADVISOR, Role.SUPERVISOR, Role.ADMIN, Role.BRANCH]
)
async def test_only_compliance_may_erase(api: Api, role: Role) -> None:
    one = await _client(api)
    answer = await api.http.post(
        f"/api/clients/{one.client_id}/erasure", json=ERASURE, headers=api.as_(role)
    )
    assert answer.status_code == 403
    found = await api.http.get(
        "/api/clients", params={"phone": one.phone}, headers=api.as_(Role.SUPERVISOR)
    )
    assert [c["id"] for c in found.json()["items"]] == [one.client_id]
