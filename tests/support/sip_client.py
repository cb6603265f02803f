"""A client's phone behind the carrier trunk, for outbound-call tests: sipp as a UAS on
loopback, which Asterisk reaches through ``CALLCENTER_OUTBOUND_TRUNK`` (``127.0.0.1:<port>``).

    async with SipClient(port, "answer", hang_up_after=2.0) as client:
        ...                                   # the service dials a number over the trunk
        invite = await client.wait_invite()   # InviteSeen(dialled=..., caller_id=..., ...)
        await client.wait_ended()             # the call is over (a BYE either way)

Modes (what every INVITE gets, after 100 Trying):

* ``answer``: 180 Ringing, then 200 OK with a PCMU answer ``answer_after`` seconds later
  (0.3 by default); once the ACK came it streams a 400 Hz tone (sipp's ``rtp_stream``,
  looped) and stays until the far end's BYE, or sends its own BYE after ``hang_up_after``
  seconds.
* ``ring_no_answer``: 180 Ringing until the far end gives up (CANCEL: 200, then 487).
* ``busy`` (486 Busy Here), ``not_found`` (404 Not Found), ``reject`` (603 Decline).

Every INVITE received is recorded from sipp's message trace (``-trace_msg``): the Request-URI
user (the number dialled), the From user (the caller ID the client's phone shows) and the
P-Asserted-Identity user if one came; and from the same trace, how each call went
(``calls``: answered, and who ended it). The scenario is ours, sipp is Debian's sip-tester, as
for the callers of tests/support/sipp.py; SIP parsing is tests/support/agent_phone.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.support.agent_phone import SipMessage, parse_name_addr, parse_sip
from tests.support.sipp import PCMU_PT, free_udp_port
from tests.support.tones import tone_packets

ClientMode = Literal["answer", "ring_no_answer", "busy", "not_found", "reject"]

REFUSALS: dict[ClientMode, tuple[int, str]] = {
    "busy": (486, "Busy Here"),
    "not_found": (404, "Not Found"),
    "reject": (603, "Decline"),
}
TONE_HZ = 400  # what the client "says", so a recording or the agent can hear them

# --- the scenario ------------------------------------------------------------------------------

HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="client behind the trunk: {mode}">
  <recv request="INVITE" crlf="true">
    <action>
{kept}      <log message="INVITE [timestamp]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 100 Trying
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
"""

RINGING = """  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:client@[local_ip]:[local_port]>
      Content-Length: 0
    ]]>
    <action><log message="RINGING [timestamp]"/></action>
  </send>
"""

# The far end's BYE is taken wherever it lands (sipp fails a call on an unexpected message).
ANSWER = (
    RINGING
    + """  <pause milliseconds="{answer_ms}"/>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:client@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=client 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpstream_audio_port] RTP/AVP {pcmu}
      a=rtpmap:{pcmu} PCMU/8000
      a=ptime:20
      a=sendrecv
    ]]>
  </send>
  <recv request="BYE" optional="global" next="far_end_hangs_up"/>
  <recv request="ACK" crlf="true"/>
  <nop>
    <action>
      <exec rtp_stream="{tone},-1,{pcmu}"/>
      <log message="ANSWERED [timestamp]"/>
    </action>
  </nop>
{wait}
  <label id="client_hangs_up"/>
  <send retrans="500">
    <![CDATA[
      BYE [$contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$near];tag=[pid]SIPpTag01[call_number]
      To: [$far]
      [last_Call-ID:]
      CSeq: 1 BYE
      Contact: <sip:client@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
    <action><log message="CALLER-BYE [timestamp]"/></action>
  </send>
  <recv response="200" next="done">
    <action><log message="BYE-OK [timestamp]"/></action>
  </recv>
  <label id="far_end_hangs_up"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
    <action><log message="FAR-END-BYE [timestamp]"/></action>
  </send>
  <label id="done"/>
</scenario>
"""
)

# 180 until CANCEL: 200 to the CANCEL, 487 to the INVITE (its CSeq kept from the INVITE).
RING_NO_ANSWER = (
    RINGING
    + """  <recv request="CANCEL" timeout="600000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
    <action><log message="CANCELLED [timestamp]"/></action>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq:[$cseq]
      Content-Length: 0
    ]]>
  </send>
  <recv request="ACK"/>
</scenario>
"""
)

REFUSE = """  <send retrans="500">
    <![CDATA[
      SIP/2.0 {status} {reason}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
    <action><log message="REFUSED [timestamp]"/></action>
  </send>
  <recv request="ACK"/>
</scenario>
"""


