"""What a test caller sends once answered: a script of steps, turned into one RTP capture.

A script is a list of steps, e.g. ``[Wait(1.5), Keys("2"), Wait(2.0), Keys("1234#"), Hangup()]``,
that a :class:`KeypadCaller` plays once its call is answered::

    caller = KeypadCaller(sip_port, "95566", [Wait(0.3), Keys("1234"), ExpectHangup(5)])
    await caller.start()
    ...                                 # drive the call (Async AGI)
    result = await caller.wait()        # KeypadCallResult: returncode, output, log, keys
    assert result.succeeded, result.output

Keys are RFC 4733 (RFC 2833) telephone-events taken from the captures Debian's sip-tester ships
in ``/usr/share/sip-tester``: ``dtmf_2833_<key>.pcap`` for 0-9, ``star`` and ``pound`` (no A-D).
Each is one event on payload type 101: eight packets 20 ms apart, then the end packet three
times; 140 ms of wall time, while the event's duration field says 280 ms (Asterisk reports
that as ``DurationMs``).

Why one capture for the whole call, written per call:

* The shipped captures were cut from one recording, so each keeps its own sequence numbers and
  timestamp (1 < 2 < ... < 9 < * < #, and 0 between 1 and 2). Asterisk ignores an event whose
  timestamp is not later than the last one it ended: replayed as shipped, a repeated key ("11")
  or a key recorded earlier ("21") is silently lost. Here every key gets the call's SSRC, the
  next sequence numbers, and a timestamp from its place in the script; the payload is untouched.
* A phone sends audio all the time, and Asterisk needs it: Async AGI, between commands, waits
  for a frame from the caller or 100 ms (res_agi's poll), so with a silent caller every AGI
  command starts up to 100 ms late, and ANSWER waits its full 500 ms for a first voice frame.
  So the call's capture carries PCMU silence every 20 ms, replaced by the event's packets while
  a key is pressed (as a phone does), unless the caller is made silent (``audio=False``).
* sipp replays a capture by its packet times, and stops a running replay when the next starts:
  one capture per call keeps keys from cutting each other off.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.sipp import (
    PCMU_PT,
    CallerResult,
    CallLog,
    TrunkCaller,
    await_bye,
    caller_scenario,
    pause,
)

PCAP_DIR = Path("/usr/share/sip-tester")
KEY_CAPTURES = {
    **{digit: f"dtmf_2833_{digit}.pcap" for digit in "0123456789"},
    "*": "dtmf_2833_star.pcap",
    "#": "dtmf_2833_pound.pcap",
}
# RFC 4733 event codes: 0-9 are the digits, 10 is *, 11 is #.
KEY_EVENTS = {**{digit: int(digit) for digit in "0123456789"}, "*": 10, "#": 11}
SAMPLE_RATE = 8000
PACKET_TIME = 0.02
SILENCE = b"\xff" * int(SAMPLE_RATE * PACKET_TIME)  # PCMU silence: 160 samples of 0xFF

# --- the script ------------------------------------------------------------------------------


class Step:
    """One thing a caller does once answered. A base class rather than a union, so that a
    list literal of mixed steps is typed ``list[Step]`` without an annotation."""


@dataclass(frozen=True)
class Wait(Step):
    """Stay on the line for ``seconds`` (sending silence, or nothing if the caller is silent)."""

    seconds: float


@dataclass(frozen=True)
class Talk(Step):
    """Stay on the line for ``seconds`` sending ``sound`` (the PCMU payload of its n-th 20 ms
    packet: a tone, tests/support/tones.py) instead of silence."""

    seconds: float
    sound: Callable[[int], bytes]


@dataclass(frozen=True)
class Keys(Step):
    """Press each key in turn; each key takes 140 ms and is followed by ``gap`` seconds."""

    keys: str
    gap: float = 0.1

    def __post_init__(self) -> None:
        unknown = sorted(set(self.keys) - set(KEY_CAPTURES))
        if unknown or not self.keys:
            raise ValueError(f"no capture for keys {unknown}: only 0-9, * and # exist")


@dataclass(frozen=True)
class Hangup(Step):
    """The caller hangs up (sends BYE)."""


@dataclass(frozen=True)
class ExpectHangup(Step):
    """The far end must hang up within ``within`` seconds, or the call fails."""

    within: float


# --- captures --------------------------------------------------------------------------------

_LINK_HEADER = {1: 14, 113: 16}  # Ethernet, Linux cooked capture
_EPOCH = 1_000_000_000  # packet times of a written capture count from here


@dataclass(frozen=True)
class Capture:
    """A classic little-endian pcap: its global header and records (header, frame)."""

    header: bytes
    records: list[tuple[bytes, bytes]]

    @property
    def link_type(self) -> int:
        value: int = struct.unpack_from("<I", self.header, 20)[0]
        return value

    def rtp_offset(self, frame: bytes) -> int:
        """Where RTP starts in ``frame`` (IPv4 over UDP, as in the shipped files)."""
        ip = _LINK_HEADER[self.link_type]
        return ip + (frame[ip] & 0x0F) * 4 + 8

    def times(self) -> list[float]:
        """Each packet's time, in seconds from the first."""
        stamps = [_record_time(header) for header, _ in self.records]
        return [t - stamps[0] for t in stamps]

    def rtp(self) -> list[bytes]:
        return [frame[self.rtp_offset(frame) :] for _, frame in self.records]

    def to_bytes(self) -> bytes:
        return self.header + b"".join(h + f for h, f in self.records)


