"""The files that say the IVR's prompts and utterances, as Asterisk names them: for the IVR
(callcenter/pbx/ivr_runner.py) and the ACD's announcements (``PromptSpeaker``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from callcenter.ivr.flow import Language
from callcenter.ivr.sounds import PromptNotRendered
from callcenter.ivr.speech import CoreSound, Phrase, Utterance

log = logging.getLogger(__name__)

# Room for "Command: EXEC Playback" and quoting in Asterisk's 1024-byte AMI line.
PLAYBACK_ARGUMENT_LIMIT = 960


class PromptSounds(Protocol):
    def sound_for(self, text: str, language: Language) -> str: ...


class PromptSpeaker:
    """The ACD's speaker (callcenter/acd/ports.py Speaker): an utterance's files with the
    current prompts (a getter: a flow reload brings a new index)."""

    def __init__(self, sounds: Callable[[], PromptSounds]) -> None:
        self._sounds = sounds

    def say(self, utterance: Utterance, call_id: str) -> list[str]:
        return utterance_sounds(self._sounds(), utterance, call_id)


def text_sound(sounds: PromptSounds, text: str, language: Language, call_id: str) -> str | None:
    """The file that says ``text``; None (and the log says how to fix it) if not rendered:
    silence is better than a dropped call."""
    try:
        return sounds.sound_for(text, language)
    except PromptNotRendered as exc:
        log.error("call %s: %s", call_id, exc)
        return None


def utterance_sounds(sounds: PromptSounds, utterance: Utterance, call_id: str) -> list[str]:
    """The files that say ``utterance``, in order (core sounds by name, phrases rendered)."""
    names: list[str] = []
    for part in utterance:
        if isinstance(part, CoreSound):
            names.append(part.name)
        elif isinstance(part, Phrase):
            name = text_sound(sounds, part.text, part.language, call_id)
            if name is not None:
                names.append(name)
    return names


def playback_chunks(names: list[str], limit: int = PLAYBACK_ARGUMENT_LIMIT) -> list[str]:
    """``a&b&c`` lists for Playback, each short enough for one AMI header line.

    Asterisk reads an AMI line into a 1 KiB buffer and refuses a longer one ("Failed to parse
    message: line too long"); a long amount in Mandarin is 30 fragments of ~110 characters.
    """
    chunks: list[str] = []
    current = ""
    for name in names:
        if len(name) > limit:
            raise ValueError(f"sound name longer than {limit} characters: {name[:60]}...")
        joined = f"{current}&{name}" if current else name
        if len(joined) > limit:
            chunks.append(current)
            joined = name
        current = joined
    if current:
        chunks.append(current)
    return chunks
