"""The ``callcenter`` command."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from callcenter.sandbox.errors import SandboxError
from callcenter.settings import Settings, load_settings

if TYPE_CHECKING:
    from callcenter.pbx.reconcile import Reconciliation

EXIT_TASK_FAILED = 70  # EX_SOFTWARE: an internal failure the service cannot go on after
EXIT_NO_SCHEMA = 2

T = TypeVar("T")


def _on_the_database(run: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's database work; a database without the tables it reads (a new one,
    or one the service never upgraded) is named with what to do, not a traceback. The
    database's own message only: never the URL, which may hold a password."""
    import asyncio

    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        return asyncio.run(run())
    except (OperationalError, ProgrammingError) as exc:
        click.echo(
            f"error [database-not-ready]: the database cannot be read: {exc.orig}. A new "
            "database gets its tables from `callcenter db upgrade` (scripts/start and the "
            "service do it at their start); check CALLCENTER_DATABASE_URL names the "
            "service's database.",
            err=True,
        )
        sys.exit(EXIT_NO_SCHEMA)


def _settings() -> Settings:
    from callcenter.crm.recording_retention import RetentionSettingInvalid, parse_retention

    try:
        settings = load_settings()
    except Exception as exc:  # pydantic's ValidationError names every bad variable
        raise click.ClickException(f"invalid settings:\n{exc}") from exc
    try:  # its kinds are the CRM's, so it is checked here rather than in settings.py
        parse_retention(settings.recording_retention)
    except RetentionSettingInvalid as exc:
        raise click.ClickException(f"invalid settings:\n{exc}") from exc
    return settings


def _fail(exc: SandboxError) -> None:
    click.echo(f"error [{exc.error_id}]: {exc.message}", err=True)
    sys.exit(1)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Contact center with CTI for securities brokerages."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.group()
def asterisk() -> None:
    """The Asterisk 22 sandbox on loopback (Debian sid root, built once and cached)."""


@asterisk.command()
def up() -> None:
    """Install (first time), configure and start Asterisk; return once it is fully booted."""
    from callcenter.sandbox.instance import AsteriskInstance

    try:
        click.echo(AsteriskInstance(_settings()).up())
    except SandboxError as exc:
        _fail(exc)


@asterisk.command()
def down() -> None:
    """Stop Asterisk; no process or mount is left behind."""
    from callcenter.sandbox.instance import AsteriskInstance

    try:
        click.echo(AsteriskInstance(_settings()).down())
    except SandboxError as exc:
        _fail(exc)


@asterisk.command()
def status() -> None:
    """Exit 0 only when Asterisk runs and answers."""
    from callcenter.sandbox.instance import AsteriskInstance

    state = AsteriskInstance(_settings()).status()
    click.echo(("running: " if state.running else "not running: ") + state.detail)
    sys.exit(0 if state.running else 3)


@asterisk.command(name="cli")
@click.argument("command")
def cli_command(command: str) -> None:
    """Run one Asterisk CLI command, e.g. callcenter asterisk cli "pjsip show endpoints"."""
    from callcenter.sandbox.instance import AsteriskInstance

    try:
        click.echo(AsteriskInstance(_settings()).cli(command), nl=False)
    except SandboxError as exc:
        _fail(exc)


@main.group()
def db() -> None:
    """The database schema (Alembic migrations), on CALLCENTER_DATABASE_URL."""


