"""The wire format of the CTI websocket (docs/events.md is the catalogue).

Every message, both ways, is one JSON text frame; the server's are always
``{"type": ..., "epoch": ..., "seq": ..., "at": "<ISO-8601>", "data": {...}}``:

* a bus event keeps its topic as ``type`` and its ``seq`` (one counter for the whole service,
  so a client can tell what it has seen);
* ``epoch`` names this run of the service (the bus's counter, events/bus.py), on every
  message: the counter starts at 1 again after a restart, and a desk that keyed what it has
  seen by ``seq`` alone dropped the new run's events as repeats;
* a message made for one connection only (hello, ping, pong, error, state.ok, resumed, the
  state snapshot of a resume) has ``seq`` null;
* a pending screen pop sent again on resume keeps the ``seq`` it was first sent with.
  Clients tell messages apart by (epoch, type, seq), and forget what they saw of an earlier
  epoch.

What a client sends is parsed by :func:`parse_frame`: a frame that is not a JSON object in a
text frame, is too large, nests too deep or holds a lone surrogate, is a
:class:`ProtocolViolation` (the edge closes the connection); a well-formed message of an
unknown type or with bad fields is a :class:`MessageRefused` (answered with an ``error``
message; the connection stays).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callcenter.cti.projections import projection_of
from callcenter.errors import DomainError, InvalidInput
from callcenter.events import Envelope, Event

MAX_FRAME_BYTES = 64 * 1024
# Arrays and objects within one another; a client's messages use one level. Python's json
# recurses once per level, so a 64 KiB frame of "[" would exhaust the stack (RecursionError).
MAX_NESTING = 32
MAX_REF_LENGTH = 64  # the client's own correlation id, echoed in replies
MAX_EPOCH_LENGTH = 64  # a run's name as a client sends it back (ours are 16 characters)
AGENT_STATES = ("ready", "not_ready")  # what an agent may ask for (the REST route's choice)


# --- server -> client ---------------------------------------------------------------------


def _plain(value: object) -> object:
    """What json cannot encode by itself, as the API encodes it."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(
    kind: str, seq: int | None, at: dt.datetime, data: Mapping[str, Any], *, epoch: str
) -> str:
    """One message as its text frame (UTF-8 as is: Chinese names are not escaped)."""
    return json.dumps(
        {"type": kind, "epoch": epoch, "seq": seq, "at": at.isoformat(), "data": dict(data)},
        ensure_ascii=False,
        separators=(",", ":"),
        default=_plain,
    )


def event_message(event: Envelope[Event], epoch: str) -> str | None:
    """A bus event of the run ``epoch`` as the message a socket gets: its projection
    (projections.py) as data. None for an event that never goes to a socket."""
    projection = projection_of(event.payload)
    if projection is None:
        return None
    data = projection.data(event.payload)
    return encode(event.topic, event.seq, event.at, data, epoch=epoch)


# --- client -> server ---------------------------------------------------------------------


class ProtocolViolation(DomainError):
    """A frame the server does not read at all: the connection is closed."""

    error_id = "protocol-violation"


class FrameNotText(ProtocolViolation):
    error_id = "frame-not-text"


class FrameTooLarge(ProtocolViolation):
    error_id = "frame-too-large"


class MalformedFrame(ProtocolViolation):
    """Not JSON, not an object, no string ``type``, nested too deep, or a lone surrogate."""

    error_id = "malformed-frame"


class MessageRefused(InvalidInput):
    """A well-formed message the server will not act on: answered with an ``error``."""

    error_id = "message-refused"


class UnknownMessageType(MessageRefused):
    error_id = "unknown-message-type"


class InvalidMessage(MessageRefused):
    error_id = "invalid-message"


@dataclass(frozen=True)
class Ping:
    """The client checks the server is there; answered with ``pong``."""


@dataclass(frozen=True)
class Pong:
    """The answer to the server's ``ping``."""


