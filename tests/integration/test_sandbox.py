"""The Asterisk sandbox: lifecycle, loopback-only binding, least-privilege AMI, clear errors."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from callcenter.asterisk.client import open_ami
from callcenter.asterisk.errors import AmiActionError
from callcenter.sandbox import rootfs as rootfs_module
from callcenter.sandbox.errors import SandboxError
from callcenter.sandbox.instance import CONF_SOURCE, AsteriskInstance
from callcenter.settings import Settings, load_settings
from tests.support.ami import config_for

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]


def _other_instance(name: str, ami_port: int, sip_port: int) -> Settings:
    return load_settings(
        sandbox_instance=name,
        ami_port=ami_port,
        sip_port=sip_port,
        rtp_start=13000,
        rtp_end=13099,
        ami_secret="lifecycle-secret",
    )


def _pids_with(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker.encode() in cmdline and state != "Z":
                pids.append(int(entry.name))
    return pids


def _listening_sockets(pids: list[int]) -> list[tuple[str, str]]:
    """(protocol, local address) of every listening TCP / bound UDP socket of ``pids``."""
    out = subprocess.run(["ss", "-H", "-lntup"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        if any(f"pid={pid}," in line for pid in pids):
            fields = line.split()
            found.append((fields[0], fields[4]))
    return found


def test_asterisk_listens_on_loopback_only(asterisk: AsteriskInstance) -> None:
    status = asterisk.status()
    assert status.running
    assert status.pid is not None
    pids = _pids_with(str(asterisk.conf_in_root))
    sockets = _listening_sockets(pids)
    s = asterisk.settings
    assert ("tcp", f"127.0.0.1:{s.ami_port}") in sockets
    assert ("udp", f"127.0.0.1:{s.sip_port}") in sockets
    # res_pjsip opens two unconnected UDP client sockets on ephemeral ports at load time (one
    # IPv4, one IPv6); no option turns them off. They serve no protocol. Everything else -
    # every TCP listener and every UDP socket on a fixed port - must be on loopback.
    wildcard = [(p, a) for p, a in sockets if not a.startswith(("127.", "[::1]"))]
    assert all(p == "udp" and int(a.rsplit(":", 1)[1]) >= 32768 for p, a in wildcard), sockets
    assert len(wildcard) <= 2, sockets


async def test_service_ami_user_cannot_run_cli_commands(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    async with open_ami(config_for(asterisk_settings)) as ami:
        with pytest.raises(AmiActionError, match="Permission denied"):
            await ami.action("Command", {"Command": "core show version"})
        assert (await ami.action("Ping")).name == "Success"


def test_rendered_manager_conf_holds_the_configured_user_and_secret(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    text = (asterisk.dir / "etc" / "manager.conf").read_text()
    assert f"[{asterisk_settings.ami_username}]" in text
    assert f"secret = {asterisk_settings.ami_secret.get_secret_value()}" in text
    assert "command" not in text.split("write =", 1)[1].splitlines()[0]
    # Secrets are readable by Asterisk's group only.
    assert (asterisk.dir / "etc" / "manager.conf").stat().st_mode & 0o777 == 0o640


def test_boot_log_has_no_errors(asterisk: AsteriskInstance) -> None:
    log = asterisk.messages_log.read_text()
    assert "Asterisk Ready" in log
    # Only the boot: later lines belong to other tests (a refused REGISTER logs a warning).
    boot = log[: log.index("Asterisk Ready")]
    problems = [line for line in boot.splitlines() if "ERROR[" in line or "WARNING[" in line]
    assert problems == []


def test_cli_status_and_cli_command(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    env = {
        **os.environ,
        "CALLCENTER_SANDBOX_INSTANCE": asterisk_settings.sandbox_instance,
        "CALLCENTER_AMI_PORT": str(asterisk_settings.ami_port),
        "CALLCENTER_SIP_PORT": str(asterisk_settings.sip_port),
    }
    cli = [sys.executable, "-m", "callcenter.cli"]
    status = subprocess.run([*cli, "asterisk", "status"], env=env, capture_output=True, text=True)
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.startswith("running")
    version = subprocess.run(
        [*cli, "asterisk", "cli", "core show version"], env=env, capture_output=True, text=True
    )
    assert version.returncode == 0
    assert version.stdout.startswith("Asterisk 22.")
    env["CALLCENTER_SANDBOX_INSTANCE"] = "pytest-never-started"
    stopped = subprocess.run([*cli, "asterisk", "status"], env=env, capture_output=True, text=True)
    assert stopped.returncode != 0
    assert stopped.stdout.startswith("not running")


def test_up_down_leaves_no_process_or_mount(asterisk: AsteriskInstance) -> None:
    instance = AsteriskInstance(_other_instance("pytest-lifecycle", 15138, 15160))
    try:
        first = instance.up()
        assert "is up" in first
        assert instance.status().running
        assert "already running" in instance.up()
    finally:
        instance.down()
    assert not instance.status().running
    assert _pids_with(str(instance.conf_in_root)) == []
    mounts = Path("/proc/mounts").read_text() + Path("/proc/self/mountinfo").read_text()
    assert str(instance.root) not in mounts
    assert not instance.pidfile.exists()
    assert "not running" in instance.down()


def test_port_already_taken_is_a_clear_error(asterisk: AsteriskInstance) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        instance = AsteriskInstance(_other_instance("pytest-port", port, 15260))
        with pytest.raises(
            SandboxError, match=f"AMI port 127.0.0.1:{port}/tcp is already in use"
        ) as err:
            instance.up()
    assert err.value.error_id == "port-in-use"
    assert not instance.status().running


def test_asterisk_failing_to_boot_prints_the_tail_of_its_log(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    broken = tmp_path / "asterisk_conf"
    shutil.copytree(CONF_SOURCE, broken)
    with (broken / "modules.conf").open("a") as modules:
        modules.write("require => res_no_such_module.so\n")
    instance = AsteriskInstance(_other_instance("pytest-broken", 15338, 15360), conf_source=broken)
    try:
        with pytest.raises(SandboxError) as err:
            instance.up()
    finally:
        instance.down()
    assert err.value.error_id in {"asterisk-boot-failed", "asterisk-boot-timeout"}
    assert "res_no_such_module" in err.value.message  # the log tail names the cause


def test_not_root_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rootfs_module.os, "geteuid", lambda: 1000)
    instance = AsteriskInstance(_other_instance("pytest-nonroot", 15438, 15460))
    with pytest.raises(SandboxError, match="needs root") as err:
        instance.up()
    assert err.value.error_id == "sandbox-needs-root"


def test_missing_debootstrap_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(rootfs_module.shutil, "which", lambda *a, **k: None)
    with pytest.raises(SandboxError, match="apt-get install -y debootstrap") as err:
        rootfs_module.ensure_rootfs(tmp_path / "cache", "sid", "http://deb.debian.org/debian")
    assert err.value.error_id == "debootstrap-missing"
