"""The AMI wire format: a pure, incremental parser (bytes in, messages out) and an encoder.

AMI is a line protocol. A message is a block of ``Name: value`` lines ended by an empty line.
What real Asterisk servers and the proxies in front of them put on the wire, and how we deal:

* The greeting ``Asterisk Call Manager/9.0.0`` is one line ended by a single EOL and no empty
  line (the "single-EOL quirk"). We emit it as a :class:`Message` of kind ``banner``.
* Lines normally end in CRLF, but some builds and proxies send bare LF; both are accepted.
* Header names are case-insensitive (``CommandID`` vs ``CommandId`` across versions), and a
  name may repeat (``ChanVariable``, ``Variable``, ``Output``): we keep every header in order.
* Text is UTF-8 (caller names in Chinese). A character may be split across two reads, so we
  decode only complete messages, never raw chunks. Invalid bytes are replaced, never fatal.
* Lines without a colon are garbage (a corrupt proxy, a test harness): skipped and counted.
* A peer that sends an endless line or message cannot make us buffer without bound: past
  ``max_message_bytes`` the message is dropped up to its end and counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

BANNER_PREFIX = b"Asterisk Call Manager/"
DEFAULT_MAX_MESSAGE_BYTES = 1 << 20  # 1 MiB: far above any real event (big ones are ~4 KiB)

MessageKind = Literal["event", "response", "banner", "other"]
Columns = tuple[list[str], list[str]]


def _marked_columns(block: str) -> Columns | None:
    """The (names, values) of a block whose every line is "Name: value" with no other ": "
    in it (nearly every event Asterisk writes), or None for any other block.

    The region's line ends were marked beforehand: each became ": " plus a NUL, so that one
    split at ": " alternates names and values in C, and every name after the first starts
    with the NUL. The NULs are all among the names exactly when every line held one ": ".
    """
    parts = block.split(": ")
    lines = block.count("\x00") + 1
    if len(parts) != 2 * lines:
        return None
    joined = "".join(parts[0::2])
    if " " in joined or ":" in joined:
        return None
    names = joined.split("\x00")
    if len(names) != lines or "" in names:
        return None
    return names, parts[1::2]


class Message:
    """One AMI message: an ordered list of headers with case-insensitive lookup.

    The headers are held as two columns, ``names`` and ``values`` (tuples, in wire order),
    because that is what the parser's split produces in C: a list of pairs would cost one
    more object per header, and at ~20 headers an event those objects were a fifth of the
    parse (most of it the garbage collector's). ``headers`` gives the pairs for who wants
    them. The lookup index is built lazily: most events are routed on one or two headers.
    """

    __slots__ = ("_index", "names", "values")

    def __init__(
        self,
        headers: Iterable[tuple[str, str]] = (),
        names: list[str] | None = None,
        values: list[str] | None = None,
    ) -> None:
        """``Message(headers)``; the parser passes the columns (``names``, ``values``)."""
        if names is None or values is None:
            pairs = list(headers)
            names = [name for name, _ in pairs]
            values = [value for _, value in pairs]
        self.names = names
        self.values = values
        self._index: dict[str, str] | None = None

    @classmethod
    def banner(cls, line: str) -> Message:
        return cls((), ["Banner"], [line])

    @property
    def headers(self) -> list[tuple[str, str]]:
        """The headers as (name, value) pairs, in wire order (a new list at each call)."""
        return list(zip(self.names, self.values, strict=True))

    @property
    def kind(self) -> MessageKind:
        if not self.names:
            return "other"
        first = self.names[0].lower()
        if first == "event":
            return "event"
        if first == "response":
            return "response"
        if first == "banner":
            return "banner"
        return "other"

    @property
    def name(self) -> str:
        """The event name, the response status (``Success``/``Error``/...), or the banner."""
        return self.values[0] if self.values else ""

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def _lookup(self) -> dict[str, str]:
        index = self._index
        if index is None:
            # Built back to front, so that of a repeated header the first value stays.
            index = dict(zip(map(str.lower, self.names[::-1]), self.values[::-1], strict=True))
            self._index = index
        return index

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of header ``key`` (any case), or ``default``."""
        return self._lookup().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        try:
            return self._lookup()[key.lower()]
        except KeyError:
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lookup()

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated header, in wire order."""
        wanted = key.lower()
        return [
            value
            for name, value in zip(self.names, self.values, strict=True)
            if name.lower() == wanted
        ]

    def variables(self, key: str = "ChanVariable") -> dict[str, str]:
        """``name=value`` pairs of a repeated header such as ChanVariable, as a dict."""
        result: dict[str, str] = {}
        for item in self.get_all(key):
            name, _, value = item.partition("=")
            result[name] = value
        return result

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Message) and other.names == self.names and other.values == self.values
        )

    def __hash__(self) -> int:
        return hash((self.names, self.values))

    def __repr__(self) -> str:
        return f"Message({self.kind}={self.name!r}, {len(self.names)} headers)"


@dataclass
class ParserStats:
    messages: int = 0
    garbage_lines: int = 0
    oversized_messages: int = 0
    decode_errors: int = 0


class AmiParser:
    """Incremental AMI parser. ``feed(bytes)`` returns the messages completed by those bytes.

    Pure: no IO, no clock, no logging. Never raises on input.
    """

    def __init__(
        self, *, expect_banner: bool = True, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    ) -> None:
        self._buffer = bytearray()
        self._expect_banner = expect_banner
        self._max = max_message_bytes
        # When a message grew past the limit we drop bytes until its terminating empty line.
        self._discarding = False
        self.stats = ParserStats()

    @property
    def buffered(self) -> int:
        """Bytes held for a message not yet complete (bounded by ``max_message_bytes``)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Message]:
        buf = self._buffer
        buf += data
        out: list[Message] = []
        pos = 0
        if self._discarding:
            pos = self._skip_discarded(0)
            if self._discarding:
                return out
        if self._expect_banner:
            pos = self._take_banner(pos, out)
            if self._expect_banner:
                self._compact(pos)
                return out
        # Everything up to the last empty line ("\n\r\n" or "\n\n") is complete messages:
        # decode that region in one call and split it in C; only odd blocks take the slow path.
        crlf = buf.rfind(b"\n\r\n", pos)
        lf = buf.rfind(b"\n\n", pos)
        end = max(crlf + 3 if crlf >= 0 else -1, lf + 2 if lf >= 0 else -1)
        if end > pos:
            with memoryview(buf) as view:
                region = view[pos:end]
                try:
                    text: str | None = str(region, "utf-8")
                except UnicodeDecodeError:
                    text = None
                    raw = bytes(region)
                region.release()
            del buf[:end]
            if text is None:
                self._parse_region_bytes(raw, out)
            else:
                self._parse_region(text, out)
        elif pos:
            del buf[:pos]
        if len(buf) > self._max:
            self.stats.oversized_messages += 1
            self._discarding = True
            # Keep the last two bytes: they may be the "\n\r" that start the terminating
            # empty line, whose "\n" arrives in the next read.
            del buf[:-2]
        return out

    def _compact(self, pos: int) -> None:
        if pos:
            del self._buffer[:pos]

    def _parse_region(self, text: str, out: list[Message]) -> None:
        crlf = text.count("\r\n")
        # Two things no real Asterisk sends take a slower way. A CR that ends no line: the
        # careful path drops it at a line's end, so every block of the region goes there. A
        # NUL: the line ends are marked with one below, so the text must hold none.
        stray_cr = text.count("\r") != crlf
        eol = "\r\n"
        if text.count("\n") != crlf:  # bare LF somewhere (some proxies): normalise
            text = text.replace("\r\n", "\n")
            eol = "\n"
        # Mark every line end of the region at once (see _marked_columns). Blocks split at
        # the empty line as before, and a block's lines split at the mark.
        mark = eol if stray_cr or "\x00" in text else ": \x00"
        if mark != eol:
            text = text.replace(eol, mark)
        append = out.append
        parsed = 0
        for block in text.split(mark + mark):
            if not block:
                continue
            columns = _marked_columns(block) if mark != eol else None
            if columns is None:
                columns = self._columns(block.split(mark), careful=stray_cr)
                if columns is None:
                    continue
            names, values = columns
            append(Message((), names, values))
            parsed += 1
        self.stats.messages += parsed

    def _columns(self, lines: list[str], *, careful: bool = False) -> Columns | None:
        """A block's lines as columns: in C when every line is a plain header, else (or when
        told to be ``careful``) by the careful path. None when no line is a header."""
        # Split every line at its first ": " and turn the (name, sep, value) rows into three
        # columns, all in C; then check the columns at once. The rule is the one of
        # _parse_lines: the name ends at the first colon and is not empty. Otherwise
        # "Name:a: b" or ": x" would parse differently depending on whether something else
        # in the same read sent it down the careful path. A space or a colon found in the
        # names run together is in one of them.
        if not careful:
            names, seps, values = zip(*[line.partition(": ") for line in lines], strict=True)
            joined = "".join(names)
            if not ("" in seps or "" in names or " " in joined or ":" in joined):
                return list(names), list(values)
        headers = self._parse_lines(lines)
        if headers is None:
            return None
        return [n for n, _ in headers], [v for _, v in headers]

    def _parse_region_bytes(self, raw: bytes, out: list[Message]) -> None:
        """Invalid UTF-8 somewhere: decode block by block so one bad byte spoils one message."""
        normalised = raw.replace(b"\r\n", b"\n")
        for block in normalised.split(b"\n\n"):
            if not block:
                continue
            try:
                text = block.decode("utf-8")
            except UnicodeDecodeError:
                self.stats.decode_errors += 1
                text = block.decode("utf-8", "replace")
            headers = self._parse_lines(text.split("\n"))
            if headers is not None:
                out.append(Message(headers))
                self.stats.messages += 1

    def _parse_lines(self, lines: list[str]) -> list[tuple[str, str]] | None:
        """The careful path: empty lines, "Name:" with no space, garbage lines, stray CRs."""
        headers: list[tuple[str, str]] = []
        for raw_line in lines:
            line = raw_line[:-1] if raw_line.endswith("\r") else raw_line
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or " " in name:
                self.stats.garbage_lines += 1
                continue
            headers.append((name, value[1:] if value[:1] == " " else value))
        return headers or None

    def _skip_discarded(self, pos: int) -> int:
        buf = self._buffer
        crlf = buf.find(b"\n\r\n", pos)
        lf = buf.find(b"\n\n", pos)
        ends = [i + 3 for i in (crlf,) if i >= 0] + [i + 2 for i in (lf,) if i >= 0]
        if not ends:
            del buf[:-2]  # two bytes may begin the terminator split across reads
            return 0
        self._discarding = False
        return min(ends)

    def _take_banner(self, pos: int, out: list[Message]) -> int:
        buf = self._buffer
        newline = buf.find(b"\n", pos)
        if newline < 0:
            pending = len(buf) - pos
            if pending > self._max or (
                pending >= len(BANNER_PREFIX) and not buf.startswith(BANNER_PREFIX, pos)
            ):
                # Not a banner (or an endless one): parse as ordinary messages, which also
                # applies the size limit.
                self._expect_banner = False
            return pos
        self._expect_banner = False
        if buf.startswith(BANNER_PREFIX, pos):
            line = bytes(buf[pos:newline]).rstrip(b"\r").decode("utf-8", "replace")
            out.append(Message.banner(line))
            self.stats.messages += 1
            return newline + 1
        return pos


