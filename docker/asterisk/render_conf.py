#!/usr/bin/env python3
"""Asterisk container entrypoint: render ``asterisk_conf/`` from the environment, start Asterisk.

The templates are the ones the sandbox renders (``AsteriskInstance.render_config()``), with the
same context keys; only the values differ: inside the container AMI and SIP bind 0.0.0.0 and
the AMI user may log in only from ``CALLCENTER_AMI_PERMIT`` (the compose network).

Standalone on purpose: the image has Debian's python3 and python3-jinja2, not the callcenter
package, so this file imports nothing but the standard library and Jinja2. The defaults below
mirror ``callcenter.settings.Settings``; a unit test keeps them in step.

    render_conf.py            render, prepare the instance folders, exec Asterisk
    render_conf.py --no-exec  render and prepare only (to inspect the config)
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

# The one renderer the sandbox uses too (callcenter/sandbox/render.py): the image copies it
# next to this script; from a source checkout it is found in the package.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "callcenter" / "sandbox"))
from addresses import this_hosts_ipv4
from render import render_tree

CONF_SOURCE = Path("/usr/local/share/callcenter/asterisk_conf")
INSTANCE = "docker"
INSTANCE_DIR = Path("/var/lib/callcenter/instances") / INSTANCE
# spool/messages: voice messages callers leave in the IVR (the service names this folder);
# log/cel-custom: Asterisk's channel event record, which the app reads (cel_custom.conf).
INSTANCE_SUBDIRS = ("etc", "run", "log", "log/cel-custom", "spool", "spool/messages", "db", "cache")
# The IVR's prompts volume; the app renders the fallback's prompts into its fallback/ folder.
PROMPTS_DIR = Path("/var/lib/callcenter/prompts")
# Call recordings (docs/recording.md): one volume, at the same path in the app's container.
# Asterisk writes them, the app finishes, hashes and purges them: both are in the group
# "recordings" (the same gid in both images), the folder is setgid and group-writable, and
# Asterisk runs with umask 002, so every file and folder MixMonitor makes is the group's.
RECORDINGS_DIR = Path("/var/lib/callcenter/recordings")
RECORDINGS_GROUP = "recordings"
RECORDINGS_MODE = 0o2775
ASTERISK_UMASK = 0o002
FALLBACK_MODES = ("apology", "transfer", "queue")
# The phones' endpoints and secrets (pjsip_phones.conf): a volume the app writes and Asterisk
# reads, both in the group "recordings" (the same gid in both images), setgid, 2770.
PHONES_DIR = Path("/var/lib/callcenter/phones")
PHONES_MODE = 0o2770
# The WSS certificate and key (a bind mount: docker-compose.yml, CALLCENTER_TLS_DIR).
TLS_DIR = Path("/var/lib/callcenter/tls")
ASTERISK_USER = "asterisk"
MODULE_DIR_GLOB = "/usr/lib/*/asterisk/modules"

# Same defaults as callcenter.settings.Settings.
DEFAULTS = {
    "CALLCENTER_AMI_PORT": "5038",
    "CALLCENTER_AMI_USERNAME": "callcenter",
    "CALLCENTER_SIP_BIND": "0.0.0.0",  # noqa: S104 - the container's own interfaces
    "CALLCENTER_SIP_PORT": "5060",
    "CALLCENTER_SIP_WSS_PORT": "8089",
    "CALLCENTER_SIP_REALM": "callcenter",
    "CALLCENTER_RTP_START": "10000",
    "CALLCENTER_RTP_END": "10999",
    "CALLCENTER_AGENT_EXTENSIONS": ",".join(str(n) for n in range(1001, 1011)),
    "CALLCENTER_SUPERVISOR_EXTENSIONS": "1901,1902",
    # The compose network: peers there are reached directly, everyone else via the external
    # address.
    "CALLCENTER_SIP_LOCAL_NETS": "172.28.0.0/24",
    # The dialplan's fallback when the app does not pick a call up (docs/operations.md).
    "CALLCENTER_SERVICE_PICKUP_SECONDS": "5",
    "CALLCENTER_FALLBACK_MODE": "apology",
    "CALLCENTER_FALLBACK_TRANSFER_NUMBER": "",
    "CALLCENTER_FALLBACK_QUEUE_WAIT_SECONDS": "120",
    # The carrier's host:port, for a transfer number that is not an extension.
    "CALLCENTER_OUTBOUND_TRUNK": "",
}
# No default on purpose: a production host must choose these.
REQUIRED = (
    "CALLCENTER_AMI_SECRET",
    "CALLCENTER_AMI_PERMIT",
    "CALLCENTER_TRUNK_ADDRESS",
    # The host's address as phones and the carrier see it: without it Asterisk would put the
    # container's wildcard bind address in its SDP, and calls would have no audio.
    "CALLCENTER_SIP_EXTERNAL_ADDRESS",
)

# A value that lands in an Asterisk config line must not start a comment (;), a new line or a
# new section, and names must be plain tokens.
_TOKEN = re.compile(r"[A-Za-z0-9_.@+-]+")
_NETWORK = re.compile(r"[0-9A-Fa-f:.]+(/[0-9A-Fa-f:.]+)?")
_ADDRESS = re.compile(r"[A-Za-z0-9_.:-]+")
_NUMBER = re.compile(r"\+?[0-9]+")


class ConfigError(Exception):
    """A missing or invalid environment variable; the message names it."""


def build_context(env: Mapping[str, str], module_dir: str) -> dict[str, object]:
    """The template context, with the keys of ``AsteriskInstance.render_config()``."""
    missing = [name for name in REQUIRED if not env.get(name, "").strip()]
    if missing:
        raise ConfigError("required variables are not set: " + ", ".join(missing))
    value = {
        name: env.get(name, "").strip() or DEFAULTS.get(name, "") for name in (*DEFAULTS, *REQUIRED)
    }

    rtp_start = _port("CALLCENTER_RTP_START", value["CALLCENTER_RTP_START"], low=1024)
    rtp_end = _port("CALLCENTER_RTP_END", value["CALLCENTER_RTP_END"], low=1024)
    if rtp_end <= rtp_start:
        raise ConfigError("CALLCENTER_RTP_END must be above CALLCENTER_RTP_START")
    wss_port = _port("CALLCENTER_SIP_WSS_PORT", value["CALLCENTER_SIP_WSS_PORT"])
    external = _checked(
        "CALLCENTER_SIP_EXTERNAL_ADDRESS", value["CALLCENTER_SIP_EXTERNAL_ADDRESS"], _ADDRESS
    )
    return {
        # asterisk.conf's systemname, the prefix of every channel's uniqueid: each node of
        # several behind the router needs its own (docker-compose.yml, profile "cluster").
        "instance": _checked(
            "CALLCENTER_SANDBOX_INSTANCE",
            env.get("CALLCENTER_SANDBOX_INSTANCE", "").strip() or INSTANCE,
            _TOKEN,
        ),
        "instance_dir": str(INSTANCE_DIR),
        "module_dir": module_dir,
        # Reachable on the compose network only: docker-compose.yml does not publish it.
        "ami_bind": "0.0.0.0",  # noqa: S104
        "ami_port": _port("CALLCENTER_AMI_PORT", value["CALLCENTER_AMI_PORT"]),
        "ami_username": _checked(
            "CALLCENTER_AMI_USERNAME", value["CALLCENTER_AMI_USERNAME"], _TOKEN
        ),
        # Secrets are taken as given, not stripped: the app sends them byte for byte.
        "ami_secret": _secret("CALLCENTER_AMI_SECRET", env["CALLCENTER_AMI_SECRET"]),
        "ami_permit": [
            _checked("CALLCENTER_AMI_PERMIT", net, _NETWORK)
            for net in _csv(value["CALLCENTER_AMI_PERMIT"])
        ],
        "sip_bind": _checked("CALLCENTER_SIP_BIND", value["CALLCENTER_SIP_BIND"], _ADDRESS),
        "sip_port": _port("CALLCENTER_SIP_PORT", value["CALLCENTER_SIP_PORT"]),
        "sip_external_address": _checked(
            "CALLCENTER_SIP_EXTERNAL_ADDRESS", value["CALLCENTER_SIP_EXTERNAL_ADDRESS"], _ADDRESS
        ),
        "sip_local_nets": [
            _checked("CALLCENTER_SIP_LOCAL_NETS", net, _NETWORK)
            for net in _csv(value["CALLCENTER_SIP_LOCAL_NETS"])
        ],
        "rtp_start": rtp_start,
        "rtp_end": rtp_end,
        "trunk_address": _checked(
            "CALLCENTER_TRUNK_ADDRESS", value["CALLCENTER_TRUNK_ADDRESS"], _ADDRESS
        ),
        # The phones' endpoints and each person's own secret (issue 19): written by the app
        # into the shared phones volume, included by pjsip.conf, reloaded by the app.
        "sip_realm": _checked("CALLCENTER_SIP_REALM", value["CALLCENTER_SIP_REALM"], _TOKEN),
        "phones_conf": str(PHONES_DIR / "pjsip_phones.conf"),
        # WebSocket SIP over TLS for the browser softphone, with the certificate mounted at
        # TLS_DIR (docker-compose.yml); the plain HTTP listener stays on the container's own
        # loopback, on the port after it (asterisk_conf/http.conf).
        "sip_wss_bind": _checked("CALLCENTER_SIP_BIND", value["CALLCENTER_SIP_BIND"], _ADDRESS),
        "sip_wss_port": wss_port,
        "http_port": wss_port + 1,
        "tls_cert_file": str(TLS_DIR / "asterisk.crt"),
        "tls_key_file": str(TLS_DIR / "asterisk.key"),
        # ICE host candidates: the container's own addresses, announced as the host's
        # external one, where the browsers' media arrives (asterisk_conf/rtp.conf).
        "ice_host_candidates": [(address, external) for address in this_hosts_ipv4()],
        **_fallback(value),
    }


def _fallback(value: Mapping[str, str]) -> dict[str, object]:
    """The fallback's keys, as callcenter/sandbox/fallback.py ``fallback_context`` makes them."""
    mode = value["CALLCENTER_FALLBACK_MODE"]
    if mode not in FALLBACK_MODES:
        raise ConfigError(f"CALLCENTER_FALLBACK_MODE: {mode!r} is not one of {FALLBACK_MODES}")
    agents = [
        _checked("CALLCENTER_AGENT_EXTENSIONS", ext, _TOKEN)
        for ext in _csv(value["CALLCENTER_AGENT_EXTENSIONS"])
    ]
    dial = ""
    if mode == "transfer":
        number = _checked(
            "CALLCENTER_FALLBACK_TRANSFER_NUMBER",
            value["CALLCENTER_FALLBACK_TRANSFER_NUMBER"],
            _NUMBER,
        )
        trunk = value["CALLCENTER_OUTBOUND_TRUNK"]
        phones = {*agents, *_csv(value["CALLCENTER_SUPERVISOR_EXTENSIONS"])}
        if number in phones:
            dial = f"PJSIP/{number}"
        elif trunk:
            trunk = _checked("CALLCENTER_OUTBOUND_TRUNK", trunk, _ADDRESS)
            dial = f"PJSIP/carrier/sip:{number}@{trunk}"
        else:
            raise ConfigError(
                "CALLCENTER_FALLBACK_TRANSFER_NUMBER is not an extension of ours: "
                "set CALLCENTER_OUTBOUND_TRUNK"
            )
    return {
        "pickup_seconds": _int("CALLCENTER_SERVICE_PICKUP_SECONDS", value, 1, 60),
        "fallback_mode": mode,
        "fallback_transfer_dial": dial,
        "fallback_queue_members": agents,
        "fallback_queue_wait_seconds": _int(
            "CALLCENTER_FALLBACK_QUEUE_WAIT_SECONDS", value, 10, 3600
        ),
        "fallback_sounds_dir": str(PROMPTS_DIR / "fallback"),
    }


