"""Asterisk's own record of its channels (CEL, Channel Event Logging), read back.

Asterisk writes one CSV line per channel event (asterisk_conf/cel.conf, cel_custom.conf) to a
file the service can read: ``log/cel-custom/calls.csv`` of the instance. From it this module
tells the hotline calls as Asterisk saw them, whether the service saw them or not: when each
started and ended, and whether the dialplan's fallback took it (extensions.conf
``[service-fallback]`` marks it with user events). Pure but for :class:`CelFileTail`, which
reads the file.

What a line holds, in the order of cel_custom.conf's ``fields``, all quoted, ``"`` doubled::

    "CHAN_START","1796604334.297119","","pbx-1796604334.0","pbx-1796604334.0",
        "PJSIP/carrier-00000000","from-carrier","95555","+8613911112222","",""
    "USER_DEFINED","1796604339.299541","CC_FALLBACK",...,"{""extra"":""apology""}"
    "HANGUP","1796604348.845440","",...,"{""hangupcause"":16,...}"

Event times are epoch seconds with microseconds (cel.conf sets no ``dateformat``), free of any
time zone. A user event's text is the JSON ``extra`` of its ``EventExtra`` (CELGenUserEvent).

Which channels are hotline calls: those created in the trunk's context (``from-carrier``) as the
first channel of their call (uniqueid = linkedid). A channel Asterisk dials out on the trunk
starts in that context too (the endpoint's), but belongs to the call that dialled it. (A call
originated straight onto the trunk would pass for one; the service never places one: its
click-to-dial rings the agent's phone first, docs/acd.md.)
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

HOTLINE_CONTEXT: Final = "from-carrier"
# cel_custom.conf's fields, in order.
CEL_FIELDS: Final = (
    "eventenum",
    "eventtime",
    "userdeftype",
    "uniqueid",
    "linkedid",
    "channame",
    "context",
    "exten",
    "num",  # the caller id number
    "peer",
    "eventextra",
)
# The dialplan's marks (extensions.conf [service-fallback]).
FALLBACK_EVENT: Final = "CC_FALLBACK"  # the fallback took the call; extra: its mode
CALLBACK_EVENT: Final = "CC_FALLBACK_CALLBACK"  # the caller asked for a call back; extra: zh|en
READ_CHUNK: Final = 1024 * 1024


class CelLineInvalid(ValueError):
    """A line that is not a CEL record of our format (a half-written line, another format)."""


@dataclass(frozen=True, slots=True)
class CelEvent:
    kind: str  # CHAN_START, ANSWER, BRIDGE_ENTER, HANGUP, CHAN_END, USER_DEFINED
    at: dt.datetime  # UTC
    user_kind: str  # the user event's name (USER_DEFINED), else ""
    uniqueid: str
    linkedid: str
    channel: str
    context: str
    exten: str
    caller: str  # the caller id number, as the channel had it
    peer: str
    extra: str  # JSON, or ""

    @property
    def user_text(self) -> str:
        """The text a dialplan gave CELGenUserEvent (its JSON ``extra``), else ""."""
        if not self.extra:
            return ""
        try:
            value = json.loads(self.extra)
        except ValueError:
            return ""
        text = value.get("extra", "") if isinstance(value, dict) else ""
        return text if isinstance(text, str) else ""


def parse_cel_line(line: str) -> CelEvent:
    """One line of the record; CelLineInvalid if it is not one."""
    try:
        rows = list(csv.reader([line]))
    except csv.Error as exc:
        raise CelLineInvalid(f"not CSV: {exc}") from exc
    if len(rows) != 1 or len(rows[0]) != len(CEL_FIELDS):
        raise CelLineInvalid(f"expected {len(CEL_FIELDS)} fields: {line[:120]!r}")
    kind, when, user_kind, uniqueid, linkedid, channel, context, exten, caller, peer, extra = rows[
        0
    ]
    try:
        at = dt.datetime.fromtimestamp(float(when), dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise CelLineInvalid(f"bad event time {when!r}") from exc
    if not kind or not uniqueid:
        raise CelLineInvalid(f"no event type or uniqueid: {line[:120]!r}")
    return CelEvent(
        kind, at, user_kind, uniqueid, linkedid, channel, context, exten, caller, peer, extra
    )


@dataclass
class CelFeed:
    """Bytes of the record in, whole events out: a line cut by the end of a read waits for
    the next read. Lines that are not records are counted, not raised."""

    invalid_lines: int = 0
    _partial: bytes = b""

    def feed(self, data: bytes) -> list[CelEvent]:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        events = []
        for raw in lines:
            text = raw.decode("utf-8", errors="replace").strip()
            if not text:
                continue
            try:
                events.append(parse_cel_line(text))
            except CelLineInvalid:
                self.invalid_lines += 1
        return events


# --- hotline calls ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HotlineCall:
    """A call on the trunk, as Asterisk's record tells it."""

    call_id: str  # the uniqueid of the caller's channel: the interaction's call_id
    asterisk_linkedid: str  # the same, as Asterisk links the call's channels by it
    caller: str  # caller id number, raw
    called: str  # the number dialled on the trunk
    started_at: dt.datetime
    ended_at: dt.datetime | None = None  # None while the caller's channel is up
    fallback: str | None = None  # the fallback's mode, when it took the call
    fallback_at: dt.datetime | None = None
    # When the caller was first connected to someone after the fallback took the call (queue
    # and transfer modes): a conversation.
    connected_at: dt.datetime | None = None
    callback_language: str | None = None  # the caller asked for a call back, in zh or en
    callback_at: dt.datetime | None = None

    @property
    def ended(self) -> bool:
        return self.ended_at is not None


