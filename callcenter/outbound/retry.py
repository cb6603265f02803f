"""What an attempt's outcome does to its work item: done, closed, or tried again later, by
the retry rules per outcome (docs/outbound.md, "Outcomes and retries"). Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus
from callcenter.outbound.model import COUNTED, AttemptOutcome, DialRules, WorkItem


@dataclass(frozen=True)
class ItemAfter:
    """The item after an attempt: its status, the outcome it closes with (when closed), the
    attempts counted, and when it may be tried next (when still open)."""

    status: FollowUpStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    closing_outcome: str | None = None


def after_attempt(
    item: WorkItem,
    outcome: AttemptOutcome,
    at: dt.datetime,
    rules: DialRules,
    *,
    call_again_at: dt.datetime | None = None,
) -> ItemAfter:
    """``call_again_at``: the time the client asked for (an outcome of ``reached``)."""
    attempts = item.attempts + (1 if outcome in COUNTED else 0)
    if outcome is AttemptOutcome.COMPLETED:
        return ItemAfter(FollowUpStatus.DONE, attempts, None, "completed")
    # A care call the client refused, or one to a wrong number, ends there. A return visit
    # is a duty and a callback a promise: they are tried again (a refusal at most once a
    # day, compliance.py), until the attempt limit.
    duty = item.kind in (FollowUpKind.RETURN_VISIT, FollowUpKind.CALLBACK)
    if outcome in (AttemptOutcome.REFUSED, AttemptOutcome.WRONG_NUMBER) and not duty:
        return ItemAfter(FollowUpStatus.CANCELLED, attempts, None, outcome.value)
    if attempts >= rules.max_attempts:
        return ItemAfter(
            FollowUpStatus.CANCELLED,
            attempts,
            None,
            f"not reached after {attempts} attempts (last: {outcome.value})",
        )
    wait = rules.retry_after.get(outcome, dt.timedelta(0))
    next_at = at + wait
    if outcome is AttemptOutcome.REACHED and call_again_at is not None:
        next_at = max(call_again_at, at + rules.min_spacing)
    return ItemAfter(FollowUpStatus.OPEN, attempts, next_at)
