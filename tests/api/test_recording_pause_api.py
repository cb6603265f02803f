"""The recording-pause routes (/api/calls/{call_id}/recording...): every role, the agent on the
call only, supervisors resume and never pause, each refusal with its id, and the audit rows.
The PBX is a fake we own (tests/db/test_recording_pauses.py); the real one is in
tests/integration/test_recording_pause_real_asterisk.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.crm.recording_pauses import RecordedCall, RecordingPauses
from callcenter.crm.recordings import recording_path
from callcenter.crm.vocabulary import Role
from callcenter.persistence.recording_files import LocalRecordingStorage
from callcenter.persistence.recording_pauses import PAUSED_ACTION, RESUMED_ACTION, SqlPauseLedger
from callcenter.persistence.recordings import SqlRecordingLedger
from callcenter.persistence.tables import AuditEntry
from tests.api.conftest import Api
from tests.db.test_recording_pauses import FakePbx

CALL = "1765072800.7"
AT = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
BASE = f"/api/calls/{CALL}/recording"
ANSWERING = {Role.AGENT, Role.ADVISOR, Role.SUPERVISOR}  # GET and resume
PAUSING = {Role.AGENT, Role.ADVISOR}


@pytest.fixture
async def pbx(api: Api, tmp_path: Path) -> FakePbx:
    """agent (the test user of that role) on a recorded call; the service's pauses on it."""
    path = recording_path(AT, None, CALL)
    recording_id = await SqlRecordingLedger(api.db).create(None, CALL, path, AT)
    storage = LocalRecordingStorage(tmp_path / "recordings", "/rec")
    call = RecordedCall(CALL, recording_id, path, None, api.users[Role.AGENT].id)
    fake = FakePbx(storage, call)
    runtime = api.app.state.runtime
    runtime.recording_pauses = RecordingPauses(
        fake, SqlPauseLedger(api.db), runtime.events, limit_seconds=60
    )
    return fake


@pytest.mark.parametrize("role", sorted(set(Role) - ANSWERING))
async def test_other_roles_get_403_on_every_route(api: Api, pbx: FakePbx, role: Role) -> None:
    for method, path in (("GET", BASE), ("POST", f"{BASE}/pause"), ("POST", f"{BASE}/resume")):
        response = await api.http.request(method, path, headers=api.as_(role))
        assert response.status_code == 403, (method, path, response.text)
    assert pbx.mutes == []


async def test_a_supervisor_sees_and_resumes_but_never_pauses(api: Api, pbx: FakePbx) -> None:
    supervisor = api.as_(Role.SUPERVISOR)
    assert (await api.http.post(f"{BASE}/pause", headers=supervisor)).status_code == 403
    paused = await api.http.post(f"{BASE}/pause", headers=api.as_(Role.AGENT))
    assert paused.status_code == 200, paused.text
    seen = (await api.http.get(BASE, headers=supervisor)).json()
    assert (seen["state"], seen["limit_seconds"]) == ("paused", 60)
    resumed = await api.http.post(f"{BASE}/resume", headers=supervisor)
    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["state"], resumed.json()["resumed_by"]) == ("recording", "supervisor")
    assert pbx.mutes == [True, False]


async def test_the_agent_on_the_call_pauses_and_resumes_and_each_is_audited(
    api: Api, pbx: FakePbx
) -> None:
    agent = api.as_(Role.AGENT)
    assert (await api.http.get(BASE, headers=agent)).json()["state"] == "recording"
    pbx.talk(2.0)
    paused = await api.http.post(f"{BASE}/pause", headers=agent)
    assert paused.status_code == 200, paused.text
    assert paused.json()["state"] == "paused"
    resumed = await api.http.post(f"{BASE}/resume", headers=agent)
    assert resumed.json()["resumed_by"] == "agent"
    async with api.db.read() as session:
        rows = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.detail)
                .where(AuditEntry.action.in_([PAUSED_ACTION, RESUMED_ACTION]))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [(a, actor) for a, actor, _ in rows] == [
        (PAUSED_ACTION, api.users[Role.AGENT].id),
        (RESUMED_ACTION, api.users[Role.AGENT].id),
    ]
    assert rows[0][2]["call_id"] == CALL


async def test_each_refusal_has_its_id(api: Api, pbx: FakePbx) -> None:
    agent, other = api.as_(Role.AGENT), api.as_(Role.ADVISOR)

    async def refused(method: str, path: str, headers: dict[str, str]) -> tuple[int, str]:
        response = await api.http.request(method, path, headers=headers)
        return response.status_code, response.json()["error"]

    assert await refused("POST", f"{BASE}/pause", other) == (404, "not-your-call")
    assert await refused("GET", BASE, other) == (404, "not-your-call")
    assert await refused("POST", f"{BASE}/resume", agent) == (409, "recording-not-paused")
    missing = "/api/calls/1765072800.99/recording/pause"
    assert await refused("POST", missing, agent) == (404, "call-not-recorded")
    assert await refused("POST", "/api/calls/not%20an%20id/recording/pause", agent) == (
        422,
        "invalid-request",
    )
    await api.http.post(f"{BASE}/pause", headers=agent)
    assert await refused("POST", f"{BASE}/pause", agent) == (409, "recording-already-paused")
    assert await refused("POST", f"{BASE}/resume", other) == (404, "not-your-call")
    api.app.state.runtime.recording_pauses = None  # no PBX link, or recording off
    assert await refused("POST", f"{BASE}/resume", agent) == (409, "pbx-unavailable")