class HotlineCalls:
    """Folds events, in the record's order, into hotline calls; keeps each until taken."""

    def __init__(self, context: str = HOTLINE_CONTEXT) -> None:
        self._context = context
        self._calls: dict[str, HotlineCall] = {}

    def add(self, event: CelEvent) -> None:
        if event.kind == "CHAN_START":
            if event.context == self._context and event.uniqueid == event.linkedid:
                self._calls[event.uniqueid] = HotlineCall(
                    call_id=event.uniqueid,
                    asterisk_linkedid=event.linkedid,
                    caller=event.caller,
                    called=event.exten,
                    started_at=event.at,
                )
            return
        call = self._calls.get(event.uniqueid)
        if call is not None:
            self._calls[event.uniqueid] = _apply(call, event)

    def extend(self, events: Iterable[CelEvent]) -> None:
        for event in events:
            self.add(event)

    @property
    def calls(self) -> list[HotlineCall]:
        """Every call known, in the order they started."""
        return list(self._calls.values())

    def put_back(self, calls: Iterable[HotlineCall]) -> None:
        """Calls taken but not dealt with (their import failed): kept for the next take."""
        for call in calls:
            self._calls.setdefault(call.call_id, call)

    def take_ended(self, before: dt.datetime) -> list[HotlineCall]:
        """The calls that ended before ``before``, forgotten from here on."""
        done = [c for c in self._calls.values() if c.ended_at is not None and c.ended_at < before]
        for call in done:
            del self._calls[call.call_id]
        return done


def _apply(call: HotlineCall, event: CelEvent) -> HotlineCall:
    """The call after one more event of its channel. Its end is the hang-up (CHAN_END, a
    moment later, if the hang-up was not recorded)."""
    match event.kind:
        case "HANGUP" if call.ended_at is None:
            return replace(call, ended_at=event.at)
        case "CHAN_END" if call.ended_at is None:
            return replace(call, ended_at=event.at)
        case "BRIDGE_ENTER" if call.fallback_at is not None and call.connected_at is None:
            return replace(call, connected_at=event.at)
        case "USER_DEFINED" if event.user_kind == FALLBACK_EVENT and call.fallback is None:
            return replace(call, fallback=event.user_text or "unknown", fallback_at=event.at)
        case "USER_DEFINED" if event.user_kind == CALLBACK_EVENT and call.callback_at is None:
            return replace(call, callback_language=event.user_text or None, callback_at=event.at)
    return call


def hotline_calls(events: Iterable[CelEvent], context: str = HOTLINE_CONTEXT) -> list[HotlineCall]:
    """Every hotline call in ``events`` (a whole record, say)."""
    folded = HotlineCalls(context)
    folded.extend(events)
    return folded.calls


# --- the file ----------------------------------------------------------------------------------


class CelFileTail:
    """Reads what was appended to the record since the last read. A file that was moved away
    (rotated) or truncated is read again from its start; a missing file reads as nothing.
    Blocking: run :meth:`read_new` in a thread from async code."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._feed = CelFeed()
        self._inode: int | None = None
        self._offset = 0

    @property
    def invalid_lines(self) -> int:
        return self._feed.invalid_lines

    def read_new(self) -> list[CelEvent]:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return []
        events: list[CelEvent] = []
        with handle:
            info = os.fstat(handle.fileno())
            if info.st_ino != self._inode or info.st_size < self._offset:
                # Another file now (rotated), or cut short: from its start, no half line kept.
                self._inode, self._offset = info.st_ino, 0
                self._feed = CelFeed(self._feed.invalid_lines)
            handle.seek(self._offset)
            while chunk := handle.read(READ_CHUNK):
                self._offset += len(chunk)
                events.extend(self._feed.feed(chunk))
        return events


def read_cel_file(path: Path) -> list[CelEvent]:
    """Every event of one record file (for a reconciliation); a missing file has none."""
    return CelFileTail(path).read_new()


# --- a channel's end, for a call that ended while no service ran -----------------------------


def channel_ends(events: Iterable[CelEvent], uniqueids: Iterable[str]) -> dict[str, dt.datetime]:
    """When each of these channels ended, as Asterisk recorded it: its HANGUP, else its
    CHAN_END (a moment later). A channel with neither in ``events`` is absent."""
    wanted = set(uniqueids)
    hangups: dict[str, dt.datetime] = {}
    chan_ends: dict[str, dt.datetime] = {}
    for event in events:
        if event.uniqueid not in wanted:
            continue
        if event.kind == "HANGUP":
            hangups.setdefault(event.uniqueid, event.at)
        elif event.kind == "CHAN_END":
            chan_ends.setdefault(event.uniqueid, event.at)
    return {**chan_ends, **hangups}


def read_channel_ends(path: Path, uniqueids: Iterable[str]) -> dict[str, dt.datetime]:
    """:func:`channel_ends` of these channels in one record file; a missing file has none.
    Only the lines that can be one of their ends are parsed: the record of a busy center
    holds months of calls, and a restart reads it for a handful. Blocking: run it in a
    thread from async code."""
    wanted = set(uniqueids)
    if not wanted:
        return {}
    needles = [f'"{uniqueid}"'.encode() for uniqueid in wanted]
    ends: list[CelEvent] = []
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return {}
    with handle:
        for raw in handle:
            if not raw.startswith((b'"HANGUP"', b'"CHAN_END"')):
                continue
            if not any(needle in raw for needle in needles):
                continue
            try:
                ends.append(parse_cel_line(raw.decode("utf-8", errors="replace").strip()))
            except CelLineInvalid:
                continue
    return channel_ends(ends, wanted)
