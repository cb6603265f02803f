"""A fake Async AGI (the ``agi`` of an :class:`AgiCall`): records each command and lets the
test answer it, for unit tests of what drives a caller's channel (callcenter/pbx/caller_leg.py).

It keeps the real one's rules that the callers rely on: a command sent after the session
ended, or still waiting when it ends (``session_ended`` set: the caller hung up), fails with
``AgiChannelGone``; one waiting when the AMI session drops fails with ``AmiConnectionLost``;
with no session at all it is ``AmiNotConnected``; one sent with ``ride_out`` survives a drop.
Each command also goes on the AMI fake's ``wire`` as the ``AGI`` action it is, so that its
order among AMI actions can be asserted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from callcenter.asterisk.agi import AgiResult, parse_agi_result
from callcenter.asterisk.errors import AgiChannelGone, AgiError, AmiNotConnected
from tests.fakes.fake_ami_client import FakeAmiClient, connection_lost


@dataclass
class AgiCommand:
    channel: str
    command: str
    timeout: float | None
    future: asyncio.Future[AgiResult] = field(repr=False)
    ride_out: float = 0.0

    def answer(self, reply: str = "200 result=0") -> None:
        """The command ran; ``reply`` is the AGI reply line, as AsyncAGIExec carries it."""
        self.future.set_result(parse_agi_result(quote(reply)))

    def fail(self, error: Exception) -> None:
        self.future.set_exception(error)


class FakeAgi:
    def __init__(self, ami: FakeAmiClient) -> None:
        self._ami = ami
        self.commands: list[AgiCommand] = []
        ami.on_drop.append(self._drop)

    async def execute(
        self,
        channel: str,
        command: str,
        *,
        timeout: float | None = None,
        check: bool = True,
        session_ended: asyncio.Event | None = None,
        ride_out: float = 0.0,
    ) -> AgiResult:
        verb = command.split()[0]
        if session_ended is not None and session_ended.is_set():
            raise AgiChannelGone(f"{channel} left Async AGI before {verb}")
        if not self._ami.connected:
            raise AmiNotConnected(f"cannot send AGI {verb}: no AMI session is logged in")
        self._ami.wire.append(("AGI", {"Channel": channel, "Command": command}))
        sent = AgiCommand(
            channel, command, timeout, asyncio.get_running_loop().create_future(), ride_out
        )
        self.commands.append(sent)
        left: asyncio.Future[Any] = (
            asyncio.ensure_future(session_ended.wait())
            if session_ended is not None
            else asyncio.get_running_loop().create_future()
        )
        try:
            await asyncio.wait({sent.future, left}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            left.cancel()
        if not sent.future.done():
            sent.future.cancel()
            raise AgiChannelGone(f"{channel} left Async AGI before {verb} ran")
        result = sent.future.result()
        if check and not result.ok:
            raise AgiError(f"AGI {verb} on {channel} failed: {result.raw}")
        return result

    def waiting(self) -> list[AgiCommand]:
        """The commands sent and not answered yet, oldest first."""
        return [c for c in self.commands if not c.future.done()]

    def _drop(self) -> None:
        # One sent with ride_out waits on, as the real one waits for its result on the next
        # session: the test answers it (the result came) or fails it (AgiResultLost).
        for sent in self.waiting():
            if not sent.ride_out:
                sent.fail(connection_lost())
