"""Calls the service never saw, imported from Asterisk's record (callcenter/persistence/
cel_import.py), and the day's reconciliation (callcenter/persistence/reconcile.py), on SQLite
and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from callcenter.cli import main
from callcenter.crm.report_intervals import IntervalKind, ReportRange
from callcenter.pbx.cel import HotlineCall, hotline_calls, read_cel_file
from callcenter.pbx.reconcile import Problem
from callcenter.pbx.unseen_calls import FALLBACK_QUEUE
from callcenter.persistence.callstats import load_call_report
from callcenter.persistence.cel_import import CelImporter, import_calls
from callcenter.persistence.db import Database
from callcenter.persistence.reconcile import day_bounds, reconcile_range
from callcenter.persistence.tables import CallbackRequest, Interaction
from tests.support.crm_data import add_branch, add_client, add_interaction
from tests.unit.test_cel import APOLOGY, QUEUE

CALLER = "+8613911112222"  # the caller of the recorded calls


def the_call(record: Path) -> HotlineCall:
    [call] = hotline_calls(read_cel_file(record))
    return call


async def interactions(db: Database) -> list[Interaction]:
    async with db.read() as session:
        rows = list(await session.scalars(select(Interaction).order_by(Interaction.id)))
        session.expunge_all()
        return rows


async def callbacks(db: Database) -> list[CallbackRequest]:
    async with db.read() as session:
        rows = list(await session.scalars(select(CallbackRequest).order_by(CallbackRequest.id)))
        session.expunge_all()
        return rows


async def test_a_fallback_call_becomes_an_interaction_and_a_callback_request(
    database: Database,
) -> None:
    branch = await add_branch(database)
    client = await add_client(database, branch, phones=[CALLER])
    call = the_call(APOLOGY)

    report = await import_calls(database, [call])

    assert (report.calls, report.created, report.callbacks, report.ends_fixed) == (1, 1, 1, 0)
    [row] = await interactions(database)
    assert (row.call_id, row.asterisk_linkedid) == (call.call_id, call.asterisk_linkedid)
    assert (row.channel, row.direction) == ("voice", "inbound")
    assert (row.caller_number, row.called_number, row.client_id) == (CALLER, "95555", client)
    assert (row.started_at, row.ended_at) == (call.started_at, call.ended_at)
    assert (row.queue, row.queued_at, row.answered_at) == (FALLBACK_QUEUE, call.fallback_at, None)
    assert row.ivr_path == ["fallback:apology", "callback:zh", "overflow:fallback=closed"]
    assert row.wait_seconds == 10  # 9.5 s from the fallback to the hang-up, rounded
    [callback] = await callbacks(database)
    assert (callback.interaction_id, callback.client_id) == (row.id, client)
    assert (callback.number, callback.language, callback.status) == (CALLER, "zh", "open")
    assert callback.requested_at == call.callback_at


async def test_importing_again_writes_nothing_more(database: Database) -> None:
    calls = [the_call(APOLOGY), the_call(QUEUE)]
    first = await import_calls(database, calls)
    again = await import_calls(database, calls)
    assert (first.created, first.callbacks) == (2, 1)
    assert again.changed is False
    assert len(await interactions(database)) == 2
    assert len(await callbacks(database)) == 1


async def test_a_call_the_service_recorded_is_left_as_it_is(database: Database) -> None:
    call = the_call(QUEUE)
    interaction_id = await add_interaction(database, None, call.started_at, call.call_id)
    async with database.write() as session:
        await session.execute(
            update(Interaction)
            .where(Interaction.id == interaction_id)
            .values(ended_at=call.ended_at + dt.timedelta(seconds=1.5))  # type: ignore[operator]
        )
    report = await import_calls(database, [call])
    assert report.changed is False


async def test_an_end_the_service_learnt_late_is_set_to_asterisks(database: Database) -> None:
    call = the_call(QUEUE)
    assert call.ended_at is not None
    interaction_id = await add_interaction(database, None, call.started_at, call.call_id)
    adopted_at = call.ended_at + dt.timedelta(minutes=3)  # ended by a restart's adoption
    async with database.write() as session:
        await session.execute(
            update(Interaction).where(Interaction.id == interaction_id).values(ended_at=adopted_at)
        )
    report = await import_calls(database, [call])
    assert report.ends_fixed == 1
    [row] = await interactions(database)
    assert row.ended_at == call.ended_at


async def test_an_open_record_is_closed_only_if_the_running_service_saw_its_call_start(
    database: Database,
) -> None:
    call = the_call(QUEUE)
    await add_interaction(database, None, call.started_at, call.call_id)
    # Started before the service did: its adoption's to end (with the agent's wrap-up).
    before = call.started_at + dt.timedelta(seconds=1)
    assert (await import_calls(database, [call], close_open_since=before)).changed is False
    assert (await import_calls(database, [call])).changed is False
    [row] = await interactions(database)
    assert row.ended_at is None
    # Seen by the running service, and left open when its handler failed: closed.
    report = await import_calls(database, [call], close_open_since=call.started_at)
    assert report.ends_fixed == 1
    [row] = await interactions(database)
    assert row.ended_at == call.ended_at


async def test_a_call_back_asked_of_a_call_the_service_gave_up_is_filed_once(
    database: Database,
) -> None:
    call = the_call(APOLOGY)
    interaction_id = await add_interaction(database, None, call.started_at, call.call_id)
    async with database.write() as session:
        await session.execute(
            update(Interaction)
            .where(Interaction.id == interaction_id)
            .values(ended_at=call.ended_at)
        )
    assert (await import_calls(database, [call])).callbacks == 1
    assert (await import_calls(database, [call])).callbacks == 0
    [callback] = await callbacks(database)
    assert callback.interaction_id == interaction_id


async def test_the_importer_follows_the_file_and_waits_for_calls_to_settle(
    database: Database, tmp_path: Path
) -> None:
    record = tmp_path / "calls.csv"
    call = the_call(APOLOGY)
    assert call.ended_at is not None
    now = call.ended_at + dt.timedelta(seconds=10)
    importer = CelImporter(database, record, settle=dt.timedelta(seconds=30), clock=lambda: now)
    assert (await importer.import_new()).calls == 0  # no file yet
    record.write_bytes(APOLOGY.read_bytes())
    assert (await importer.import_new()).calls == 0  # ended 10 s ago: not settled
    now = call.ended_at + dt.timedelta(seconds=31)
    assert (await importer.import_new()).created == 1
    assert (await importer.import_new()).calls == 0  # taken once


async def test_the_days_report_and_reconciliation_count_the_imported_calls(
    database: Database,
) -> None:
    events = read_cel_file(APOLOGY) + read_cel_file(QUEUE)
    day = dt.date(2026, 12, 7)  # the recorded calls' day in Beijing
    start, end = day_bounds(day, "Asia/Shanghai")
    assert start == dt.datetime(2026, 12, 6, 16, tzinfo=dt.UTC)

    before = await reconcile_range(database, events, start, end)
    assert (before.calls, before.counts[Problem.MISSING]) == (2, 2)

    await import_calls(database, hotline_calls(events))

    after = await reconcile_range(database, events, start, end)
    assert after.ok, after.findings
    assert (after.calls, after.interactions) == (2, 2)
    report_range = ReportRange.of(day, day, "Asia/Shanghai")
    async with database.read() as session:
        report = await load_call_report(
            session, report_range, IntervalKind.DAY, end + dt.timedelta(days=8)
        )
    [row] = report.queues
    assert row.queue == FALLBACK_QUEUE
    assert (row.figures.offered, row.figures.answered, row.figures.to_ivr) == (2, 1, 1)


async def test_reconciliation_finds_a_duplicate_and_a_wrong_end(database: Database) -> None:
    events = read_cel_file(QUEUE)
    call = the_call(QUEUE)
    assert call.ended_at is not None
    start, end = day_bounds(dt.date(2026, 12, 7), "Asia/Shanghai")
    first = await add_interaction(database, None, call.started_at, call.call_id)
    second = await add_interaction(database, None, call.started_at, "another-channel")
    async with database.write() as session:
        await session.execute(
            update(Interaction)
            .where(Interaction.id == second)
            .values(asterisk_linkedid=call.asterisk_linkedid, ended_at=call.ended_at)
        )
    result = await reconcile_range(database, events, start, end)
    problems = sorted((f.problem, f.interaction_ids) for f in result.findings)
    assert problems == [
        (Problem.DUPLICATED, (first, second)),
        (Problem.ENDED_WRONG, (first,)),  # still open
    ]
    async with database.read() as session:
        total = await session.scalar(select(func.count(Interaction.id)))
    assert total == 2
    assert dataclasses.asdict(result)["calls"] == 1


def test_the_commands_import_and_reconcile_a_day(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "callcenter.db"
    shutil.copyfile(sqlite_template, database)
    monkeypatch.setenv("CALLCENTER_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("CALLCENTER_BUSINESS_TIMEZONE", "Asia/Shanghai")
    record = tmp_path / "calls.csv"
    record.write_bytes(APOLOGY.read_bytes() + QUEUE.read_bytes())
    runner = CliRunner()
    reconcile = ["reconcile", "--day", "2026-12-07", "--cel-file", str(record)]

    missing = runner.invoke(main, reconcile)
    assert missing.exit_code == 1, missing.output
    assert "2 hotline calls" in missing.output
    assert "missing 2, duplicated 0, ended_wrong 0, not_in_asterisk 0" in missing.output
    assert missing.output.count("\nmissing\t") == 2
    assert CALLER not in missing.output  # no client's number in a report

    imported = runner.invoke(main, ["cel", "import", "--file", str(record), "--settle", "0"])
    assert imported.exit_code == 0, imported.output
    assert "2 ended calls, 2 recorded, 0 ends fixed, 1 callbacks filed" in imported.output

    clean = runner.invoke(main, reconcile)
    assert clean.exit_code == 0, clean.output
    assert "missing 0, duplicated 0, ended_wrong 0, not_in_asterisk 0" in clean.output
    other_day = runner.invoke(main, ["reconcile", "--day", "2026-12-08", "--cel-file", str(record)])
    assert other_day.exit_code == 0
    assert "0 hotline calls" in other_day.output


async def test_a_record_left_to_the_adoption_gets_asterisks_end_once_adopted(
    database: Database, tmp_path: Path
) -> None:
    """The service starts after a call ended; its first import finds the record still open
    (the adoption's), the adoption then ends it at its own time, the next import fixes it."""
    call = the_call(QUEUE)
    assert call.ended_at is not None
    interaction_id = await add_interaction(database, None, call.started_at, call.call_id)
    record = tmp_path / "calls.csv"
    record.write_bytes(QUEUE.read_bytes())
    restart = call.ended_at + dt.timedelta(minutes=2)
    importer = CelImporter(database, record, clock=lambda: restart, service_started_at=restart)
    first = await importer.import_new()
    assert (first.left_open, first.changed) == ((call.call_id,), False)
    async with database.write() as session:  # the adoption: ended when it learnt of it
        await session.execute(
            update(Interaction).where(Interaction.id == interaction_id).values(ended_at=restart)
        )
    second = await importer.import_new()
    assert (second.ends_fixed, second.left_open) == (1, ())
    [row] = await interactions(database)
    assert row.ended_at == call.ended_at
    assert (await importer.import_new()).calls == 0  # done with it
