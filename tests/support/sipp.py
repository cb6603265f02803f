"""sipp callers for tests: a caller on the carrier trunk, driven by a scenario we generate.

sipp is the real SIP peer here (Debian's sip-tester); nothing about Asterisk is faked.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

CALLER_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
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
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
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
  </send>
  <recv request="BYE" timeout="{hold_ms}" ontimeout="caller_hangs_up"/>
  <send next="done">
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
  </send>
  <label id="caller_hangs_up"/>
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
  </send>
  <recv response="200"/>
  <label id="done"/>
</scenario>
"""


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SippResult:
    returncode: int
    output: str

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0


class SippCaller:
    """One call from ``caller`` to ``called`` on the trunk; hangs up after ``hold_ms``
    unless the far end hangs up first (then it answers the BYE)."""

    def __init__(
        self,
        sip_port: int,
        called: str,
        caller: str = "+8613800138000",
        caller_name: str = "Test Caller",
        hold_ms: int = 5000,
        host: str = "127.0.0.1",
    ) -> None:
        self.sip_port = sip_port
        self.called = called
        self.caller = caller
        self.caller_name = caller_name
        self.hold_ms = hold_ms
        self.host = host
        self._proc: asyncio.subprocess.Process | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="sipp-")

    async def start(self) -> None:
        scenario = Path(self._dir.name) / "caller.xml"
        scenario.write_text(
            CALLER_SCENARIO.format(
                caller=self.caller, caller_name=self.caller_name, hold_ms=self.hold_ms
            )
        )
        self._proc = await asyncio.create_subprocess_exec(
            "sipp",
            f"{self.host}:{self.sip_port}",
            "-sf",
            str(scenario),
            "-s",
            self.called,
            "-i",
            self.host,
            "-p",
            str(free_udp_port(self.host)),
            "-mp",
            str(free_udp_port(self.host)),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "60s",
            "-timeout_error",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self._dir.name,
        )

    async def wait(self, timeout: float = 60.0) -> SippResult:
        assert self._proc is not None, "start() first"
        out, _ = await asyncio.wait_for(self._proc.communicate(), timeout)
        self._dir.cleanup()
        return SippResult(self._proc.returncode or 0, out.decode(errors="replace")[-3000:])

    async def kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        self._dir.cleanup()


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
    password: str | None,
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
            from_user=user, aor=aor, password=password, final=expect
        )
    with tempfile.TemporaryDirectory(prefix="sipp-reg-") as tmp:
        scenario = Path(tmp) / "register.xml"
        scenario.write_text(
            REGISTER_SCENARIO.format(from_user=user, aor=aor, after_first=after_first)
        )
        proc = await asyncio.create_subprocess_exec(
            "sipp",
            f"{host}:{sip_port}",
            "-sf",
            str(scenario),
            "-i",
            host,
            "-p",
            str(free_udp_port(host)),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "15s",
            "-timeout_error",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=tmp,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return SippResult(proc.returncode or 0, out.decode(errors="replace")[-3000:])