def parse_all(data: bytes, *, expect_banner: bool = True) -> list[Message]:
    """Parse a complete byte string (tests, fixtures, benchmarks)."""
    return AmiParser(expect_banner=expect_banner).feed(data)


class ActionEncodingError(ValueError):
    """A header name or value would break the AMI framing (CR/LF inside, or empty name)."""


HeaderValue = str | int | Sequence[str]


def iter_action_headers(
    action: str, fields: Mapping[str, HeaderValue]
) -> Iterator[tuple[str, str]]:
    yield "Action", action
    for name, value in fields.items():
        if isinstance(value, str | int):
            yield name, str(value)
        else:
            for item in value:
                yield name, item


def encode_message(headers: Iterable[tuple[str, str]]) -> bytes:
    """Encode headers as one AMI message.

    A CR or LF in a value would let the text end the message early and smuggle in a second
    action (a caller-controlled caller-ID name is enough), so it is refused outright.
    """
    parts: list[str] = []
    for name, value in headers:
        if not name or any(ch in name for ch in ":\r\n ") or "\r" in value or "\n" in value:
            raise ActionEncodingError(f"AMI header {name!r} cannot be encoded safely")
        parts.append(f"{name}: {value}\r\n")
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")


def encode_action(action: str, fields: Mapping[str, HeaderValue]) -> bytes:
    return encode_message(iter_action_headers(action, fields))
