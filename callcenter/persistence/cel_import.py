"""Calls the service never saw, written from Asterisk's own record (CEL): the import.

The dialplan's fallback takes the hotline calls the service does not pick up (down, restarting,
its AMI link lost, or a call it gave up); a caller may also hang up before anyone picked the
call up. Asterisk records every one of them (callcenter/pbx/cel.py); this import writes them
where the reports read: an interaction per call (callcenter/pbx/unseen_calls.py says which),
and a callback request when the caller asked for one in the fallback. A call the service did
record is checked too, and Asterisk's end written where the record's is wrong:

- a record ended more than the tolerance away from Asterisk's end (the service learnt of the
  end late: a restart's adoption ends a call that ended while it was down when it comes back);
- a record still open, when the running service itself saw the call start (its handler failed
  and left it): open records of calls from before the service started are its adoption's
  (callcenter/pbx/adoption.py), which also finishes their agent's call; not touched here,
  but looked at again for an hour (:class:`CelImporter`), so that the end the adoption writes
  (when it learnt of it) is replaced by Asterisk's.

Idempotent: a call is written once, by its call id (the Asterisk uniqueid of the caller's
channel, ``interactions.call_id``, unique), whatever reads the same record again: the service
at start and every ``CALLCENTER_CEL_IMPORT_SECONDS``, and ``callcenter cel import``. Only calls
that ended at least :data:`SETTLE` ago are imported, so a call the service is still writing
is never taken for one it missed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.crm.interactions import NewInteraction, durations
from callcenter.crm.vocabulary import CallbackStatus, Channel, Direction
from callcenter.pbx.adoption import EndSource
from callcenter.pbx.cel import CelFileTail, HotlineCall, HotlineCalls
from callcenter.pbx.reconcile import END_TOLERANCE
from callcenter.pbx.unseen_calls import UnseenCall, unseen_call
from callcenter.persistence.adopted_ends import mark_end_source
from callcenter.persistence.db import Database
from callcenter.persistence.interactions import SqlInteractionStore
from callcenter.persistence.ivr import identify_caller
from callcenter.persistence.outbound import callback_work
from callcenter.persistence.tables import CallbackRequest, Interaction, utcnow

log = logging.getLogger(__name__)

SETTLE: Final = dt.timedelta(seconds=30)
RECHECK_OPEN: Final = dt.timedelta(hours=1)
_CHUNK = 500  # call ids per lookup


@dataclass(frozen=True)
class ImportReport:
    calls: int = 0  # ended hotline calls looked at
    created: int = 0  # interactions written for calls the service never saw
    ends_fixed: int = 0  # interactions whose end was set to Asterisk's
    callbacks: int = 0  # callback requests filed from the fallback
    # Call ids whose record is open and the adoption's to close: looked at again later, when
    # the adoption may have ended it at its own time.
    left_open: tuple[str, ...] = ()

    def __add__(self, other: ImportReport) -> ImportReport:
        return ImportReport(
            *(getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self))
        )

    @property
    def changed(self) -> bool:
        return bool(self.created or self.ends_fixed or self.callbacks)


@dataclass(frozen=True)
class _Known:
    interaction_id: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    callbacks_at: frozenset[dt.datetime] = frozenset()  # its callback requests' times


@dataclass(frozen=True)
class _Rules:
    tolerance: dt.timedelta
    close_open_since: dt.datetime | None  # open records started since then may be closed

    def end_is_wrong(self, known: _Known, end: dt.datetime) -> bool:
        if known.ended_at is not None:
            return abs(known.ended_at - end) > self.tolerance
        return self.close_open_since is not None and known.started_at >= self.close_open_since


async def import_calls(
    db: Database,
    calls: Iterable[HotlineCall],
    *,
    tolerance: dt.timedelta = END_TOLERANCE,
    close_open_since: dt.datetime | None = None,
) -> ImportReport:
    """Write what Asterisk's record has and the database lacks, for these ended calls.
    Records still open are closed only if they started at or after ``close_open_since`` (the
    running service's start: see the module's doc); None closes none."""
    ended = [c for c in calls if c.ended_at is not None]
    known = await _known(db, [c.call_id for c in ended])
    rules = _Rules(tolerance, close_open_since)
    report = ImportReport(calls=len(ended))
    for call in ended:
        record = known.get(call.call_id)
        if record is None:
            report += await _create(db, unseen_call(call))
        else:
            report += await _check(db, call, record, rules)
    return report


async def _known(db: Database, call_ids: Sequence[str]) -> dict[str, _Known]:
    found: dict[str, _Known] = {}
    async with db.read() as session:
        for at in range(0, len(call_ids), _CHUNK):
            chunk = call_ids[at : at + _CHUNK]
            rows = await session.execute(
                select(
                    Interaction.call_id,
                    Interaction.id,
                    Interaction.started_at,
                    Interaction.ended_at,
                ).where(Interaction.call_id.in_(chunk))
            )
            for call_id, interaction_id, started_at, ended_at in rows:
                if call_id is not None:  # always: it matched one
                    found[call_id] = _Known(interaction_id, started_at, ended_at)
        by_id = {known.interaction_id: call_id for call_id, known in found.items()}
        ids = sorted(by_id)
        asked: dict[int, set[dt.datetime]] = {}
        for at in range(0, len(ids), _CHUNK):
            requests = await session.execute(
                select(CallbackRequest.interaction_id, CallbackRequest.requested_at).where(
                    CallbackRequest.interaction_id.in_(ids[at : at + _CHUNK])
                )
            )
            for asked_for, requested_at in requests:
                if asked_for is not None:
                    asked.setdefault(asked_for, set()).add(requested_at)
    for asked_for, times in asked.items():
        call_id = by_id[asked_for]
        found[call_id] = dataclasses.replace(found[call_id], callbacks_at=frozenset(times))
    return found


async def _create(db: Database, call: UnseenCall) -> ImportReport:
    client = await identify_caller(db, call.caller_number) if call.caller_number else None
    new = NewInteraction(
        channel=Channel.VOICE,
        direction=Direction.INBOUND,
        started_at=call.started_at,
        caller_number=call.caller_number,
        called_number=call.called_number,
        client_id=client.client_id if client else None,
        queue=call.queue,
        call_id=call.call_id,
        asterisk_linkedid=call.asterisk_linkedid,
    )
    async with db.write() as session:
        store = SqlInteractionStore(session)
        if await store.find_by_call_id(call.call_id) is not None:
            return ImportReport()  # written meanwhile (another importer, a late service)
        added = await store.add(new)
        record = dataclasses.replace(
            added,
            queued_at=call.queued_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
            ivr_outcome=call.ivr_outcome,
            ivr_path=call.ivr_path,
        )
        await store.save(dataclasses.replace(record, **dataclasses.asdict(durations(record))))
        if call.callback_language is not None and call.caller_number is not None:
            await _file_callback(session, added.id, added.client_id, call)
    log.info(
        "call %s (never seen by the service) recorded as interaction %s: %s",
        call.call_id,
        added.id,
        " ".join(call.ivr_path),
    )
    return ImportReport(created=1, callbacks=int(call.callback_language is not None))


async def _check(db: Database, call: HotlineCall, known: _Known, rules: _Rules) -> ImportReport:
    """A call the service recorded: Asterisk's end where the record's is wrong (see the
    module's doc), and the call back the caller asked the fallback for (a call the service
    picked up, then gave up)."""
    assert call.ended_at is not None
    unseen = unseen_call(call)  # the callback's number and language, as for a call never seen
    callback_due = unseen.callback_language is not None and unseen.callback_at not in (
        known.callbacks_at
    )
    end_wrong = rules.end_is_wrong(known, call.ended_at)
    # An open record these rules leave alone is the adoption's: looked at again later.
    left = (call.call_id,) if known.ended_at is None and not end_wrong else ()
    if not end_wrong and not callback_due:
        return ImportReport(left_open=left)
    report = ImportReport(left_open=left)
    async with db.write() as session:
        store = SqlInteractionStore(session)
        record = await store.get_for_update(known.interaction_id)
        if record is None:
            return report
        now = _Known(record.id, record.started_at, record.ended_at)
        if rules.end_is_wrong(now, call.ended_at):
            log.warning(
                "call %s: interaction %s ended at %s, Asterisk ended the call at %s: fixed",
                call.call_id,
                record.id,
                record.ended_at,
                call.ended_at,
            )
            record = dataclasses.replace(record, ended_at=call.ended_at, version=record.version + 1)
            await store.save(dataclasses.replace(record, **dataclasses.asdict(durations(record))))
            await mark_end_source(session, record.id, EndSource.ASTERISK)
            report += ImportReport(ends_fixed=1)
        if callback_due:
            filed = await session.scalar(
                select(CallbackRequest.id).where(
                    CallbackRequest.interaction_id == record.id,
                    CallbackRequest.requested_at == unseen.callback_at,
                )
            )
            if filed is None:
                await _file_callback(session, record.id, record.client_id, unseen)
                report += ImportReport(callbacks=1)
    return report


async def _file_callback(
    session: AsyncSession, interaction_id: int, client_id: int | None, call: UnseenCall
) -> None:
    """The callback request the caller made in the fallback: to the number they called from
    (the dialplan offers it only when there is one), in the language of the key they pressed."""
    assert call.caller_number is not None
    assert call.callback_language is not None
    request = CallbackRequest(
        requested_at=call.callback_at or call.ended_at,
        interaction_id=interaction_id,
        client_id=client_id,
        number=call.caller_number,
        language=call.callback_language,
        status=CallbackStatus.OPEN,
        version=1,
    )
    session.add(request)
    await session.flush()
    session.add(callback_work(request))  # the promise is kept: the dialler's work item
    log.info("call %s: callback requested in the fallback (%s)", call.call_id, interaction_id)


class CelImporter:
    """Follows Asterisk's record file and imports each hotline call once it has settled.

    The first read takes the whole file (a service that was down reads what happened
    meanwhile); later reads take what was appended. Calls are kept in memory from their start
    to their import only.
    """

    def __init__(
        self,
        db: Database,
        cel_file: Path,
        *,
        settle: dt.timedelta = SETTLE,
        tolerance: dt.timedelta = END_TOLERANCE,
        clock: Callable[[], dt.datetime] = utcnow,
        service_started_at: dt.datetime | None = None,
    ) -> None:
        """``service_started_at``: when the running service started (it closes the open
        records of calls it saw start); None for an importer outside the service, which
        closes no open record."""
        self.db = db
        self.cel_file = cel_file
        self.settle = settle
        self.tolerance = tolerance
        self.clock = clock
        self.service_started_at = service_started_at
        self._tail = CelFileTail(cel_file)
        self._calls = HotlineCalls()

    async def import_new(self) -> ImportReport:
        """Read what is new in the record; import the calls that ended at least ``settle``
        ago. A failed write keeps them for the next run."""
        events = await asyncio.to_thread(self._tail.read_new)
        self._calls.extend(events)
        now = self.clock()
        ready = self._calls.take_ended(now - self.settle)
        try:
            report = await import_calls(
                self.db,
                ready,
                tolerance=self.tolerance,
                close_open_since=self.service_started_at,
            )
        except BaseException:
            self._calls.put_back(ready)
            raise
        # Records the adoption will end (at the time it learns of it): checked again, so
        # that Asterisk's end replaces that one, for as long as an adoption can take.
        left = set(report.left_open)
        self._calls.put_back(
            c
            for c in ready
            if c.call_id in left and c.ended_at is not None and now - c.ended_at < RECHECK_OPEN
        )
        return report

    async def run(self, every: float) -> None:
        """Import now and every ``every`` seconds until cancelled; a failed run is logged and
        tried again at the next one."""
        while True:
            try:
                report = await self.import_new()
            except Exception:
                log.exception("importing Asterisk's call record %s failed", self.cel_file)
            else:
                if report.changed:
                    log.info("Asterisk's call record imported: %s", report)
            await asyncio.sleep(every)
