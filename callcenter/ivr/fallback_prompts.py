"""The prompts of the dialplan's fallback (extensions.conf ``[service-fallback]``): what a
caller hears when the service did not take their call.

Asterisk plays them by fixed names (``apology-zh`` ...) from their own folder, with no service
running to look them up in an index, so each rendering (cached by content hash, like every
prompt) is copied to its fixed name. They are rendered where the flows' prompts are: by
``callcenter asterisk up`` in the sandbox, by ``callcenter flows render-prompts`` in production.
"""

# Chinese text takes full-width commas, which RUF001 flags as look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Final

from callcenter.ivr.prompts import Language, RenderReport, render_all

FALLBACK_FOLDER: Final = "fallback"
CACHE_FOLDER: Final = ".cache"

# name -> language -> text. The offer's keys are the dialplan's: 1 a call back in Mandarin,
# 2 in English.
FALLBACK_TEXTS: Final[dict[str, dict[Language, str]]] = {
    "apology": {
        "zh": "您好，很抱歉，我们的服务系统暂时无法接听您的来电。",
        "en": "We are sorry: our service cannot take your call right now.",
    },
    "offer": {
        "zh": "如需我们回电，请按1。",
        "en": "To be called back in English, press 2.",
    },
    "callback": {
        "zh": "我们已记下您的回电请求，会尽快给您回电。再见。",
        "en": "Thank you. We will call you back as soon as we can. Goodbye.",
    },
    "goodbye": {
        "zh": "请稍后再拨。再见。",
        "en": "Please call again later. Goodbye.",
    },
}


def fallback_sound_names() -> list[str]:
    """Every fixed name the dialplan plays, e.g. ``apology-zh``."""
    return [f"{name}-{language}" for name, texts in FALLBACK_TEXTS.items() for language in texts]


def render_fallback_prompts(folder: Path) -> RenderReport:
    """Render the fallback's prompts into ``folder`` under their fixed names (``.wav``)."""
    texts = [
        (text, language)
        for by_language in FALLBACK_TEXTS.values()
        for language, text in by_language.items()
    ]
    report = render_all(texts, folder / CACHE_FOLDER)
    for name, prompt in zip(fallback_sound_names(), report.files, strict=True):
        target = folder / f"{name}.wav"
        # Copied then renamed: Asterisk may be playing the old file while this runs.
        partial = target.with_suffix(".wav.partial")
        shutil.copyfile(prompt.path, partial)
        partial.chmod(0o644)
        os.replace(partial, target)
    return report
