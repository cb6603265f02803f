"""The audit log as compliance reads it: the query's parameters, a page, the CSV form."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from callcenter.api.schemas.callstats import UTF8_BOM, csv_cell
from callcenter.api.schemas.common import Id, Limit, Offset, Timestamp, text
from callcenter.crm.ports import Page
from callcenter.persistence.audit import AuditFilter, AuditRow

CSV_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_username",
    "action",
    "client_id",
    "interaction_id",
    "detail",
)


class AuditFilterParams(BaseModel):
    """Which entries: all of them when no filter is given."""

    # "from" is a Python keyword: the field is from_, the query parameter "from".
    from_: Timestamp | None = Field(default=None, alias="from", description="at or after")
    to: Timestamp | None = Field(default=None, description="before")
    actor_id: Id | None = Field(default=None, description="who acted (a user id)")
    action: Annotated[str, text(40)] | None = Field(default=None, description="e.g. client.view")
    client_id: Id | None = None

    @model_validator(mode="after")
    def _from_before_to(self) -> AuditFilterParams:
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise ValueError("'to' must be after 'from'")
        return self

    def to_filter(self) -> AuditFilter:
        return AuditFilter(self.from_, self.to, self.actor_id, self.action, self.client_id)


class AuditQueryParams(AuditFilterParams):
    limit: Limit = 50
    offset: Offset = 0


class AuditEntryOut(BaseModel):
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_username: str | None
    action: str
    client_id: int | None
    interaction_id: int | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: AuditRow) -> AuditEntryOut:
        return cls(**row.__dict__)


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    limit: int
    offset: int
    has_more: bool

    @classmethod
    def of(cls, page: Page[AuditRow]) -> AuditPageOut:
        return cls(
            items=[AuditEntryOut.of(row) for row in page.items],
            limit=page.limit,
            offset=page.offset,
            has_more=page.has_more,
        )


def audit_csv_line(values: Iterable[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(csv_cell(v) for v in values)
    return out.getvalue()


def audit_csv_values(row: AuditRow) -> list[object]:
    """One entry as CSV fields: the detail as compact JSON (its keys sorted), the time in
    ISO 8601 UTC. A text a spreadsheet would run as a formula gets a leading apostrophe."""
    return [
        row.id,
        row.at.isoformat(),
        row.actor_id,
        row.actor_username,
        row.action,
        row.client_id,
        row.interaction_id,
        json.dumps(row.detail, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
    ]


async def audit_csv(rows: AsyncIterator[AuditRow]) -> AsyncIterator[str]:
    """The whole CSV, a line at a time (UTF-8 with a byte-order mark for Excel)."""
    yield UTF8_BOM + audit_csv_line(CSV_COLUMNS)
    async for row in rows:
        yield audit_csv_line(audit_csv_values(row))