def client_scenario(
    mode: ClientMode, *, tone: Path, hang_up_after: float | None, answer_after: float = 0.3
) -> str:
    """The UAS scenario of ``mode``: one call per INVITE, sipp keeps taking new ones."""
    # The INVITE's headers a later message needs (sipp refuses a variable never read).
    # The BYE goes to the INVITE's Contact (Asterisk's ACK carries none, so sipp's
    # [next_url] would be empty by then).
    kept = {
        "answer": (
            (".*", "From", "far"),
            (".*", "To", "near"),
            ("sip:[^>]*", "Contact", "contact"),
        ),
        "ring_no_answer": ((".*", "CSeq", "cseq"),),
    }
    head = HEAD.format(
        mode=mode,
        kept="".join(
            f'      <ereg regexp="{regexp}" search_in="hdr" header="{header}:" check_it="true"'
            f' assign_to="{var}"/>\n'
            for regexp, header, var in kept.get(mode, ())
        ),
    )
    if mode == "answer":
        if hang_up_after is None:
            wait = '  <recv request="BYE" next="far_end_hangs_up"/>'
        else:
            ms = max(1, round(hang_up_after * 1000))
            wait = f'  <recv request="BYE" timeout="{ms}" ontimeout="client_hangs_up"\n' + (
                '        next="far_end_hangs_up"/>'
            )
        answer_ms = max(0, round(answer_after * 1000))
        return head + ANSWER.format(pcmu=PCMU_PT, tone=tone, wait=wait, answer_ms=answer_ms)
    if mode == "ring_no_answer":
        return head + RING_NO_ANSWER
    status, reason = REFUSALS[mode]
    return head + REFUSE.format(status=status, reason=reason)


# --- what the client saw -----------------------------------------------------------------------


@dataclass(frozen=True)
class InviteSeen:
    """An INVITE as it reached the client: the number dialled (the Request-URI's user), the
    caller ID its phone shows (the From user, and the display name) and the asserted identity
    (P-Asserted-Identity's user), if the trunk sent one."""

    dialled: str
    caller_id: str
    display: str
    asserted: str | None
    call_id: str


# How a call ended, as the client's phone saw it.
Ending = Literal["far_end_hung_up", "client_hung_up", "far_end_gave_up", "refused"]


@dataclass(frozen=True)
class ClientCall:
    """One call as the client's phone saw it: its INVITE, whether it was answered (our 200
    OK to the INVITE), and how it ended (None while it rings or is up): the far end's BYE,
    our own BYE, the far end's CANCEL while it rang, or our refusal (``refused_with``, the
    status sent: 486, 404, 603)."""

    invite: InviteSeen
    answered: bool
    ending: Ending | None
    refused_with: int | None = None


_TRACE_BLOCK = re.compile(r"^-{10,}.*$", re.MULTILINE)


def _messages_in_trace(text: str) -> list[tuple[bool, SipMessage]]:
    """Every SIP message of a sipp ``-trace_msg`` file, in order: (received, message)."""
    found: list[tuple[bool, SipMessage]] = []
    for block in _TRACE_BLOCK.split(text):
        head, _, message = block.partition("\n\n")
        received = "message received" in head
        if not (received or "message sent" in head) or not message.strip():
            continue
        raw = message.strip("\n").replace("\r\n", "\n").replace("\n", "\r\n").encode()
        found.append((received, parse_sip(raw)))
    return found


def invites_in_trace(text: str) -> list[InviteSeen]:
    """The INVITEs received in a sipp ``-trace_msg`` file, each Call-ID once (resends and
    re-INVITEs are not new calls)."""
    seen: list[InviteSeen] = []
    for received, sip in _messages_in_trace(text):
        if not received or not sip.first_line.startswith("INVITE "):
            continue
        if any(invite.call_id == sip.call_id for invite in seen):
            continue
        uri = sip.first_line.split(" ")[1]
        dialled = parse_name_addr(f"<{uri}>").user
        sender = parse_name_addr(sip.get("from"))
        asserted = sip.get("p-asserted-identity")
        seen.append(
            InviteSeen(
                dialled=dialled,
                caller_id=sender.user,
                display=sender.display,
                asserted=parse_name_addr(asserted).user if asserted else None,
                call_id=sip.call_id,
            )
        )
    return seen


def calls_in_trace(text: str) -> list[ClientCall]:
    """Each call of a sipp ``-trace_msg`` file, in the order its INVITE came, with whether
    it was answered and how it ended so far."""
    messages = _messages_in_trace(text)
    calls = []
    for invite in invites_in_trace(text):
        answered, ending, refused_with = False, None, None
        for received, sip in messages:
            if sip.call_id != invite.call_id or ending is not None:
                continue
            if not received and not sip.is_request and sip.method == "INVITE":
                answered = answered or sip.status == 200
                if sip.status >= 400 and sip.status != 487:  # 487: the answer to a CANCEL
                    ending, refused_with = "refused", sip.status
            elif received and sip.first_line.startswith("CANCEL "):
                ending = "far_end_gave_up"
            elif received and sip.first_line.startswith("BYE "):
                ending = "far_end_hung_up"
            elif not received and sip.first_line.startswith("BYE "):
                ending = "client_hung_up"
        calls.append(ClientCall(invite, answered, ending, refused_with))
    return calls


