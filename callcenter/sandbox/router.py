"""The SIP router in front of several Asterisk nodes: Kamailio, on this machine (issue 21).

Kamailio comes from Debian (scripts/ensure-kamailio installs it when a topology asks for it)
and runs on the host itself, not in the sandbox root: it needs no chroot, and it listens on
the host's loopback like the sandbox's Asterisk instances. One router per port: its files are
in ``/var/lib/callcenter/routers/<port>/`` (etc: kamailio.cfg and dispatcher.list rendered
from ``asterisk_conf/kamailio/``; db: the phones' HA1 table the service writes; run: the
control socket; log). ``kamailio -DD -E`` stays in the foreground with its workers as
children and logs to stderr, which goes to log/kamailio.log; it drops root for the
``kamailio`` user after binding.

What the router does is in kamailio.cfg's header; docs/operations.md, "Several Asterisk nodes
behind Kamailio", says how to run it.
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from callcenter.sandbox.errors import SandboxError
from callcenter.sandbox.processes import alive, ensure_port_free, live_pid
from callcenter.sandbox.render import render_tree
from callcenter.sandbox.rootfs import require_root
from callcenter.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

TEMPLATES = PROJECT_ROOT / "asterisk_conf" / "kamailio"
ROUTERS_DIR = Path("/var/lib/callcenter/routers")
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
SBIN = "/usr/sbin:/usr/bin:/sbin:/bin"
KAMAILIO_USER = "kamailio"
# The phones' HA1 as the router reads them: a db_text table, one file named as the table.
SUBSCRIBER_TABLE = "subscriber"
SUBSCRIBER_HEADER = "username(string) domain(string) ha1(string)"
BOOT_TIMEOUT = 15.0


@dataclass(frozen=True)
class RouterConfig:
    """One router: where it listens, the Asterisk nodes behind it (``host:port`` of their
    SIP over UDP), the digest realm of the phones' HA1, and how fast a dead node is found."""

    bind: str
    port: int
    nodes: tuple[str, ...]
    realm: str = "callcenter"
    # A node is probed this often; one that does not answer within reply_ms is marked down.
    probe_seconds: int = 1
    reply_ms: int = 2000
    children: int = 2
    log_level: int = 1
    # A container's second side (kamailio.cfg): the port the carrier and the phones reach,
    # and the address they reach it at. 0: one side only (the sandbox, all on loopback).
    public_port: int = 0
    advertise: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return f"{self.bind}:{self.port}"


@dataclass(frozen=True)
class RouterStatus:
    running: bool
    pid: int | None
    detail: str


def router_dir(port: int) -> Path:
    return ROUTERS_DIR / str(port)


def router_db_for(settings: Settings) -> Path | None:
    """Where the service writes the router's HA1 table: CALLCENTER_SIP_ROUTER_DB_DIR, else
    the sandbox router's db folder for the CALLCENTER_SIP_ROUTER port; None without a
    router."""
    if not settings.sip_router:
        return None
    if settings.sip_router_db_dir is not None:
        return settings.sip_router_db_dir
    return router_dir(int(settings.sip_router.rsplit(":", 1)[1])) / "db"


def render_router(config: RouterConfig, target: Path, *, db_dir: Path, run_dir: Path) -> None:
    """Render kamailio.cfg and dispatcher.list for ``config`` into ``target``."""
    render_tree(
        TEMPLATES,
        target,
        {
            "bind": config.bind,
            "port": config.port,
            "nodes": list(config.nodes),
            "realm": config.realm,
            "probe_seconds": config.probe_seconds,
            "reply_ms": config.reply_ms,
            "children": config.children,
            "log_level": config.log_level,
            "public_port": config.public_port,
            "advertise": config.advertise,
            "aliases": list(config.aliases),
            "module_dir": MODULE_DIR,
            "conf_dir": str(target),
            "db_dir": str(db_dir),
            "run_dir": str(run_dir),
        },
    )