@dataclass(frozen=True)
class Resume:
    """After a reconnect: send again what is still pending for me. ``last_seq`` counts in
    the run ``epoch`` (the last the client saw; None: not said)."""

    last_seq: int | None
    epoch: str | None = None


@dataclass(frozen=True)
class StateChange:
    """The agent's own ready / not ready, as ``POST /api/agents/me/state``."""

    state: str
    reason: str | None
    ref: str | None


ClientMessage = Ping | Pong | Resume | StateChange


def frame_size(text: str) -> int:
    """The frame's size in bytes, without encoding a frame that is plainly small."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def parse_frame(
    text: str | None, data: bytes | None, *, max_bytes: int = MAX_FRAME_BYTES
) -> ClientMessage:
    """One frame from a client, as the message it is."""
    if text is None:
        size = 0 if data is None else len(data)
        raise FrameNotText("only JSON text frames are accepted", bytes=size)
    size = frame_size(text)
    if size > max_bytes:
        raise FrameTooLarge(f"frame of {size} bytes; at most {max_bytes}", bytes=size)
    try:
        body = json.loads(text)
    except RecursionError:
        raise MalformedFrame(f"nested deeper than {MAX_NESTING} levels") from None
    except ValueError as exc:  # JSONDecodeError, and numbers too long to convert
        raise MalformedFrame(f"not JSON: {exc}") from exc
    if _nests_deeper(text, body, MAX_NESTING):
        raise MalformedFrame(f"nested deeper than {MAX_NESTING} levels")
    if "\\u" in text and not _is_unicode(body):
        raise MalformedFrame("a lone surrogate (\\ud800-\\udfff): not Unicode text")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise MalformedFrame('a message is a JSON object with a string "type"')
    return _message(body)


def _nests_deeper(text: str, body: object, limit: int) -> bool:
    if text.count("[") + text.count("{") <= limit:
        return False  # too few brackets to nest that deep: every usual frame stops here
    level: list[object] = [body]
    for _ in range(limit):
        level = [
            child
            for value in level
            if isinstance(value, dict | list)
            for child in (value.values() if isinstance(value, dict) else value)
        ]
    return any(isinstance(value, dict | list) for value in level)


def _is_unicode(body: object) -> bool:
    """No lone surrogate in any string or key: json reads the escape ``\\ud800`` into one, which
    no UTF-8 text holds (an error echoing it would fail to send)."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _ref(body: Mapping[str, Any]) -> str | None:
    ref = body.get("ref")
    if ref is None:
        return None
    if not isinstance(ref, str) or len(ref) > MAX_REF_LENGTH:
        raise InvalidMessage(f'"ref" is a string of at most {MAX_REF_LENGTH} characters')
    return ref


def _message(body: Mapping[str, Any]) -> ClientMessage:
    kind = body["type"]
    ref = _ref(body)
    if kind == "pong":
        return Pong()
    if kind == "ping":
        return Ping()
    if kind == "resume":
        last_seq = body.get("last_seq")
        if last_seq is not None and (type(last_seq) is not int or last_seq < 0):
            raise InvalidMessage('"last_seq" is a whole number from 0, or null', ref=ref)
        epoch = body.get("epoch")
        if epoch is not None and (not isinstance(epoch, str) or len(epoch) > MAX_EPOCH_LENGTH):
            raise InvalidMessage(
                f'"epoch" is a string of at most {MAX_EPOCH_LENGTH} characters, or null', ref=ref
            )
        return Resume(last_seq, epoch)
    if kind == "state":
        state, reason = body.get("state"), body.get("reason")
        if state not in AGENT_STATES:
            raise InvalidMessage('"state" is "ready" or "not_ready"', ref=ref)
        if reason is not None and not isinstance(reason, str):
            raise InvalidMessage('"reason" is a string or null', ref=ref)
        return StateChange(state, reason, ref)
    raise UnknownMessageType(
        f"unknown message type {kind[:40]!r}: ping, pong, resume or state", ref=ref
    )
