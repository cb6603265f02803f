"""Reconciliation: the interactions of a day against Asterisk's own record of its calls. Pure.

Asterisk's record (CEL, callcenter/pbx/cel.py) is the truth of which hotline calls there were
and when each ended; the interactions are what the service wrote. For the calls of one day:

- **missing**: Asterisk had the call, no interaction has its call id;
- **duplicated**: more than one interaction belongs to one call (its call id, or Asterisk's
  linked id of the call under another call id);
- **ended wrong**: the call ended in Asterisk but its interaction is still open, or ended more
  than the tolerance away from Asterisk's end;
- **not in Asterisk**: an inbound call's interaction of the day whose call id Asterisk never
  had (written for a call that did not exist, or the record is not the one of this Asterisk).

A call still up in Asterisk is left alone, and so is its open interaction.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from callcenter.pbx.cel import HotlineCall

END_TOLERANCE: Final = dt.timedelta(seconds=5)


class Problem(StrEnum):
    MISSING = "missing"
    DUPLICATED = "duplicated"
    ENDED_WRONG = "ended_wrong"
    NOT_IN_ASTERISK = "not_in_asterisk"


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """What the reconciliation reads of an inbound voice interaction."""

    interaction_id: int
    call_id: str | None
    asterisk_linkedid: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Finding:
    problem: Problem
    call_id: str
    interaction_ids: tuple[int, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class Reconciliation:
    calls: int  # hotline calls Asterisk had in the range
    interactions: int  # interactions compared with them
    findings: list[Finding] = field(default_factory=list)

    @property
    def counts(self) -> dict[Problem, int]:
        counted = Counter(f.problem for f in self.findings)
        return {problem: counted.get(problem, 0) for problem in Problem}

    @property
    def ok(self) -> bool:
        return not self.findings


def _belongs(
    calls: list[HotlineCall], recorded: Iterable[RecordedCall]
) -> tuple[dict[str, list[RecordedCall]], list[RecordedCall]]:
    """Each call's interactions (by call id, else by linked id), and those of no call."""
    by_call_id = {c.call_id: c for c in calls}
    by_linkedid = {c.asterisk_linkedid: c for c in calls}
    found: dict[str, list[RecordedCall]] = defaultdict(list)
    strays = []
    for record in recorded:
        call = by_call_id.get(record.call_id or "") or by_linkedid.get(
            record.asterisk_linkedid or ""
        )
        if call is None:
            strays.append(record)
        else:
            found[call.call_id].append(record)
    return found, strays


def _end_finding(
    call: HotlineCall, record: RecordedCall, tolerance: dt.timedelta
) -> Finding | None:
    if call.ended_at is None:
        return None
    if record.ended_at is None:
        detail = f"still open; Asterisk ended it at {call.ended_at.isoformat()}"
    elif abs(record.ended_at - call.ended_at) > tolerance:
        off = (record.ended_at - call.ended_at).total_seconds()
        detail = f"ended {off:+.1f} s from Asterisk's end {call.ended_at.isoformat()}"
    else:
        return None
    return Finding(Problem.ENDED_WRONG, call.call_id, (record.interaction_id,), detail)


def reconcile(
    calls: Iterable[HotlineCall],
    recorded: Iterable[RecordedCall],
    *,
    start: dt.datetime,
    end: dt.datetime,
    tolerance: dt.timedelta = END_TOLERANCE,
) -> Reconciliation:
    """Compare the calls that started in ``[start, end)`` with ``recorded``: the inbound voice
    interactions that started then, and any other that names one of those calls."""
    in_range = [c for c in calls if start <= c.started_at < end]
    records = list(recorded)
    found, strays = _belongs(in_range, records)
    findings: list[Finding] = []
    for call in in_range:
        mine = found.get(call.call_id, [])
        if not mine:
            findings.append(Finding(Problem.MISSING, call.call_id, (), _missing_detail(call)))
            continue
        if len(mine) > 1:
            ids = tuple(sorted(r.interaction_id for r in mine))
            findings.append(Finding(Problem.DUPLICATED, call.call_id, ids, f"{len(ids)} records"))
        for record in mine:
            wrong = _end_finding(call, record, tolerance)
            if wrong is not None:
                findings.append(wrong)
    for record in strays:
        if start <= record.started_at < end:
            findings.append(
                Finding(
                    Problem.NOT_IN_ASTERISK,
                    record.call_id or "",
                    (record.interaction_id,),
                    "no such call in Asterisk's record",
                )
            )
    compared = sum(len(v) for v in found.values()) + sum(
        1 for r in strays if start <= r.started_at < end
    )
    return Reconciliation(len(in_range), compared, findings)


def _missing_detail(call: HotlineCall) -> str:
    # No caller number: a report is no place for a client's phone number.
    how = f"taken by the fallback ({call.fallback})" if call.fallback else "no fallback"
    return f"to {call.called or '?'} at {call.started_at.isoformat()}: {how}"
