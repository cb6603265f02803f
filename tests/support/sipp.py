"""sipp peers for tests: callers on the carrier trunk and phones that register, each driven by a
scenario we generate.

sipp is the real SIP peer here (Debian's sip-tester); nothing about Asterisk is faked. A
caller that presses keys is in tests/support/dtmf.py; it shares the scenario and the process
handling of :class:`TrunkCaller` here.
"""

from __future__ import annotations

import asyncio
import math
import socket
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.agent_phone import secret_for

PCMU_PT = 0
# The payload type of the RFC 4733 events in sip-tester's captures (tests/support/dtmf.py).
TELEPHONE_EVENT_PT = 101


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


async def spawn_sipp(
    scenario: Path,
    sip_port: int,
    *,
    host: str,
    cwd: Path,
    service: str | None = None,
    timeout: float = 60.0,
    extra: Sequence[str] = (),
) -> asyncio.subprocess.Process:
    """Start sipp for one call of ``scenario`` to ``host``:``sip_port``, from a free port.

    ``-timeout_error`` makes a call that outlives ``timeout`` seconds a failure (exit code 1);
    sipp's own files (logs, traces) go to ``cwd``.
    """
    service_args = ("-s", service) if service is not None else ()
    return await asyncio.create_subprocess_exec(
        "sipp",
        f"{host}:{sip_port}",
        "-sf",
        str(scenario),
        *service_args,
        "-i",
        host,
        "-p",
        str(free_udp_port(host)),
        *extra,
        "-m",
        "1",
        "-nostdin",
        "-timeout",
        f"{math.ceil(timeout)}s",
        "-timeout_error",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
    )


@dataclass
class SippResult:
    returncode: int
    output: str

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0


# --- a caller on the trunk --------------------------------------------------------------------

CALLER_ANSWERED = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="hotline caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "{caller_name}" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:{caller}@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP {pcmu} {event}
      a=rtpmap:{pcmu} PCMU/8000
      a=rtpmap:{event} telephone-event/8000
      a=fmtp:{event} 0-15
      a=ptime:20
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <!-- sipp fails a call on a BYE it does not expect where it is (in a pause, say): this one
       is taken wherever the BYE lands. -->
  <recv request="BYE" optional="global" next="far_end_hangs_up"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "{caller_name}" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:{caller}@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
    <action><log message="ANSWERED [timestamp]"/></action>
  </send>
"""

CALLER_ENDINGS = """  <label id="caller_hangs_up"/>
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "{caller_name}" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: sip:{caller}@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
    <action><log message="CALLER-BYE [timestamp]"/></action>
  </send>
  <recv response="200" next="done"/>
  <label id="far_end_hangs_up"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: sip:{caller}@[local_ip]:[local_port]
      Content-Length: 0
    ]]>
    <action><log message="FAR-END-BYE [timestamp]"/></action>
  </send>
  <label id="done"/>
