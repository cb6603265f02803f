"""Migration 0011 seeds the service codes with what the desk offered before it, on SQLite and
PostgreSQL: the reasons of CALLCENTER_AGENT_NOT_READY_REASONS when the migrating environment
sets it (a known code keeps the desk's labels, an unknown one its code, ``missed`` never a
row), else the default five; the desk's nine dispositions in the desk's order."""

from __future__ import annotations

import pytest

from callcenter.persistence import migrate, service_codes
from callcenter.persistence.db import Database
from callcenter.persistence.service_codes import CodeKind

ENV = "CALLCENTER_AGENT_NOT_READY_REASONS"


async def _codes(database: Database, kind: CodeKind) -> list[tuple[str, str, str, bool]]:
    async with database.read() as session:
        records = await service_codes.list_codes(session, kind)
    return [(r.code, r.label_zh, r.label_en, r.active) for r in records]


async def _migrate_0011_again(database_url: str, database: Database) -> None:
    await database.dispose()
    await migrate.downgrade_async(database_url, "0010")
    await migrate.upgrade_async(database_url)


async def test_the_configured_reasons_are_seeded_with_the_desks_labels(
    database_url: str, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "lunch, system_down,missed, Bad-Code")
    await _migrate_0011_again(database_url, database)
    assert await _codes(database, CodeKind.NOT_READY_REASON) == [
        ("lunch", "用餐", "Lunch", True),
        ("system_down", "system_down", "system_down", True),
    ]


async def test_without_the_setting_the_default_reasons_and_the_desks_dispositions(
    database_url: str, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    await _migrate_0011_again(database_url, database)
    reasons = await _codes(database, CodeKind.NOT_READY_REASON)
    assert [code for code, *_ in reasons] == [
        "after_call_work",
        "break",
        "lunch",
        "meeting",
        "training",
    ]
    dispositions = await _codes(database, CodeKind.DISPOSITION)
    assert [code for code, *_ in dispositions] == [
        "information_given",
        "resolved",
        "password_reset",
        "transferred_to_advisor",
        "complaint_filed",
        "follow_up_scheduled",
        "callback_promised",
        "wrong_number",
        "other",
    ]
    assert ("resolved", "已解决", "Resolved", True) in dispositions
