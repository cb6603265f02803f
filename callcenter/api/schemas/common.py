"""Shapes shared by the API's resources: money, pages, error bodies, constrained strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from callcenter.crm.ports import MAX_PAGE

ItemT = TypeVar("ItemT")

Id = Annotated[int, Field(gt=0)]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE, description=f"at most {MAX_PAGE}")]
Offset = Annotated[int, Field(ge=0)]
Version = Annotated[int, Field(ge=1, description="the version you read; a stale one gets 409")]


def text(max_length: int, min_length: int = 1) -> Any:
    """A string, trimmed, within these lengths."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


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
    """The body of every domain error: a stable id to branch on, and a message for people."""

    error: str = Field(examples=["stale-version"])
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for domain errors."""
    return {status: {"model": ErrorOut} for status in statuses}
