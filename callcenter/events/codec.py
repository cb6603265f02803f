"""Events to and from JSON-ready data, each field by the type its class declares.

One codec per event class, built from its type hints the first time it is needed. The types
an event may declare are few on purpose, so that an event crosses a process boundary as plain
JSON: ``str``, ``int``, ``float``, ``bool``, a ``StrEnum``, a ``Literal`` of strings,
``datetime`` (with its UTC offset), ``date``, ``tuple[X, ...]`` (a JSON list), ``Mapping[str,
Any]`` (a JSON object, already JSON-ready), a frozen dataclass of these (a JSON object of its
fields, such as the screen pop's client summary), and any of them ``| None``. A class
declaring anything else fails the first time it is encoded or decoded, with its field named.

Building an event is strict, from JSON or in code: a missing field without a default, a field
the class does not have, or a value of the wrong kind (``True`` for an id) is an
:class:`InvalidEvent` naming the topic and the field. Messages
name types, never values: an event's values may be a caller's number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union

Decode = Callable[[object], object]
Encode = Callable[[Any], object]


class EventError(ValueError):
    """An event that cannot be built or read: a publisher's or a peer's bug."""


class UnknownTopic(EventError):
    pass


class UnknownVersion(EventError):
    pass


class InvalidEvent(EventError):
    """A field missing, unknown, or of the wrong kind."""


class _Refused(Exception):
    """A value of the wrong kind, before the field's name is known."""


@dataclass(frozen=True)
class _Field:
    name: str
    decode: Decode
    encode: Encode
    required: bool


@dataclass(frozen=True)
class Codec:
    """How one event class's fields go to and come from JSON-ready data."""

    topic: str
    fields: tuple[_Field, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> _Field:
        return next(f for f in self.fields if f.name == name)

    def encode(self, event: object) -> dict[str, Any]:
        return {f.name: f.encode(getattr(event, f.name)) for f in self.fields}

    def arguments(self, data: Mapping[str, object]) -> dict[str, object]:
        """The keyword arguments of the class's constructor, from data naming every field
        without a default and no other (the values are checked by :meth:`normalise`)."""
        if not isinstance(data, Mapping):
            raise InvalidEvent(f"{self.topic}: the data is {type(data).__name__}, not an object")
        unknown = sorted(str(k) for k in data if k not in self.names)
        if unknown:
            raise InvalidEvent(f"{self.topic}: no field {', '.join(unknown)}")
        missing = [f.name for f in self.fields if f.required and f.name not in data]
        if missing:
            raise InvalidEvent(f"{self.topic}: field {', '.join(missing)} missing")
        return {str(k): v for k, v in data.items()}

    def normalise(self, event: object) -> None:
        """Check every field of a new event, and give each its declared type where JSON has
        none (an ISO string becomes a time, a list a tuple, a string its enum member). Run
        by every event's constructor: an event of the wrong kind is never published."""
        for f in self.fields:
            value = getattr(event, f.name)
            try:
                typed = f.decode(value)
            except _Refused as exc:
                raise InvalidEvent(f"{self.topic}: field {f.name}: {exc}") from None
            if typed is not value:
                object.__setattr__(event, f.name, typed)  # still being built: frozen after


def build_codec(cls: type) -> Codec:
    """The codec of a dataclass of events (slow: reads its type hints; build it once)."""
    topic = getattr(cls, "TOPIC", cls.__name__)
    hints = typing.get_type_hints(cls)
    fields = []
    for f in dataclasses.fields(cls):
        try:
            decode, encode = _kind(hints[f.name])
        except TypeError as exc:
            raise TypeError(f"{cls.__name__}.{f.name}: {exc}") from None
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        fields.append(_Field(f.name, decode, encode, required))
    return Codec(topic, tuple(fields))


def _kind(hint: object) -> tuple[Decode, Encode]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1 or len(args) != 2:
            raise TypeError(f"unsupported union {hint}: only X | None")
        return _optional(*_kind(inner[0]))
    if origin is Literal:
        if not all(isinstance(a, str) for a in args):
            raise TypeError(f"unsupported {hint}: a Literal of strings only")
        return _choice(frozenset(args)), _same
    if origin is tuple:
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"unsupported {hint}: tuple[X, ...] only")
        decode, encode = _kind(args[0])
        return _sequence(decode), lambda value: [encode(v) for v in value]
    if origin is Mapping:
        if args and args[0] is not str:
            raise TypeError(f"unsupported {hint}: Mapping[str, Any] only")
        return _object, dict
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not hint.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise TypeError(f"unsupported {hint.__name__}: a frozen dataclass only")
        return _record(hint)
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            return _member(hint), lambda value: value.value
        simple = _SIMPLE.get(hint)
        if simple is not None:
            return simple
    raise TypeError(f"unsupported type {hint}")


