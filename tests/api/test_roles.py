"""Who may call which route: one table, checked for every role.

Each row is (method, path, allowed roles, body). Paths and bodies name the records of
:class:`Seeded` (``{client_id}``...), created fresh for every test. To add routes: append rows
to ``ROUTES`` (and, if they need a record of their own, a field to ``Seeded`` and a line to
:func:`seed`). Each row is checked three ways: no session token -> 401; each role not allowed
-> 403; each allowed role (a bearer token of a live session) -> a 2xx answer. A row marked
``logged_in`` is called by an agent or advisor who has logged in first (logging out needs a
login).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import pytest

from callcenter.acd.model import QueueConfig
from callcenter.app import create_app
from callcenter.crm.vocabulary import ComplaintStatus, Role
from callcenter.pbx.call_states import CallStatus
from callcenter.persistence import agents, dnc, queues
from callcenter.persistence.tables import Complaint, ComplaintEvent
from callcenter.settings import load_settings
from tests.api.conftest import Api, bearer
from tests.api.test_call_control_routes import FakeCallControl
from tests.support.crm_data import add_call_in_hand, add_client, add_follow_up
from tests.support.data_rights import add_erasable_client

ANY_STAFF = frozenset(Role)
# Client data: everyone but admins reads it (each in their scope; the seeded client is in
# every reader's: on the agent's call, in the advisor's book, in the branch's branch).
CLIENT_READERS = ANY_STAFF - {Role.ADMIN}
CLIENT_FACING = frozenset({Role.AGENT, Role.ADVISOR, Role.BRANCH, Role.SUPERVISOR})
SUPERVISOR = frozenset({Role.SUPERVISOR})
CALLS_AGENT = frozenset({Role.AGENT})  # the agent who took the seeded call
MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
AGENTS = frozenset({Role.AGENT, Role.ADVISOR})
ADMIN = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Seeded:
    """The records a route in the table may refer to."""

    client_id: int
    interaction_id: int
    follow_up_id: int
    complaint_id: int
    agent_id: int
    queue_name: str
    entry_id: int  # on the do-not-call list
    user_id: int  # an account the admin routes change: the agent's
    period: str = "2026-10"
    kind: str = "not_ready_reason"  # a service code the migration seeds
    code: str = "training"
    erasable_client_id: int = 0  # closed long ago, no complaint: its data may be erased
    item_id: int = 0  # the dialler's work item: the seeded follow-up


async def seed(api: Api) -> Seeded:
    client_id = await add_client(api.db, api.branch.id, advisor_id=api.users[Role.ADVISOR].id)
    interaction_id = await add_call_in_hand(api.db, client_id, api.users[Role.AGENT].id)
    follow_up_id = await add_follow_up(api.db, client_id)
    complaint_id = await add_complaint(api, client_id)
    async with api.db.write() as session:
        await queues.put_queue(session, QueueConfig("general"), None)
        entry = await dnc.add_entry(
            session,
            "+8613800138000",
            dnc.DncFields(dnc.DncScope.ALL, "asked", None),
            by_user_id=api.users[Role.ADMIN].id,
        )
    return Seeded(
        client_id,
        interaction_id,
        follow_up_id,
        complaint_id,
        agent_id=api.users[Role.AGENT].id,
        queue_name="general",
        erasable_client_id=await add_erasable_client(api.db, api.branch.id),
        entry_id=entry.entry_id,
        user_id=api.users[Role.AGENT].id,
        item_id=follow_up_id,
    )


async def add_complaint(api: Api, client_id: int) -> int:
    """An open complaint owned by the test users' branch (an advisor may act on those)."""
    now = dt.datetime.now(dt.UTC)
    async with api.db.write() as session:
        complaint = Complaint(
            client_id=client_id,
            category_code="account.opening",  # owner "branch": the client's branch
            owner_branch_id=api.branch.id,
            status=ComplaintStatus.OPEN,
            summary="Account opening took three weeks",
            description="Documents were asked for twice.",
            created_at=now,
            response_due_at=now + dt.timedelta(days=2),
        )
        session.add(complaint)
        await session.flush()
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id, from_status=None, to_status=ComplaintStatus.OPEN
            )
        )
        return complaint.id


Body = dict[str, Any] | Callable[[Seeded], dict[str, Any]] | None