class KamailioRouter:
    def __init__(self, config: RouterConfig, base: Path | None = None) -> None:
        self.config = config
        self.dir = base or router_dir(config.port)
        self.etc = self.dir / "etc"
        self.db = self.dir / "db"
        self.run_dir = self.dir / "run"
        self.log_file = self.dir / "log" / "kamailio.log"
        self.pidfile = self.run_dir / "kamailio.pid"
        self.ctl = self.run_dir / "kamailio_ctl"

    @property
    def subscribers(self) -> Path:
        """The phones' HA1 table (the service writes it: callcenter/pbx/phone_config.py)."""
        return self.db / SUBSCRIBER_TABLE

    # -- lifecycle --------------------------------------------------------------------------

    def up(self) -> str:
        require_root()
        binary = kamailio_binary()
        if self.status().running:
            return f"Kamailio router {self.config.address} is already running"
        self._check_port_free()
        self._prepare()
        check = subprocess.run(
            [binary, "-c", "-f", str(self.etc / "kamailio.cfg")],
            capture_output=True,
            text=True,
            check=False,
            env={"PATH": SBIN},
        )
        if check.returncode != 0:
            raise SandboxError(
                "router-config-invalid",
                f"kamailio.cfg does not load:\n{(check.stdout + check.stderr)[-3000:]}",
            )
        self._start(binary)
        self._wait_ready()
        nodes = ", ".join(self.config.nodes)
        return f"Kamailio router up on {self.config.address} (udp, tcp) in front of {nodes}"

    def down(self, timeout: float = 10.0) -> str:
        pid = self._pid()
        if pid is None:
            return f"Kamailio router {self.config.address} is not running"
        # SIGTERM: the main process stops its workers and removes its control socket.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.05)
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.pidfile.unlink(missing_ok=True)
        return f"Kamailio router {self.config.address} stopped"

    def status(self) -> RouterStatus:
        pid = self._pid()
        if pid is None:
            return RouterStatus(False, None, "not running")
        try:
            version = self.rpc("core.version").strip()
        except SandboxError as exc:
            return RouterStatus(False, pid, f"process {pid} alive but not answering: {exc}")
        return RouterStatus(True, pid, version)

    def rpc(self, command: str, *args: str, timeout: float = 10.0) -> str:
        """One RPC over the control socket (kamcmd), e.g. ``dispatcher.list``, ``ul.dump``."""
        kamcmd = shutil.which("kamcmd", path=SBIN)
        if kamcmd is None:
            raise SandboxError("kamcmd-missing", "kamcmd not found (scripts/ensure-kamailio)")
        try:
            proc = subprocess.run(
                [kamcmd, "-s", f"unix:{self.ctl}", command, *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SandboxError("router-rpc-timeout", f"kamcmd {command} timed out") from exc
        if proc.returncode != 0:
            raise SandboxError(
                "router-rpc-failed", f"kamcmd {command}: {(proc.stdout + proc.stderr).strip()}"
            )
        return proc.stdout

    def node_states(self) -> dict[str, str]:
        """Each node's dispatcher flags: ``AP`` up (active, probed), ``IP`` down (inactive,
        probed), ``TX``/``DX`` disabled."""
        return parse_dispatcher_list(self.rpc("dispatcher.list"))

    def registered(self) -> list[str]:
        """The extensions registered here now (``ul.dump``'s AORs)."""
        found = []
        for line in self.rpc("ul.dump").splitlines():
            key, _, value = line.strip().partition(":")
            if key.strip() == "AoR":
                found.append(value.strip())
        return sorted(found)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_file.exists():
            return "(no log written)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    # -- internals --------------------------------------------------------------------------

    def _prepare(self) -> None:
        gid = grp.getgrnam(KAMAILIO_USER).gr_gid
        for folder in (self.etc, self.db, self.run_dir, self.log_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        # The control socket is made as root, then handed to kamailio; the HA1 table is
        # readable by its group only (the service writes it with the folder's group).
        for folder in (self.db, self.run_dir):
            os.chown(folder, 0, gid)
            folder.chmod(0o2770 if folder == self.run_dir else 0o2750)
        render_router(self.config, self.etc, db_dir=self.db, run_dir=self.run_dir)
        for path in self.etc.iterdir():
            os.chown(path, 0, gid)
        if not self.subscribers.exists():
            # No phone can register until the service writes the table.
            write_empty_subscribers(self.subscribers, group=gid)
        self.log_file.unlink(missing_ok=True)
        self.ctl.unlink(missing_ok=True)

    def _start(self, binary: str) -> None:
        cmd = [binary, "-DD", "-E", "-f", str(self.etc / "kamailio.cfg")]
        cmd += ["-u", KAMAILIO_USER, "-g", KAMAILIO_USER]
        with self.log_file.open("ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={"PATH": SBIN},
            )
        self.pidfile.write_text(str(proc.pid))

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            pid = self._pid()
            if pid is None:
                raise SandboxError(
                    "router-boot-failed", f"Kamailio exited while starting:\n{self.log_tail()}"
                )
            if self.ctl.exists():
                with contextlib.suppress(SandboxError):
                    self.rpc("core.version", timeout=2.0)
                    return
            time.sleep(0.05)
        raise SandboxError(
            "router-boot-timeout", f"Kamailio did not answer within {BOOT_TIMEOUT:.0f}s"
        )

    def _check_port_free(self) -> None:
        host, port = self.config.bind, self.config.port
        for kind, proto in ((socket.SOCK_DGRAM, "udp"), (socket.SOCK_STREAM, "tcp")):
            ensure_port_free(
                kind, host, port, f"router port {host}:{port}/{proto} is already in use"
            )

    def _pid(self) -> int | None:
        return live_pid(self.pidfile)


def kamailio_binary() -> str:
    found = shutil.which("kamailio", path=SBIN)
    if found is None:
        raise SandboxError(
            "kamailio-missing",
            "Kamailio is not installed; scripts/ensure-kamailio installs it (apt-get)",
        )
    return found


def parse_dispatcher_list(text: str) -> dict[str, str]:
    """``kamcmd dispatcher.list``'s destinations: URI -> FLAGS."""
    states: dict[str, str] = {}
    uri = ""
    for raw in text.splitlines():
        key, _, value = raw.strip().partition(":")
        key, value = key.strip(), value.strip()
        if key == "URI":
            uri = value
        elif key == "FLAGS" and uri:
            states[uri] = value
    return states


def write_empty_subscribers(path: Path, *, group: int) -> None:
    """The HA1 table with no phone in it (the header only): Kamailio starts, and refuses
    every REGISTER, until the service writes the phones (callcenter/pbx/phone_config.py
    renders the same header: a unit test keeps the two in step)."""
    path.write_text(SUBSCRIBER_HEADER + "\n")
    os.chown(path, -1, group)
    path.chmod(0o640)
