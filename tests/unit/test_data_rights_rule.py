"""The erasure rule (callcenter/crm/data_rights.py): one case per blocker, the day a
retention period lifts, and 29 February."""

from __future__ import annotations

import datetime as dt

from callcenter.crm.data_rights import (
    Blocker,
    ErasureBlock,
    ErasureFacts,
    erasure_blockers,
    pseudonym,
    retention_ends,
)

TODAY = dt.date(2026, 12, 7)
LONG_AGO = dt.date(2020, 6, 30)


def facts(**changes: object) -> ErasureFacts:
    """A client whose every record is long past its retention: erasable."""
    base: dict[str, object] = {
        "erased": False,
        "account_closed_on": LONG_AGO,
        "complaints_in_hand": 0,
        "last_complaint_closed_at": dt.datetime(2020, 7, 1, 8, 0, tzinfo=dt.UTC),
        "last_contact_at": dt.datetime(2020, 6, 29, 9, 0, tzinfo=dt.UTC),
    }
    base.update(changes)
    return ErasureFacts(**base)  # type: ignore[arg-type]


def test_a_closed_account_past_every_retention_may_be_erased() -> None:
    assert erasure_blockers(facts(), TODAY) == []


def test_a_client_never_contacted_and_closed_long_ago_may_be_erased() -> None:
    assert erasure_blockers(facts(last_complaint_closed_at=None, last_contact_at=None), TODAY) == []


def test_an_open_account_blocks_until_it_is_closed() -> None:
    blocks = erasure_blockers(facts(account_closed_on=None), TODAY)
    assert blocks == [ErasureBlock(Blocker.ACCOUNT_OPEN)]


def test_a_complaint_in_hand_is_a_legal_hold() -> None:
    blocks = erasure_blockers(facts(complaints_in_hand=1), TODAY)
    assert blocks == [ErasureBlock(Blocker.COMPLAINT_IN_HAND)]


def test_an_account_closed_less_than_three_years_ago_is_kept_until_the_third_anniversary() -> None:
    closed = dt.date(2024, 3, 15)
    blocks = erasure_blockers(facts(account_closed_on=closed), TODAY)
    assert blocks == [ErasureBlock(Blocker.RETENTION, dt.date(2027, 3, 15))]
    assert erasure_blockers(facts(account_closed_on=closed), dt.date(2027, 3, 14)) != []
    assert erasure_blockers(facts(account_closed_on=closed), dt.date(2027, 3, 15)) == []


def test_a_recent_complaint_or_contact_keeps_the_record_whole() -> None:
    closed_complaint = dt.datetime(2025, 1, 10, 23, 0, tzinfo=dt.UTC)
    assert erasure_blockers(facts(last_complaint_closed_at=closed_complaint), TODAY) == [
        ErasureBlock(Blocker.RETENTION, dt.date(2028, 1, 10))
    ]
    contact = dt.datetime(2026, 1, 2, 3, 0, tzinfo=dt.UTC)
    assert erasure_blockers(facts(last_contact_at=contact), TODAY) == [
        ErasureBlock(Blocker.RETENTION, dt.date(2029, 1, 2))
    ]


def test_the_latest_record_decides_when_retention_ends() -> None:
    blocks = erasure_blockers(
        facts(
            account_closed_on=dt.date(2024, 5, 1),
            last_contact_at=dt.datetime(2025, 8, 1, tzinfo=dt.UTC),
            last_complaint_closed_at=dt.datetime(2024, 9, 1, tzinfo=dt.UTC),
        ),
        TODAY,
    )
    assert blocks == [ErasureBlock(Blocker.RETENTION, dt.date(2028, 8, 1))]


def test_every_blocker_is_named_at_once() -> None:
    blocks = erasure_blockers(
        facts(
            account_closed_on=None,
            complaints_in_hand=2,
            last_contact_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        ),
        TODAY,
    )
    assert [b.blocker for b in blocks] == [
        Blocker.ACCOUNT_OPEN,
        Blocker.COMPLAINT_IN_HAND,
        Blocker.RETENTION,
    ]


def test_an_erased_client_cannot_be_erased_again() -> None:
    assert erasure_blockers(facts(erased=True), TODAY) == [ErasureBlock(Blocker.ALREADY_ERASED)]


def test_retention_from_29_february_ends_on_1_march() -> None:
    assert retention_ends(dt.date(2024, 2, 29)) == dt.date(2027, 3, 1)
    assert retention_ends(dt.date(2023, 2, 28)) == dt.date(2026, 2, 28)


def test_the_pseudonym_names_the_record_only() -> None:
    assert pseudonym(42) == "erased-42"
