#!/usr/bin/env python3
"""Kamailio container entrypoint: render ``asterisk_conf/kamailio/`` from the environment,
start the router in the foreground (docker-compose.yml, profile ``cluster``).

The templates are the ones the sandbox renders (``callcenter.sandbox.router.render_router``),
with the same context keys; a unit test keeps the two in step. Standalone on purpose, like
docker/asterisk/render_conf.py: the image has Debian's python3 and python3-jinja2 and the one
renderer (render.py) and address reader (addresses.py) copied beside this file.

Two sides (asterisk_conf/kamailio/kamailio.cfg): the compose network, where the Asterisk
nodes reach the router at <its address>:5060, and the outside, where the carrier and the
phones reach it at CALLCENTER_SIP_EXTERNAL_ADDRESS:CALLCENTER_ROUTER_PUBLIC_PORT (published
by the host).

    render_router.py            render, exec Kamailio
    render_router.py --no-exec  render only (to inspect the config)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "callcenter" / "sandbox"))
from addresses import this_hosts_ipv4
from render import render_tree

TEMPLATES = Path("/usr/local/share/callcenter/kamailio")
CONF_DIR = Path("/etc/callcenter-router")
RUN_DIR = Path("/run/kamailio")
# The phones volume: the app writes the HA1 table ("subscriber") beside pjsip_phones.conf
# (CALLCENTER_SIP_ROUTER_DB_DIR in the app's environment).
DB_DIR = Path("/var/lib/callcenter/phones")
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
INTERNAL_PORT = 5060

DEFAULTS = {
    "CALLCENTER_SIP_REALM": "callcenter",
    "CALLCENTER_ROUTER_PUBLIC_PORT": "5080",
    "CALLCENTER_ROUTER_NODES": "asterisk:5060",
}
REQUIRED = ("CALLCENTER_SIP_EXTERNAL_ADDRESS",)

_TOKEN = re.compile(r"[A-Za-z0-9_.-]+")
_NODE = re.compile(r"[A-Za-z0-9_.-]+:[0-9]{1,5}")


class ConfigError(Exception):
    """A missing or invalid environment variable; the message names it."""


def build_context(env: Mapping[str, str], bind: str) -> dict[str, object]:
    """The template context, with the keys of ``callcenter.sandbox.router.render_router``."""
    missing = [name for name in REQUIRED if not env.get(name, "").strip()]
    if missing:
        raise ConfigError("required variables are not set: " + ", ".join(missing))
    value = {name: env.get(name, "").strip() or DEFAULTS.get(name, "") for name in DEFAULTS}
    nodes = [part.strip() for part in value["CALLCENTER_ROUTER_NODES"].split(",") if part.strip()]
    for node in nodes:
        _checked("CALLCENTER_ROUTER_NODES", node, _NODE)
    public = value["CALLCENTER_ROUTER_PUBLIC_PORT"]
    if not public.isdigit() or not 1 <= int(public) <= 65535 or int(public) == INTERNAL_PORT:
        raise ConfigError(
            f"CALLCENTER_ROUTER_PUBLIC_PORT: {public!r} is not a port other than 5060"
        )
    external = env["CALLCENTER_SIP_EXTERNAL_ADDRESS"].strip()
    return {
        "bind": bind,
        "port": INTERNAL_PORT,
        "nodes": nodes,
        "realm": _checked("CALLCENTER_SIP_REALM", value["CALLCENTER_SIP_REALM"], _TOKEN),
        "probe_seconds": 1,
        "reply_ms": 2000,
        "children": 4,
        "log_level": 1,
        "public_port": int(public),
        "advertise": _checked("CALLCENTER_SIP_EXTERNAL_ADDRESS", external, _TOKEN),
        # The nodes name the router by its service name in the AORs' contacts.
        "aliases": [f"kamailio:{INTERNAL_PORT}"],
        "module_dir": MODULE_DIR,
        "conf_dir": str(CONF_DIR),
        "db_dir": str(DB_DIR),
        "run_dir": str(RUN_DIR),
    }


def _checked(name: str, value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(value):
        raise ConfigError(f"{name}: {value!r} is not a valid value")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-exec", action="store_true", help="render only, do not start")
    args = parser.parse_args(argv)
    addresses = this_hosts_ipv4()
    if not addresses:
        print("render_router: the container has no IPv4 address", file=sys.stderr)
        return 2
    try:
        context = build_context(os.environ, addresses[0])
    except ConfigError as exc:
        print(f"render_router: {exc}", file=sys.stderr)
        return 2
    render_tree(TEMPLATES, CONF_DIR, context)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    command = ["kamailio", "-DD", "-E", "-f", str(CONF_DIR / "kamailio.cfg")]
    command += ["-u", "kamailio", "-g", "kamailio"]
    if args.no_exec:
        print(f"rendered {CONF_DIR}; would run: {' '.join(command)}")
        return 0
    sys.stdout.flush()
    os.execvp(command[0], command)  # noqa: S606 - fixed argv, no shell
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
