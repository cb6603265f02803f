"""The recordings' hash chain: an append-only ledger that makes tampering detectable.

Every event in a recording's life is one entry (``recording_chain``): ``created`` when the
agent answered and the row was written, ``completed`` with the finished file's SHA-256 and
size, ``failed`` with the reason, and (later) ``deleted`` when a purge removes an expired file.
Entry ``n`` stores the hash of entry ``n - 1``, and its own hash covers that::

    entry_hash(n) = sha256( bytes(prev_hash(n)) || canonical(entry n) )
    prev_hash(1)  = 64 zeros (the genesis)

So changing any entry (or the file it vouches for, whose hash is in the entry) breaks every
hash after it; removing or inserting an entry breaks the sequence and the links. The ledger's
head (its last ``seq`` and hash, ``recording_chain_head``) is written in the same transaction
as each entry, so cutting entries off the end is seen too. Anyone who can rewrite the whole
ledger and the head can forge it: docs/recording.md says how to anchor the head outside.

Pure functions only: the SQL is in callcenter/persistence/recordings.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

GENESIS = "0" * 64


class ChainKind(StrEnum):
    CREATED = "created"
    COMPLETED = "completed"
    FAILED = "failed"
    DELETED = "deleted"  # a purge removed the file (retention, issue 17 point 4)
    PAUSED = "paused"  # the agent paused the recording (point 3)
    RESUMED = "resumed"  # ... and it resumed (the agent, the limit, the call's end)


@dataclass(frozen=True)
class ChainFacts:
    """What an entry vouches for, before it has a place in the chain."""

    kind: ChainKind
    recording_id: int
    interaction_id: int | None
    path: str
    at: dt.datetime
    sha256: str | None = None  # the file's, for completed
    size: int | None = None
    detail: str | None = None  # a failure's reason, a deletion's cause


CONSULT_OF = "consult_of="  # a consult's created entry: the call's recording it belongs to


def consult_detail(consult_of_id: int | None) -> str | None:
    """The ``detail`` of a consult's ``created`` entry (None for a call's own recording)."""
    return None if consult_of_id is None else f"{CONSULT_OF}{consult_of_id}"


def consult_of(facts: ChainFacts) -> int | None:
    """The call's recording a ``created`` entry says this one is a consult of."""
    detail = facts.detail or ""
    if facts.kind is not ChainKind.CREATED or not detail.startswith(CONSULT_OF):
        return None
    number = detail.removeprefix(CONSULT_OF)
    return int(number) if number.isdigit() else None


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    facts: ChainFacts
    prev_hash: str
    entry_hash: str


def canonical(seq: int, facts: ChainFacts) -> bytes:
    """The entry as hashed: sorted-key JSON without spaces, the time in UTC to the microsecond
    (what both databases keep), so that the same facts always give the same bytes."""
    at = facts.at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    document = {
        "seq": seq,
        "kind": facts.kind.value,
        "recording_id": facts.recording_id,
        "interaction_id": facts.interaction_id,
        "path": facts.path,
        "at": at,
        "sha256": facts.sha256,
        "size": facts.size,
        "detail": facts.detail,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(prev_hash: str, seq: int, facts: ChainFacts) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(seq, facts)).hexdigest()


def next_entry(head_seq: int, head_hash: str, facts: ChainFacts) -> ChainEntry:
    """The entry that follows the head."""
    seq = head_seq + 1
    return ChainEntry(seq, facts, head_hash, entry_hash(head_hash, seq, facts))


@dataclass(frozen=True)
class ChainProblem:
    """One thing wrong with the chain itself; ``seq`` the entry it was found at."""

    problem: str  # entry-altered, entry-missing, entry-inserted, link-broken, head-mismatch
    seq: int
    detail: str
    recording_id: int | None = None  # what the entry found there says it is about
    path: str | None = None


def check_chain(entries: Sequence[ChainEntry], head_seq: int, head_hash: str) -> list[ChainProblem]:
    """Every link of the chain, in ``seq`` order, and its end against the head."""
    problems: list[ChainProblem] = []
    expected_seq, prev = 1, GENESIS
    last: ChainEntry | None = None

    def found(problem: str, entry: ChainEntry, detail: str) -> None:
        facts = entry.facts
        problems.append(ChainProblem(problem, entry.seq, detail, facts.recording_id, facts.path))

    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.seq > expected_seq:
            gap = f"{expected_seq}..{entry.seq - 1}"
            found("entry-missing", entry, f"entries {gap}, before this one, are gone")
        elif entry.seq < expected_seq:
            found("entry-inserted", entry, "a second entry with this seq")
        if entry.prev_hash != prev:
            found(
                "link-broken",
                entry,
                f"prev_hash {entry.prev_hash[:12]}... is not the previous entry's {prev[:12]}...",
            )
        if entry_hash(entry.prev_hash, entry.seq, entry.facts) != entry.entry_hash:
            found(
                "entry-altered",
                entry,
                f"its {entry.facts.kind.value} entry does not hash to its entry_hash",
            )
        expected_seq, prev, last = max(expected_seq, entry.seq + 1), entry.entry_hash, entry
    last_seq = expected_seq - 1
    if last_seq != head_seq or prev != head_hash:
        problems.append(
            ChainProblem(
                "head-mismatch",
                last_seq,
                f"the ledger ends at seq {last_seq}, its head says seq {head_seq}: entries "
                "were cut off the end or the head was changed",
                last.facts.recording_id if last is not None else None,
                last.facts.path if last is not None else None,
            )
        )
    return problems
