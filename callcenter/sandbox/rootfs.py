"""Build and cache the Debian sid root that Asterisk runs in.

Debian bookworm (this machine) ships no Asterisk; sid ships Asterisk 22. ``debootstrap`` builds a
minimal sid root with the ``asterisk`` package in about a minute; the finished root is cached and
marked with a stamp file, so later ``up`` calls take seconds. A half-built root (interrupted
debootstrap) never has a stamp and is rebuilt. Several instances share one root.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from callcenter.sandbox.errors import SandboxError

log = logging.getLogger(__name__)

# What the root must contain. Adding a package here installs it into an existing cached root.
ROOTFS_PACKAGES = (
    "asterisk",
    "asterisk-core-sounds-en-gsm",
    "asterisk-moh-opsound-gsm",
)
STAMP = ".callcenter-rootfs.json"


@dataclass(frozen=True)
class Rootfs:
    path: Path
    asterisk_version: str


def require_root() -> None:
    if os.geteuid() != 0:
        raise SandboxError(
            "sandbox-needs-root",
            "the Asterisk sandbox needs root (debootstrap, chroot and namespaces); "
            "run it with sudo or as root",
        )


def require_tool(name: str, package: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        raise SandboxError(
            f"{name}-missing",
            f"{name} is not installed; install it with: apt-get install -y {package} "
            "(scripts/setup does this)",
        )
    return found


@contextlib.contextmanager
def _locked(cache_dir: Path) -> Iterator[None]:
    """Serialise builds: two ``up`` calls on a fresh machine must not debootstrap twice."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def rootfs_path(cache_dir: Path, suite: str) -> Path:
    return cache_dir / f"rootfs-{suite}"


def read_stamp(root: Path) -> dict[str, object] | None:
    try:
        data = json.loads((root / STAMP).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _stamped_packages(root: Path) -> set[str]:
    packages = (read_stamp(root) or {}).get("packages", [])
    return {str(p) for p in packages} if isinstance(packages, list) else set()


def ensure_rootfs(cache_dir: Path, suite: str, mirror: str) -> Rootfs:
    """Return the cached root, building or completing it first if needed."""
    require_root()
    root = rootfs_path(cache_dir, suite)
    with _locked(cache_dir):
        stamp = read_stamp(root)
        if stamp is None:
            _build(root, suite, mirror)
        else:
            missing = [p for p in ROOTFS_PACKAGES if p not in _stamped_packages(root)]
            if missing:
                _install_more(root, missing)
        version = _asterisk_version(root)
        packages = sorted(set(ROOTFS_PACKAGES) | _stamped_packages(root))
        (root / STAMP).write_text(
            json.dumps(
                {
                    "suite": suite,
                    "packages": packages,
                    "asterisk": version,
                    "built_at": (read_stamp(root) or {}).get("built_at", time.time()),
                }
            )
        )
        return Rootfs(root, version)


def _build(root: Path, suite: str, mirror: str) -> None:
    debootstrap = require_tool("debootstrap", "debootstrap")
    staging = root.with_name(root.name + ".building")
    if staging.exists():
        shutil.rmtree(staging)
    if root.exists():
        shutil.rmtree(root)
    log.warning("building the Asterisk sandbox root (Debian %s, about a minute)...", suite)
    started = time.monotonic()
    cmd = [
        debootstrap,
        "--variant=minbase",
        f"--include={','.join(ROOTFS_PACKAGES)}",
        suite,
        str(staging),
        mirror,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        debootstrap_log = staging / "debootstrap" / "debootstrap.log"
        if debootstrap_log.exists():
            tail += "\n--- debootstrap.log ---\n" + "\n".join(
                debootstrap_log.read_text(errors="replace").splitlines()[-20:]
            )
        raise SandboxError(
            "debootstrap-failed",
            f"debootstrap of Debian {suite} from {mirror} failed (exit {proc.returncode}):\n{tail}",
        )
    staging.rename(root)
    log.warning("sandbox root built in %.0fs", time.monotonic() - started)


def _install_more(root: Path, packages: list[str]) -> None:
    log.warning("adding %s to the sandbox root", ", ".join(packages))
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    for args in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        proc = subprocess.run(
            [
                "unshare",
                "--mount",
                "--pid",
                "--fork",
                f"--mount-proc={root / 'proc'}",
                "chroot",
                str(root),
                *args,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            raise SandboxError(
                "sandbox-package-install-failed",
                f"installing {', '.join(packages)} into the sandbox failed:\n{proc.stderr[-2000:]}",
            )


def _asterisk_version(root: Path) -> str:
    proc = subprocess.run(
        ["chroot", str(root), "/usr/sbin/asterisk", "-V"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SandboxError(
            "sandbox-broken", f"the sandbox root at {root} has no working asterisk: {proc.stderr}"
        )
    return proc.stdout.strip()
