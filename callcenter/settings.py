"""Settings, read from the environment (prefix ``CALLCENTER_``) and an optional ``.env`` file.

Nothing is read at import time: the CLI and the app's lifespan call :func:`load_settings`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        # No .env file: docker-compose reads .env for its own substitutions, and a production
        # .env must never silently reconfigure a developer's sandbox.
        env_prefix="CALLCENTER_",
        extra="ignore",
        frozen=True,
    )

    # --- AMI: the service's own manager user, rendered into manager.conf ---------------------
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(default=5038, ge=1, le=65535)
    ami_username: str = "callcenter"
    ami_secret: SecretStr = SecretStr("callcenter-dev-secret")
    ami_tls: bool = False
    # Networks allowed to log in as the service's AMI user (Asterisk permit= lines).
    ami_permit: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1/255.255.255.255"]
    )
    ami_action_timeout: float = Field(default=10.0, gt=0)
    ami_ping_interval: float = Field(default=20.0, gt=0)
    ami_event_queue_size: int = Field(default=10_000, ge=16)

    # --- SIP / RTP on loopback -----------------------------------------------------------
    sip_bind: str = "127.0.0.1"
    sip_port: int = Field(default=5060, ge=1, le=65535)
    # Where phones and the carrier reach Asterisk when it binds a wildcard address (a container
    # behind NAT): goes into SDP and Contact for peers outside sip_local_nets. Empty in the
    # sandbox, where sip_bind is itself the reachable address.
    sip_external_address: str = ""
    sip_local_nets: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rtp_start: int = Field(default=10000, ge=1024, le=65535)
    rtp_end: int = Field(default=10999, ge=1024, le=65535)
    # Source address of the carrier trunk: INVITEs from here enter the hotline without auth.
    trunk_address: str = "127.0.0.1"
    # Where click-to-dial sends numbers that are not extensions: the carrier's host:port.
    # Empty: agents can dial extensions only.
    outbound_trunk: str = ""
    # The caller ID every call to a client over that trunk shows (the SIP From user, and
    # P-Asserted-Identity should the trunk send one): the hotline's own number, digits only.
    hotline_number: str = Field(default="95888", pattern=r"^[0-9]+$", max_length=32)
    # How long a client's phone rings on a click-to-dial call before the attempt counts as
    # no answer (the dialplan's Dial timeout).
    outbound_ring_seconds: int = Field(default=30, ge=5, le=120)
    # Agent phones: the extensions the PBX treats as internal numbers. Each person with an
    # extension registers with their own secret (docs/agent-desktop.md, "The softphone's
    # contract"); there is no shared phone password.
    agent_extensions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [f"{n}" for n in range(1001, 1011)]
    )
    # WebSocket SIP over TLS for the browser softphone: the port Asterisk's TLS HTTP server
    # listens on, and the host the browser reaches it at (also the domain of its SIP URI).
    sip_wss_port: int = Field(default=8089, ge=1, le=65535)
    sip_wss_host: str = "127.0.0.1"
    # Its certificate and key (PEM). Empty: the self-signed pair scripts/setup makes for local
    # use, var/tls/asterisk.crt and var/tls/asterisk.key.
    sip_tls_cert_file: Path | None = None
    sip_tls_key_file: Path | None = None
    # The digest realm the phones' credentials are hashed with (pjsip_phones.conf md5_cred).
    sip_realm: str = Field(default="callcenter", pattern=r"^[A-Za-z0-9_.-]+$")
    # Where the service writes the phones' endpoints and credentials (pjsip_phones.conf) for
    # Asterisk to include. Empty: the sandbox instance's etc folder.
    phones_conf_file: Path | None = None
    # Several Asterisk nodes behind Kamailio (docs/operations.md, "Several Asterisk nodes
    # behind Kamailio"): the router's host:port. Empty (one Asterisk): the desk phones
    # register at Asterisk. Set: they register at the router, and every node reaches them
    # through it (pjsip_phones.conf gives each desk phone's AOR the router as its contact).
    sip_router: str = Field(default="", pattern=r"^([A-Za-z0-9_.-]+:[0-9]{1,5})?$")
    # Where the service writes the router's table of the phones' HA1 (Kamailio's db_text
    # "subscriber" file). Empty: the sandbox router's folder (callcenter/sandbox/router.py).
    sip_router_db_dir: Path | None = None
    # Where the desk phones reach the router (host:port), when that is not sip_router (a
    # container: the host's published port); handed to each person with their secret.
    sip_router_public_address: str = Field(default="", pattern=r"^([A-Za-z0-9_.-]+:[0-9]{1,5})?$")
    supervisor_extensions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["1901", "1902"]
    )
    # The demo's advisors (callcenter/demo/staff.py numbers them from 2001).
    advisor_extensions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [f"{n}" for n in range(2001, 2061)]
    )

    # --- Asterisk sandbox ------------------------------------------------------------------
    # The debootstrapped sid root is shared by every instance on this machine and cached.
    sandbox_cache_dir: Path = Path("/var/cache/callcenter")
    sandbox_mirror: str = "http://deb.debian.org/debian"
    sandbox_suite: str = "sid"
    # One machine may run several instances (the dev service and a test run) on other ports.
    sandbox_instance: str = "default"
    asterisk_boot_timeout: float = Field(default=60.0, gt=0)

    # --- Database ---------------------------------------------------------------------------
    # SQLite (embedded, the default) or PostgreSQL: postgresql+asyncpg://user:pass@host/db.
    # Empty means the embedded default: var/callcenter.db in the project folder.
    database_url: str = ""
    # Upgrade the database to the newest schema when the service starts.
    database_auto_migrate: bool = True
    # Without a PBX (API-only tests, or a reporting replica): no AMI connection at all.
    pbx_enabled: bool = True

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'callcenter.db'}"

    # --- Write journal (docs/operations.md, "The write journal") -----------------------------
    # Where a call's writes wait while the database cannot take them (writes.jsonl). Empty:
    # journal/ beside the SQLite file, or var/journal in the project folder for PostgreSQL.
    # Put it on another disk than SQLite's to survive a full disk with the writes kept.
    journal_dir: Path | None = None
    # A write the database has not taken after this long goes to the journal instead.
    journal_write_timeout: float = Field(default=5.0, gt=0, le=60)

    @property
    def effective_journal_dir(self) -> Path:
        if self.journal_dir is not None:
            return self.journal_dir
        url = self.effective_database_url
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                return Path(path).parent / "journal"
        return PROJECT_ROOT / "var" / "journal"

    # --- IVR -------------------------------------------------------------------------------
    ivr_flows_dir: Path = PROJECT_ROOT / "ivr_flows"
    # The agent desktop's files, served at /desk/ (the image copies them here too).
    agent_ui_dir: Path = PROJECT_ROOT / "agent_ui"
    # The flow for called numbers no flow claims (and for a withheld called number).
    ivr_default_flow: str = "hotline"
    # Consecutive wrong PINs (across calls) that lock the client's phone access.
    ivr_pin_max_failures: int = Field(default=3, ge=1, le=10)
    # Opening hours in the center's zone; holidays as ISO dates, comma separated.
    business_opens: dt.time = dt.time(8, 30)
    business_closes: dt.time = dt.time(17, 30)
    business_weekdays: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5]
    )
    business_holidays: Annotated[list[dt.date], NoDecode] = Field(default_factory=list)
    business_timezone: str = "Asia/Shanghai"
    # Rendered prompts: where the service reads index.json, and the same folder as Asterisk
    # names it. Empty: the sandbox instance's prompts folder (callcenter asterisk up).
    ivr_prompts_dir: Path | None = None
    ivr_prompts_dir_in_asterisk: str = ""
    # Where Asterisk writes voice messages (its own path). Empty: the instance's spool.
    ivr_recordings_dir: str = ""

    # --- The dialler (docs/outbound.md): calling hours on the client's clock (the center's
    # zone, business_timezone, when the client has none), attempts and their spacing.
    outbound_weekday_start: dt.time = dt.time(9, 0)
    outbound_weekday_end: dt.time = dt.time(20, 0)
    outbound_weekend_start: dt.time = dt.time(10, 0)
    outbound_weekend_end: dt.time = dt.time(18, 0)
    outbound_max_attempts: int = Field(default=5, ge=1, le=20)
    outbound_min_spacing_minutes: int = Field(default=10, ge=0, le=1440)

    # --- Call recording (docs/recording.md) --------------------------------------------------
    # Every call put through to an agent is recorded (MixMonitor on the caller's channel).
    recordings_enabled: bool = True
    # Where the service reads recordings, and the same folder as Asterisk names it (one shared
    # volume in a deployment). Empty: the sandbox instance's spool/recordings. Never a folder
    # the web server serves (agent_ui/).
    recordings_dir: Path | None = None
    recordings_dir_in_asterisk: str = ""
    # The agent's pause of a recording (docs/recording.md, "Pausing a recording") ends by
    # itself after this many seconds.
    recording_pause_limit_seconds: float = Field(default=120.0, gt=0, le=3600)
    # Playback (docs/recording.md, "Playback"): agents and advisors hear their own calls only
    # when this is on; downloading is for these roles (comma-separated), among those who may
    # play; a playback's ticket lets its range requests through for this many minutes.
    recordings_agent_playback: bool = False
    recordings_download_roles: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["supervisor", "compliance"]
    )
    recordings_ticket_minutes: int = Field(default=120, ge=1, le=24 * 60)
    # How long recordings are kept, per kind of call: "default=3y,complaint=5y" (calendar years
    # y or days d, at least 3 years). Checked at every start by callcenter/crm/
    # recording_retention.py, which names the kinds; docs/recording.md, "Retention and legal hold".
    recording_retention: str = "default=3y"
    # The recording alarm (docs/recording.md, "Faults and alarms"): the storage is probed this
    # often, and counts as full below this much free space (100 MiB: about 52 minutes).
    recordings_check_seconds: float = Field(default=10.0, gt=0)
    recordings_min_free_bytes: int = Field(default=100 * 1024 * 1024, ge=0)

    # --- When the service is down: the dialplan's fallback (docs/operations.md) ----------------
    # Seconds Asterisk gives the service to pick a hotline call up (TIMEOUT(absolute) before
    # AGI(agi:async)); then the fallback takes the call. Rendered into extensions.conf.
    service_pickup_seconds: int = Field(default=5, ge=1, le=60)
    # What the fallback does: "apology" (a recorded apology, 1/2 for a call back), "transfer"
    # (dial fallback_transfer_number), "queue" (a plain app_queue of the agents' phones).
    fallback_mode: Literal["apology", "transfer", "queue"] = "apology"
    # Transfer mode: dialled through outbound_trunk when set, else an extension of ours.
    fallback_transfer_number: str = Field(default="", pattern=r"^\+?[0-9]*$", max_length=32)
    # Queue mode: how long the agents' phones ring before the apology.
    fallback_queue_wait_seconds: int = Field(default=120, ge=10, le=3600)
    # Asterisk's channel event record (cel_custom): where the service reads it. Empty: the
    # sandbox instance's log/cel-custom/calls.csv.
    cel_file: Path | None = None
    # How often the running service imports the calls it never saw from that record; 0: never
    # (``callcenter cel import`` still does).
    cel_import_seconds: float = Field(default=60.0, ge=0)

    # --- ACD -------------------------------------------------------------------------------
    # Why an agent may be not ready: only the seed of migration 0011, which reads
    # CALLCENTER_AGENT_NOT_READY_REASONS from the environment it migrates in. Since then the
    # reasons are service codes in the database, kept in the admin console
    # (docs/admin-console.md); "missed" is always the ACD's.
    agent_not_ready_reasons: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["break", "lunch", "meeting", "training", "after_call_work"]
    )
    # Wrap-up extensions (docs/acd.md, "Wrap-up"): one extension adds this many seconds (0:
    # the queue's own wrap-up time again); one call's whole wrap-up never passes the limit.
    wrap_up_extend_seconds: float = Field(default=0.0, ge=0, le=3_600)
    wrap_up_limit_seconds: float = Field(default=300.0, ge=0, le=14_400)

    # Once started, collect the start-up's garbage and freeze what lives out of full
    # collections (callcenter/heap.py): 120-480 ms pauses of the event loop otherwise. The one
    # full collection costs about 0.2 s at each start: the tests, which start the app
    # thousands of times in one process, turn it off.
    heap_freeze: bool = True

    # --- CTI websocket (/ws, docs/events.md) ---------------------------------------------------
    # Messages waiting for one connection before it is closed as too slow (4408).
    ws_send_queue: int = Field(default=256, ge=1, le=100_000)
    # The server pings this often; a client silent for three intervals is closed (4410).
    ws_heartbeat_seconds: float = Field(default=20.0, gt=0)
    # A ready agent whose every desk page has been closed (or silent) this long is set not
    # ready, reason desk_closed (callcenter/cti/desk_watch.py); 0: never. Only with a PBX.
    agent_desk_grace_seconds: float = Field(default=15.0, ge=0, le=3600)
    # The largest frame a client may send (larger: closed with 1009).
    ws_max_frame_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # How often an open connection re-checks its session (logout, expiry: closed with 4401).
    ws_session_check_seconds: float = Field(default=60.0, gt=0)
    # The wallboard's floor.snapshot is pushed on a change (callcenter/cti/floor_publisher.py):
    # it waits ws_floor_batch_seconds after the first change for the rest of a burst, goes out
    # at most once per ws_floor_snapshot_seconds (the gap; before issue 20, a fixed tick), and
    # every ws_floor_refresh_seconds all the same when nothing changed.
    ws_floor_snapshot_seconds: float = Field(default=0.2, gt=0, le=3600)
    ws_floor_batch_seconds: float = Field(default=0.05, ge=0, le=3600)
    ws_floor_refresh_seconds: float = Field(default=5.0, gt=0, le=3600)
    # A pop still pending this long after its offer is forgotten (an ending was missed).
    ws_pending_pop_seconds: float = Field(default=120.0, gt=0)

    # --- HTTP service ------------------------------------------------------------------------
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)

    # --- Several instances (docs/operations.md, "Two instances"; docs/scaling.md) ------------
    # On: one call owner at a time by a PostgreSQL advisory lock, the others standbys that
    # serve /ws and forward /api to it. PostgreSQL only. Off (the default): this process is
    # the only one and drives the calls, as on one machine.
    cluster: bool = False
    # This instance's name in the instances table (unique among the cluster's). Empty: the
    # host's name and the HTTP port.
    instance_id: str = Field(default="", max_length=64)
    # Where the other instances reach this one's HTTP (they forward /api here while it owns
    # the calls). Empty: http://<http_host>:<http_port>.
    internal_url: str = ""
    # How often an instance writes its heartbeat (and its open desks) and a standby tries the
    # lease; a standby takes over at most this long after the owner's lock is freed.
    cluster_beat_seconds: float = Field(default=0.5, gt=0, le=10)

    # --- Events between instances (issue 21; docs/events.md, "Across instances") ----------
    # The NATS server whose JetStream carries the events between service instances, e.g.
    # nats://127.0.0.1:4222. Empty (the default): one process, the in-process bus alone.
    broker_url: str = ""
    # The stream (memory storage) and its subjects' prefix (callcenter.events.<topic>): one
    # per center sharing a NATS server.
    broker_stream: str = Field(default="CALLCENTER_EVENTS", pattern=r"^[A-Za-z0-9_-]+$")
    broker_subject_prefix: str = Field(default="callcenter", pattern=r"^[A-Za-z0-9_-]+$")
    # How long the stream keeps an event: an instance that lost the broker for less catches
    # up on reconnect; older ones are gone (they no longer matter to a ringing phone).
    broker_max_age_seconds: float = Field(default=120.0, gt=0, le=86_400)
    # Events waiting to be published while the broker is away; past that the oldest are
    # dropped and counted (/health): publishing never holds up a call.
    broker_buffer: int = Field(default=10_000, ge=16, le=1_000_000)

    # --- Logins --------------------------------------------------------------------------------
    # A session ends this long after login (one shift), or after this long without a request.
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    session_idle_minutes: float = Field(default=60.0, gt=0)
    # Mark the session cookie Secure (sent over HTTPS only): set it wherever TLS fronts the app.
    session_cookie_secure: bool = False
    # Origins (scheme://host[:port]) whose pages may send cookie-authenticated changes and
    # open the websocket. Empty: the app's own, http://127.0.0.1:<port> and localhost:<port>.
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The demo users' password (callcenter seed); demo data only, never a real deployment.
    demo_password: SecretStr = SecretStr("demo-only-2026")
    # The service's secret key (callcenter/secretbox.py): seals TOTP secrets at rest, keys
    # recovery-code hashes, signs the MFA step's token and the known-device cookie. At least
    # 32 characters; production sets it (docs/operations.md, "The secret key"). Empty: the key
    # file below, created with 256 random bits the first time it is needed.
    secret_key: SecretStr = SecretStr("")
    # Empty: secret.key beside the embedded SQLite database (var/secret.key for PostgreSQL).
    secret_key_file: Path | None = None
    # Reverse proxies (addresses or networks) whose X-Forwarded-For / Forwarded headers name
    # the client; empty: the header is never trusted and the peer's address is the client's.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @property
    def effective_secret_key_file(self) -> Path:
        if self.secret_key_file is not None:
            return self.secret_key_file
        url = self.effective_database_url
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                return Path(path).parent / "secret.key"
        return PROJECT_ROOT / "var" / "secret.key"

    @property
    def desk_phone_server(self) -> str:
        """Where a desk phone registers, as the phone reaches it: the router when there is
        one (docs/operations.md, "Several Asterisk nodes behind Kamailio"), else Asterisk."""
        if self.sip_router:
            return self.sip_router_public_address or self.sip_router
        return f"{self.sip_external_address or self.sip_bind}:{self.sip_port}"

    @property
    def effective_sip_tls_files(self) -> tuple[Path, Path]:
        """The WSS certificate and key: the configured pair, else scripts/setup's own."""
        folder = PROJECT_ROOT / "var" / "tls"
        return (
            self.sip_tls_cert_file or folder / "asterisk.crt",
            self.sip_tls_key_file or folder / "asterisk.key",
        )

    @property
    def effective_instance_id(self) -> str:
        return self.instance_id or f"{socket.gethostname()}:{self.http_port}"[:64]

    @property
    def effective_internal_url(self) -> str:
        return (self.internal_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def effective_allowed_origins(self) -> list[str]:
        if self.allowed_origins:
            return [origin.rstrip("/").lower() for origin in self.allowed_origins]
        return [f"http://127.0.0.1:{self.http_port}", f"http://localhost:{self.http_port}"]

    @field_validator(
        "agent_extensions",
        "advisor_extensions",
        "supervisor_extensions",
        "ami_permit",
        "sip_local_nets",
        "business_weekdays",
        "business_holidays",
        "agent_not_ready_reasons",
        "allowed_origins",
        "trusted_proxies",
        "recordings_download_roles",
        mode="before",
    )
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("sandbox_instance")
    @classmethod
    def _safe_instance_name(cls, value: str) -> str:
        if not value or not all(ch.isalnum() or ch in "-_" for ch in value):
            raise ValueError("instance name may hold only letters, digits, '-' and '_'")
        return value

    @model_validator(mode="after")
    def _cluster_on_postgres(self) -> Settings:
        # The call-owner lease is a PostgreSQL advisory lock; SQLite is one machine's file.
        if self.cluster and not self.effective_database_url.startswith("postgresql"):
            raise ValueError("cluster needs a PostgreSQL database_url")
        return self

    @model_validator(mode="after")
    def _transfer_has_a_number(self) -> Settings:
        if self.fallback_mode == "transfer" and not self.fallback_transfer_number:
            raise ValueError("fallback_mode 'transfer' needs a fallback_transfer_number")
        return self

    @field_validator("rtp_end")
    @classmethod
    def _rtp_range(cls, value: int, info: object) -> int:
        data = getattr(info, "data", {})
        start = data.get("rtp_start")
        if start is not None and value <= start:
            raise ValueError("rtp_end must be above rtp_start")
        return value


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides (used by tests)."""
    return Settings(**overrides)  # type: ignore[arg-type]
