"""A queue that overflows to a node of the caller's flow: the runner goes on with the same
call's flow there, and the record gets the whole path and the new outcome."""

from __future__ import annotations

import pytest

from callcenter.ivr.commands import OutcomeKind
from callcenter.ivr.engine import Outcome, Resume, Step
from callcenter.pbx.link import AgiCall
from tests.fakes.ivr_backend import MemoryIvrBackend
from tests.unit.test_ivr_runner import CALLER, CLIENT, ScriptedAgi, _call, _runner, ok

OVERFLOW = Step("overflow:general", ("max_wait",))


async def test_an_overflowed_caller_books_a_callback_in_their_own_flow() -> None:
    backend = MemoryIvrBackend(clients_by_phone={CALLER: CLIENT})
    agi = ScriptedAgi(
        [
            ("ANSWER", ok()),
            ("STREAM FILE", ok(str(ord("2")))),  # English
            ("GET DATA", ok("0")),  # an agent: queued
            # back from the queue, at queue_full: 1 for a call back
            ("GET DATA", ok("1")),
            ("GET DATA", ok("1")),  # this number
            ("STREAM FILE", ok()),  # booked
            ("STREAM FILE", ok()),  # goodbye
            ("HANGUP", ok("1")),
        ]
    )
    handed: list[Outcome] = []

    async def overflowing_queue(call: AgiCall, outcome: Outcome, _: int | None) -> Resume | None:
        handed.append(outcome)
        return Resume("queue_full", outcome, (OVERFLOW,)) if len(handed) == 1 else None

    runner = _runner(backend)
    runner.on_queued = overflowing_queue
    await runner(_call(agi))

    assert len(handed) == 1
    [(interaction, first, first_ended)] = backend.finished
    assert first.kind is OutcomeKind.QUEUED
    assert not first_ended
    [(again, outcome, ended)] = backend.resumed
    assert again == interaction
    assert outcome.kind is OutcomeKind.CALLBACK
    assert ended
    # The caller's language and identity carried over; the path is the whole story.
    assert outcome.language == "en"
    assert outcome.client_id == CLIENT.client_id
    entries = [step.entry() for step in outcome.path]
    assert entries[: len(first.path)] == [step.entry() for step in first.path]
    assert entries[len(first.path)] == "overflow:general=max_wait"
    assert entries[len(first.path) + 1 :][:2] == ["queue_full=1", "busy_callback=confirmed"]
    [(_, request)] = [r for r in backend.requests if r[0] == "callback"]
    assert request == {"number": CALLER, "client_id": CLIENT.client_id}
    # The menu was said in English, and no Mandarin prompt after the choice.
    index = runner.sounds()
    flow = runner.registry.current.flows["hotline"]
    menu_text = flow.nodes["queue_full"].prompt.text  # type: ignore[union-attr]
    assert menu_text is not None
    assert menu_text.en is not None
    assert f'GET DATA "{index.sound_for(menu_text.en, "en")}"' in " ".join(agi.sent)


class Places:
    """The ACD's kept places: the caller waited in "general" before their IVR node."""

    def __init__(self) -> None:
        self.kept: list[tuple[str, int]] = []

    def waited_in(self, call_id: str) -> str | None:
        return "general"

    def keep(self, call_id: str, item_id: int) -> bool:
        self.kept.append((call_id, item_id))
        return True


async def test_a_callback_at_a_keep_place_node_keeps_the_callers_place_in_their_queue() -> None:
    backend = MemoryIvrBackend(clients_by_phone={CALLER: CLIENT})
    agi = ScriptedAgi(
        [
            ("ANSWER", ok()),
            ("STREAM FILE", ok(str(ord("1")))),
            ("GET DATA", ok("0")),  # an agent: queued
            ("GET DATA", ok("1")),  # back at queue_full: a call back
            ("GET DATA", ok("1")),  # this number
            ("STREAM FILE", ok()),  # booked: your place is kept
            ("STREAM FILE", ok()),  # goodbye
            ("HANGUP", ok("1")),
        ]
    )
    handed: list[Outcome] = []

    async def overflowing_queue(call: AgiCall, outcome: Outcome, _: int | None) -> Resume | None:
        handed.append(outcome)
        return Resume("queue_full", outcome, (OVERFLOW,))

    places = Places()
    runner = _runner(backend)
    runner.on_queued = overflowing_queue
    runner.places = places
    call = _call(agi)
    await runner(call)

    [(_, request)] = [r for r in backend.requests if r[0] == "callback"]
    # The work item is the queue's, and the place is kept for it.
    assert request == {"number": CALLER, "client_id": CLIENT.client_id, "queue": "general"}
    filed_as = backend.requests.index(("callback", request)) + 1  # the fake's item id: 9000 + it
    assert places.kept == [(call.uniqueid, 9000 + filed_as)]


async def test_a_caller_who_keeps_waiting_goes_back_into_the_queue() -> None:
    backend = MemoryIvrBackend(clients_by_phone={CALLER: CLIENT})
    agi = ScriptedAgi(
        [
            ("ANSWER", ok()),
            ("STREAM FILE", ok(str(ord("1")))),
            ("GET DATA", ok("0")),
            ("GET DATA", ok("3")),  # keep waiting
        ]
    )
    handed: list[Outcome] = []

    async def queue(call: AgiCall, outcome: Outcome, _: int | None) -> Resume | None:
        handed.append(outcome)
        return Resume("queue_full", outcome, (OVERFLOW,)) if len(handed) == 1 else None

    runner = _runner(backend)
    runner.on_queued = queue
    await runner(_call(agi))
    assert [outcome.kind for outcome in handed] == [OutcomeKind.QUEUED, OutcomeKind.QUEUED]
    assert handed[1].queue == "general"
    [(_, outcome, ended)] = backend.resumed
    assert outcome.kind is OutcomeKind.QUEUED
    assert not ended  # the queue has it again


async def test_a_node_that_is_not_an_overflow_entry_ends_the_call_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = MemoryIvrBackend(clients_by_phone={CALLER: CLIENT})
    agi = ScriptedAgi(
        [
            ("ANSWER", ok()),
            ("STREAM FILE", ok(str(ord("1")))),
            ("GET DATA", ok("0")),
            ("HANGUP", ok("1")),
        ]
    )

    async def queue(call: AgiCall, outcome: Outcome, _: int | None) -> Resume | None:
        return Resume("main_menu", outcome)  # a real node, but not declared as an entry

    runner = _runner(backend)
    runner.on_queued = queue
    await runner(_call(agi))
    assert agi.sent[-1] == "HANGUP"
    [(_, outcome, ended)] = backend.resumed
    assert ended
    assert outcome.kind is OutcomeKind.ABANDONED_IN_IVR
    assert "'main_menu' is not among the overflow_entries of flow 'hotline'" in caplog.text
