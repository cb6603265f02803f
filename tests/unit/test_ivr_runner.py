"""The runner's edges with a scripted AGI: what it sends, and how failures end a run.

The IVR's behaviour on real calls is tested against Asterisk in
tests/integration/test_ivr_real_asterisk.py; these cover what a real PBX cannot be made to do
on demand (a link lost mid-call) and the exact AGI command text.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import cast

import pytest

from callcenter.asterisk.agi import AgiResult, AsyncAgi, parse_agi_result
from callcenter.asterisk.errors import AgiChannelGone, AmiConnectionLost, AmiTimeout
from callcenter.crm.vocabulary import Tier
from callcenter.ivr.calendar import BusinessCalendar
from callcenter.ivr.commands import ClientFacts, OutcomeKind
from callcenter.ivr.registry import FlowRegistry
from callcenter.ivr.sounds import SoundIndex
from callcenter.pbx.ivr_runner import IvrConfig, IvrRunner
from callcenter.pbx.link import AgiCall
from callcenter.pbx.prompt_files import PLAYBACK_ARGUMENT_LIMIT, playback_chunks
from tests.fakes.ivr_backend import MemoryIvrBackend

ROOT = Path(__file__).resolve().parents[2]
CALLER = "+8613800138000"
CLIENT = ClientFacts(42, tier=Tier.GOLD)
ALWAYS_OPEN = BusinessCalendar(
    opens=dt.time(0, 0), closes=dt.time(23, 59, 59), weekdays=frozenset(range(1, 8))
)

Reply = AgiResult | Exception


class ScriptedAgi:
    """Answers AGI commands in order: each script entry is (command prefix, reply)."""

    def __init__(self, script: list[tuple[str, Reply]]) -> None:
        self.script = list(script)
        self.sent: list[str] = []

    async def execute(
        self,
        channel: str,
        command: str,
        *,
        timeout: float | None = None,
        check: bool = True,
        session_ended: object = None,
        ride_out: float = 0.0,
    ) -> AgiResult:
        self.sent.append(command)
        if not self.script:
            raise AgiChannelGone(f"{channel} is gone (script ended at {command!r})")
        prefix, reply = self.script.pop(0)
        assert command.startswith(prefix), f"expected {prefix!r}, sent {command!r}"
        if isinstance(reply, Exception):
            raise reply
        return reply


def ok(result: str = "0", extra: str = "") -> AgiResult:
    return parse_agi_result(f"200 result={result}{extra}")


def _runner(
    backend: MemoryIvrBackend,
    sounds: dict[tuple[str, str], str] | None = None,
    *,
    flows: Path = ROOT / "ivr_flows",
    default: str = "hotline",
) -> IvrRunner:
    registry = FlowRegistry(flows, default=default)
    index = SoundIndex(sounds if sounds is not None else _all_prompts(registry))
    config = IvrConfig(calendar=ALWAYS_OPEN, recordings_dir="/rec", hold_seconds=5)
    return IvrRunner(registry, backend, lambda: index, config)


def _all_prompts(registry: FlowRegistry) -> dict[tuple[str, str], str]:
    texts = [t for flow in registry.current.flows.values() for t in flow.spoken_texts()]
    return {(lang, text): f"/p/{n}" for n, (text, lang) in enumerate(texts)}


def _call(agi: ScriptedAgi, context: str = "from-carrier", caller: str = CALLER) -> AgiCall:
    env = {"agi_callerid": caller, "agi_extension": "95555", "agi_context": context}
    return AgiCall("PJSIP/trunk-00000001", "1700000000.1", env, cast(AsyncAgi, agi), "1700.1")


async def test_a_caller_who_hangs_up_at_the_menu_is_recorded_as_abandoned() -> None:
    backend = MemoryIvrBackend(clients_by_phone={CALLER: CLIENT})
    agi = ScriptedAgi(
        [
            ("ANSWER", ok()),
            ("STREAM FILE", ok(str(ord("1")))),  # Mandarin, typed over the Mandarin part
            ("GET DATA", AgiChannelGone("gone")),  # hung up during the main menu
        ]
    )
    await _runner(backend)(_call(agi))
    [start] = backend.starts
    assert (start.caller_number, start.called_number, start.flow) == (CALLER, "95555", "hotline")
    [(_, outcome, ended)] = backend.finished
    assert outcome.kind is OutcomeKind.ABANDONED_IN_IVR
    assert outcome.client_id == 42
    assert ended
    assert [step.node for step in outcome.path][-1] == "main_menu"


async def test_get_data_carries_the_prompt_the_timeout_and_the_digit_count() -> None:
    backend = MemoryIvrBackend()
    agi = ScriptedAgi(
        [("ANSWER", ok()), ("STREAM FILE", ok()), ("GET DATA", AgiChannelGone("gone"))]
    )
    runner = _runner(backend)
    await runner(_call(agi))
    menu = runner.registry.current.flows["hotline"].nodes["choose_language"]
    text = menu.prompt.text  # type: ignore[union-attr]
    assert text is not None
    assert text.zh is not None
    assert text.en is not None
    index = runner.sounds()
    # Every language, Mandarin first; GET DATA plays one file, so the first part goes before.
    assert agi.sent[1:] == [
        f'STREAM FILE "{index.sound_for(text.zh, "zh")}" "0123456789*#"',
        f'GET DATA "{index.sound_for(text.en, "en")}" 4000 1',
    ]


async def test_the_pin_never_reaches_an_agi_command_or_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    backend = MemoryIvrBackend(pins={"31000001": ("246813", CLIENT)})
    agi = ScriptedAgi(
        [
            ("ANSWER", ok()),
            ("STREAM FILE", ok()),
            ("GET DATA", ok("1")),  # typed during the English part
            ("GET DATA", ok("31000001")),
            ("GET DATA", ok("246813")),
            ("GET DATA", AgiChannelGone("gone")),  # main menu
        ]
    )
    await _runner(backend)(_call(agi, caller="sipp"))  # not a number: not identified
    [(_, outcome, _)] = backend.finished
    assert outcome.authenticated
    assert not any("246813" in command for command in agi.sent[4:])
    assert "246813" not in caplog.text
    assert "ask_pin=****" in [f"{s.node}={','.join(s.inputs)}" for s in outcome.path]


async def test_a_lost_pbx_link_ends_the_run_and_still_records_the_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = MemoryIvrBackend(clients_by_phone={CALLER: CLIENT})
    agi = ScriptedAgi(
        [
            ("ANSWER", ok()),
            ("STREAM FILE", ok(str(ord("2")))),
            ("GET DATA", AmiConnectionLost("reset")),
        ]
    )
    with pytest.raises(AmiConnectionLost):  # the caller is still there: the link decides
        await _runner(backend)(_call(agi))
    [(_, outcome, ended)] = backend.finished
    assert outcome.kind is OutcomeKind.ABANDONED_IN_IVR
    assert outcome.language == "en"
    assert ended
    assert "IVR of call 1700000000.1 stopped" in caplog.text


class FakeLink:
    """The link's sessions: lost in session 1, rebuilt on session 2."""

    def __init__(self, call_gone_meanwhile: bool = False) -> None:
        self.session = 1
        self.waited_after: list[int] = []
        self.call: AgiCall | None = None
        self.call_gone_meanwhile = call_gone_meanwhile

    async def back_after(self, session: int) -> None:
        self.waited_after.append(session)
        self.session = session + 1
        if self.call_gone_meanwhile and self.call is not None:
            self.call.ended.set()  # as the link does for a channel missing from its snapshot