@dataclass(frozen=True)
class RouteRule:
    method: str
    path: str  # str.format()-ed with the Seeded fields
    allowed: frozenset[Role]
    body: Body = None
    logged_in: bool = False  # the acting agent or advisor logs in first

    def request(self, seeded: Seeded) -> tuple[str, str, dict[str, Any] | None]:
        body = self.body(seeded) if callable(self.body) else self.body
        return self.method, self.path.format(**asdict(seeded)), body

    def __str__(self) -> str:
        return f"{self.method} {self.path.split('?')[0]}"


@dataclass(frozen=True)
class OnErasableClient(RouteRule):
    """A route whose ``{client_id}`` is the client whose data may be erased."""

    def request(self, seeded: Seeded) -> tuple[str, str, dict[str, Any] | None]:
        method, _path, body = super().request(seeded)
        fields = {**asdict(seeded), "client_id": seeded.erasable_client_id}
        return method, self.path.format(**fields), body


ROUTES: list[RouteRule] = [
    # logins: who am I, and logging out (logging in needs no session: PUBLIC below)
    RouteRule("GET", "/api/auth/me", ANY_STAFF),
    RouteRule("POST", "/api/auth/logout", ANY_STAFF),
    # a second factor: any role may enrol one (supervisors, compliance and admins must)
    RouteRule("POST", "/api/auth/mfa/enrol", ANY_STAFF),
    # clients
    RouteRule("GET", "/api/clients?name=zhang", CLIENT_READERS),
    RouteRule("GET", "/api/clients/{client_id}", CLIENT_READERS),
    RouteRule(
        "POST",
        "/api/clients/{client_id}/reveal-id",
        CLIENT_FACING,
        {"reason": "client asks to confirm the ID on file"},
    ),
    RouteRule("PATCH", "/api/clients/{client_id}", CLIENT_FACING, {"version": 1, "notes": "x"}),
    RouteRule("POST", "/api/clients/{client_id}/notes", CLIENT_FACING, {"line": "called back"}),
    RouteRule("POST", "/api/clients/{client_id}/pin-unlock", CLIENT_FACING),
    # a client's data rights, and the audit log (compliance)
    RouteRule(
        "POST",
        "/api/clients/{client_id}/data-export",
        frozenset({Role.COMPLIANCE, Role.SUPERVISOR}),
        {"reason": "subject-access request SAR-1"},
    ),
    OnErasableClient(
        "POST",
        "/api/clients/{client_id}/erasure",
        frozenset({Role.COMPLIANCE}),
        {"reason": "the client asked by letter", "request_ref": "ER-1"},
    ),
    RouteRule("GET", "/api/audit?action=client.view", frozenset({Role.COMPLIANCE})),
    RouteRule("GET", "/api/audit/export.csv", frozenset({Role.COMPLIANCE})),
    # interactions: written by the system; an agent sets the wrap-up of their own call, a
    # supervisor amends
    RouteRule(
        "POST",
        "/api/interactions",
        frozenset(),
        {"channel": "web", "direction": "inbound", "started_at": "2026-03-02T10:00:00+08:00"},
    ),
    RouteRule("GET", "/api/interactions?client_id={client_id}", CLIENT_READERS),
    RouteRule("GET", "/api/interactions/{interaction_id}", CLIENT_READERS),
    RouteRule(
        "PUT",
        "/api/interactions/{interaction_id}/disposition",
        CALLS_AGENT,
        {"disposition": "resolved", "notes": "explained"},
    ),
    RouteRule(
        "PATCH",
        "/api/interactions/{interaction_id}",
        CALLS_AGENT,
        lambda _s: {
            "phase": "wrapped_up",
            "at": dt.datetime.now(dt.UTC).isoformat(),
            "disposition": "resolved",
        },
    ),
    RouteRule(
        "POST",
        "/api/interactions/{interaction_id}/amendments",
        SUPERVISOR,
        {"queue": "vip", "reason": "the caller was routed to the wrong queue"},
    ),
    # follow-ups
    RouteRule(
        "POST",
        "/api/follow-ups",
        CLIENT_FACING,
        lambda s: {"client_id": s.client_id, "kind": "care_call", "due_on": "2026-03-20"},
    ),
    RouteRule("GET", "/api/follow-ups?status=open", CLIENT_READERS),
    RouteRule("GET", "/api/follow-ups/{follow_up_id}", CLIENT_READERS),
    RouteRule(
        "POST", "/api/follow-ups/{follow_up_id}/complete", CLIENT_FACING, {"outcome": "called"}
    ),
    RouteRule("POST", "/api/follow-ups/{follow_up_id}/cancel", SUPERVISOR, {"reason": "duplicate"}),
]