@db.command(name="upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema (default: to the newest revision)."""
    from callcenter.persistence import migrate
    from callcenter.persistence.db import ensure_sqlite_folder

    url = _settings().effective_database_url
    ensure_sqlite_folder(url)
    migrate.upgrade(url, revision)
    click.echo(f"database at {revision}")


@db.command(name="downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION ("base" empties the database)."""
    from callcenter.persistence import migrate

    migrate.downgrade(_settings().effective_database_url, revision)
    click.echo(f"database at {revision}")


@db.command(name="current")
def db_current() -> None:
    """Show the schema revision of the database."""
    from callcenter.persistence import migrate

    migrate.current(_settings().effective_database_url)


@main.command()
@click.option(
    "--clients",
    "client_count",
    type=click.IntRange(min=0),
    default=20_000,
    show_default=True,
    help="How many clients.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=42, show_default=True, help="Of the randomness."
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The demo's present, YYYY-MM-DD (default: today in Beijing).",
)
@click.option("--if-empty", is_flag=True, help="Do nothing if the database has data already.")
@click.option("--minimal", is_flag=True, help="Branches, staff, clients and phones only.")
def seed(
    client_count: int, seed: int, as_of: dt.datetime | None, if_empty: bool, minimal: bool
) -> None:
    """Fill an empty database with a deterministic demo brokerage (upgrades the schema first).

    The same --seed and --as-of always give the same data. Demo users, their password
    (CALLCENTER_DEMO_PASSWORD, demo only) and the demo PIN are listed in the README.
    """
    import asyncio

    from callcenter.persistence.db import ensure_sqlite_folder
    from callcenter.persistence.seed import DatabaseNotEmpty, seed_demo
    from callcenter.secretbox import box_for

    settings = _settings()
    url = settings.effective_database_url
    ensure_sqlite_folder(url)
    demo_password = settings.demo_password.get_secret_value()
    run = seed_demo(
        url,
        clients=client_count,
        seed=seed,
        as_of=as_of.date() if as_of else None,
        if_empty=if_empty,
        history=not minimal,
        demo_password=demo_password,
        demo_mfa=box_for(settings),
    )
    try:
        report = asyncio.run(run)
    except DatabaseNotEmpty as exc:
        click.echo(f"error [{exc.error_id}]: {exc.message}", err=True)
        sys.exit(1)
    if not report.seeded:
        click.echo("the database has data already: nothing seeded")
        return
    rows = ", ".join(f"{table} {count:,}" for table, count in report.rows.items())
    click.echo(f"seeded {report.clients:,} clients as of {report.as_of} in {report.seconds:.1f} s")
    click.echo(f"rows: {rows}")
    # Demo data only: this password opens every demo user (CALLCENTER_DEMO_PASSWORD).
    click.echo(f"demo users log in with the demo-only password: {demo_password}")
    click.echo(
        "supervisors, compliance and admin also need a code: callcenter users totp-code <username>"
    )


@main.group()
def users() -> None:
    """Staff users: agents, advisors, supervisors and admins."""


@users.command(name="set-password")
@click.argument("username")
@click.password_option(
    "--password",
    prompt="New password",
    confirmation_prompt="Repeat it",
    help="Prompted for without echo (an argument would stay in the shell history).",
)
def users_set_password(username: str, password: str) -> None:
    """Set USERNAME's password (argon2id) and end their sessions; audited."""
    import asyncio

    from callcenter.passwords import WeakPassword
    from callcenter.persistence.sessions import UnknownUser, set_password

    url = _settings().effective_database_url
    try:
        ended = asyncio.run(set_password(url, username, password))
    except WeakPassword as exc:
        raise click.ClickException(str(exc)) from exc
    except UnknownUser as exc:
        click.echo(f"error [{exc.error_id}]: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"password set for {username}; {ended} session(s) ended")


@users.command(name="reset-mfa")
@click.argument("username")
def users_reset_mfa(username: str) -> None:
    """Remove USERNAME's second factor (a lost phone) and end their sessions; audited. Their
    next login enrols a new one."""
    import asyncio

    from callcenter.persistence.mfa import reset_mfa_by_username
    from callcenter.persistence.sessions import UnknownUser

    url = _settings().effective_database_url
    try:
        ended = asyncio.run(reset_mfa_by_username(url, username))
    except UnknownUser as exc:
        click.echo(f"error [{exc.error_id}]: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"second factor reset for {username}; {ended} session(s) ended")


@users.command(name="totp-code")
@click.argument("username")
def users_totp_code(username: str) -> None:
    """Print the current code of a demo user enrolled with the demo-only TOTP secret (the
    seed's supervisors, compliance and admin). Refuses any other secret: demo data only."""
    import asyncio
    import time

    from callcenter import totp
    from callcenter.persistence.db import Database
    from callcenter.persistence.mfa import DEMO_TOTP_SECRET, current_secret
    from callcenter.secretbox import SecretKeyError, box_for

    settings = _settings()

    async def read() -> str | None:
        db = Database(settings.effective_database_url)
        try:
            async with db.read() as session:
                return await current_secret(session, box_for(settings), username)
        finally:
            await db.dispose()

    try:
        secret = asyncio.run(read())
    except SecretKeyError as exc:
        click.echo(f"error [{exc.error_id}]: {exc.message}", err=True)
        sys.exit(1)
    if secret != DEMO_TOTP_SECRET:
        click.echo(
            f"error [not-demo-mfa]: {username} has no demo second factor; codes are printed "
            "for the demo-only secret alone",
            err=True,
        )
        sys.exit(1)
    now = time.time()
    left = totp.STEP_SECONDS - int(now) % totp.STEP_SECONDS
    click.echo(f"{totp.code_at(secret, now)}  (valid {left} s more, and the next 30 s)")


@main.command()
@click.option("--host", default=None, help="Listen address (default: CALLCENTER_HTTP_HOST).")
@click.option("--port", default=None, type=int, help="Listen port (default: CALLCENTER_HTTP_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Run the contact-center service (HTTP API and the AMI connection)."""
    import uvicorn

    from callcenter.app import create_app

    settings = _settings()
    fatal: list[str] = []

    def on_fatal(reason: str) -> None:
        # A task the service cannot run without failed: stop serving and exit non-zero, so
        # that the supervisor (systemd, Docker's restart policy) starts a fresh process,
        # which adopts the calls in progress.
        fatal.append(reason)
        server.should_exit = True

    config = uvicorn.Config(
        create_app(settings, on_fatal=on_fatal),
        host=host or settings.http_host,
        port=port or settings.http_port,
        log_level="info",
        ws_max_size=settings.ws_max_frame_bytes,  # larger client frames: closed with 1009
        # The client's address is the peer's; X-Forwarded-For / Forwarded are read by the app
        # only from CALLCENTER_TRUSTED_PROXIES (callcenter/api/client_address.py). uvicorn's
        # own rewrite would believe any local peer (its default FORWARDED_ALLOW_IPS).
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    server.run()
    if fatal:
        click.echo(f"error: {fatal[0]}; exiting so that a fresh process takes over", err=True)
        sys.exit(EXIT_TASK_FAILED)


@main.group()
def cel() -> None:
    """Asterisk's own record of its calls (CEL): the calls the service never saw."""


@cel.command(name="import")
@click.option(
    "--file",
    "cel_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The record (default: CALLCENTER_CEL_FILE, else the sandbox instance's).",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Leave calls that ended less than this many seconds ago (the service may still be "
    "writing them).",
)
def cel_import(cel_file: Path | None, settle: float) -> None:
    """Write the hotline calls the service never saw (the fallback took them) as interactions
    and their callback requests, and Asterisk's end where a record's is wrong. Idempotent; the
    running service does the same every CALLCENTER_CEL_IMPORT_SECONDS."""
    import asyncio
    import time

    from callcenter.persistence.cel_import import CelImporter
    from callcenter.persistence.db import Database
    from callcenter.sandbox.instance import cel_file_for

    settings = _settings()
    path = cel_file or cel_file_for(settings)

    async def run() -> str:
        db = Database(settings.effective_database_url)
        try:
            importer = CelImporter(db, path, settle=dt.timedelta(seconds=settle))
            began = time.perf_counter()
            report = await importer.import_new()
            took = time.perf_counter() - began
        finally:
            await db.dispose()
        return (
            f"{path}: {report.calls} ended calls, {report.created} recorded, "
            f"{report.ends_fixed} ends fixed, {report.callbacks} callbacks filed ({took:.2f} s)"
        )

    click.echo(asyncio.run(run()))


@main.command()
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="The day, YYYY-MM-DD, in the center's time zone (CALLCENTER_BUSINESS_TIMEZONE).",
)
@click.option(
    "--cel-file",
    "cel_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Asterisk's record, repeatable (a rotated file and the current one); default: "
    "CALLCENTER_CEL_FILE, else the sandbox instance's.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds an interaction's end may differ from Asterisk's.",
)
def reconcile(day: dt.datetime, cel_files: tuple[Path, ...], tolerance: float) -> None:
    """Compare the day's interactions with Asterisk's own record of its hotline calls: list
    every call missing, duplicated or ended wrong (and any interaction Asterisk never had).
    Exits 1 when anything is wrong."""
    import asyncio

    from callcenter.pbx.cel import read_cel_file
    from callcenter.persistence.db import Database
    from callcenter.persistence.reconcile import day_bounds, reconcile_range
    from callcenter.sandbox.instance import cel_file_for

    settings = _settings()
    paths = list(cel_files) or [cel_file_for(settings)]
    missing_files = [p for p in paths if not p.is_file()]
    if missing_files:
        raise click.ClickException(f"no such record: {', '.join(map(str, missing_files))}")
    events = [event for path in paths for event in read_cel_file(path)]
    start, end = day_bounds(day.date(), settings.business_timezone)

    async def run() -> Reconciliation:
        db = Database(settings.effective_database_url)
        try:
            return await reconcile_range(
                db, events, start, end, tolerance=dt.timedelta(seconds=tolerance)
            )
        finally:
            await db.dispose()

    result = asyncio.run(run())
    click.echo(
        f"{day.date()} ({settings.business_timezone}): {result.calls} hotline calls in "
        f"Asterisk's record, {result.interactions} interactions compared"
    )
    click.echo(", ".join(f"{problem} {count}" for problem, count in result.counts.items()))
    for finding in result.findings:
        ids = ",".join(str(i) for i in finding.interaction_ids) or "-"
        click.echo(f"{finding.problem}\t{finding.call_id}\t{ids}\t{finding.detail}")
    sys.exit(0 if result.ok else 1)


@main.group()
def clients() -> None:
    """A client's data rights: the subject-access export and the erasure (docs/operations.md,
    "A client's data rights")."""


def _run_as(username: str, roles: tuple[str, ...], work: Any) -> Any:
    """Run ``work(db, user_id)`` on CALLCENTER_DATABASE_URL as ``username``, who must hold one
    of ``roles``; a domain error is printed with its id and exits 1."""
    import asyncio

    from callcenter.crm.vocabulary import Role
    from callcenter.errors import DomainError
    from callcenter.persistence.data_rights import acting_user
    from callcenter.persistence.db import Database

    async def run() -> Any:
        db = Database(_settings().effective_database_url)
        try:
            user_id = await acting_user(db, username, [Role(r) for r in roles])
            return await work(db, user_id)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        click.echo(f"error [{exc.error_id}]: {exc.message}", err=True)
        if exc.detail.get("blockers"):
            for block in exc.detail["blockers"]:
                until = f" until {block['until']}" if block["until"] else ""
                click.echo(f"  {block['blocker']}{until}", err=True)
        sys.exit(1)


@clients.command(name="export")
@click.argument("client_id", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why (the request and its reference); audited.")
@click.option("--by", "username", required=True, help="The compliance officer or supervisor.")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="The file."
)
@click.option("--with-audio", is_flag=True, help="Write a zip with the voice messages' audio.")
def clients_export(client_id: int, reason: str, username: str, out: Path, with_audio: bool) -> None:
    """Everything held on CLIENT_ID as one JSON document (or a zip with --with-audio), for a
    subject-access request. Audited as client.data_export by --by, with the reason."""
    from callcenter.persistence.data_export import export_archive, export_client, export_json
    from callcenter.persistence.data_rights import recordings_of

    async def work(db: Any, user_id: int) -> Any:
        return await export_client(db, user_id, client_id, reason)

    export = _run_as(username, ("compliance", "supervisor"), work)
    data = (
        export_archive(export, recordings_of(_settings()))
        if with_audio
        else export_json(export.document)
    )
    out.write_bytes(data)
    out.chmod(0o600)  # everything about a person: readable by whoever ran this only
    click.echo(f"client {client_id}: {len(data):,} bytes written to {out}")


@clients.command(name="erase")
@click.argument("client_id", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why; kept in the tombstone (no personal data).")
@click.option("--request-ref", required=True, help="The reference of the erasure request.")
@click.option("--by", "username", required=True, help="The compliance officer.")
def clients_erase(client_id: int, reason: str, request_ref: str, username: str) -> None:
    """Erase CLIENT_ID's personal data, keeping what retention requires (redacted). Refused
    (exit 1, each blocker named) while the account is open, a complaint is in hand or a
    retention period runs. Audited as client.erasure by --by."""
    from callcenter.persistence.data_rights import erase_client, recordings_of

    resolver = recordings_of(_settings())

    async def work(db: Any, user_id: int) -> Any:
        return await erase_client(db, user_id, client_id, reason, request_ref, audio_path=resolver)

    report = _run_as(username, ("compliance",), work)
    counts = ", ".join(f"{kind} {count}" for kind, count in report.summary.items())
    click.echo(f"client {client_id} erased (erasure {report.erasure_id}): {counts}")
    for ref in report.audio_left:
        click.echo(f"audio not deleted, remove it by hand: {ref}", err=True)


@main.group()
def audit() -> None:
    """The append-only audit log, for compliance."""


@audit.command(name="export")
@click.option(
    "--from",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="At or after (UTC), YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS.",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Before (UTC).",
)
@click.option("--actor", "actor_id", type=click.IntRange(min=1), default=None, help="User id.")
@click.option("--action", default=None, help="e.g. client.view")
@click.option("--client", "client_id", type=click.IntRange(min=1), default=None)
@click.option("--by", "username", required=True, help="The compliance officer.")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="The CSV file."
)
def audit_export(
    start: dt.datetime | None,
    end: dt.datetime | None,
    actor_id: int | None,
    action: str | None,
    client_id: int | None,
    username: str,
    out: Path,
) -> None:
    """The entries the filters match as CSV (the columns of GET /api/audit/export.csv).
    Audited as audit.export by --by."""
    from callcenter.api.schemas.audit import audit_csv
    from callcenter.crm.data_rights import AUDIT_EXPORT
    from callcenter.persistence.audit import AuditFilter, iter_audit, record_audit_export

    where = AuditFilter(
        start=start.replace(tzinfo=dt.UTC) if start else None,
        end=end.replace(tzinfo=dt.UTC) if end else None,
        actor_id=actor_id,
        action=action,
        client_id=client_id,
    )

    async def work(db: Any, user_id: int) -> int:
        await record_audit_export(db, user_id, where, via="cli", action=AUDIT_EXPORT)
        lines = 0
        with out.open("w", encoding="utf-8", newline="") as file:
            async for line in audit_csv(iter_audit(db, where)):
                file.write(line)
                lines += 1
        return lines - 1  # the header

    entries = _run_as(username, ("compliance",), work)
    out.chmod(0o600)
    click.echo(f"{entries:,} audit entries written to {out}")


@main.group()
def flows() -> None:
    """IVR flows (YAML in ivr_flows/)."""


@flows.command(name="render-prompts")
@click.argument("prompts_dir", type=click.Path(path_type=Path))
@click.option(
    "--flows",
    "flows_dir",
    default="ivr_flows",
    type=click.Path(path_type=Path),
    help="The flow folder (default: ivr_flows).",
)
def flows_render_prompts(prompts_dir: Path, flows_dir: Path) -> None:
    """Render every prompt of the flows (and the speech fragments) into PROMPTS_DIR, with the
    index the service reads, and the dialplan's fallback prompts into PROMPTS_DIR/fallback.
    `asterisk up` does this for the sandbox; a deployment runs it into the folder Asterisk and
    the service share."""
    from callcenter.ivr.fallback_prompts import FALLBACK_FOLDER, render_fallback_prompts
    from callcenter.ivr.loader import FlowsInvalid
    from callcenter.ivr.prompts import PromptRenderFailed, PromptToolMissing
    from callcenter.ivr.sounds import render_flow_prompts

    try:
        report = render_flow_prompts(flows_dir, prompts_dir)
        render_fallback_prompts(prompts_dir / FALLBACK_FOLDER)
    except FlowsInvalid as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        sys.exit(1)
    except (PromptToolMissing, PromptRenderFailed) as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"{len(report.files)} prompts in {prompts_dir}: {report.rendered} rendered")


@flows.command(name="check")
@click.argument("path", default="ivr_flows", type=click.Path(path_type=Path))
def flows_check(path: Path) -> None:
    """Validate the flows at PATH (a file or a folder): one line per error, exit 1 if any."""
    from callcenter.ivr.loader import check_path

    catalog, errors = check_path(path)
    for error in errors:
        click.echo(str(error), err=True)
    if errors:
        sys.exit(1)
    nodes = sum(len(flow.nodes) for flow in catalog.flows.values())
    click.echo(f"{len(catalog.flows)} flow(s), {nodes} nodes: valid")


@main.group()
def recordings() -> None:
    """Call recordings: checking their hash chain and files, purging expired ones
    (docs/recording.md)."""


@recordings.command(name="purge")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; change nothing.")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Purge as if it were this UTC time (tests, a rehearsal); default: now.",
)
def recordings_purge(dry_run: bool, as_of: dt.datetime | None) -> None:
    """Delete the recordings whose retention has run out (CALLCENTER_RECORDING_RETENTION):
    the file goes, the row stays 'deleted', each deletion a chain entry. A complaint that is
    not closed holds its call's recordings. One line per recording deleted, held or not
    purged (why), then a summary; exit 1 if any could not be purged (docs/recording.md)."""

    from callcenter.crm.recording_retention import parse_retention
    from callcenter.persistence.db import Database
    from callcenter.persistence.recording_files import recording_storage_for
    from callcenter.persistence.recording_purge import (
        PurgeReport,
        folder_problem,
        purge_recordings,
    )

    settings = _settings()
    policy = parse_retention(settings.recording_retention)
    when = as_of.replace(tzinfo=dt.UTC) if as_of is not None else dt.datetime.now(dt.UTC)
    storage = recording_storage_for(settings)

    async def run() -> PurgeReport:
        db = Database(settings.effective_database_url)
        try:
            return await purge_recordings(
                db,
                storage,
                policy,
                when,
                dry_run=dry_run,
                storage_problem=folder_problem(storage.root),
            )
        finally:
            await db.dispose()

    report = _on_the_database(run)
    for line in report.lines:
        click.echo(str(line))
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"as of {when:%Y-%m-%d %H:%M:%S} UTC ({policy}): {len(report.deleted)} {verb}, "
        f"{len(report.held)} on legal hold, {report.kept} not expired, "
        f"{len(report.errors)} not purged{' (dry run: nothing changed)' if dry_run else ''}"
    )
    sys.exit(1 if report.errors else 0)


@recordings.command(name="holds")
def recordings_holds() -> None:
    """List the recordings on legal hold: each one a complaint that is not closed ties to,
    the complaint and its status, and when its retention ends once the complaint closes."""

    from callcenter.crm.recording_retention import open_complaints, parse_retention
    from callcenter.persistence.db import Database
    from callcenter.persistence.recording_purge import legal_holds

    settings = _settings()
    policy = parse_retention(settings.recording_retention)
    now = dt.datetime.now(dt.UTC)

    async def run() -> list[str]:
        db = Database(settings.effective_database_url)
        try:
            holds = await legal_holds(db, policy, now)
        finally:
            await db.dispose()
        lines = []
        for facts, once_closed in holds:
            which = ", ".join(f"complaint {c} ({s.value})" for c, s in open_complaints(facts))
            lines.append(
                f"held\trecording {facts.recording_id}\t{facts.path}\t{which}; once closed: "
                f"{once_closed.reason}"
            )
        return lines

    lines = _on_the_database(run)
    for line in lines:
        click.echo(line)
    click.echo(f"{len(lines)} recording(s) on legal hold")


@recordings.command(name="verify")
def recordings_verify() -> None:
    """Check the recordings' hash chain, every row against it and every file against both;
    print one line per problem (problem, recording, path, detail) and exit 1 if any."""

    from callcenter.crm.recording_verify import Verification, verify_recordings
    from callcenter.persistence.db import Database
    from callcenter.persistence.recording_files import recording_storage_for
    from callcenter.persistence.recordings import read_ledger

    settings = _settings()

    async def run() -> Verification:
        db = Database(settings.effective_database_url)
        try:
            snapshot = await read_ledger(db)
        finally:
            await db.dispose()
        return await verify_recordings(
            snapshot.recordings,
            snapshot.entries,
            snapshot.head_seq,
            snapshot.head_hash,
            recording_storage_for(settings),
        )

    result = _on_the_database(run)
    for finding in result.findings:
        click.echo(str(finding))
    verdict = "ok" if result.ok else f"{len(result.findings)} problem(s)"
    click.echo(
        f"{result.recordings} recordings, {result.entries} chain entries, "
        f"{result.files_hashed} files hashed: {verdict}"
    )
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
