"""The sandbox daemons' shared process and port checks (callcenter/sandbox/processes.py)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from callcenter.sandbox.errors import SandboxError
from callcenter.sandbox.processes import alive, ensure_port_free, live_pid


def test_a_port_another_program_holds_is_named_with_what_to_do() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        with pytest.raises(SandboxError) as refused:
            ensure_port_free(socket.SOCK_DGRAM, "localhost", port, f"SIP port {port} is taken")
    assert refused.value.error_id == "port-in-use"
    assert f"SIP port {port} is taken" in str(refused.value)
    ensure_port_free(socket.SOCK_DGRAM, "127.0.0.1", port, "free again")  # no error


def test_a_pidfile_names_a_live_process_or_none(tmp_path: Path) -> None:
    pidfile = tmp_path / "daemon.pid"
    assert live_pid(pidfile) is None  # no file
    pidfile.write_text("not a pid\n")
    assert live_pid(pidfile) is None
    pidfile.write_text(f"{os.getpid()}\n")
    assert live_pid(pidfile) == os.getpid()


def test_a_process_that_ended_is_not_alive_even_as_a_zombie() -> None:
    child = subprocess.Popen(["sleep", "0.01"])
    stat = Path(f"/proc/{child.pid}/stat")
    assert alive(child.pid)
    # Ended but not reaped: the kernel keeps it as a zombie ("Z") until its parent waits.
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        os.sched_yield()
    assert not alive(child.pid)
    assert not stat.exists()  # and alive() reaped it
    child.returncode = 0  # reaped here: Popen must not wait for it again
