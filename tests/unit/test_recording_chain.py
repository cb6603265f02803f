"""The recordings' hash chain (callcenter/crm/recording_chain.py): a clean chain has no problem;
an altered entry, a missing one, an inserted one, one cut off the end and a changed head are
each found at the right entry and name its recording; a consult's link is in its entry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

from callcenter.crm.recording_chain import (
    GENESIS,
    ChainEntry,
    ChainFacts,
    ChainKind,
    check_chain,
    consult_detail,
    consult_of,
    entry_hash,
    next_entry,
)

AT = dt.datetime(2026, 12, 7, 9, 30, 0, 123456, tzinfo=dt.UTC)


def facts(n: int) -> ChainFacts:
    """The n-th event: recordings 1, 2, 3... each created then completed."""
    recording_id = (n + 1) // 2
    path = f"2026/12/07/{100 + recording_id}-1765000000.{recording_id}.wav"
    if n % 2:
        return ChainFacts(ChainKind.CREATED, recording_id, 100 + recording_id, path, AT)
    return ChainFacts(
        ChainKind.COMPLETED,
        recording_id,
        100 + recording_id,
        path,
        AT + dt.timedelta(minutes=n),
        sha256="ab" * 32,
        size=1_920_044,
    )


def chain(length: int = 6) -> list[ChainEntry]:
    entries: list[ChainEntry] = []
    seq, head = 0, GENESIS
    for n in range(1, length + 1):
        entry = next_entry(seq, head, facts(n))
        entries.append(entry)
        seq, head = entry.seq, entry.entry_hash
    return entries


def head_of(entries: list[ChainEntry]) -> tuple[int, str]:
    return entries[-1].seq, entries[-1].entry_hash


def found(entries: list[ChainEntry], head: tuple[int, str]) -> list[tuple[str, int, int | None]]:
    return [(p.problem, p.seq, p.recording_id) for p in check_chain(entries, *head)]


def test_a_clean_chain_and_an_empty_one_have_no_problem() -> None:
    entries = chain()
    assert check_chain(entries, *head_of(entries)) == []
    assert check_chain([], 0, GENESIS) == []


def test_each_entry_links_to_the_one_before_and_hashes_its_facts() -> None:
    entries = chain(3)
    assert entries[0].prev_hash == GENESIS
    assert [e.seq for e in entries] == [1, 2, 3]
    for before, entry in itertools.pairwise(entries):
        assert entry.prev_hash == before.entry_hash
    assert entries[1].entry_hash == entry_hash(entries[0].entry_hash, 2, facts(2))
    # The time is hashed in UTC: the same moment written in another zone gives the same hash.
    beijing = dt.timezone(dt.timedelta(hours=8))
    shifted = dataclasses.replace(facts(1), at=AT.astimezone(beijing))
    assert entry_hash(GENESIS, 1, shifted) == entries[0].entry_hash


def test_an_altered_entry_is_found_at_its_seq_naming_its_recording() -> None:
    entries = chain()
    bigger = dataclasses.replace(entries[3].facts, size=1_920_045)  # recording 2's completed
    entries[3] = dataclasses.replace(entries[3], facts=bigger)
    problems = check_chain(entries, *head_of(entries))
    assert [(p.problem, p.seq, p.recording_id) for p in problems] == [("entry-altered", 4, 2)]
    assert problems[0].path == facts(4).path


def test_an_entry_altered_and_rehashed_breaks_the_next_link() -> None:
    entries = chain()
    other = dataclasses.replace(entries[2].facts, path="2026/12/07/999-forged.wav")
    rehashed = entry_hash(entries[2].prev_hash, 3, other)
    entries[2] = ChainEntry(3, other, entries[2].prev_hash, rehashed)
    assert found(entries, head_of(chain())) == [("link-broken", 4, 2)]


def test_a_missing_entry_is_found_where_the_gap_is() -> None:
    entries = chain()
    head = head_of(entries)
    del entries[2]  # seq 3: recording 2's created
    assert found(entries, head) == [("entry-missing", 4, 2), ("link-broken", 4, 2)]


def test_an_inserted_entry_is_found() -> None:
    entries = chain()
    head = head_of(entries)
    forged_facts = ChainFacts(ChainKind.DELETED, 1, 101, facts(1).path, AT, detail="forged")
    forged = next_entry(2, entries[1].entry_hash, forged_facts)  # a second seq 3
    entries.insert(3, forged)
    # Named at the second seq 3; it does not link to the first, nor seq 4 to it.
    assert found(entries, head) == [
        ("entry-inserted", 3, 1),
        ("link-broken", 3, 1),
        ("link-broken", 4, 2),
    ]


def test_an_entry_appended_behind_the_heads_back_is_a_head_mismatch() -> None:
    entries = chain()
    head = head_of(entries)
    entries.append(next_entry(6, entries[-1].entry_hash, facts(7)))
    assert found(entries, head) == [("head-mismatch", 7, 4)]


def test_entries_cut_off_the_end_are_a_head_mismatch() -> None:
    entries = chain()
    head = head_of(entries)
    assert found(entries[:-2], head) == [("head-mismatch", 4, 2)]
    assert found([], head) == [("head-mismatch", 0, None)]


def test_a_changed_head_is_a_head_mismatch() -> None:
    entries = chain()
    seq, _hash = head_of(entries)
    assert found(entries, (seq, "f" * 64)) == [("head-mismatch", 6, 3)]


def test_a_whole_chain_rewritten_with_its_head_is_consistent() -> None:
    """The limit docs/recording.md states: whoever rewrites every entry and the head forges
    a consistent ledger; only a copy of the head kept outside shows it."""
    entries = chain()
    original_head = head_of(entries)
    forged: list[ChainEntry] = []
    seq, head = 0, GENESIS
    for entry in entries:
        changed = dataclasses.replace(entry.facts, sha256="cd" * 32) if entry.facts.sha256 else None
        new = next_entry(seq, head, changed or entry.facts)
        forged.append(new)
        seq, head = new.seq, new.entry_hash
    assert check_chain(forged, *head_of(forged)) == []
    assert head_of(forged) != original_head


def test_a_consults_created_entry_names_the_calls_recording() -> None:
    created = ChainFacts(ChainKind.CREATED, 8, 101, "p.wav", AT, detail=consult_detail(7))
    assert consult_of(created) == 7
    assert consult_detail(None) is None
    assert consult_of(facts(1)) is None
    completed = dataclasses.replace(created, kind=ChainKind.COMPLETED)
    assert consult_of(completed) is None
    # ... and the link is hashed: changing it alters the entry.
    entry = next_entry(0, GENESIS, created)
    relinked = dataclasses.replace(created, detail=consult_detail(9))
    assert entry_hash(GENESIS, 1, relinked) != entry.entry_hash