# Advisors and branch staff act on complaints of their own branch only (the seeded one is
# theirs); admins see no client data.
COMPLAINT_HANDLERS = frozenset({Role.ADVISOR, Role.BRANCH, Role.SUPERVISOR})

ROUTES += [
    # complaints
    RouteRule("GET", "/api/complaints/categories", ANY_STAFF),
    RouteRule("GET", "/api/complaints?status=open", CLIENT_READERS),
    RouteRule(
        "POST",
        "/api/complaints",
        CLIENT_FACING,
        lambda s: {
            "client_id": s.client_id,
            "category_code": "service.waiting",
            "summary": "Waited 6 minutes",
            "description": "The hotline kept me waiting.",
        },
    ),
    RouteRule("GET", "/api/complaints/{complaint_id}", CLIENT_READERS),
    RouteRule("POST", "/api/complaints/{complaint_id}/notes", CLIENT_FACING, {"note": "called"}),
    RouteRule(
        "POST",
        "/api/complaints/{complaint_id}/transitions",
        COMPLAINT_HANDLERS,
        {"to": "acknowledged", "version": 1, "note": "we are on it"},
    ),
    RouteRule(
        "PATCH",
        "/api/complaints/{complaint_id}/assign",
        COMPLAINT_HANDLERS,
        {"assigned_to_id": None, "version": 1},
    ),
    # reports: the whole center's figures are for managers (an advisor or agent may read
    # their own KPI row with by=advisor / by=agent: tests/api/test_reports_api.py)
    RouteRule("GET", "/api/reports/deciles?period=2026-10", MANAGERS),
    RouteRule("GET", "/api/reports/profitability?period=2026-10", MANAGERS),
    RouteRule("GET", "/api/reports/kpis?period=2026-10&by=branch", MANAGERS),
    RouteRule("POST", "/api/reports/segmentation/{period}", MANAGERS),
    # IVR flows: what is in service, and reloading the folder (the shipped flows are valid)
    RouteRule("GET", "/api/ivr/flows", MANAGERS),
    RouteRule("POST", "/api/ivr/reload", MANAGERS),
    # agents: their own state (agents and advisors), everyone's (managers), profiles (admins)
    RouteRule("GET", "/api/agents/reasons", ANY_STAFF),
    RouteRule("GET", "/api/agents/dispositions", ANY_STAFF),
    RouteRule("GET", "/api/agents/center", ANY_STAFF),
    RouteRule("GET", "/api/agents/me", AGENTS),
    RouteRule("GET", "/api/agents/me/phone", AGENTS),
    RouteRule("POST", "/api/agents/me/login", AGENTS),
    RouteRule("POST", "/api/agents/me/logout", AGENTS, logged_in=True),
    RouteRule(
        "POST",
        "/api/agents/me/state",
        AGENTS,
        {"state": "not_ready", "reason": "break"},
        logged_in=True,
    ),
    RouteRule("GET", "/api/agents?state=ready", MANAGERS),
    RouteRule(
        "PUT",
        "/api/agents/{agent_id}/profile",
        ADMIN,
        lambda s: {"skills": {"trading": 3}, "languages": ["zh"], "queues": [s.queue_name]},
    ),
    # queues: configuration is read by managers, changed by admins
    RouteRule("GET", "/api/queues", MANAGERS),
    RouteRule("GET", "/api/queues/{queue_name}", MANAGERS),
    RouteRule("GET", "/api/queues/{queue_name}/live", MANAGERS),
    RouteRule("PUT", "/api/queues/{queue_name}", ADMIN, {"version": 1, "ring_seconds": 20}),
    # call control: agents and advisors, on their own call (a call control that has one)
    RouteRule("GET", "/api/calls/me", AGENTS),
    RouteRule("POST", "/api/calls/me/hold", AGENTS),
    RouteRule("POST", "/api/calls/me/resume", AGENTS),
    RouteRule("POST", "/api/calls/me/hangup", AGENTS),
    RouteRule("POST", "/api/calls/me/transfer", AGENTS, {"to": "1002", "mode": "blind"}),
    RouteRule("POST", "/api/calls/me/transfer/complete", AGENTS),
    RouteRule("POST", "/api/calls/me/transfer/cancel", AGENTS),
    RouteRule("POST", "/api/calls/me/conference", AGENTS),
    RouteRule("POST", "/api/calls/me/dial", AGENTS, {"number": "+8613900000001"}),
    # live channels (callers' numbers)
    RouteRule("GET", "/api/channels", MANAGERS),
    # the admin console: service codes are read by managers, changed by admins
    RouteRule("GET", "/api/service-codes", MANAGERS),
    RouteRule(
        "PUT",
        "/api/service-codes/{kind}/{code}",
        ADMIN,
        {"label_zh": "培训", "label_en": "Training", "version": 1},
    ),
    RouteRule("DELETE", "/api/service-codes/{kind}/{code}?version=1", ADMIN),
    # the do-not-call list: read by managers, kept by admins
    RouteRule("GET", "/api/dnc", MANAGERS),
    RouteRule("GET", "/api/dnc/{entry_id}", MANAGERS),
    RouteRule(
        "POST", "/api/dnc", ADMIN, {"number": "+8613900139000", "scope": "care", "reason": "asked"}
    ),
    RouteRule("PUT", "/api/dnc/{entry_id}", ADMIN, {"scope": "care", "reason": "x", "version": 1}),
    RouteRule("DELETE", "/api/dnc/{entry_id}?version=1", ADMIN),
    # staff accounts: read by managers, kept by admins
    RouteRule("GET", "/api/admin/branches", MANAGERS),
    RouteRule("GET", "/api/admin/users", MANAGERS),
    RouteRule("GET", "/api/admin/users/{user_id}", MANAGERS),
    RouteRule(
        "POST",
        "/api/admin/users",
        ADMIN,
        {
            "username": "agent11",
            "display_name": "New Agent",
            "role": "agent",
            "password": "a-long-first-password",
        },
    ),
    RouteRule("PATCH", "/api/admin/users/{user_id}", ADMIN, {"display_name": "Renamed"}),
    RouteRule(
        "POST", "/api/admin/users/{user_id}/password", ADMIN, {"password": "a-long-new-password"}
    ),
    RouteRule("POST", "/api/admin/users/{user_id}/mfa-reset", ADMIN),
]

