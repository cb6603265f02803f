"""The runner never reads account figures to a call that has not authenticated in it
(issue 15): the hotline over a scripted AGI, and the runner's own check behind the engine's."""

from __future__ import annotations

import datetime as dt
import logging
from typing import cast

import pytest

from callcenter.asterisk.agi import AgiResult
from callcenter.asterisk.errors import AgiChannelGone
from callcenter.ivr.account import AccountSnapshot
from callcenter.ivr.commands import (
    AccountDataRefused,
    AuthenticateKnown,
    AuthOk,
    Done,
    SelfService,
)
from callcenter.pbx.ivr_runner import _CallRun
from tests.fakes.ivr_backend import MemoryIvrBackend
from tests.unit.test_ivr_runner import CALLER, CLIENT, ScriptedAgi, _call, _runner, ok

PIN = "246813"
# 1,234,567.89 yuan: English amounts are Asterisk's core digit sounds.
SNAPSHOT = AccountSnapshot(dt.date(2026, 11, 1), 123_456_789, (), ())


class KeypadAgi:
    """A caller's keys answer each GET DATA in turn (then they hang up); every other
    command succeeds. Records every command sent."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = list(keys)
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
        if command.startswith("STREAM FILE") and not any(c.startswith("GET") for c in self.sent):
            return ok(str(ord("2")))  # English, typed over the language menu's first part
        if command.startswith("GET DATA"):
            if not self.keys:
                raise AgiChannelGone("the caller hung up")
            return ok(self.keys.pop(0))
        return ok()

    def playbacks(self) -> list[str]:
        return [c for c in self.sent if c.startswith("EXEC Playback")]


def _backend() -> MemoryIvrBackend:
    return MemoryIvrBackend(
        clients_by_phone={CALLER: CLIENT},
        pins={"310100000042": (PIN, CLIENT)},
        snapshots={CLIENT.client_id: SNAPSHOT},
    )


async def _hotline(keys: list[str]) -> tuple[KeypadAgi, MemoryIvrBackend, list[str]]:
    backend, agi = _backend(), KeypadAgi(keys)
    await _runner(backend)(_call(cast(ScriptedAgi, agi)))
    [(_, outcome, _)] = backend.finished
    return agi, backend, [step.entry() for step in outcome.path]


async def test_a_caller_known_by_number_hears_the_balance_only_after_the_pin() -> None:
    agi, backend, path = await _hotline(["1", PIN])
    assert path[4:9] == [
        "main_menu=1",
        "account_gate=condition 1",
        "ask_known_pin=****",
        "check_known_pin=ok",
        "balance=balance",
    ]
    assert ("authenticate_known", {"client_id": CLIENT.client_id}) in backend.requests
    playbacks = agi.playbacks()
    assert playbacks, "the balance was not spoken"
    assert "digits/" in playbacks[0]  # the amount, in English core sounds
    assert not any(PIN in command for command in agi.sent[3:])  # the PIN's own GET DATA aside


async def test_a_caller_known_by_number_without_the_pin_hears_no_figures() -> None:
    # Key 1, then silence at the PIN prompt until it gives up: an agent.
    agi, backend, path = await _hotline(["1", "", "", ""])
    assert agi.playbacks() == []
    assert "balance" not in " ".join(path)
    assert path[-2:] == ["ask_known_pin=timeout,timeout,timeout", "to_agent"]
    assert not [r for r in backend.requests if r[0].startswith("authenticate")]


async def test_a_wrong_pin_reads_nothing_out() -> None:
    agi, _, path = await _hotline(["1", "000000"])
    assert agi.playbacks() == []
    assert "check_known_pin=failed" in path
    assert not any("000000" in entry for entry in path)


async def test_the_runner_refuses_account_data_for_a_client_the_call_did_not_authenticate_as(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Behind the engine's check: whatever asks for self-service, the runner reads figures
    only for the client whose PIN this call proved."""
    caplog.set_level(logging.INFO)
    backend, agi = _backend(), KeypadAgi([])
    runner = _runner(backend)
    run = _CallRun(runner, _call(cast(ScriptedAgi, agi)))
    balance = SelfService("balance", CLIENT.client_id, "en")

    assert await run._do(balance) == AccountDataRefused()  # identified or not: no PIN yet
    assert agi.sent == []
    assert "account data (balance) refused" in caplog.text

    assert await run._do(AuthenticateKnown(CLIENT.client_id, PIN)) == AuthOk(CLIENT)
    assert await run._do(SelfService("balance", 7, "en")) == AccountDataRefused()  # another
    assert agi.sent == []
    assert await run._do(balance) == Done()
    assert agi.playbacks()
    assert PIN not in caplog.text
