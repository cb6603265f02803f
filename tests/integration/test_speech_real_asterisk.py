"""Self-service speech uses only sounds that exist before the call: the core sounds in the
sandbox root and the vocabulary rendered at `asterisk up`; the real Asterisk plays them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from callcenter.asterisk.agi import AsyncAgi
from callcenter.asterisk.client import open_ami
from callcenter.ivr.prompts import PromptRenderer
from callcenter.ivr.speech import (
    EN_CORE_SOUNDS,
    CoreSound,
    Phrase,
    Utterance,
    phrase_file,
    speak_amount,
    vocabulary,
)
from callcenter.pbx.link import PICKUP_COMMAND
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings
from tests.support.ami import config_for, next_event
from tests.support.sipp import SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]


def _inside_root(root: Path, path: str) -> Path:
    """A path as Asterisk sees it in the root, following symlinks inside the root: Debian's
    sounds/en is a link to /etc/alternatives/asterisk-prompt-en, an absolute link that would
    point into the host if followed from outside."""
    here = root / path.lstrip("/")
    for _ in range(10):
        if not here.is_symlink():
            return here
        target = os.readlink(here)
        here = root / target.lstrip("/") if target.startswith("/") else here.parent / target
    raise AssertionError(f"{path}: symlinks do not end inside {root}")


def test_every_core_sound_the_ivr_speaks_is_in_the_sandbox(asterisk: AsteriskInstance) -> None:
    english = _inside_root(asterisk.root, "/usr/share/asterisk/sounds/en")
    missing = sorted(name for name in EN_CORE_SOUNDS if not list(english.glob(f"{name}.*")))
    assert missing == []


def test_up_rendered_the_whole_speech_vocabulary(asterisk: AsteriskInstance) -> None:
    renderer = PromptRenderer.detect(asterisk.prompts_dir)
    missing = [
        (text, language)
        for text, language in vocabulary()
        if not phrase_file(Phrase(text, language), renderer).is_file()
    ]
    assert missing == []


def _sound_names(utterance: Utterance, asterisk: AsteriskInstance) -> list[str]:
    renderer = PromptRenderer.detect(asterisk.prompts_dir)
    return [
        sound.name
        if isinstance(sound, CoreSound)
        else asterisk.sound_name(phrase_file(sound, renderer))
        for sound in utterance
    ]


async def test_asterisk_plays_an_amount_in_english_and_in_mandarin(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    names = _sound_names(speak_amount(105, "en") + speak_amount(105, "zh"), asterisk)
    async with open_ami(config_for(asterisk_settings)) as ami:
        with ami.subscribe({"AsyncAGIStart"}) as starts:
            caller = SippCaller(asterisk_settings.sip_port, "95566", hold_ms=30_000)
            await caller.start()
            channel = (await next_event(starts, "AsyncAGIStart"))["Channel"]
        agi = AsyncAgi(ami)
        await agi.execute(channel, PICKUP_COMMAND)  # as the service does first: no fallback
        await agi.execute(channel, "ANSWER")
        played = [await agi.execute(channel, f'STREAM FILE {name} ""') for name in names]
        await agi.execute(channel, "HANGUP")
        result = await caller.wait()
    # A missing file answers result=-1 or stops at endpos=0; every fragment played through.
    assert [(p.result, int(p.extras["endpos"]) > 0) for p in played] == [("0", True)] * len(names)
    assert result.succeeded, result.output
