"""The hotline IVR on real calls: sipp callers pressing RFC 4733 keys into the real Asterisk,
the service (create_app) running the flow over Async AGI, demo data in a real database.

Timing: a caller's script is laid out in seconds from the answer. Keys typed over a menu or
collect prompt are taken (GET DATA listens while it plays), so scripts press keys shortly
after each prompt starts; prompts that cannot be interrupted (play nodes) are waited out,
measured from their rendered files.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.crm.vocabulary import PinAttemptResult
from callcenter.ivr.speech import CoreSound, speak_self_service
from callcenter.pbx.link import PICKUP_COMMAND
from callcenter.pbx.prompt_files import playback_chunks
from callcenter.persistence import ivr as ivr_store
from callcenter.persistence.tables import (
    CallbackRequest,
    Client,
    Interaction,
    PinAttempt,
    VoiceMessage,
)
from callcenter.sandbox.instance import FLOWS_DIR
from tests.support.dtmf import (
    ExpectHangup,
    Hangup,
    KeypadCaller,
    Keys,
    Step,
    Wait,
)
from tests.support.hotline import (
    DEMO_PIN,
    GAP,
    HOTLINE,
    UNKNOWN_CALLER,
    Hotline,
)
from tests.support.logins import log_in

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(180)]


def _path(interaction: Interaction) -> list[str]:
    return list(interaction.ivr_path)


async def _balance_playbacks(line: Hotline, client_id: int) -> list[str]:
    """The EXEC Playback commands that say ``client_id``'s balance in Mandarin: exactly the
    sounds the speech rules give for the account."""
    snapshot = await ivr_store.account_snapshot(line.db, client_id)
    assert snapshot is not None
    index = line.runtime.sounds.current()
    expected = [
        part.name if isinstance(part, CoreSound) else index.sound_for(part.text, part.language)
        for part in speak_self_service("balance", snapshot, "zh")
    ]
    return [f'EXEC Playback "{chunk}"' for chunk in playback_chunks(expected)]


# Issue 15: caller ID identifies (greets, routes) but no longer opens the account. These two
# replace the test in which a demo client's number alone heard the balance.
async def test_a_demo_clients_number_that_does_not_enter_the_pin_never_hears_the_balance(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    client = line.client
    prompt = line.flow.nodes["ask_known_pin"].prompt.text.zh  # type: ignore[union-attr]
    assert prompt is not None
    # Mandarin, then 1 (balance and positions); the PIN prompt plays out, nothing is typed.
    script = [Wait(1.0), Keys("1"), Wait(GAP), Keys("1"), Wait(line.seconds(prompt, "zh") + 2.0)]
    result, call = await line.call([*script, Hangup()], caller=client.phone)
    assert result.succeeded, result.output

    assert call.client_id == client.id  # identified: an agent would see who it is
    assert not call.authenticated
    assert call.ivr_outcome == "abandoned_in_ivr"
    assert _path(call) == [
        "choose_language=1",
        "set_zh",
        "identify=found",
        "after_hours_check=condition 0",
        "main_menu=1",
        "account_gate=condition 1",
        "ask_known_pin",  # hung up while it waited for the PIN
    ]
    commands = line.agi_commands()
    assert not [c for c in commands if c.startswith("EXEC Playback")], commands
    balance = await _balance_playbacks(line, client.id)
    assert not set(balance) & set(commands)
    async with line.db.read() as session:  # no PIN was even tried
        assert (await session.scalars(select(PinAttempt))).all() == []


async def test_a_demo_clients_number_that_enters_the_pin_hears_the_balance(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    client = line.client
    # Only the PIN: the account is the identified client's. Then the whole balance sentence.
    script = [
        Wait(1.0),
        Keys("1"),
        Wait(GAP),
        Keys("1"),
        Wait(GAP),
        Keys(DEMO_PIN + "#"),
        Wait(20.0),
        Hangup(),
    ]
    result, call = await line.call(script, caller=client.phone)
    assert result.succeeded, result.output

    assert call.client_id == client.id
    assert call.authenticated
    assert call.ivr_outcome == "self_served"
    path = _path(call)
    assert path[:9] == [
        "choose_language=1",
        "set_zh",
        "identify=found",
        "after_hours_check=condition 0",
        "main_menu=1",
        "account_gate=condition 1",
        "ask_known_pin=****",
        "check_known_pin=ok",
        "balance=balance",
    ]
    assert call.caller_number == client.phone
    assert call.called_number == HOTLINE

    # The balance was spoken: exactly the sounds the speech rules give for this account.
    playbacks = [c for c in line.agi_commands() if c.startswith("EXEC Playback")]
    chunks = await _balance_playbacks(line, client.id)
    assert playbacks[: len(chunks)] == chunks
    assert not any(DEMO_PIN in command for command in line.agi_commands())
    # The pickup (the dialplan's deadline cancelled, callcenter/pbx/link.py), then the IVR.
    assert line.agi_commands()[:2] == [PICKUP_COMMAND, "ANSWER"]
    async with line.db.read() as session:
        [attempt] = (await session.scalars(select(PinAttempt))).all()
        assert (attempt.result, attempt.client_id, attempt.interaction_id) == (
            PinAttemptResult.OK,
            client.id,
            call.id,
        )
        assert attempt.account_no == client.account_no


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
async def test_an_unknown_number_authenticates_with_account_and_pin_then_queues(
    hotline_factory: Callable[..., Any], db_kind: str
) -> None:
    line: Hotline = await hotline_factory(on_postgres=db_kind == "postgresql")
    client = line.client
    script = [
        Wait(1.0),
        Keys("2"),  # English
        Wait(GAP),
        Keys(client.account_no + "#"),
        Wait(GAP),
        Keys(DEMO_PIN + "#"),
        Wait(GAP),
        Keys("0"),  # an agent
        Wait(3.0),  # in the queue (no agent is logged in)
        Hangup(),
    ]
    result, call = await line.call(script, caller=UNKNOWN_CALLER)
    assert result.succeeded, result.output

    assert call.authenticated
    assert call.client_id == client.id
    assert call.ivr_outcome == "queued"
    assert call.queue == "general"
    assert call.queued_at is not None
    path = _path(call)
    assert "identify=not_found" in path
    assert f"ask_account={client.account_no}" in path
    assert "ask_pin=****" in path
    assert "check_pin=ok" in path
    assert path[-1] == "to_agent"
    assert not any(DEMO_PIN in command for command in line.agi_commands())
    async with line.db.read() as session:
        attempts = (await session.scalars(select(PinAttempt))).all()
        assert [(a.result, a.client_id, a.interaction_id) for a in attempts] == [
            (PinAttemptResult.OK, client.id, call.id)
        ]
        assert attempts[0].caller_number == UNKNOWN_CALLER


async def test_three_wrong_pins_lock_the_account_and_send_the_caller_to_an_agent(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    client = line.client
    wrong = line.play_seconds("wrong_pin", "zh")
    script: list[Step] = [Wait(1.0), Keys("1"), Wait(GAP)]
    for attempt in range(3):
        script += [Keys(client.account_no + "#"), Wait(GAP), Keys("999999#")]
        if attempt < 2:
            script.append(Wait(wrong + GAP))  # the "wrong PIN" message cannot be cut short
    script += [Wait(line.play_seconds("locked", "zh") + 3.0), Hangup()]
    result, call = await line.call(script, caller=UNKNOWN_CALLER)
    assert result.succeeded, result.output

    assert not call.authenticated
    assert call.client_id is None
    path = _path(call)
    assert [p for p in path if p.startswith("check_pin")] == [
        "check_pin=failed",
        "check_pin=failed",
        "check_pin=locked",
    ]
    assert path[-2:] == ["locked", "to_agent"]
    assert call.ivr_outcome == "queued"
    async with line.db.read() as session:
        row = await session.get(Client, client.id)
        assert row is not None
        assert row.pin_locked_at is not None
        assert row.pin_failures == 3
        results = (await session.scalars(select(PinAttempt.result).order_by(PinAttempt.id))).all()
        assert results == [PinAttemptResult.FAILED] * 3


async def test_an_invalid_key_and_silence_take_their_paths_then_the_menu_gives_up(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    menu = line.flow.nodes["main_menu"]
    menu_text = menu.prompt.text.en  # type: ignore[union-attr]
    assert menu_text is not None
    # Each silent round: the whole prompt, then the menu's timeout.
    silent_round = line.seconds(menu_text, "en") + menu.timeout  # type: ignore[union-attr]
    invalid = line.play_seconds("invalid_choice", "en")
    script = [
        Wait(1.0),
        Keys("2"),
        Wait(GAP),
        Keys("9"),  # not a choice
        Wait(invalid + 2 * silent_round + 3.0),
        Hangup(),
    ]
    result, call = await line.call(script, caller=line.client.phone, hold=5)
    assert result.succeeded, result.output
    path = _path(call)
    start = path.index("main_menu=9")
    assert path[start:] == [
        "main_menu=9",
        "invalid_choice",
        "main_menu=timeout,timeout",
        "to_agent",
    ]
    assert call.ivr_outcome == "queued"


async def test_hanging_up_mid_menu_leaves_a_complete_interaction_record(
    hotline_factory: Callable[..., Any],
) -> None:
    line: Hotline = await hotline_factory()
    client = line.client
    script = [Wait(1.0), Keys("1"), Wait(GAP), Hangup()]
    result, call = await line.call(script, caller=client.phone)
    assert result.succeeded, result.output

    assert call.ivr_outcome == "abandoned_in_ivr"
    assert call.client_id == client.id
    assert call.caller_number == client.phone
    assert call.called_number == HOTLINE
    assert call.call_id
    assert call.asterisk_linkedid
    assert call.ivr_ended_at is not None
    assert call.ended_at is not None
    assert call.started_at <= call.ivr_ended_at <= call.ended_at
    assert call.queued_at is None
    assert call.answered_at is None
    assert _path(call)[-1] == "main_menu"


async def test_after_hours_a_caller_books_a_callback_confirmed_by_a_key(
    hotline_factory: Callable[..., Any],
) -> None:
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    line: Hotline = await hotline_factory(business_holidays=[today])
    client = line.client
    after = line.play_seconds("callback_booked", "zh") + 6.0  # then goodbye and hang up
    script = [
        Wait(1.0),
        Keys("1"),
        Wait(GAP),
        Keys("1"),  # after-hours menu: a call back
        Wait(GAP),
        Keys("1"),  # on this number
        ExpectHangup(within=after + 10),  # the callback prompt's timeout ends the entry
    ]
    result, call = await line.call(script, caller=client.phone)
    assert result.succeeded, result.output
    assert call.ivr_outcome == "callback"
    path = _path(call)
    assert "after_hours_check=otherwise" in path
    assert "callback=confirmed" in path
    assert path[-1] == "hang_up"
    async with line.db.read() as session:
        [request] = (await session.scalars(select(CallbackRequest))).all()
        assert (request.number, request.client_id, request.interaction_id) == (
            client.phone,
            client.id,
            call.id,
        )
        assert request.language == "zh"


async def test_after_hours_a_caller_leaves_a_message_that_asterisk_records(
    hotline_factory: Callable[..., Any],
) -> None:
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    line: Hotline = await hotline_factory(business_holidays=[today])
    message = line.flow.nodes["message"]
    prompt = message.prompt.text.zh  # type: ignore[union-attr]
    assert prompt is not None
    script = [
        Wait(1.0),
        Keys("1"),
        Wait(GAP),
        Keys("2"),  # leave a message
        Wait(line.seconds(prompt, "zh") + 3.0),  # the prompt, the beep, then two seconds
        Keys("#"),
        ExpectHangup(within=10),
    ]
    result, call = await line.call(script, caller=line.client.phone)
    assert result.succeeded, result.output
    assert call.ivr_outcome == "message"
    async with line.db.read() as session:
        [voice] = (await session.scalars(select(VoiceMessage))).all()
        assert voice.interaction_id == call.id
        assert voice.client_id == line.client.id
        recording = line.asterisk.root / voice.recording_ref.lstrip("/")
    assert recording.exists(), voice.recording_ref
    with wave.open(str(recording)) as audio:
        assert audio.getnframes() / audio.getframerate() > 1.0


async def test_a_reload_mid_call_keeps_the_call_in_its_flow_and_a_broken_one_is_refused(
    hotline_factory: Callable[..., Any], tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    shutil.copy(FLOWS_DIR / "hotline.yaml", flows / "hotline.yaml")
    line: Hotline = await hotline_factory(ivr_flows_dir=flows)
    supervisor = await log_in(line.http, "supervisor01")
    script = [Wait(1.0), Keys("1"), Wait(4.0), Keys("1"), Wait(4.0), Hangup()]
    phone = KeypadCaller(line.settings.sip_port, HOTLINE, script, caller=line.client.phone)
    await phone.start()
    await asyncio.sleep(3.0)  # in the main menu now
    # Key 1 becomes "an agent" in the new flows; the call in progress keeps the old meaning
    # (account services: the PIN prompt, since issue 15).
    text = (flows / "hotline.yaml").read_text(encoding="utf-8")
    changed = text.replace('"1": account_gate', '"1": to_agent, "5": account_gate')
    assert changed != text
    (flows / "hotline.yaml").write_text(changed, "utf-8")
    reloaded = await line.http.post("/api/ivr/reload", headers=supervisor)
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["generation"] == 2
    assert reloaded.json()["prompts_missing"] == []
    result = await phone.wait(timeout=phone.longest + 60)
    assert result.succeeded, result.output
    call = await line.ended_interaction()
    assert "account_gate=condition 1" in _path(call)
    assert "to_agent" not in _path(call)
    assert line.runtime.flows.current.flows["hotline"].nodes["main_menu"].choices["1"] == "to_agent"  # type: ignore[union-attr]

    (flows / "hotline.yaml").write_text(text.replace("next: ask_pin", "next: nowhere"), "utf-8")
    refused = await line.http.post("/api/ivr/reload", headers=supervisor)
    assert refused.status_code == 422
    assert any("ask_account:next" in e for e in refused.json()["detail"]["errors"])
    assert line.runtime.flows.current.generation == 2
    health = (await line.http.get("/health")).json()
    assert health["ivr_flows_generation"] == 2
