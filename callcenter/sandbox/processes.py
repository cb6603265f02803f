"""What the sandbox's daemons (Asterisk instances, the Kamailio router) share: whether a
process lives, the pid a daemon wrote, and whether a port is free before one starts."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from pathlib import Path

from callcenter.sandbox.errors import SandboxError


def alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie is dead (and reaped if it is our child)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def live_pid(pidfile: Path) -> int | None:
    """The pid in ``pidfile`` if that process still runs."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def ensure_port_free(kind: socket.SocketKind, host: str, port: int, in_use: str) -> None:
    """Raise ``port-in-use`` (``in_use`` says which and what to do) when another program
    holds ``host:port``; a daemon that found its port taken would fail later, less clearly."""
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host if host != "localhost" else "127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SandboxError("port-in-use", in_use) from exc
            raise
