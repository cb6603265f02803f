"""Shapes shared by the API's resources: money, pages, error bodies, constrained strings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

import annotated_types
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from callcenter.crm.ports import MAX_PAGE

ItemT = TypeVar("ItemT")

# The largest value of an INTEGER column: 32 bits, signed, on PostgreSQL (SQLite's hold 64).
# Every id, version and count a request carries goes into such a column
# (persistence/tables.py): a larger one names no row, and the database driver refuses to send
# it at all (an error, not "no such row"). So it is refused here, a 422 naming the field.
MAX_INTEGER = 2**31 - 1

Id = Annotated[int, Field(gt=0, le=MAX_INTEGER)]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE, description=f"at most {MAX_PAGE}")]
# No table holds more rows than its ids can count.
Offset = Annotated[int, Field(ge=0, le=MAX_INTEGER)]
Version = Annotated[
    int,
    Field(ge=1, le=MAX_INTEGER, description="the version you read; a stale one gets 409"),
]
Count = Annotated[int, Field(ge=0, le=MAX_INTEGER)]


def _storable(value: dt.datetime) -> dt.datetime:
    """Times are stored in UTC (persistence/tables.py: UtcDateTime): 0001-01-01T00:00+08:00 is
    a valid time that no UTC datetime can hold."""
    try:
        value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("the time in UTC falls outside the years 1 to 9999") from None
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_storable)]


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a NUL character (\\u0000) cannot be stored")
    return value


@dataclass(frozen=True)
class _Text(annotated_types.GroupedMetadata):
    min_length: int
    max_length: int

    def __iter__(self) -> Iterator[object]:
        yield StringConstraints(
            strip_whitespace=True, min_length=self.min_length, max_length=self.max_length
        )
        # PostgreSQL's text types hold no NUL (SQLite's do): refused here, not by the driver.
        yield AfterValidator(_without_nul)


def text(max_length: int, min_length: int = 1) -> Any:
    """A string, trimmed, within these lengths, that every database can store."""
    return _Text(min_length, max_length)


class StrictModel(BaseModel):
    """Request bodies: an unknown field is an error (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class Money(BaseModel):
    """An amount of CNY: exact integer fen, and the same in yuan as a decimal string."""

    fen: int
    yuan: str = Field(examples=["1234.56"])

    @classmethod
    def of(cls, fen: int) -> Money:
        return cls(fen=fen, yuan=str(Decimal(fen).scaleb(-2).quantize(Decimal("0.01"))))


class PageOut(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    limit: int
    offset: int
    has_more: bool = Field(description="another page follows (offset + limit)")


class ErrorOut(BaseModel):
    """The body of every error: a stable id to branch on, and a message for people. A request
    that does not fit its schema is 422 ``invalid-request``, its detail the list of what was
    wrong, each with its ``loc`` and ``msg`` (api/errors.py)."""

    error: str = Field(examples=["stale-version"])
    message: str
    detail: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for domain errors."""
    return {status: {"model": ErrorOut} for status in statuses}
