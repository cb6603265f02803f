"""A supervisor's care-call list (issue 18, point 1): care calls for a set of clients at
once, e.g. "the clients holding 600519 after its limit-down", or a list of ids. Each client
gets one care-call work item, unless one of the same kind and reason is already open for
them (a list sent twice creates nothing more)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from callcenter.crm.vocabulary import FollowUpKind
from callcenter.errors import InvalidInput
from callcenter.outbound.model import CARE_KINDS

MAX_CLIENT_IDS = 10_000
SYMBOL = re.compile(r"[0-9A-Z]{1,12}")


class CareListInvalid(InvalidInput):
    error_id = "care-list-invalid"


@dataclass(frozen=True)
class CareList:
    kind: FollowUpKind
    reason: str  # what the agent is told: why this client is called
    due_on: dt.date
    priority: int = 4
    holding_symbol: str | None = None  # clients whose latest positions hold it
    client_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in CARE_KINDS:
            raise CareListInvalid(
                f"a care list makes care calls: {sorted(k.value for k in CARE_KINDS)}",
                field="kind",
            )
        if (self.holding_symbol is None) == (not self.client_ids):
            raise CareListInvalid(
                "name the clients: a holding symbol or a list of client ids, one of the two",
                field="holding_symbol",
            )
        if self.holding_symbol is not None and not SYMBOL.fullmatch(self.holding_symbol):
            raise CareListInvalid("a security's code: digits and capitals", field="holding_symbol")
        if len(self.client_ids) > MAX_CLIENT_IDS:
            raise CareListInvalid(f"at most {MAX_CLIENT_IDS} clients a list", field="client_ids")
        if not 1 <= self.priority <= 9:
            raise CareListInvalid("a priority from 1 (first) to 9", field="priority")


@dataclass(frozen=True)
class CareListResult:
    created: int  # work items made
    already_open: int  # clients who had such an item open
    skipped_closed: int  # clients whose account is closed