# call-center figures and staffing (issue 7): managers only
DAY_RANGE = "from=2026-10-01&to=2026-10-01"
ROUTES += [
    RouteRule("GET", f"/api/reports/calls?{DAY_RANGE}&interval=15&by=agent", MANAGERS),
    RouteRule("GET", f"/api/reports/complaints?{DAY_RANGE}", MANAGERS),
    RouteRule("GET", f"/api/reports/follow-ups?{DAY_RANGE}", MANAGERS),
    RouteRule("GET", f"/api/reports/outbound?{DAY_RANGE}&by=advisor", MANAGERS),  # issue 18
    RouteRule("GET", "/api/reports/today", MANAGERS),  # the center's day (issue 16)
    RouteRule("GET", "/api/staffing/erlang-c?volume=100&aht_seconds=180", MANAGERS),
    RouteRule(
        "POST",
        "/api/staffing/erlang-c",
        MANAGERS,
        {"intervals": [{"volume": 100, "aht_seconds": 180}]},
    ),
    # the wallboard's picture (the other supervision routes: tests/api/test_supervision_api.py)
    RouteRule("GET", "/api/supervision/floor", MANAGERS),
]

# the dialler's work (issue 18): agents and advisors
ROUTES += [
    RouteRule("GET", "/api/outbound/my-work", AGENTS),
    RouteRule("POST", "/api/outbound/next", AGENTS),
    RouteRule("POST", "/api/outbound/items/{item_id}/skip", AGENTS, {"reason": "later"}),
    RouteRule("GET", "/api/outbound/progressive", AGENTS),
    RouteRule("PUT", "/api/outbound/progressive", AGENTS, {"on": True}),
    RouteRule(
        "POST",
        "/api/outbound/care-lists",
        SUPERVISOR,
        lambda s: {"reason": "listing day", "due_on": "2026-12-08", "client_ids": [s.client_id]},
    ),
]


# return visits (issue 18, point 5): whoever calls the client, and supervisors; branch staff
# do not (the visit checks the branch's own work)
RETURN_VISITORS = frozenset({Role.AGENT, Role.ADVISOR, Role.SUPERVISOR})
RETURN_VISIT_ANSWERS = {
    "opened_by_self": "yes",
    "risk_disclosure": "understood",
    "risk_profile_known": "yes",
    "promised_returns": "no",
    "satisfied_with_opening": "yes",
}
ROUTES += [
    RouteRule("GET", "/api/return-visits/script?follow_up_id={follow_up_id}", RETURN_VISITORS),
    RouteRule(
        "POST",
        "/api/follow-ups/{follow_up_id}/return-visit",
        RETURN_VISITORS,
        {"answers": RETURN_VISIT_ANSWERS},
    ),
]


