"""A contact-center floor with a call in every phase, for a fault to hit.

Four agents of the demo with registered phones (tests/support/agent_phone.py) and sipp callers
(tests/support/dtmf.py) on the hotline. When :meth:`Floor.set_up` returns:

* **bridged**: a caller talks with agent01 (phone answers at once, hangs up after 30 s);
* **wrap-up**: agent02's phone answered a call and hung up after 2 s: agent02 is in wrap-up;
* **ringing**: agent06's phone rings (it answers after 12 s, the queue rings 20 s; hangs up
  15 s later);
* **waiting**: a caller waits in ``complaints``, which no logged-in agent serves (music);
* **ivr**: a caller listens to the language menu;
* agent07 is ready and idle: the probe call after the fault is theirs.

Which of the three calls put through to an agent lands on which phone is the router's
choice; each phone's behaviour makes the phase, and the callers are told apart by number.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select, update

from callcenter.persistence.db import Database
from callcenter.persistence.tables import CallQueue, Client, ClientPhone, User
from scripts.faults.lab import SIP_PORT, Lab
from tests.support import agent_phone
from tests.support.agent_phone import AgentPhone, Answer, Behaviour, PhoneCall
from tests.support.dtmf import Hangup, KeypadCaller, KeypadCallResult, Keys, Step, Wait
from tests.support.hotline import HOTLINE
from tests.support.logins import log_in
from tests.support.phone_secrets import stored_phone_secrets

RING_SECONDS = 20.0
WRAP_UP_SECONDS = 10.0
FLOOR_AGENTS: dict[str, tuple[str, Behaviour]] = {
    "agent01": ("1001", Answer(after=0.3, hang_up_after=30.0)),  # bridged
    "agent02": ("1002", Answer(after=0.3, hang_up_after=2.0)),  # wrap-up
    "agent06": ("1006", Answer(after=12.0, hang_up_after=15.0)),  # ringing
    "agent07": ("1007", Answer(after=0.3, hang_up_after=3.0)),  # the probe's
}
PHASE_OF_AGENT = {"agent01": "bridged", "agent02": "wrap-up", "agent06": "ringing"}


def _ulaw(sample: int) -> int:
    """G.711 mu-law of a 16-bit sample."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = min(7, max(0, (magnitude >> 7).bit_length() - 1))
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def agent_voice() -> bytes:
    """20 ms of a 400 Hz tone at about -24 dBFS (eight whole periods: seamless)."""
    return bytes(_ulaw(round(2000 * math.sin(2 * math.pi * 400 * n / 8000))) for n in range(160))


def to_agent(then: float) -> list[Step]:
    """Mandarin (1), then an agent (0) in the main menu; stay ``then`` s, hang up."""
    return [Wait(1.0), Keys("1"), Wait(1.5), Keys("0"), Wait(then), Hangup()]


def to_complaints(then: float) -> list[Step]:
    return [Wait(1.0), Keys("1"), Wait(1.5), Keys("4"), Wait(then), Hangup()]


async def prepare_database(url: str) -> list[str]:
    """Short ring and wrap-up in ``general``; returns caller numbers that each identify one
    open client (the IVR then skips the account and PIN)."""
    db = Database(url)
    try:
        async with db.write() as session:
            row = await session.get(CallQueue, "general")
            assert row is not None
            config = dict(row.config)
            config.update(ring_seconds=RING_SECONDS, wrap_up_seconds=WRAP_UP_SECONDS)
            await session.execute(
                update(CallQueue).where(CallQueue.name == "general").values(config=config)
            )
        async with db.read() as session:
            shared = (
                select(ClientPhone.e164)
                .group_by(ClientPhone.e164)
                .having(func.count(ClientPhone.id) > 1)
            )
            rows = await session.execute(
                select(ClientPhone.e164)
                .join(Client, Client.id == ClientPhone.client_id)
                # No dedicated advisor: such a caller would wait for them first.
                .where(
                    Client.closed_on.is_(None),
                    Client.advisor_id.is_(None),
                    ClientPhone.e164.not_in(shared),
                )
                .order_by(ClientPhone.id)
                .limit(40)
            )
            return [e164 for (e164,) in rows.all()]
    finally:
        await db.dispose()


async def user_ids(url: str, names: Sequence[str]) -> dict[str, int]:
    db = Database(url)
    try:
        async with db.read() as session:
            query = select(User.username, User.id).where(User.username.in_(names))
            rows = await session.execute(query)
            return {name: user_id for name, user_id in rows.all()}
    finally:
        await db.dispose()


@dataclass
class Caller:
    """One sipp caller and what became of it."""

    role: str
    number: str
    phone: KeypadCaller
    started: float
    media_port: int = 0
    result: KeypadCallResult | None = None
    error: str | None = None

    async def finish(self, timeout: float) -> None:
        try:
            self.result = await self.phone.wait(timeout=timeout)
        except Exception as exc:  # a caller that never ends is a finding, not a crash
            self.error = repr(exc)
            await self.phone.kill()


async def place_call(role: str, number: str, script: list[Step], hold: float = 40.0) -> Caller:
    phone = KeypadCaller(SIP_PORT, HOTLINE, script, caller=number, hold=hold)
    started = time.time()
    await phone.start()
    caller = Caller(role, number, phone, started)
    caller.media_port = media_port_of(phone)
    return caller


def media_port_of(phone: KeypadCaller) -> int:
    """sipp's ``-mp`` (its RTP port), read from its command line."""
    proc = phone._proc  # the port is chosen inside start()
    assert proc is not None
    args = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
    return int(args[args.index(b"-mp") + 1])