def _record_time(header: bytes) -> float:
    seconds, micros = struct.unpack_from("<II", header)
    return int(seconds) + int(micros) / 1e6


def read_capture(data: bytes) -> Capture:
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        raise ValueError("not a little-endian, microsecond pcap")
    records = []
    offset = 24
    while offset < len(data):
        header = data[offset : offset + 16]
        length = struct.unpack_from("<I", header, 8)[0]
        records.append((header, data[offset + 16 : offset + 16 + length]))
        offset += 16 + length
    return Capture(data[:24], records)


def load_key(key: str) -> Capture:
    return read_capture((PCAP_DIR / KEY_CAPTURES[key]).read_bytes())


def telephone_event(capture: Capture) -> tuple[int, int]:
    """(payload type, RFC 4733 event code) of a key's capture."""
    rtp = capture.rtp()[0]
    return rtp[1] & 0x7F, rtp[12]


# --- the call's stream -------------------------------------------------------------------------


@dataclass
class Stream:
    """The RTP a caller sends, built in time order: silence, then keys in place of silence."""

    audio: bool
    ssrc: int = field(default_factory=lambda: secrets.randbits(32))
    seq: int = field(default_factory=lambda: secrets.randbits(15))
    rtp_base: int = field(default_factory=lambda: secrets.randbits(30))
    clock: float = 0.0  # seconds since the stream started: where the next packet goes
    packets: list[tuple[float, bytes]] = field(default_factory=list)  # (time, RTP packet)
    keys: list[tuple[str, float]] = field(default_factory=list)  # (key, time it starts)
    # RTP marks the first audio packet of a talkspurt: the first one, and the first after a key.
    _marker: bool = field(default=True, init=False)

    def fill_until(self, until: float, sound: Callable[[int], bytes] | None = None) -> None:
        """Audio packets every 20 ms up to ``until`` (silence, or ``sound``'s n-th packet);
        or just time passing."""
        n = 0
        while self.clock < until - 1e-6:
            if self.audio:
                payload = SILENCE if sound is None else sound(n)
                self._add(self.clock, PCMU_PT, self._marker, self._timestamp(self.clock), payload)
                self._marker = False
                n += 1
            self.clock += PACKET_TIME

    def press(self, key: str) -> None:
        """The key's event packets from now, with their captured spacing; audio resumes after."""
        capture = load_key(key)
        start, timestamp = self.clock, self._timestamp(self.clock)
        packets = capture.rtp()
        first_seq = last_seq = self.seq
        for at, rtp in zip(capture.times(), packets, strict=True):
            # Keep the capture's own sequence spacing: the repeated end packets share one.
            last_seq = (first_seq + _seq(rtp) - _seq(packets[0])) & 0xFFFF
            packet = bytearray(rtp)
            struct.pack_into(">HII", packet, 2, last_seq, timestamp, self.ssrc)
            self.packets.append((start + at, bytes(packet)))
        self.seq = (last_seq + 1) & 0xFFFF
        self.keys.append((key, start))
        self.clock = start + capture.times()[-1] + PACKET_TIME
        self._marker = True

    def _timestamp(self, at: float) -> int:
        return (self.rtp_base + round(at * SAMPLE_RATE)) & 0xFFFFFFFF

    def _add(self, at: float, pt: int, marker: bool, timestamp: int, payload: bytes) -> None:
        first = 0x8000 | (0x80 if marker else 0) | pt  # version 2, marker bit, payload type
        header = struct.pack(">HHII", first, self.seq, timestamp, self.ssrc)
        self.packets.append((at, header + payload))
        self.seq = (self.seq + 1) & 0xFFFF

    @property
    def lead(self) -> float:
        """When the first packet is due. sipp sends a capture's first packet at once, so the
        scenario waits this long before it starts the capture (only a silent caller has one)."""
        return min((at for at, _ in self.packets), default=0.0)

    def to_capture(self) -> Capture:
        """A pcap sipp can replay, starting at :attr:`lead`: each packet wrapped in the
        Ethernet/IPv4/UDP headers of a shipped capture (sipp rewrites addresses, ports and
        checksums when it sends)."""
        template = load_key("1")
        frame = template.records[0][1]
        head = bytearray(frame[: template.rtp_offset(frame)])
        ip = _LINK_HEADER[template.link_type]
        records = []
        for at, rtp in sorted(self.packets, key=lambda p: p[0]):
            struct.pack_into(">H", head, ip + 2, len(head) - ip + len(rtp))  # IPv4 total length
            struct.pack_into(">H", head, len(head) - 4, 8 + len(rtp))  # UDP length
            data = bytes(head) + rtp
            micros = round((at - self.lead) * 1e6)
            header = struct.pack(
                "<IIII", _EPOCH + micros // 1_000_000, micros % 1_000_000, len(data), len(data)
            )
            records.append((header, data))
        return Capture(template.header, records)