async def test_an_ami_reset_mid_menu_plays_the_menu_again_once_the_link_is_back() -> None:
    backend = MemoryIvrBackend(clients_by_phone={CALLER: CLIENT})
    agi = ScriptedAgi(
        [
            ("ANSWER", ok()),
            ("STREAM FILE", ok(str(ord("2")))),
            ("GET DATA", AmiConnectionLost("reset")),  # the main menu, cut by the reset
            ("GET DATA", AgiChannelGone("gone")),  # the same menu again, then a hang-up
        ]
    )
    link = FakeLink()
    runner = _runner(backend)
    runner.link = link
    await runner(_call(agi))
    assert link.waited_after == [1]
    assert agi.sent[2] == agi.sent[3], "the same prompt again, not dead air"
    [(_, outcome, _)] = backend.finished
    assert outcome.kind is OutcomeKind.ABANDONED_IN_IVR
    assert [step.node for step in outcome.path][-1] == "main_menu"


async def test_a_caller_who_hung_up_during_the_reset_is_not_prompted_again() -> None:
    backend = MemoryIvrBackend(clients_by_phone={CALLER: CLIENT})
    agi = ScriptedAgi(
        [
            ("ANSWER", ok()),
            ("STREAM FILE", ok(str(ord("2")))),
            ("GET DATA", AmiConnectionLost("reset")),
        ]
    )
    link = FakeLink(call_gone_meanwhile=True)
    runner = _runner(backend)
    runner.link = link
    call = _call(agi)
    link.call = call
    await runner(call)
    assert len(agi.sent) == 3
    [(_, outcome, ended)] = backend.finished
    assert outcome.kind is OutcomeKind.ABANDONED_IN_IVR
    assert ended


