"""Async AGI over AMI: run AGI commands on a channel parked in ``AGI(agi:async)``.

The exchange, as Asterisk 22 does it:

1. The dialplan runs ``AGI(agi:async)``; Asterisk emits ``AsyncAGIStart`` with the channel and
   ``Env``, the AGI environment (``agi_callerid: ...`` lines), URL-encoded.
2. We send ``Action: AGI`` with ``Channel``, ``Command`` and our own ``CommandID``. The
   ``Response`` only says the command was queued.
3. When the command finishes, ``AsyncAGIExec`` arrives with the same ``CommandID`` (spelled
   ``CommandId`` by some versions: header names are case-insensitive) and ``Result``: the AGI
   reply line, URL-encoded, e.g. ``200%20result%3D0%20endpos%3D8000%0A``.
4. When the caller hangs up, ``AsyncAGIEnd`` arrives for the channel; a command still queued or
   running then never gets an AsyncAGIExec, so we wait for either.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from callcenter.asterisk.client import AmiClient
from callcenter.asterisk.errors import (
    AgiChannelGone,
    AgiError,
    AgiResultLost,
    AmiActionError,
    AmiConnectionLost,
    AmiNotConnected,
    AmiTimeout,
)
from callcenter.asterisk.protocol import Message

_RESULT_RE = re.compile(r"^(?P<code>\d{3})(?:[ -](?P<rest>.*))?$", re.DOTALL)
_PAREN_RE = re.compile(r"\((?P<data>[^)]*)\)")
_KV_RE = re.compile(r"(?P<key>[A-Za-z_]+)=(?P<value>\S*)")


@dataclass(frozen=True)
class AgiResult:
    """A parsed AGI reply: ``200 result=1 (timeout) endpos=8000``."""

    code: int
    result: str | None
    data: str | None
    extras: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def result_int(self) -> int | None:
        try:
            return int(self.result) if self.result is not None else None
        except ValueError:
            return None


def parse_agi_result(encoded: str) -> AgiResult:
    """Decode and parse the ``Result`` header of an AsyncAGIExec event."""
    raw = unquote(encoded).strip()
    # Multi-line replies ("520-Invalid command syntax...") end in a final "520 End of proper
    # usage." line; the status code is on the first line.
    first_line = raw.split("\n", 1)[0]
    match = _RESULT_RE.match(first_line)
    if match is None:
        return AgiResult(code=0, result=None, data=None, raw=raw)
    code = int(match["code"])
    rest = match["rest"] or ""
    result: str | None = None
    data: str | None = None
    extras: dict[str, str] = {}
    paren = _PAREN_RE.search(rest)
    if paren is not None:
        data = paren["data"]
        rest = rest[: paren.start()] + rest[paren.end() :]
    for kv in _KV_RE.finditer(rest):
        if kv["key"] == "result" and result is None:
            result = kv["value"]
        else:
            extras[kv["key"]] = kv["value"]
    if code != 200 and data is None:
        data = rest.strip() or None
    return AgiResult(code=code, result=result, data=data, extras=extras, raw=raw)


def parse_agi_env(encoded: str) -> dict[str, str]:
    """Decode the ``Env`` header of AsyncAGIStart into ``{"agi_callerid": "...", ...}``."""
    env: dict[str, str] = {}
    for line in unquote(encoded).split("\n"):
        key, sep, value = line.partition(":")
        if sep:
            env[key.strip()] = value.strip()
    return env


def agi_quote(argument: str) -> str:
    """Quote one AGI command argument (AGI splits on spaces, honours double quotes)."""
    if any(ch in argument for ch in "\r\n"):
        raise ValueError("an AGI argument cannot contain a line break")
    return '"' + argument.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AsyncAgi:
    """Runs AGI commands over an :class:`AmiClient`."""

    def __init__(self, client: AmiClient, *, default_timeout: float = 30.0) -> None:
        self._client = client
        self._default_timeout = default_timeout
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(3)

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
        """Run ``command`` on ``channel`` and return its result.

        Raises AgiChannelGone if the channel leaves Async AGI first (the caller hung up),
        AgiError for a non-200 reply when ``check``, AmiTimeout, or AmiConnectionLost.

        ``session_ended`` is set by whoever follows the channel's whole Async AGI session
        (its AsyncAGIEnd). Pass it: a channel that left between two commands may still accept
        the next one into its queue for a moment, and then no AsyncAGIExec ever comes and the
        AsyncAGIEnd is already past; without it the command waits for its timeout.

        ``ride_out`` (seconds): when the AMI connection drops while the command is queued or
        running, wait up to that long for the next session and take the command's result
        there (Asterisk tells every session); if it finished while no session listened, a
        NOOP sent behind it says so, and AgiResultLost is raised: the channel's queue is then
        empty, and the caller may send the command again without it queuing behind the old
        one (a menu replayed behind its own orphans would swallow the caller's keys).
        """
        if not command.strip():
            raise ValueError("an AGI command cannot be empty")
        verb = command.split()[0]
        if session_ended is not None and session_ended.is_set():
            raise AgiChannelGone(f"{channel} left Async AGI before {verb}")
        command_id = self._next_id()
        wait_for = timeout if timeout is not None else self._default_timeout
        try:
            result = await self._run(channel, command, command_id, wait_for, session_ended)
        except AmiConnectionLost:
            if ride_out <= 0:
                raise
            result = await self._recover(
                channel, verb, command_id, wait_for, session_ended, ride_out
            )
        if check and not result.ok:
            raise AgiError(f"AGI {verb} on {channel} failed: {result.raw}")
        return result

    def _next_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    async def _run(
        self,
        channel: str,
        command: str,
        command_id: str,
        wait_for: float,
        session_ended: asyncio.Event | None,
    ) -> AgiResult:
        verb = command.split()[0]
        # Register both waiters before sending: the result can overtake the action's response.
        executed = self._client.expect_event("AsyncAGIExec", "CommandID", command_id)
        ended = self._client.expect_event("AsyncAGIEnd", "Channel", channel)
        left = _waiter(session_ended)
        try:
            await self._send(channel, command, command_id)
            done, _ = await asyncio.wait(
                {executed, ended, left}, timeout=wait_for, return_when=asyncio.FIRST_COMPLETED
            )
            if executed in done:
                event: Message = executed.result()
                return parse_agi_result(event.get("Result") or "")
            if ended in done:
                ended.result()  # re-raises AmiConnectionLost if that is why it finished
                raise AgiChannelGone(f"{channel} left Async AGI before {verb} ran")
            if left in done:
                raise AgiChannelGone(f"{channel} left Async AGI before {verb} ran")
            raise AmiTimeout(f"no result for AGI {verb} on {channel} within {wait_for}s")
        finally:
            executed.cancel()
            ended.cancel()
            left.cancel()

    async def _send(self, channel: str, command: str, command_id: str) -> None:
        try:
            await self._client.action(
                "AGI", {"Channel": channel, "Command": command, "CommandID": command_id}
            )
        except AmiActionError as exc:
            # res_agi answers "Channel X does not exist." once the caller hung up, and
            # "Failed to add AGI command to channel X queue" once it left Async AGI.
            if "does not exist" in exc.message or "Failed to add AGI command" in exc.message:
                raise AgiChannelGone(f"{channel} is gone: {exc.message}") from exc
            raise AgiError(f"AGI {command.split()[0]} on {channel}: {exc.message}") from exc

    async def _recover(
        self,
        channel: str,
        verb: str,
        command_id: str,
        wait_for: float,
        session_ended: asyncio.Event | None,
        within: float,
    ) -> AgiResult:
        """After a lost connection: the command's result from a newer session, or
        AgiResultLost once a NOOP behind it shows it finished unheard."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            remaining = deadline - loop.time()
            # Listening before the session is up: a result that comes in its first moments
            # must not be missed (the step would be sent again for nothing).
            executed = self._client.expect_event("AsyncAGIExec", "CommandID", command_id)
            ended = self._client.expect_event("AsyncAGIEnd", "Channel", channel)
            noop_id = self._next_id()
            noop = self._client.expect_event("AsyncAGIExec", "CommandID", noop_id)
            left = _waiter(session_ended)
            try:
                try:
                    await self._client.wait_connected(max(remaining, 0.0))
                except AmiTimeout as exc:
                    raise AmiConnectionLost(
                        f"no AMI session within {within:g}s to resume AGI {verb} on {channel}"
                    ) from exc
                try:
                    await self._send(channel, "NOOP", noop_id)
                except (AmiConnectionLost, AmiNotConnected):
                    await asyncio.sleep(0.05)
                    continue  # dropped again: the next session
                done, _ = await asyncio.wait(
                    {executed, noop, ended, left},
                    timeout=wait_for,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if executed.done() and executed.exception() is None:
                    event: Message = executed.result()
                    return parse_agi_result(event.get("Result") or "")
                if noop.done() and noop.exception() is None:
                    raise AgiResultLost(
                        f"AGI {verb} on {channel} finished while the AMI link was down"
                    )
                if left in done or (ended.done() and ended.exception() is None):
                    raise AgiChannelGone(f"{channel} left Async AGI while the AMI link was down")
                if not done:
                    raise AmiTimeout(f"no result for AGI {verb} on {channel} after a reconnect")
                # The connection dropped again while waiting: the next session.
            finally:
                for future in (executed, noop, ended, left):
                    future.cancel()


def _waiter(event: asyncio.Event | None) -> asyncio.Future[Any]:
    if event is None:
        return asyncio.get_running_loop().create_future()
    return asyncio.ensure_future(event.wait())
