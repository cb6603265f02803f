"""The ``callcenter`` command."""

from __future__ import annotations

import logging
import sys

import click

from callcenter.sandbox.errors import SandboxError
from callcenter.settings import Settings, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except Exception as exc:  # pydantic's ValidationError names every bad variable
        raise click.ClickException(f"invalid settings:\n{exc}") from exc


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


@main.command()
@click.option("--host", default=None, help="Listen address (default: CALLCENTER_HTTP_HOST).")
@click.option("--port", default=None, type=int, help="Listen port (default: CALLCENTER_HTTP_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Run the contact-center service (HTTP API and the AMI connection)."""
    import uvicorn

    from callcenter.app import create_app

    settings = _settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.http_host,
        port=port or settings.http_port,
        log_level="info",
    )


if __name__ == "__main__":
    main()
