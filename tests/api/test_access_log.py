"""The running service (`callcenter serve`, real uvicorn) writes no ID or phone number from a
search's query string into its access log."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_search_by_id_number_leaves_no_number_in_the_access_log(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "CALLCENTER_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cc.db'}",
        "CALLCENTER_PBX_ENABLED": "false",
    }
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "callcenter.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, Path(log.name).read_text()
                time.sleep(0.1)
        response = httpx.get(
            f"http://127.0.0.1:{port}/api/clients",
            params={"id_number": "31010119900101123X", "phone": "+8613800138000"},
            headers={"Authorization": "Bearer not-a-session-token"},
        )
        assert response.status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)
    text = Path(log.name).read_text()
    assert '"GET /api/clients HTTP/1.1" 401' in text  # the request was logged...
    assert "31010119900101123X" not in text  # ...without the ID number
    assert "13800138000" not in text
