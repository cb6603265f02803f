"""The hotline's behaviour until the IVR lands: answer, play a greeting, hang up.

It exercises the whole path a real call takes (trunk -> Async AGI -> this service -> media),
so a developer can dial the sandbox and hear the service answer. The IVR issue replaces it
with the flow runner.
"""

from __future__ import annotations

import logging

from callcenter.asterisk.errors import AgiChannelGone
from callcenter.pbx.link import AgiCall

log = logging.getLogger(__name__)

GREETING_SOUND = "hello-world"


async def greet_and_hang_up(call: AgiCall) -> None:
    log.info("hotline call %s to %s: greeting", call.uniqueid, call.called_number)
    try:
        await call.agi.execute(call.channel, "ANSWER")
        await call.agi.execute(call.channel, f'STREAM FILE {GREETING_SOUND} ""', timeout=30)
        await call.agi.execute(call.channel, "HANGUP")
    except AgiChannelGone:
        log.info("hotline call %s: caller hung up during the greeting", call.uniqueid)