def prepare(
    env: Mapping[str, str],
    *,
    source: Path = CONF_SOURCE,
    instance_dir: Path = INSTANCE_DIR,
    module_dir: str | None = None,
    user: str | None = ASTERISK_USER,
) -> list[str]:
    """Create the instance folders, render the config; return Asterisk's command line.

    ``user=None`` skips changing owners (tests run without an ``asterisk`` user).
    """
    context = build_context(env, module_dir or "")  # the environment's errors first
    context["module_dir"] = module_dir or find_module_dir()
    context["instance_dir"] = str(instance_dir)
    for sub in INSTANCE_SUBDIRS:
        path = instance_dir / sub
        path.mkdir(parents=True, exist_ok=True)
        if user is not None:
            shutil.chown(path, user, user)
    # A restarted container keeps its run folder: a stale control socket must not linger.
    for stale in ("asterisk.ctl", "asterisk.pid"):
        (instance_dir / "run" / stale).unlink(missing_ok=True)
    if user is not None:
        RECORDINGS_DIR.mkdir(parents=True, exist_ok=True)
        shutil.chown(RECORDINGS_DIR, user, RECORDINGS_GROUP)
        RECORDINGS_DIR.chmod(RECORDINGS_MODE)
        PHONES_DIR.mkdir(parents=True, exist_ok=True)
        shutil.chown(PHONES_DIR, user, RECORDINGS_GROUP)
        PHONES_DIR.chmod(PHONES_MODE)
    for path in render_tree(source, instance_dir / "etc", context):
        # Readable by Asterisk's group only: manager.conf and pjsip.conf hold secrets.
        if user is not None:
            shutil.chown(path, "root", user)
    conf = instance_dir / "etc" / "asterisk.conf"
    return ["asterisk", "-f", "-U", ASTERISK_USER, "-G", ASTERISK_USER, "-C", str(conf)]


