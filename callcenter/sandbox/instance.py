"""One Asterisk instance in the sandbox root: render its config, start, stop, inspect.

How it runs. ``unshare --mount --pid --fork --kill-child`` gives Asterisk a private mount and
PID namespace; ``--mount-proc`` mounts a fresh /proc inside the root, visible only in that
namespace; ``chroot`` enters the root; Asterisk runs in the foreground as user ``asterisk``.
The network namespace is the host's, so Asterisk listens on the host's loopback. When the
namespace's last process exits, the kernel removes its mounts: nothing is left to unmount, even
after a crash or ``kill -9``. ``down`` asks Asterisk to stop, then kills the namespace.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from callcenter.ivr.fallback_prompts import FALLBACK_FOLDER, render_fallback_prompts
from callcenter.ivr.prompts import RenderReport
from callcenter.ivr.sounds import render_flow_prompts
from callcenter.sandbox.addresses import this_hosts_ipv4
from callcenter.sandbox.errors import SandboxError
from callcenter.sandbox.fallback import CEL_FILE_IN_LOG, fallback_context
from callcenter.sandbox.processes import alive, ensure_port_free, live_pid
from callcenter.sandbox.render import render_tree
from callcenter.sandbox.rootfs import Rootfs, ensure_rootfs, require_root, rootfs_path
from callcenter.sandbox.tls import ensure_self_signed
from callcenter.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

CONF_SOURCE = PROJECT_ROOT / "asterisk_conf"
FLOWS_DIR = PROJECT_ROOT / "ivr_flows"
INSTANCES_IN_ROOT = Path("/var/lib/callcenter/instances")
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/asterisk/modules"
ASTERISK_UID_NAME = "asterisk"
# The phones' endpoints and credentials, written by the service (callcenter/pbx/phone_config.py)
# into the instance's etc folder, and included by pjsip.conf.
PHONES_CONF = "pjsip_phones.conf"


@dataclass(frozen=True)
class InstanceStatus:
    running: bool
    pid: int | None
    detail: str


class AsteriskInstance:
    def __init__(self, settings: Settings, conf_source: Path = CONF_SOURCE) -> None:
        self.settings = settings
        self.conf_source = conf_source
        self.root = rootfs_path(settings.sandbox_cache_dir, settings.sandbox_suite)
        self.dir_in_root = INSTANCES_IN_ROOT / settings.sandbox_instance
        self.dir = self.root / self.dir_in_root.relative_to("/")
        self.conf_in_root = self.dir_in_root / "etc" / "asterisk.conf"
        self.pidfile = self.dir / "namespace.pid"
        self.console_log = self.dir / "log" / "console.log"
        self.messages_log = self.dir / "log" / "messages.log"
        self.prompts_dir = self.dir / "prompts"

    # -- config -------------------------------------------------------------------------

    def render_config(self) -> list[Path]:
        """Render every file of ``asterisk_conf/`` into the instance's etc folder."""
        s = self.settings
        context = {
            "instance": s.sandbox_instance,
            "instance_dir": str(self.dir_in_root),
            "module_dir": MODULE_DIR,
            "ami_bind": s.ami_host if s.ami_host != "localhost" else "127.0.0.1",
            "ami_port": s.ami_port,
            "ami_username": s.ami_username,
            "ami_secret": s.ami_secret.get_secret_value(),
            "ami_permit": s.ami_permit,
            "sip_bind": s.sip_bind,
            "sip_port": s.sip_port,
            "sip_external_address": s.sip_external_address,
            "sip_local_nets": s.sip_local_nets,
            "rtp_start": s.rtp_start,
            "rtp_end": s.rtp_end,
            "trunk_address": s.trunk_address,
            "sip_realm": s.sip_realm,
            "sip_wss_bind": s.sip_bind,
            "sip_wss_port": s.sip_wss_port,
            "http_port": plain_http_port(s),
            # Copies inside the root (up() puts them there): Asterisk cannot see the host's.
            "tls_cert_file": str(self.dir_in_root / "etc" / "tls" / "asterisk.crt"),
            "tls_key_file": str(self.dir_in_root / "etc" / "tls" / "asterisk.key"),
            "phones_conf": str(self.dir_in_root / "etc" / PHONES_CONF),
            # RTP listens on sip_bind only: the browser must be told that address (rtp.conf).
            "ice_host_candidates": (
                []
                if s.sip_external_address
                else [(address, s.sip_bind) for address in this_hosts_ipv4()]
            ),
            **fallback_context(s, str(self.dir_in_root / "prompts" / FALLBACK_FOLDER)),
        }
        return render_tree(self.conf_source, self.dir / "etc", context)

    def render_prompts(self, flows_dir: Path = FLOWS_DIR) -> RenderReport:
        """Every prompt the IVR can say, rendered into the instance's prompts folder (see
        callcenter.ivr.sounds.render_flow_prompts), and the fallback's, which the dialplan
        plays by fixed names from its own folder there."""
        report = render_flow_prompts(flows_dir, self.prompts_dir)
        render_fallback_prompts(self.prompts_dir / FALLBACK_FOLDER)
        return report

    @property
    def cel_file(self) -> Path:
        """Asterisk's channel event record (cel_custom.conf), as the host sees it."""
        return self.dir / "log" / CEL_FILE_IN_LOG

    def sound_name(self, host_path: Path) -> str:
        """How Asterisk, inside the root, names a sound file of this instance (no extension)."""
        return "/" + str(host_path.with_suffix("").relative_to(self.root))

    # -- lifecycle --------------------------------------------------------------------------

    def up(self) -> str:
        """Build or reuse the root, render config, start Asterisk, wait until fully booted."""
        require_root()
        for tool, package in (("unshare", "util-linux"), ("chroot", "coreutils")):
            if shutil.which(tool) is None:
                raise SandboxError(
                    f"{tool}-missing", f"{tool} not found; apt-get install {package}"
                )
        rootfs = ensure_rootfs(
            self.settings.sandbox_cache_dir,
            self.settings.sandbox_suite,
            self.settings.sandbox_mirror,
        )
        if self.status().running:
            return f"Asterisk instance {self.settings.sandbox_instance!r} is already running"
        self._kill_leftovers()
        self._check_ports_free()
        _, gid = self._prepare_dirs(rootfs)
        for path in self.render_config():
            # Readable by Asterisk's group only: manager.conf and pjsip.conf hold secrets.
            os.chown(path, 0, gid)
        self._install_tls(gid)
        self.render_prompts()
        self._start()
        self._wait_booted()
        return (
            f"{rootfs.asterisk_version} is up (instance {self.settings.sandbox_instance!r}): "
            f"SIP udp {self.settings.sip_bind}:{self.settings.sip_port}, "
            f"WSS {self.settings.sip_bind}:{self.settings.sip_wss_port}, "
            f"AMI {self.settings.ami_host}:{self.settings.ami_port}"
        )

    def down(self, timeout: float = 15.0) -> str:
        require_root()
        pid = self._namespace_pid()
        if pid is None and not self._instance_pids():
            return f"Asterisk instance {self.settings.sandbox_instance!r} is not running"
        # Ask nicely first: Asterisk hangs up its channels and closes its sockets.
        with contextlib.suppress(SandboxError):
            self.cli("core stop now", timeout=5.0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (
            (pid is not None and alive(pid)) or self._instance_pids()
        ):
            time.sleep(0.05)
        # Then make sure: killing unshare kills the namespace (--kill-child), and with it every
        # process inside; a stray one found by its config path is killed too.
        if pid is not None and alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._kill_leftovers()
        self.pidfile.unlink(missing_ok=True)
        return f"Asterisk instance {self.settings.sandbox_instance!r} stopped"

    def kill(self) -> None:
        """Stop at once, as a crash would: no goodbye on any socket (tests, stuck instances)."""
        pid = self._namespace_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._kill_leftovers()
        self.pidfile.unlink(missing_ok=True)

    def status(self) -> InstanceStatus:
        pid = self._namespace_pid()
        if pid is None or not alive(pid):
            return InstanceStatus(False, None, "not running")
        try:
            uptime = self.cli("core show uptime seconds", timeout=5.0).strip()
        except SandboxError as exc:
            return InstanceStatus(False, pid, f"process {pid} alive but not answering: {exc}")
        return InstanceStatus(True, pid, uptime.replace("\n", "; "))

    def cli(self, command: str, timeout: float = 30.0) -> str:
        """Run one Asterisk CLI command through the instance's control socket."""
        ctl = self.dir / "run" / "asterisk.ctl"
        if not ctl.exists():
            raise SandboxError(
                "asterisk-not-running",
                f"Asterisk instance {self.settings.sandbox_instance!r} is not running "
                "(start it with: callcenter asterisk up)",
            )
        try:
            proc = subprocess.run(
                [
                    "chroot",
                    str(self.root),
                    "/usr/sbin/asterisk",
                    "-C",
                    str(self.conf_in_root),
                    "-rx",
                    command,
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SandboxError("asterisk-cli-timeout", f"CLI command timed out: {command}") from exc
        if proc.returncode != 0 or "Unable to connect to remote asterisk" in proc.stdout:
            raise SandboxError(
                "asterisk-cli-failed",
                f"CLI command {command!r} failed: {(proc.stdout + proc.stderr).strip()}",
            )
        return proc.stdout

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for path in (self.console_log, self.messages_log):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name} ---\n" + "\n".join(text))
        return "\n".join(parts) or "(no log written)"

    @property
    def phones_conf(self) -> Path:
        """Where the service writes the phones' endpoints (pjsip_phones.conf), as the host
        sees it."""
        return self.dir / "etc" / PHONES_CONF

    # -- internals --------------------------------------------------------------------------

    def _install_tls(self, gid: int) -> None:
        """Copy the WSS certificate and key into the instance (made first when they are
        scripts/setup's own and missing), readable by Asterisk's group only."""
        cert, key = self.settings.effective_sip_tls_files
        if self.settings.sip_tls_cert_file is None or self.settings.sip_tls_key_file is None:
            ensure_self_signed(cert, key)
        folder = self.dir / "etc" / "tls"
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, 0, gid)
        folder.chmod(0o750)
        for source, name in ((cert, "asterisk.crt"), (key, "asterisk.key")):
            target = folder / name
            shutil.copyfile(source, target)
            os.chown(target, 0, gid)
            target.chmod(0o640)

    def _prepare_dirs(self, rootfs: Rootfs) -> tuple[int, int]:
        uid, gid = _lookup_user(rootfs.path, ASTERISK_UID_NAME)
        # spool/messages: voice messages callers leave in the IVR (RECORD FILE writes there);
        # log/cel-custom: Asterisk's channel event record (cel_custom writes no folder itself).
        subs = ("etc", "run", "log", "log/cel-custom", "spool", "spool/messages", "db", "cache")
        for sub in subs:
            path = self.dir / sub
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, uid, gid)
        # Old logs would make a failed boot print a previous run's errors.
        for path in (self.console_log, self.messages_log):
            path.unlink(missing_ok=True)
        (self.dir / "run" / "asterisk.ctl").unlink(missing_ok=True)
        return uid, gid

    def _start(self) -> None:
        cmd = [
            "unshare",
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
            f"--mount-proc={self.root / 'proc'}",
            "chroot",
            str(self.root),
            "/usr/sbin/asterisk",
            "-f",
            "-C",
            str(self.conf_in_root),
        ]
        with self.console_log.open("ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            )
        self.pidfile.write_text(str(proc.pid))
        self._popen = proc

    def _wait_booted(self) -> None:
        timeout = self.settings.asterisk_boot_timeout
        deadline = time.monotonic() + timeout
        pid = self._namespace_pid()
        while time.monotonic() < deadline:
            if pid is None or not alive(pid):
                raise SandboxError(
                    "asterisk-boot-failed",
                    f"Asterisk exited while booting.\n{self.log_tail()}",
                )
            if (self.dir / "run" / "asterisk.ctl").exists():
                try:
                    out = self.cli(
                        "core waitfullybooted", timeout=max(1.0, deadline - time.monotonic())
                    )
                except SandboxError:
                    time.sleep(0.1)
                    continue
                if "fully booted" in out.lower():
                    return
            time.sleep(0.05)
        raise SandboxError(
            "asterisk-boot-timeout",
            f"Asterisk did not finish booting within {timeout:.0f}s.\n{self.log_tail()}",
        )

    def _check_ports_free(self) -> None:
        s = self.settings
        checks = [
            (socket.SOCK_STREAM, s.ami_host, s.ami_port, "AMI", "tcp", "AMI_PORT"),
            (socket.SOCK_DGRAM, s.sip_bind, s.sip_port, "SIP", "udp", "SIP_PORT"),
            (socket.SOCK_STREAM, s.sip_bind, s.sip_wss_port, "WSS", "tcp", "SIP_WSS_PORT"),
            # Asterisk's plain HTTP listener, the port after the WSS one (http.conf).
            (socket.SOCK_STREAM, "127.0.0.1", plain_http_port(s), "HTTP", "tcp", "SIP_WSS_PORT"),
        ]
        for kind, host, port, what, proto, setting in checks:
            ensure_port_free(
                kind,
                host,
                port,
                f"{what} port {host}:{port}/{proto} is already in use by another program; "
                f"stop it, or choose another port (CALLCENTER_{setting})",
            )

    def _namespace_pid(self) -> int | None:
        return live_pid(self.pidfile)

    def _instance_pids(self) -> list[int]:
        """Live processes of this instance, found by the config path on their command line."""
        marker = str(self.conf_in_root).encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker in cmdline and state != "Z" and int(entry.name) != os.getpid():
                found.append(int(entry.name))
        return found

    def _kill_leftovers(self) -> None:
        for pid in self._instance_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while self._instance_pids() and time.monotonic() < deadline:
            time.sleep(0.05)


def plain_http_port(settings: Settings) -> int:
    """The port of Asterisk's plain HTTP listener (loopback; http.conf says why it exists):
    the one after the WSS port, so that instances apart in WSS ports are apart here too."""
    return settings.sip_wss_port + 1


def phones_conf_for(settings: Settings) -> Path:
    """Where the service writes pjsip_phones.conf: CALLCENTER_PHONES_CONF_FILE, else the
    sandbox instance's etc folder."""
    return settings.phones_conf_file or AsteriskInstance(settings).phones_conf


def cel_file_for(settings: Settings) -> Path:
    """Where the service reads Asterisk's channel event record: CALLCENTER_CEL_FILE, else the
    sandbox instance's."""
    return settings.cel_file or AsteriskInstance(settings).cel_file


def _lookup_user(root: Path, name: str) -> tuple[int, int]:
    for line in (root / "etc" / "passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2]), int(fields[3])
    raise SandboxError("sandbox-broken", f"user {name!r} missing from the sandbox root")