class SipClient:
    """The client's phone: one sipp UAS process for as long as the context lasts."""

    def __init__(
        self,
        port: int,
        mode: ClientMode,
        *,
        hang_up_after: float | None = None,
        answer_after: float = 0.3,
        host: str = "127.0.0.1",
    ) -> None:
        self.port = port
        self.mode = mode
        self.host = host
        self._dir = tempfile.TemporaryDirectory(prefix="sipp-client-")
        self.folder = Path(self._dir.name)
        self._trace = self.folder / "messages.log"
        self._log = self.folder / "calls.log"
        self._errors = self.folder / "errors.log"
        tone = self.folder / "tone.pcmu"
        packets = tone_packets(TONE_HZ)
        tone.write_bytes(b"".join(packets(n) for n in range(50)))  # one second, looped
        self.scenario = self.folder / "client.xml"
        self.scenario.write_text(
            client_scenario(mode, tone=tone, hang_up_after=hang_up_after, answer_after=answer_after)
        )
        self._proc: asyncio.subprocess.Process | None = None
        self._kept: dict[Path, str] = {}

    @property
    def address(self) -> str:
        """What ``CALLCENTER_OUTBOUND_TRUNK`` names to reach this client."""
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        errors = self._errors.open("wb")  # sipp's complaints; a pipe nobody reads could fill
        self._proc = await asyncio.create_subprocess_exec(
            "sipp",
            "-sf",
            str(self.scenario),
            "-i",
            self.host,
            "-p",
            str(self.port),
            # The media address: sipp's default is the host's primary address, which
            # Asterisk's loopback-bound RTP cannot reach.
            "-mi",
            self.host,
            "-mp",
            str(free_udp_port(self.host)),
            "-nostdin",
            "-trace_msg",
            "-message_file",
            str(self._trace),
            "-trace_logs",
            "-log_file",
            str(self._log),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=errors,
            cwd=self.folder,
        )
        errors.close()
        try:  # sipp checks the scenario and binds its port at once: fail fast if it could not
            await asyncio.wait_for(self._proc.wait(), 0.3)
        except TimeoutError:
            return
        raise RuntimeError(f"sipp client did not start: {self.errors()}")

    def errors(self) -> str:
        """What sipp wrote to stderr."""
        return self._read(self._errors)[-3000:]

    async def stop(self) -> None:
        """Ends sipp; what it wrote stays readable (``invites``, ``logged``) after."""
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            try:
                await asyncio.wait_for(self._proc.wait(), 5)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
        self._kept = {path: self._read(path) for path in (self._trace, self._log, self._errors)}
        self._dir.cleanup()

    def _read(self, path: Path) -> str:
        """A file sipp writes, or what it held when the client stopped."""
        if path in self._kept:
            return self._kept[path]
        with contextlib.suppress(FileNotFoundError):
            return path.read_text(errors="replace")
        return ""

    async def __aenter__(self) -> SipClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def invites(self) -> list[InviteSeen]:
        """Every INVITE received so far, in order."""
        return invites_in_trace(self._read(self._trace))

    @property
    def calls(self) -> list[ClientCall]:
        """Every call so far, in order, with whether it was answered and how it ended."""
        return calls_in_trace(self._read(self._trace))

    def logged(self, word: str) -> bool:
        """Whether the scenario logged ``word`` (``ANSWERED``, ``CALLER-BYE`` (sent),
        ``BYE-OK`` (answered), ``FAR-END-BYE``, ``RINGING`` (180 sent), ``CANCELLED``,
        ``REFUSED``) for some call."""
        return any(line.split()[:1] == [word] for line in self._read(self._log).splitlines())

    async def wait_invite(self, count: int = 1, timeout: float = 15.0) -> InviteSeen:
        """The ``count``-th INVITE, once it came."""
        await self._until(lambda: len(self.invites) >= count, timeout)
        return self.invites[count - 1]

    async def wait_logged(self, word: str, timeout: float = 15.0) -> None:
        await self._until(lambda: self.logged(word), timeout)

    async def wait_ended(self, timeout: float = 15.0) -> None:
        """An answered call is over: the far end's BYE came, or ours was answered 200."""
        await self._until(lambda: self.logged("BYE-OK") or self.logged("FAR-END-BYE"), timeout)

    def call_log(self) -> str:
        return self._read(self._log)

    async def _until(self, ready: Callable[[], bool], timeout: float) -> None:
        async def poll() -> None:
            while not ready():  # noqa: ASYNC110 - sipp writes files; polled, bounded by timeout
                await asyncio.sleep(0.05)

        try:
            await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"sipp client ({self.mode}) on {self.address}: waited {timeout} s in vain;\n"
                f"log:\n{self.call_log()}\nerrors:\n{self.errors()}\n"
                f"trace tail:\n{self._trace_tail()}"
            ) from None

    def _trace_tail(self) -> str:
        return self._read(self._trace)[-3000:]
