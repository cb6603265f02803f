"""Text prompts are rendered when the PBX is set up, and the real Asterisk plays them."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from callcenter.asterisk.agi import AsyncAgi
from callcenter.asterisk.client import open_ami
from callcenter.ivr.loader import load_flows
from callcenter.ivr.prompts import render_prompt
from callcenter.ivr.sounds import INDEX_NAME, SoundIndex
from callcenter.ivr.speech import vocabulary
from callcenter.pbx.link import PICKUP_COMMAND
from callcenter.sandbox.instance import FLOWS_DIR, AsteriskInstance
from callcenter.settings import Settings
from tests.support.ami import config_for, next_event
from tests.support.sipp import SippCaller

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]

WELCOME = "欢迎致电客户服务热线。普通话请按1。"


def test_up_rendered_every_text_prompt_of_the_flows(asterisk: AsteriskInstance) -> None:
    texts = {t for flow in load_flows(FLOWS_DIR).flows.values() for t in flow.spoken_texts()}
    assert (WELCOME, "zh") in texts
    rendered = sorted(asterisk.prompts_dir.glob("*.wav"))
    assert len(rendered) == len(texts | set(vocabulary()))
    index = SoundIndex.load(asterisk.prompts_dir / INDEX_NAME, "/p")
    assert index.missing([*texts, *vocabulary()]) == []
    for path in rendered:
        with wave.open(str(path)) as audio:
            assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (
                8000,
                1,
                2,
            )


async def test_asterisk_plays_a_rendered_mandarin_prompt_to_a_caller(
    asterisk: AsteriskInstance, asterisk_settings: Settings
) -> None:
    prompt = render_prompt(WELCOME, "zh", asterisk.prompts_dir)
    assert prompt.cache_hit  # rendered at setup: no call waits for synthesis
    with wave.open(str(prompt.path)) as audio:
        samples = audio.getnframes()
    async with open_ami(config_for(asterisk_settings)) as ami:
        with ami.subscribe({"AsyncAGIStart"}) as starts:
            caller = SippCaller(asterisk_settings.sip_port, "95566", hold_ms=20_000)
            await caller.start()
            channel = (await next_event(starts, "AsyncAGIStart"))["Channel"]
        agi = AsyncAgi(ami)
        await agi.execute(channel, PICKUP_COMMAND)  # as the service does first: no fallback
        await agi.execute(channel, "ANSWER")
        played = await agi.execute(
            channel, f'STREAM FILE {asterisk.sound_name(prompt.path)} ""', timeout=30
        )
        await agi.execute(channel, "HANGUP")
        result = await caller.wait()
    # endpos is the sample Asterisk stopped at: the whole prompt was played, not a missing file
    # (which answers result=-1 or endpos=0).
    assert played.result == "0"
    assert int(played.extras["endpos"]) >= samples * 0.9
    assert result.succeeded, result.output


def test_rendering_again_prunes_prompts_no_flow_uses(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "hotline.yaml").write_text((FLOWS_DIR / "hotline.yaml").read_text())
    stale = render_prompt("这句提示已经不用了。", "zh", asterisk.prompts_dir)
    try:
        report = asterisk.render_prompts(flows)
        assert not stale.path.exists()
        assert report.rendered == 0  # everything else was already there
    finally:
        asterisk.render_prompts()
