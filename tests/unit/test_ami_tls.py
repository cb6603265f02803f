"""AMI over TLS (Asterisk's ``tlsenable=yes``), against the fake AMI server.

Certificates are made at test time with the ``openssl`` command line: self-signed, with the
server's address as a subjectAltName IP so that hostname checking applies to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.asterisk.client import AmiClient, AmiConfig, ConnectionState, open_ami
from callcenter.asterisk.errors import AmiTimeout
from tests.fakes.fake_ami import FakeAmiServer

SAFETY = 5.0  # seconds; a safety net for waits that end on events


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


def make_certificate(directory: Path, name: str, ip: str = "127.0.0.1") -> CertPair:
    pair = CertPair(directory / f"{name}.crt", directory / f"{name}.key")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-subj", f"/CN={name}", "-addext", f"subjectAltName=IP:{ip}"),
            *("-keyout", str(pair.key), "-out", str(pair.cert)),
        ],
        check=True,
        capture_output=True,
    )
    return pair


def server_context(pair: CertPair) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pair.cert, pair.key)
    return context


def client_context(trusted: CertPair) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(trusted.cert))
    assert context.check_hostname
    assert context.verify_mode is ssl.CERT_REQUIRED
    return context


def tls_config(server: FakeAmiServer, context: ssl.SSLContext, **overrides: float) -> AmiConfig:
    settings: dict[str, float] = {
        "connect_timeout": SAFETY,
        "action_timeout": SAFETY,
        "ping_interval": 3600.0,
        "ping_timeout": SAFETY,
        "reconnect_min": 0.04,
        "reconnect_max": 0.32,
    }
    settings.update(overrides)
    return AmiConfig(
        host="127.0.0.1",
        port=server.port,
        username=server.username,
        secret=server.secret,
        ssl_context=context,
        **settings,  # type: ignore[arg-type]
    )


async def test_client_logs_in_and_pings_over_tls_when_it_trusts_the_server(
    tmp_path: Path,
) -> None:
    pair = make_certificate(tmp_path, "fake-ami")

    async with FakeAmiServer(ssl_context=server_context(pair)) as server:
        config = tls_config(server, client_context(trusted=pair))
        async with open_ami(config, connect_timeout=SAFETY) as client:
            assert client.state is ConnectionState.CONNECTED
            assert client.banner == "Asterisk Call Manager/11.0.0"
            assert await client.ping() >= 0.0

    assert server.connections[0].action_names == ["Login", "Ping"]


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        ("impostor", "certificate verify failed"),  # a certificate the client does not trust
        ("other-address", "IP address mismatch"),  # trusted, but issued for another address
    ],
)
async def test_client_that_cannot_verify_the_server_fails_clearly_and_backs_off(
    tmp_path: Path, served: str, reason: str
) -> None:
    trusted = make_certificate(tmp_path, "fake-ami")
    impostor = make_certificate(tmp_path, "impostor")
    other_address = make_certificate(tmp_path, "other-address", ip="127.0.0.2")
    trusted_by_client = other_address if served == "other-address" else trusted
    presented = {"impostor": impostor, "other-address": other_address}[served]

    async with FakeAmiServer(ssl_context=server_context(presented)) as server:
        config = tls_config(server, client_context(trusted=trusted_by_client))
        client = AmiClient(config, rng=random.Random(7))
        changes = client.connection_changes()
        loop = asyncio.get_running_loop()
        failures: list[tuple[float, str]] = []
        runner = asyncio.create_task(client.run())
        try:
            async with asyncio.timeout(SAFETY):
                async for change in changes:
                    if change.state is ConnectionState.DISCONNECTED:
                        failures.append((loop.time(), change.reason))
                        if len(failures) == 4:
                            break
            with pytest.raises(AmiTimeout) as not_connected:
                await client.wait_connected(0)
        finally:
            await client.close()
            async with asyncio.timeout(SAFETY):
                await runner

    for _, failure in failures:
        assert "SSLCertVerificationError" in failure
        assert reason in failure
    assert reason in str(not_connected.value)
    # No session ever reached the AMI layer, so the secret was never sent.
    assert server.connections == []
    # Each retry waited out its backoff: no spinning. Equal jitter never waits less than
    # half the ceiling, which doubles from reconnect_min; 5 ms covers the moment between a
    # failure and our seeing it, and the loop clock's granularity.
    floors = [config.reconnect_min * 2 ** (attempt - 1) / 2 for attempt in (1, 2, 3)]
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(failures)]
    for gap, floor in zip(gaps, floors, strict=True):
        assert gap >= floor - 0.005, (gaps, floors)
    assert client.state is ConnectionState.CLOSED