def find_module_dir() -> str:
    """Asterisk's module folder for this image's architecture (x86_64, aarch64, ...)."""
    found = sorted(glob.glob(MODULE_DIR_GLOB))
    if not found:
        raise ConfigError(f"no Asterisk module folder matches {MODULE_DIR_GLOB}")
    return found[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-exec", action="store_true", help="render only, do not start Asterisk")
    args = parser.parse_args(argv)
    try:
        command = prepare(os.environ)
    except ConfigError as exc:
        print(f"render_conf: {exc}", file=sys.stderr)
        return 2
    if args.no_exec:
        print(f"rendered {INSTANCE_DIR / 'etc'}; would run: {' '.join(command)}")
        return 0
    sys.stdout.flush()
    os.umask(ASTERISK_UMASK)  # recordings writable by the app's group (RECORDINGS_DIR)
    os.execvp(command[0], command)  # noqa: S606 - fixed argv, no shell
    return 1  # not reached


# -- value checks -------------------------------------------------------------------------------


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _checked(name: str, value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(value):
        raise ConfigError(f"{name}: {value!r} is not a valid value")
    return value


def _int(name: str, value: Mapping[str, str], low: int, high: int) -> int:
    raw = value[name]
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name}: {raw!r} is not a whole number in {low}-{high}")
    return int(raw)


def _port(name: str, raw: str, low: int = 1) -> int:
    if not raw.isdigit() or not low <= int(raw) <= 65535:
        raise ConfigError(f"{name}: {raw!r} is not a port number in {low}-65535")
    return int(raw)


def _secret(name: str, value: str) -> str:
    # ';' starts a comment in Asterisk config files: the secret would be cut short there.
    # Asterisk also trims spaces around a value, which the app would still send.
    if any(ch in value for ch in ";\r\n") or value != value.strip():
        raise ConfigError(f"{name} must not contain ';', line breaks or surrounding spaces")
    return value


if __name__ == "__main__":
    sys.exit(main())