def _seq(rtp: bytes) -> int:
    value: int = struct.unpack_from(">H", rtp, 2)[0]
    return value


# --- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ending:
    """How the script ends: at ``at`` seconds after answer, the caller hangs up
    (``hangup``), or waits ``wait`` seconds for the far end's BYE, then hangs up itself
    (``fail_if_no_bye=False``) or fails the call (``True``)."""

    at: float
    hangup: bool
    wait: float = 0.0
    fail_if_no_bye: bool = False


@dataclass(frozen=True)
class Plan:
    stream: Stream
    ending: Ending

    @property
    def longest(self) -> float:
        """The longest the call can last once answered, in seconds."""
        return self.ending.at + self.ending.wait


def plan_script(script: Sequence[Step], *, hold: float, audio: bool = True) -> Plan:
    """Lay the steps out in time; the stream runs until the call must have ended."""
    stream = Stream(audio=audio)
    ending: Ending | None = None
    for step in script:
        match step:
            case Wait(seconds=seconds):
                stream.fill_until(stream.clock + seconds)
            case Talk(seconds=seconds, sound=sound):
                stream.fill_until(stream.clock + seconds, sound)
            case Keys(keys=keys, gap=gap):
                for key in keys:
                    stream.press(key)
                    stream.fill_until(stream.clock - PACKET_TIME + gap)
            case Hangup():
                ending = Ending(at=stream.clock, hangup=True)
            case ExpectHangup(within=within):
                ending = Ending(at=stream.clock, hangup=False, wait=within, fail_if_no_bye=True)
            case _:
                raise TypeError(f"not a step a caller can take: {step!r}")
        if ending is not None:
            break
    if ending is None:
        ending = Ending(at=stream.clock, hangup=False, wait=hold)
    stream.fill_until(ending.at + ending.wait)
    return Plan(stream, ending)


# --- the caller ----------------------------------------------------------------------------------

STREAM_ACTION = """  <nop>
    <action>
      <exec play_pcap_audio="{capture}"/>
      <log message="STREAM [timestamp]"/>
    </action>
  </nop>"""


def answered_steps(plan: Plan, capture: Path) -> list[str]:
    """The scenario elements after answer: start the stream, wait, end as planned."""
    ending, lead = plan.ending, plan.stream.lead
    if plan.stream.packets:
        steps = [pause(lead), STREAM_ACTION.format(capture=capture), pause(ending.at - lead)]
    else:
        steps = [pause(ending.at)]
    if ending.hangup:
        steps.append('  <nop next="caller_hangs_up"/>')
    else:
        steps.append(await_bye(ending.wait, fail_if_none=ending.fail_if_no_bye))
    return steps


@dataclass
class KeypadCallResult(CallerResult):
    """sipp's result and the call's log, and the keys pressed before the call ended:
    (key, epoch seconds when its first packet was due: compare with AMI ``Timestamp``)."""

    keys: tuple[tuple[str, float], ...] = ()

    @property
    def keys_sent(self) -> str:
        return "".join(key for key, _ in self.keys)


class KeypadCaller(TrunkCaller):
    """A call on the carrier trunk from ``caller`` to ``called`` that plays ``script`` once
    answered. Its RTP: PCMU silence every 20 ms with the keys in between, or only the keys if
    ``audio`` is False. Without a Hangup/ExpectHangup step it waits ``hold`` seconds for the
    far end's BYE after the script, then hangs up itself. ``stream``: the pcap of this
    script's stream (``plan_script(...).stream.to_capture().to_bytes()``), built once for many
    callers of one script: building it takes about 5 ms of CPU per second of the call."""

    def __init__(
        self,
        sip_port: int,
        called: str,
        script: Sequence[Step],
        *,
        caller: str = "+8613800138000",
        caller_name: str = "Test Caller",
        hold: float = 30.0,
        audio: bool = True,
        host: str = "127.0.0.1",
        stream: bytes | None = None,
    ) -> None:
        super().__init__(sip_port, called, host=host)
        self.plan = plan_script(script, hold=hold, audio=audio)
        self.longest = self.plan.longest
        capture = self.folder / "stream.pcap"
        capture.write_bytes(stream or self.plan.stream.to_capture().to_bytes())
        steps = answered_steps(self.plan, capture)
        self.scenario.write_text(caller_scenario(steps, caller=caller, caller_name=caller_name))

    async def wait(self, timeout: float | None = None) -> KeypadCallResult:
        done = await super().wait(timeout)
        return KeypadCallResult(done.returncode, done.output, done.log, self._keys_sent(done.log))

    def _keys_sent(self, log: CallLog) -> tuple[tuple[str, float], ...]:
        """The planned keys due before the call ended (sipp stops the stream with the call)."""
        start, end = log.stream_started_at, log.ended_at
        if start is None:
            return ()
        lead = self.plan.stream.lead
        due = ((key, start + at - lead) for key, at in self.plan.stream.keys)
        return tuple((key, when) for key, when in due if end is None or when < end)