@dataclass
class Floor:
    lab: Lab
    numbers: list[str]
    tokens: dict[str, dict[str, str]]  # username -> bearer headers
    ids: dict[str, int]
    phones: dict[str, AgentPhone] = field(default_factory=dict)
    phones_seen: dict[str, list[PhoneCall]] = field(default_factory=dict)  # the last ones' calls
    callers: list[Caller] = field(default_factory=list)
    _next_number: int = 0

    @classmethod
    async def log_in_everyone(cls, lab: Lab, numbers: list[str]) -> Floor:
        tokens = {}
        for name in [*FLOOR_AGENTS, "supervisor01"]:
            tokens[name] = await log_in(lab.http, name)
        lab.http.cookies.clear()
        ids = await user_ids(lab.db_url, list(FLOOR_AGENTS))
        return cls(lab, numbers, tokens, ids)

    def number(self) -> str:
        number = self.numbers[self._next_number % len(self.numbers)]
        self._next_number += 1
        return number

    # -- agents -----------------------------------------------------------------------------

    async def agent_login(self, name: str) -> None:
        response = await self.lab.http.post("/api/agents/me/login", headers=self.tokens[name])
        if response.status_code == 409 and "already-logged-in" in response.text:
            response = await self.lab.http.put(
                f"/api/supervision/agents/{self.ids[name]}/state",
                json={"state": "ready"},
                headers=self.tokens["supervisor01"],
            )
        if response.status_code != 200:
            raise RuntimeError(f"{name} could not log in: {response.text}")

    async def reset_agents(self) -> None:
        """Everyone logged out, whatever state the last fault left them in."""
        sup = self.tokens["supervisor01"]
        for agent_id in self.ids.values():
            await self.lab.http.put(
                f"/api/supervision/agents/{agent_id}/state",
                json={"state": "logged_out"},
                headers=sup,
            )

    async def agent_states(self) -> dict[str, str]:
        response = await self.lab.http.get("/api/agents", headers=self.tokens["supervisor01"])
        response.raise_for_status()
        by_id = {row["agent_id"]: row for row in response.json()}
        states = {}
        for name, agent_id in self.ids.items():
            row = by_id.get(agent_id, {})
            state = row.get("state", "?")
            reason = row.get("reason")
            states[name] = f"{state}({reason})" if reason else state
        return states

    async def start_phones(self) -> None:
        # The agent "speaks" all through a call: the phones send a tone where they would send
        # silence, so that a caller hearing their agent is told apart from one hearing nothing
        # (Asterisk itself sends silence while nothing plays: scripts/faults/rtp_sniff.py).
        agent_phone.SILENCE = agent_voice()
        password = await stored_phone_secrets(self.lab.settings)  # each person's own
        for name, (extension, behaviour) in FLOOR_AGENTS.items():
            phone = AgentPhone(SIP_PORT, extension, password=password, behaviour=behaviour)
            await phone.start()
            self.phones[name] = phone

    async def stop_phones(self) -> None:
        self.phones_seen = {name: phone.calls for name, phone in self.phones.items()}
        for phone in self.phones.values():
            phone.errors.clear()
            try:
                await phone.stop()
            except Exception as exc:
                print(f"  phone {phone.extension}: {exc!r}")
        self.phones.clear()

    # -- the floor ----------------------------------------------------------------------------

    async def set_up(self, *, spare: bool = True) -> None:
        """Every phase live (see the module's docstring); returns as soon as they all are."""
        await self.reset_agents()
        await self.start_phones()
        for name in ("agent01", "agent02", "agent06"):
            await self.agent_login(name)
        for _ in range(3):
            self.callers.append(await place_call("to-agent", self.number(), to_agent(32.0)))
            await asyncio.sleep(0.4)
        self.callers.append(await place_call("waiting", self.number(), to_complaints(30.0)))
        p = self.phones
        await p["agent02"].wait_ended(timeout=25)
        await p["agent01"].wait_answered(timeout=25)
        await p["agent06"].wait_invite(timeout=25)
        self._name_phases()
        if spare:
            await self.agent_login("agent07")
        self.callers.append(await place_call("ivr", self.number(), [Wait(22.0), Hangup()]))
        await asyncio.sleep(3.0)

    def _name_phases(self) -> None:
        for name, phase in PHASE_OF_AGENT.items():
            for invite in self.phones[name].invites:
                for caller in self.callers:
                    if caller.number == invite.from_user and caller.role == "to-agent":
                        caller.role = phase

    async def probe(self, timeout: float = 90.0) -> tuple[Caller, float | None]:
        """A new call put through to an agent; returns it and when an agent's phone had it
        up (epoch seconds), or None if no agent answered within ``timeout``."""
        # The agent's phone ends it (every floor phone hangs up in the end).
        caller = await place_call("probe", self.number(), to_agent(40.0))
        self.callers.append(caller)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for phone in self.phones.values():
                for call in phone.calls:
                    if call.invite.from_user == caller.number and call.confirmed_at:
                        return caller, call.confirmed_at
            await asyncio.sleep(0.05)
        return caller, None

    async def settle(self) -> None:
        """Every caller's call over, then the wrap-ups' time and a margin."""
        await asyncio.gather(*(c.finish(c.phone.longest + 45) for c in self.callers))
        deadline = time.monotonic() + WRAP_UP_SECONDS + 10
        while time.monotonic() < deadline:
            states = await self.safe_states()
            if states and all(s in ("ready", "logged_out") for s in states.values()):
                return
            await asyncio.sleep(0.5)

    async def safe_states(self) -> dict[str, str]:
        try:
            return await self.agent_states()
        except (httpx.HTTPError, ValueError):
            return {}
