"""The running service for feature tests: the app on demo data, callers, and what happened.

Fixtures that build it live in tests/integration/conftest.py (``hotline_factory``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import wave
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from callcenter.app import Runtime
from callcenter.asterisk.protocol import Message
from callcenter.ivr.flow import Flow, Language, PlayNode
from callcenter.ivr.sounds import INDEX_NAME, SoundIndex
from callcenter.persistence.db import Database
from callcenter.persistence.tables import AccountSummary, Client, ClientPhone, Interaction
from callcenter.sandbox.instance import AsteriskInstance
from callcenter.settings import Settings
from tests.support.dtmf import KeypadCaller, KeypadCallResult, Step

HOTLINE = "95555"
AS_OF = dt.date(2026, 11, 20)
DEMO_CLIENTS = 60
UNKNOWN_CALLER = "+8613700000017"  # no demo client has it (checked in the fixture)
DEMO_PIN = "246813"
ALL_WEEK = "1,2,3,4,5,6,7"
GAP = 1.5  # after a key that moves to the next prompt: the service answers well within it


@dataclass(frozen=True)
class DemoClient:
    id: int
    account_no: str
    phone: str


@dataclass
class Hotline:
    """The running service, its database and what the test needs to drive calls."""

    runtime: Runtime
    db: Database
    settings: Settings
    asterisk: AsteriskInstance
    flow: Flow
    client: DemoClient
    http: httpx.AsyncClient
    commands: list[Message]  # AGIExecStart events: what Asterisk was asked to run
    stop: Callable[[], Awaitable[None]]  # stops the service (idempotent)
    app: FastAPI | None = None  # the ASGI app, for a test that serves it on a TCP port
    # Each person's own phone secret by extension, as the service made them (issue 19):
    # what a test phone registers with (tests/support/agent_phone.py ``password``).
    phone_secrets: dict[str, str] = field(default_factory=dict)

    def seconds(self, text: str, language: Language) -> float:
        """How long a rendered text prompt plays."""
        index = SoundIndex.load(
            self.asterisk.prompts_dir / INDEX_NAME, str(self.asterisk.prompts_dir)
        )
        with wave.open(index.sound_for(text, language) + ".wav") as audio:
            seconds: float = audio.getnframes() / audio.getframerate()
        return seconds

    def play_seconds(self, node: str, language: Language) -> float:
        play = self.flow.nodes[node]
        assert isinstance(play, PlayNode)
        assert play.text is not None
        text = play.text.in_language(language)
        assert text is not None
        return self.seconds(text, language)

    async def call(
        self, script: Sequence[Step], *, caller: str, hold: float = 20.0
    ) -> tuple[KeypadCallResult, Interaction]:
        runner = self.runtime.link
        before = runner.calls_handled
        phone = KeypadCaller(self.settings.sip_port, HOTLINE, script, caller=caller, hold=hold)
        await phone.start()
        result = await phone.wait(timeout=phone.longest + 60)
        assert runner.calls_handled == before + 1, result.output
        return result, await self.ended_interaction()

    async def ended_interaction(self, timeout: float = 15.0) -> Interaction:
        """The newest call's interaction once its record is complete (the call ended)."""

        async def poll() -> Interaction:
            while True:
                async with self.db.read() as session:
                    row = await session.scalar(
                        select(Interaction)
                        .where(Interaction.call_id.is_not(None))
                        .order_by(Interaction.id.desc())
                        .limit(1)
                    )
                    if row is not None and row.ended_at is not None:
                        session.expunge(row)
                        return row
                await asyncio.sleep(0.1)

        return await asyncio.wait_for(poll(), timeout)

    def agi_commands(self) -> list[str]:
        return [m.get("Command") or "" for m in self.commands]


async def pick_client(db: Database) -> DemoClient:
    """An open account with its own phone number, a PIN and at least two months of data."""
    async with db.read() as session:
        shared = {
            e164
            for (e164,) in (
                await session.execute(
                    select(ClientPhone.e164)
                    .group_by(ClientPhone.e164)
                    .having(func.count(ClientPhone.id) > 1)
                )
            ).all()
        }
        assert UNKNOWN_CALLER not in {
            e for (e,) in (await session.execute(select(ClientPhone.e164))).all()
        }
        rows = (
            await session.execute(
                select(Client.id, Client.account_no, ClientPhone.e164)
                .join(ClientPhone, ClientPhone.client_id == Client.id)
                .where(Client.closed_on.is_(None), Client.pin_hash.is_not(None))
                .order_by(Client.id)
            )
        ).all()
        for client_id, account_no, e164 in rows:
            months = await session.scalar(
                select(func.count(AccountSummary.id)).where(AccountSummary.client_id == client_id)
            )
            if e164 not in shared and (months or 0) >= 2:
                return DemoClient(client_id, account_no, e164)
    raise AssertionError("the demo data has no suitable client")
