"""The self-signed certificate Asterisk's WebSocket SIP (WSS) listener uses for local use.

A browser opens ``wss://127.0.0.1:<sip_wss_port>/ws`` for its softphone, so Asterisk's HTTP
server needs a certificate. A real deployment names its own (``CALLCENTER_SIP_TLS_CERT_FILE``,
``CALLCENTER_SIP_TLS_KEY_FILE``); for a developer's machine and the tests ``scripts/setup`` (and
the sandbox's ``up``, should setup not have run) makes a self-signed one for 127.0.0.1 and
localhost in ``var/tls/``, which git ignores. The key never leaves the machine.

    python -m callcenter.sandbox.tls var/tls/asterisk.crt var/tls/asterisk.key
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from callcenter.sandbox.errors import SandboxError

DAYS = 825  # the longest validity browsers accept for a leaf certificate
SUBJECT = "/CN=127.0.0.1/O=callcenter local softphone"
NAMES = "subjectAltName=IP:127.0.0.1,DNS:localhost"


def ensure_self_signed(cert: Path, key: Path) -> bool:
    """Make a self-signed certificate and its key (mode 0600) unless both exist; True when
    it made them. Existing files are never replaced: a configured certificate stays."""
    if cert.exists() and key.exists():
        return False
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SandboxError(
            "openssl-missing", "openssl is not installed; apt-get install -y openssl"
        )
    cert.parent.mkdir(parents=True, exist_ok=True)
    key.parent.mkdir(parents=True, exist_ok=True)
    # The key is created unreadable to others before openssl writes into it.
    key.touch(mode=0o600, exist_ok=True)
    os.chmod(key, 0o600)
    proc = subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            str(DAYS),
            "-subj",
            SUBJECT,
            "-addext",
            NAMES,
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SandboxError(
            "certificate-failed", f"openssl could not make the WSS certificate: {proc.stderr}"
        )
    return True


def main(argv: list[str]) -> int:
    cert, key = (Path(arg) for arg in argv[1:3])
    made = ensure_self_signed(cert, key)
    print(f"{'made' if made else 'kept'} the WSS certificate {cert}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