def _same(value: object) -> object:
    return value


def _record(kind: type) -> tuple[Decode, Encode]:
    """A dataclass nested in an event: given as itself or as a JSON object naming its fields
    (checked as strictly as an event's), each field of its declared kind."""
    codec = build_codec(kind)

    def decode(value: object) -> object:
        if isinstance(value, kind):
            given = {f.name: getattr(value, f.name) for f in codec.fields}
        elif isinstance(value, Mapping):
            try:
                given = codec.arguments(value)
            except InvalidEvent as exc:
                raise _Refused(str(exc)) from None
        else:
            raise _Refused(f"expected {kind.__name__} (an object), got {type(value).__name__}")
        typed = {}
        for f in codec.fields:  # in declaration order, no lookup by name: it runs per pop
            if f.name not in given:
                continue  # a field with a default, not given
            try:
                typed[f.name] = f.decode(given[f.name])
            except _Refused as exc:
                raise _Refused(f"{kind.__name__}.{f.name}: {exc}") from None
        if isinstance(value, kind) and all(typed[n] is given[n] for n in typed):
            return value
        return kind(**typed)

    return decode, codec.encode


def _optional(decode: Decode, encode: Encode) -> tuple[Decode, Encode]:
    return (
        lambda value: None if value is None else decode(value),
        lambda value: None if value is None else encode(value),
    )


def _choice(choices: frozenset[str]) -> Decode:
    def decode(value: object) -> object:
        if not isinstance(value, str) or value not in choices:
            raise _Refused(f"not one of {', '.join(sorted(choices))}")
        return value

    return decode


def _sequence(decode: Decode) -> Decode:
    def each(value: object) -> object:
        if not isinstance(value, list | tuple):
            raise _Refused(f"expected a list, got {type(value).__name__}")
        return tuple(decode(v) for v in value)

    return each


def _object(value: object) -> object:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _Refused(f"expected an object, got {type(value).__name__}")
    return value


def _member(kind: type[enum.Enum]) -> Decode:
    def decode(value: object) -> object:
        try:
            return kind(value)
        except ValueError:
            names = ", ".join(str(m.value) for m in kind)
            raise _Refused(f"not a {kind.__name__}: one of {names}") from None

    return decode


def _exactly(kind: type) -> Decode:
    """``int`` refuses ``True`` (bool is an int in Python: True must never be agent 1)."""

    def decode(value: object) -> object:
        if type(value) is not kind and not (kind is str and isinstance(value, str)):
            raise _Refused(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return decode


def _float(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Refused(f"expected a number, got {type(value).__name__}")
    return float(value)


def _datetime(value: object) -> object:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _Refused("not an ISO-8601 time") from None
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise _Refused("expected a time with its UTC offset")
    return value


def _date(value: object) -> object:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise _Refused("not an ISO-8601 date") from None
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise _Refused("expected a date")
    return value


def _isoformat(value: dt.date) -> str:
    return value.isoformat()


_SIMPLE: Mapping[type, tuple[Decode, Encode]] = {
    str: (_exactly(str), _same),
    int: (_exactly(int), _same),
    bool: (_exactly(bool), _same),
    float: (_float, _same),
    dt.datetime: (_datetime, _isoformat),
    dt.date: (_date, _isoformat),
}