</scenario>
"""


def caller_scenario(answered: Sequence[str], *, caller: str, caller_name: str) -> str:
    """A call that offers PCMU and telephone-event, runs the ``answered`` elements once the
    call is up, and ends at label ``caller_hangs_up`` (we send BYE) or ``far_end_hangs_up``
    (a BYE came: answered with 200 OK). Each step is logged for :func:`parse_call_log`."""
    names = {"caller": caller, "caller_name": caller_name}
    head = CALLER_ANSWERED.format(pcmu=PCMU_PT, event=TELEPHONE_EVENT_PT, **names)
    middle = "".join(f"{element}\n" for element in answered if element)
    return head + middle + CALLER_ENDINGS.format(**names)


def pause(seconds: float) -> str:
    """A scenario pause (none if it rounds to 0 ms: sipp would read 0 as its default)."""
    ms = round(seconds * 1000)
    return f'  <pause milliseconds="{ms}"/>' if ms > 0 else ""


def await_bye(seconds: float, *, fail_if_none: bool = False) -> str:
    """Wait for the far end's BYE; then hang up ourselves, or, with ``fail_if_none``, fail the
    call (no ontimeout: sipp counts it failed and sends BYE itself)."""
    ontimeout = "" if fail_if_none else ' ontimeout="caller_hangs_up"'
    ms = max(1, round(seconds * 1000))
    return f'  <recv request="BYE" timeout="{ms}"{ontimeout} next="far_end_hangs_up"/>'


@dataclass(frozen=True)
class CallLog:
    """What the scenario logged, as wall-clock epoch seconds: the clock of AMI events'
    ``Timestamp`` header (manager.conf ``timestampevents = yes``), so the two compare."""

    answered_at: float | None = None  # when sipp sent the ACK
    stream_started_at: float | None = None  # when sipp started sending RTP, if it does
    far_end_bye_at: float | None = None
    caller_bye_at: float | None = None

    @property
    def far_end_hung_up(self) -> bool:
        return self.far_end_bye_at is not None

    @property
    def caller_hung_up(self) -> bool:
        return self.caller_bye_at is not None

    @property
    def ended_at(self) -> float | None:
        return self.far_end_bye_at or self.caller_bye_at


def parse_call_log(text: str) -> CallLog:
    """Read the ``<log>`` lines, e.g. ``ANSWERED 2026-01-01\t10:00:00.123456\t1767261600.1``."""
    stamps: dict[str, float] = {}
    for line in text.splitlines():
        words = line.split()
        if words:
            stamps[words[0]] = float(words[-1])
    return CallLog(
        answered_at=stamps.get("ANSWERED"),
        stream_started_at=stamps.get("STREAM"),
        far_end_bye_at=stamps.get("FAR-END-BYE"),
        caller_bye_at=stamps.get("CALLER-BYE"),
    )


@dataclass
class CallerResult(SippResult):
    """sipp's exit code and output, and the call's log."""

    log: CallLog = field(default_factory=CallLog)


class TrunkCaller:
    """One call on the carrier trunk to ``called``: a scenario in a folder of its own, run by
    one sipp process. Subclasses write ``self.scenario`` and set ``self.longest`` (the most
    seconds the call can last once answered)."""

    def __init__(self, sip_port: int, called: str, *, host: str) -> None:
        self.sip_port = sip_port
        self.called = called
        self.host = host
        self.longest = 0.0
        self._dir = tempfile.TemporaryDirectory(prefix="sipp-caller-")
        self.folder = Path(self._dir.name)
        self.scenario = self.folder / "caller.xml"
        self._log = self.folder / "caller.log"
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._proc = await spawn_sipp(
            self.scenario,
            self.sip_port,
            host=self.host,
            cwd=self.folder,
            service=self.called,
            # A margin for the answer, which the service decides.
            timeout=max(60.0, self.longest + 30),
            extra=(
                # The media address. sipp's default is the host's primary address, which
                # Asterisk's loopback-bound RTP cannot reach; sipp also sends its RTP from it.
                "-mi",
                self.host,
                "-mp",
                str(free_udp_port(self.host)),
                "-trace_logs",
                "-log_file",
                str(self._log),
            ),
        )

    async def wait(self, timeout: float | None = None) -> CallerResult:
        """sipp's result once the call is over (by default allow the longest it can last)."""
        assert self._proc is not None, "start() first"
        limit = timeout if timeout is not None else self.longest + 45
        out, _ = await asyncio.wait_for(self._proc.communicate(), limit)
        log = parse_call_log(self._log.read_text() if self._log.exists() else "")
        self._dir.cleanup()
        return CallerResult(self._proc.returncode or 0, out.decode(errors="replace")[-3000:], log)

    async def kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        self._dir.cleanup()


class SippCaller(TrunkCaller):
    """A caller that presses no keys and sends no audio: it hangs up after ``hold_ms`` unless
    the far end hangs up first (then it answers the BYE)."""

    def __init__(
        self,
        sip_port: int,
        called: str,
        caller: str = "+8613800138000",
        caller_name: str = "Test Caller",
        hold_ms: int = 5000,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(sip_port, called, host=host)
        self.longest = hold_ms / 1000
        self.scenario.write_text(
            caller_scenario([await_bye(self.longest)], caller=caller, caller_name=caller_name)
        )


# --- a phone that registers -------------------------------------------------------------------

REGISTER_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="phone registers">
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{from_user}@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{aor}@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:{aor}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Expires: 120
      Content-Length: 0
    ]]>
  </send>
  {after_first}
</scenario>
"""

AUTHENTICATED_RETRY = """<recv response="401" auth="true"/>
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{from_user}@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{aor}@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:{aor}@[local_ip]:[local_port]>
      [authentication username={from_user} password={password}]
      Max-Forwards: 70
      Expires: 120
      Content-Length: 0
    ]]>
  </send>
  <recv response="{final}"/>"""


async def register_phone(
    sip_port: int,
    aor: str,
    *,
    password: str | Mapping[str, str] | None,
    from_user: str | None = None,
    expect: int = 200,
    host: str = "127.0.0.1",
) -> SippResult:
    """REGISTER ``aor``. With a password: answer the digest challenge and expect ``expect``;
    without: expect ``expect`` as the answer to the first, unauthenticated REGISTER.
    sipp exits non-zero on any other response, so success means exactly that exchange."""
    user = from_user or aor
    if password is None:
        after_first = f'<recv response="{expect}"/>'
    else:
        after_first = AUTHENTICATED_RETRY.format(
            from_user=user, aor=aor, password=secret_for(password, aor), final=expect
        )
    with tempfile.TemporaryDirectory(prefix="sipp-reg-") as tmp:
        scenario = Path(tmp) / "register.xml"
        scenario.write_text(
            REGISTER_SCENARIO.format(from_user=user, aor=aor, after_first=after_first)
        )
        proc = await spawn_sipp(scenario, sip_port, host=host, cwd=Path(tmp), timeout=15)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return SippResult(proc.returncode or 0, out.decode(errors="replace")[-3000:])