class OnACall(FakeCallControl):
    """A call control whose agent always has a call on hold to resume."""

    async def resume(self, agent_id: int) -> CallStatus:
        return self._status("resume", agent_id)


# Every route under these prefixes must have a row (checked below); extend with new resources.
COVERED_PREFIXES = (
    "/api/auth",
    "/api/clients",
    "/api/interactions",
    "/api/follow-ups",
    "/api/complaints",
    "/api/reports",
    "/api/ivr",
    "/api/agents",
    "/api/queues",
    "/api/calls",
    "/api/channels",
    "/api/staffing",
    "/api/supervision/floor",  # the other supervision routes: tests/api/test_supervision_api.py
    "/api/service-codes",
    "/api/audit",
    "/api/dnc",
    "/api/admin",
    "/api/return-visits",
    "/api/outbound",
)

# Routes anyone may call, without a session (tested on their own: tests/api/test_auth.py).
PUBLIC = {("POST", "/api/auth/login"), ("POST", "/api/auth/mfa")}
# Routes whose success needs a state this table cannot seed: confirming an enrolment needs
# one begun and a code of its fresh secret (every role's: tests/api/test_mfa.py).
TESTED_ELSEWHERE = {
    ("POST", "/api/auth/mfa/confirm"),
    # Wrap-up needs an ACD with an agent in wrap-up (tests/api/test_wrap_up_api.py, every role).
    ("GET", "/api/agents/me/wrap-up"),
    ("POST", "/api/agents/me/wrap-up/extend"),
    ("GET", "/api/agents/{agent_id}/wrap-up"),
    # Pausing a recording needs a recorded call (tests/api/test_recording_pause_api.py, every role).
    ("GET", "/api/calls/{call_id}/recording"),
    ("POST", "/api/calls/{call_id}/recording/pause"),
    ("POST", "/api/calls/{call_id}/recording/resume"),
    # Dialling needs a dialler and an outcome a dial (tests/api/test_outbound_api.py).
    ("POST", "/api/outbound/items/{item_id}/dial"),
    ("POST", "/api/outbound/items/{item_id}/outcome"),
}

ALLOWED = [(rule, role) for rule, role in itertools.product(ROUTES, Role) if role in rule.allowed]


def case_id(value: object) -> str:
    return str(value)


async def call(
    api: Api,
    rule: RouteRule,
    headers: dict[str, str],
    acting: Role | None = None,
    seeded: Seeded | None = None,
) -> Any:
    method, path, body = rule.request(seeded or await seed(api))
    api.app.state.runtime.calls = OnACall()
    if rule.logged_in and acting in AGENTS:
        async with api.db.write() as session:
            await agents.login(session, api.users[acting].id)
    return await api.http.request(method, path, json=body, headers=headers)


# Refusals change nothing, so one seeded database serves every refused request: one test for
# all the routes without a user, one per route for the roles it refuses (the suite's time).


async def test_without_a_user_every_route_is_401(api: Api) -> None:
    seeded = await seed(api)
    answers = {str(rule): (await call(api, rule, {}, seeded=seeded)).status_code for rule in ROUTES}
    assert answers == dict.fromkeys(answers, 401)


async def test_an_unknown_token_is_401(api: Api) -> None:
    response = await call(api, ROUTES[0], bearer("not-a-session-token"))
    assert (response.status_code, response.json()["error"]) == (401, "not-authenticated")


@pytest.mark.parametrize("rule", [r for r in ROUTES if set(Role) - r.allowed], ids=case_id)
async def test_the_roles_not_allowed_get_403(api: Api, rule: RouteRule) -> None:
    seeded = await seed(api)
    answers = {}
    for role in sorted(set(Role) - rule.allowed):
        response = await call(api, rule, api.as_(role), role, seeded)
        answers[role] = (response.status_code, response.text[:120])
    assert {role: status for role, (status, _text) in answers.items()} == dict.fromkeys(
        answers, 403
    ), answers


@pytest.mark.parametrize(("rule", "role"), ALLOWED, ids=case_id)
async def test_an_allowed_role_succeeds(api: Api, rule: RouteRule, role: Role) -> None:
    response = await call(api, rule, api.as_(role), role)
    assert 200 <= response.status_code < 300, response.text


def test_the_table_covers_every_route_under_its_prefixes() -> None:
    app = create_app(load_settings(pbx_enabled=False), call_handler=None)
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(COVERED_PREFIXES)
        for method in operations
    }
    assert served == (
        {(rule.method, rule.path.split("?")[0]) for rule in ROUTES} | PUBLIC | TESTED_ELSEWHERE
    )