async def test_a_prompt_never_rendered_is_silence_and_a_logged_error_not_a_dropped_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = MemoryIvrBackend()
    agi = ScriptedAgi([("ANSWER", ok()), ('GET DATA "" 4000 1', AgiChannelGone("gone"))])
    await _runner(backend, sounds={})(_call(agi))
    assert "no rendered prompt for zh text" in caplog.text
    assert len(backend.finished) == 1


async def test_calls_from_agent_phones_do_not_enter_the_ivr() -> None:
    backend = MemoryIvrBackend()
    agi = ScriptedAgi([("HANGUP", ok("1"))])
    await _runner(backend)(_call(agi, context="from-phones"))
    assert agi.sent == ["HANGUP"]
    assert backend.starts == []


async def test_a_queued_call_waits_on_hold_then_its_record_is_ended() -> None:
    backend = MemoryIvrBackend(clients_by_phone={CALLER: CLIENT})
    agi = ScriptedAgi(
        [
            ("ANSWER", ok()),
            ("STREAM FILE", ok(str(ord("1")))),
            ("GET DATA", ok("0")),  # an agent
            ('EXEC MusicOnHold "default,5"', ok()),
            ("HANGUP", ok("1")),
        ]
    )
    await _runner(backend)(_call(agi))
    [(interaction, outcome, ended)] = backend.finished
    assert outcome.kind is OutcomeKind.QUEUED
    assert outcome.queue == "general"
    assert not ended
    assert backend.ended == [interaction]


def test_playback_lists_are_cut_to_fit_an_ami_line() -> None:
    names = [f"/var/lib/callcenter/instances/x/prompts/{n:064x}" for n in range(30)]
    chunks = playback_chunks(names)
    assert len(chunks) > 1
    assert all(len(chunk) <= PLAYBACK_ARGUMENT_LIMIT for chunk in chunks)
    assert "&".join(chunks).split("&") == names  # every sound, in order
    assert playback_chunks(["digits/1", "digits/2"]) == ["digits/1&digits/2"]
    assert playback_chunks([]) == []


def _flow_dir(tmp_path: Path, nodes: str) -> Path:
    (tmp_path / "t.yaml").write_text(
        f"id: t\nlanguages: [en]\nstart: a\nnodes:\n{nodes}", encoding="utf-8"
    )
    return tmp_path


async def test_a_transfer_is_recorded_when_dialling_starts_and_ended_after(tmp_path: Path) -> None:
    flows = _flow_dir(tmp_path, "  a: {type: transfer, to: '1001'}\n")
    backend = MemoryIvrBackend()
    agi = ScriptedAgi([("ANSWER", ok()), ('EXEC Dial "PJSIP/1001,30"', ok()), ("HANGUP", ok("1"))])
    await _runner(backend, flows=flows, default="t")(_call(agi))
    [(interaction, outcome, ended)] = backend.finished
    assert outcome.kind is OutcomeKind.TRANSFERRED
    assert outcome.transferred_to == "1001"
    assert not ended  # the IVR's part ended; the call goes on at the extension
    assert backend.ended == [interaction]


async def test_a_flow_that_ends_without_hanging_up_still_releases_the_channel(
    tmp_path: Path,
) -> None:
    flows = _flow_dir(
        tmp_path,
        "  a: {type: play, sound: beep, next: b}\n  b: {type: return}\n",
    )
    backend = MemoryIvrBackend()
    agi = ScriptedAgi([("ANSWER", ok()), ('STREAM FILE "beep" ""', ok()), ("HANGUP", ok("1"))])
    await _runner(backend, flows=flows, default="t")(_call(agi))
    assert agi.sent[-1] == "HANGUP"
    [(_, outcome, ended)] = backend.finished
    assert ended
    assert outcome.hung_up_by == "ivr"


async def test_a_command_that_times_out_ends_the_run_and_hands_the_caller_on() -> None:
    """Recorded as abandoned in the IVR; the caller, still in Async AGI, goes to the link,
    which sends them to the dialplan's fallback instead of leaving them in silence."""
    backend = MemoryIvrBackend(clients_by_phone={CALLER: CLIENT})
    agi = ScriptedAgi(
        [
            ("ANSWER", ok()),
            ("STREAM FILE", ok(str(ord("2")))),
            ("GET DATA", AmiTimeout("no result for AGI GET DATA")),
        ]
    )
    with pytest.raises(AmiTimeout):
        await _runner(backend)(_call(agi))
    [(_, outcome, _)] = backend.finished
    assert outcome.kind is OutcomeKind.ABANDONED_IN_IVR
