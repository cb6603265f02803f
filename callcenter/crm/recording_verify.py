"""``callcenter recordings verify``: the chain, every row against it, every file against both.

What each finding means (its ``problem``):

* ``entry-altered``, ``entry-missing``, ``entry-inserted``, ``link-broken``, ``head-mismatch``:
  the ledger itself (callcenter/crm/recording_chain.py).
* ``row-removed``: the ledger has a recording the ``recordings`` table no longer has.
* ``row-inserted``: a row the ledger never saw created (added behind the service's back).
* ``row-altered``: a row whose path, interaction, status, hash, size or call it is a consult
  of is not what the ledger recorded.
* ``file-missing``: a complete recording's file is gone.
* ``file-modified``: a file whose SHA-256 or size is not the one the ledger recorded.
* ``file-unknown``: a file in the storage that no recording names (an inserted file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from callcenter.crm.recording_chain import ChainEntry, ChainKind, check_chain, consult_of
from callcenter.crm.recordings import Recording, RecordingStatus, RecordingStorage, written_path


@dataclass(frozen=True)
class Finding:
    problem: str
    recording_id: int | None
    path: str | None
    detail: str

    def __str__(self) -> str:
        where = f"recording {self.recording_id}" if self.recording_id is not None else "-"
        return f"{self.problem}\t{where}\t{self.path or '-'}\t{self.detail}"


@dataclass
class Verification:
    recordings: int = 0
    entries: int = 0
    files_hashed: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class _Vouched:
    """What the ledger says of one recording."""

    interaction_id: int | None
    path: str
    created: bool = False
    status: RecordingStatus = RecordingStatus.RECORDING
    sha256: str | None = None
    size: int | None = None
    deleted: bool = False
    consult_of_id: int | None = None


def _vouched(entries: Sequence[ChainEntry]) -> dict[int, _Vouched]:
    known: dict[int, _Vouched] = {}
    for entry in sorted(entries, key=lambda e: e.seq):
        facts = entry.facts
        said = known.setdefault(facts.recording_id, _Vouched(facts.interaction_id, facts.path))
        if facts.kind is ChainKind.CREATED:
            said.created, said.consult_of_id = True, consult_of(facts)
        elif facts.kind is ChainKind.COMPLETED:
            said.status, said.sha256, said.size = RecordingStatus.COMPLETE, facts.sha256, facts.size
        elif facts.kind is ChainKind.FAILED:
            said.status = RecordingStatus.FAILED
        elif facts.kind is ChainKind.DELETED:
            said.status, said.deleted = RecordingStatus.DELETED, True
    return known


def _row_against(row: Recording, said: _Vouched) -> list[str]:
    wrong = []
    if row.path != said.path:
        wrong.append(f"path {row.path!r}, the ledger {said.path!r}")
    if row.interaction_id != said.interaction_id:
        wrong.append(f"interaction {row.interaction_id}, the ledger {said.interaction_id}")
    if row.consult_of_id != said.consult_of_id:
        wrong.append(f"consult of {row.consult_of_id}, the ledger {said.consult_of_id}")
    if row.status is not said.status:
        wrong.append(f"status {row.status.value}, the ledger {said.status.value}")
    if said.status is RecordingStatus.COMPLETE and (row.sha256, row.size_bytes) != (
        said.sha256,
        said.size,
    ):
        wrong.append("sha256 or size differs from the ledger's")
    return wrong


async def verify_recordings(
    recordings: Sequence[Recording],
    entries: Sequence[ChainEntry],
    head_seq: int,
    head_hash: str,
    storage: RecordingStorage,
) -> Verification:
    result = Verification(recordings=len(recordings), entries=len(entries))
    findings = result.findings
    for problem in check_chain(entries, head_seq, head_hash):
        findings.append(
            Finding(
                problem.problem,
                problem.recording_id,
                problem.path,
                f"seq {problem.seq}: {problem.detail}",
            )
        )
    said_of = _vouched(entries)
    rows = {row.id: row for row in recordings}
    for recording_id, said in sorted(said_of.items()):
        if recording_id not in rows:
            findings.append(
                Finding("row-removed", recording_id, said.path, "in the ledger, not in the table")
            )
    for row in recordings:
        said_or_none = said_of.get(row.id)
        if said_or_none is None or not said_or_none.created:
            findings.append(
                Finding("row-inserted", row.id, row.path, "the ledger never recorded it created")
            )
            continue
        for wrong in _row_against(row, said_or_none):
            findings.append(Finding("row-altered", row.id, row.path, wrong))
    named: set[str] = set()
    for recording_id, said in sorted(said_of.items()):
        named.update({said.path, written_path(said.path)})
        if said.status is not RecordingStatus.COMPLETE or said.deleted:
            continue
        digest = await storage.digest(said.path)
        result.files_hashed += 1
        if digest is None:
            findings.append(Finding("file-missing", recording_id, said.path, "no such file"))
        elif digest != (said.sha256, said.size):
            findings.append(
                Finding(
                    "file-modified",
                    recording_id,
                    said.path,
                    f"sha256 {digest[0][:16]}... ({digest[1]} bytes), the ledger "
                    f"{(said.sha256 or '')[:16]}... ({said.size} bytes)",
                )
            )
    named.update(path for row in recordings for path in (row.path, written_path(row.path)))
    for path in await storage.paths():
        if path not in named:
            findings.append(Finding("file-unknown", None, path, "no recording names this file"))
    return result
