"""The data-rights commands on both databases: `callcenter clients export|erase` and
`callcenter audit export`, acting as a named officer whose role is checked and audited."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from callcenter.cli import main
from callcenter.crm.vocabulary import ComplaintStatus, Role
from callcenter.persistence.db import Database
from callcenter.persistence.tables import AuditEntry
from tests.support.crm_data import add_branch
from tests.support.data_rights import SeededClient, add_staff, seed_everything

T = TypeVar("T")


def _on(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _seed(url: str, **kwargs: Any) -> SeededClient:
    async def work(db: Database) -> SeededClient:
        branch = await add_branch(db)
        officer = await add_staff(db, branch, Role.COMPLIANCE, "compliance.chen")
        await add_staff(db, branch, Role.AGENT, "agent.li")
        return await seed_everything(db, branch, officer, n=1, **kwargs)

    return _on(url, work)


def _audit(url: str, action: str) -> list[tuple[int | None, int | None, dict[str, Any]]]:
    async def work(db: Database) -> list[tuple[int | None, int | None, dict[str, Any]]]:
        async with db.read() as session:
            rows = await session.scalars(select(AuditEntry).where(AuditEntry.action == action))
            return [(r.actor_id, r.client_id, r.detail) for r in rows]

    return _on(url, work)


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CALLCENTER_DATABASE_URL", database_url)
    return CliRunner()


def test_clients_export_writes_the_document_audited_as_the_officer(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    one = _seed(database_url)
    out = tmp_path / "client.json"

    result = cli.invoke(
        main,
        [
            "clients",
            "export",
            str(one.client_id),
            "--reason",
            "SAR-88 by e-mail",
            "--by",
            "compliance.chen",
            "--out",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["client"]["name"] == one.name
    assert out.stat().st_mode & 0o077 == 0
    [(actor, client, detail)] = _audit(database_url, "client.data_export")
    assert (client, detail) == (one.client_id, {"reason": "SAR-88 by e-mail"})
    assert actor is not None


def test_an_agent_may_not_export_from_the_command_line_either(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    one = _seed(database_url)
    out = tmp_path / "client.json"

    result = cli.invoke(
        main,
        [
            "clients",
            "export",
            str(one.client_id),
            "--reason",
            "curious",
            "--by",
            "agent.li",
            "--out",
            str(out),
        ],
    )

    assert result.exit_code == 1
    assert "error [forbidden]" in result.output
    assert not out.exists()
    assert _audit(database_url, "client.data_export") == []


def test_clients_erase_names_each_blocker_and_exits_1(cli: CliRunner, database_url: str) -> None:
    one = _seed(database_url, complaint_status=ComplaintStatus.OPEN, closed_on=None)

    result = cli.invoke(
        main,
        [
            "clients",
            "erase",
            str(one.client_id),
            "--reason",
            "client's letter",
            "--request-ref",
            "ER-5",
            "--by",
            "compliance.chen",
        ],
    )

    assert result.exit_code == 1
    assert "error [client-erasure-blocked]" in result.output
    assert "account_open" in result.output
    assert "complaint_in_hand" in result.output


def test_clients_erase_then_audit_export_shows_it(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    one = _seed(database_url)

    erased = cli.invoke(
        main,
        [
            "clients",
            "erase",
            str(one.client_id),
            "--reason",
            "client's letter of 1 Dec",
            "--request-ref",
            "ER-6",
            "--by",
            "compliance.chen",
        ],
    )
    assert erased.exit_code == 0, erased.output
    assert f"client {one.client_id} erased" in erased.output

    out = tmp_path / "audit.csv"
    today = dt.datetime.now(dt.UTC).date()
    exported = cli.invoke(
        main,
        [
            "audit",
            "export",
            "--from",
            today.isoformat(),
            "--action",
            "client.erasure",
            "--by",
            "compliance.chen",
            "--out",
            str(out),
        ],
    )
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [(r["action"], int(r["client_id"])) for r in rows] == [("client.erasure", one.client_id)]
    assert json.loads(rows[0]["detail"])["request_ref"] == "ER-6"
    [(_actor, _client, detail)] = _audit(database_url, "audit.export")
    assert (detail["via"], detail["action"]) == ("cli", "client.erasure")
