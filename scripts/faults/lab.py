"""The fault runs' own world: a sandbox Asterisk instance on ports of its own, a demo database
(PostgreSQL through a TCP proxy the run can cut, and SQLite on a small tmpfs the run can fill),
a TCP proxy in front of Asterisk's AMI port, and the service as a real subprocess that can be
killed with SIGKILL. Everything it makes is undone by :meth:`Lab.close`, failure or not.

Nothing here is shared with the test suite: instance ``faults`` (AMI 17038, SIP 17060, RTP
17100-17399, HTTP 18080) beside the tests' ``pytest`` (15038/15060/12000) and the default
instance (5038/5060/10000).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from callcenter.persistence.seed import seed_demo
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import PROJECT_ROOT, Settings, load_settings
from tests.support.hotline import AS_OF
from tests.support.logins import DEMO_PASSWORD, TEST_SECRET_KEY, secret_box_for_tests
from tests.support.proxy import FaultProxy

INSTANCE = "faults"
AMI_PORT = 17038
SIP_PORT = 17060
RTP_START, RTP_END = 17100, 17399
HTTP_PORT = 18080
PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
DEMO_CLIENTS = 60
TMPFS_SIZE = "48m"
CALLCENTER = PROJECT_ROOT / ".venv" / "bin" / "callcenter"


def asterisk_settings(secret: str) -> Settings:
    return load_settings(
        sandbox_instance=INSTANCE,
        ami_port=AMI_PORT,
        sip_port=SIP_PORT,
        rtp_start=RTP_START,
        rtp_end=RTP_END,
        ami_username="callcenter-faults",
        ami_secret=secret,
    )


@dataclass
class Service:
    """One run of ``callcenter serve`` (its own process group, so a kill takes it all)."""

    proc: subprocess.Popen[bytes]
    log: Path
    started: float  # epoch seconds

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class Lab:
    workdir: Path
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    pg_name: str = field(default_factory=lambda: f"faults_{os.getpid()}")
    asterisk: AsteriskInstance | None = None
    ami_proxy: FaultProxy | None = None
    pg_proxy: FaultProxy | None = None
    service: Service | None = None
    services_started: int = 0
    pg_created: bool = False
    tmpfs: Path | None = None
    sqlite_template: Path | None = None
    database: str = "postgresql"  # which one the service runs on
    http: httpx.AsyncClient = field(
        default_factory=lambda: httpx.AsyncClient(base_url=f"http://127.0.0.1:{HTTP_PORT}")
    )

    # -- the parts ------------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return asterisk_settings(self.secret)

    @property
    def pg_url_direct(self) -> str:
        return f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{self.pg_name}"

    @property
    def pg_url_proxied(self) -> str:
        assert self.pg_proxy is not None
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.pg_proxy.port}/{self.pg_name}"

    @property
    def sqlite_url(self) -> str:
        assert self.tmpfs is not None
        return f"sqlite+aiosqlite:///{self.tmpfs / 'callcenter.db'}"

    @property
    def db_url(self) -> str:
        """The current database as the script reads it (never through the proxy)."""
        return self.pg_url_direct if self.database == "postgresql" else self.sqlite_url

    @property
    def cel_file(self) -> Path:
        assert self.asterisk is not None
        return self.asterisk.cel_file

    async def open(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.asterisk = AsteriskInstance(self.settings)
        await asyncio.to_thread(self.asterisk.down)
        # This instance's record holds only this run's calls: reconcile reads all of it.
        self.cel_file.unlink(missing_ok=True)
        await asyncio.to_thread(self.asterisk.up)
        self.ami_proxy = FaultProxy("127.0.0.1", AMI_PORT)
        await self.ami_proxy.start()
        self.pg_proxy = FaultProxy(PG_HOST, PG_PORT)
        await self.pg_proxy.start()
        await self._create_pg()
        # The demo's managers get the demo TOTP secret, sealed under the key the lab's
        # service runs with (CALLCENTER_SECRET_KEY below): log_in passes their second factor.
        await seed_demo(
            self.pg_url_direct,
            clients=DEMO_CLIENTS,
            as_of=AS_OF,
            demo_password=DEMO_PASSWORD,
            demo_mfa=secret_box_for_tests(),
        )
        self.sqlite_template = self.workdir / "template.db"
        await seed_demo(
            f"sqlite+aiosqlite:///{self.sqlite_template}",
            clients=DEMO_CLIENTS,
            as_of=AS_OF,
            demo_password=DEMO_PASSWORD,
            demo_mfa=secret_box_for_tests(),
        )

    async def _create_pg(self) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'CREATE DATABASE "{self.pg_name}"')
            self.pg_created = True
        finally:
            await conn.close()

    async def close(self) -> None:
        """Undo everything, each step on its own: one failing never keeps the others."""
        steps = [
            self.stop_service,
            self._close_http,
            self._stop_proxies,
            self._asterisk_down,
            self._unmount,
            self._drop_pg,
        ]
        for step in steps:
            try:
                await step()
            except Exception as exc:  # cleanup goes on whatever failed
                print(f"cleanup: {step.__name__} failed: {exc!r}")

    async def _close_http(self) -> None:
        await self.http.aclose()

    async def _stop_proxies(self) -> None:
        for proxy in (self.ami_proxy, self.pg_proxy):
            if proxy is not None:
                proxy.refuse = False
                await proxy.stop()

    async def _asterisk_down(self) -> None:
        if self.asterisk is not None:
            await asyncio.to_thread(self.asterisk.down)

    async def _drop_pg(self) -> None:
        if not self.pg_created:
            return
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            self.pg_created = False
        finally:
            await conn.close()

    # -- SQLite on a small filesystem of its own ------------------------------------------------

    async def mount_sqlite(self) -> None:
        """A tmpfs holding a copy of the demo database; the service's journal stays on disk."""
        if os.geteuid() != 0:
            raise RuntimeError("mounting a tmpfs needs root")
        self.tmpfs = self.workdir / "tmpfs"
        self.tmpfs.mkdir(exist_ok=True)
        mount = ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "faults-tmpfs"]
        await asyncio.to_thread(subprocess.run, [*mount, str(self.tmpfs)], check=True)
        assert self.sqlite_template is not None
        shutil.copyfile(self.sqlite_template, self.tmpfs / "callcenter.db")

    def fill_tmpfs(self) -> int:
        """Fill the tmpfs to the last byte; returns the bytes written."""
        assert self.tmpfs is not None
        written = 0
        fd = os.open(self.tmpfs / "filler", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1 << 20, 4096, 1):  # whole megabytes, then what is left
                block = b"\0" * size
                while True:
                    try:
                        written += os.write(fd, block)
                    except OSError:
                        break
        finally:
            os.close(fd)
        return written

    def empty_tmpfs(self) -> None:
        assert self.tmpfs is not None
        (self.tmpfs / "filler").unlink(missing_ok=True)

    async def _unmount(self) -> None:
        if self.tmpfs is not None and self.tmpfs.is_mount():
            await asyncio.to_thread(subprocess.run, ["umount", "-l", str(self.tmpfs)], check=False)
        self.tmpfs = None

    # -- the service ----------------------------------------------------------------------------

    def service_env(self) -> dict[str, str]:
        assert self.ami_proxy is not None
        if self.database == "postgresql":
            url, journal = self.pg_url_proxied, self.workdir / "journal-pg"
        else:
            url, journal = self.sqlite_url, self.workdir / "journal-sqlite"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
        env.update(
            {
                "CALLCENTER_SANDBOX_INSTANCE": INSTANCE,
                "CALLCENTER_AMI_PORT": str(self.ami_proxy.port),
                "CALLCENTER_AMI_USERNAME": "callcenter-faults",
                "CALLCENTER_AMI_SECRET": self.secret,
                "CALLCENTER_AMI_PING_INTERVAL": "5",
                "CALLCENTER_SIP_PORT": str(SIP_PORT),
                "CALLCENTER_RTP_START": str(RTP_START),
                "CALLCENTER_RTP_END": str(RTP_END),
                "CALLCENTER_HTTP_PORT": str(HTTP_PORT),
                "CALLCENTER_SECRET_KEY": TEST_SECRET_KEY,
                "CALLCENTER_DATABASE_URL": url,
                "CALLCENTER_JOURNAL_DIR": str(journal),
                "CALLCENTER_BUSINESS_WEEKDAYS": "1,2,3,4,5,6,7",
                "CALLCENTER_BUSINESS_OPENS": "00:00",
                "CALLCENTER_BUSINESS_CLOSES": "23:59:59",
                "CALLCENTER_CEL_IMPORT_SECONDS": "5",
            }
        )
        return env

    async def start_service(self, timeout: float = 60.0) -> float:
        """Start ``callcenter serve``; returns the seconds until /health first answered 200."""
        assert self.service is None or not self.service.alive, "one service at a time"
        self.services_started += 1
        log = self.workdir / f"service-{self.services_started:02d}.log"
        began = time.time()
        with log.open("wb") as out:
            proc = await asyncio.to_thread(
                subprocess.Popen,
                [str(CALLCENTER), "serve"],
                env=self.service_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.service = Service(proc, log, began)
        return await self.wait_healthy(timeout, since=began)

    async def health(self) -> tuple[int, dict[str, object]]:
        try:
            response = await self.http.get("/health", timeout=3.0)
        except httpx.HTTPError:
            return 0, {}
        try:
            body = response.json()
        except ValueError:
            body = {}
        return response.status_code, body

    async def wait_healthy(self, timeout: float = 60.0, *, since: float | None = None) -> float:
        began = since if since is not None else time.time()
        deadline = time.monotonic() + timeout
        last: dict[str, object] = {}
        while time.monotonic() < deadline:
            status, last = await self.health()
            if status == 200:
                return time.time() - began
            if self.service is not None and not self.service.alive:
                raise RuntimeError(f"the service exited; see {self.service.log}")
            await asyncio.sleep(0.1)
        raise TimeoutError(f"/health not 200 within {timeout}s: {last}")

    def kill_service(self, sig: int = signal.SIGKILL) -> None:
        if self.service is not None and self.service.alive:
            os.killpg(self.service.proc.pid, sig)

    async def stop_service(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        """Stop the service (SIGTERM, then SIGKILL if it lingers); wait for its exit."""
        service = self.service
        if service is None:
            return
        if service.alive:
            os.killpg(service.proc.pid, sig)
            try:
                await asyncio.to_thread(service.proc.wait, timeout)
            except subprocess.TimeoutExpired:
                os.killpg(service.proc.pid, signal.SIGKILL)
        await asyncio.to_thread(service.proc.wait)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.proc.pid, signal.SIGKILL)  # anything it left in its group

    # -- asking Asterisk ------------------------------------------------------------------------

    async def live_channels(self) -> int:
        assert self.asterisk is not None
        out = await asyncio.to_thread(self.asterisk.cli, "core show channels count")
        for line in out.splitlines():
            if "active channel" in line:
                return int(line.split()[0])
        return -1


def today_in_center(zone: str = "Asia/Shanghai") -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(zone)).date()
