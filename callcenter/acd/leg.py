"""The caller's leg: what the ACD asks of the caller's side of a call, in the ACD's words.

The ACD never spells a PBX command. Over Asterisk the leg is the caller's Async AGI session
(callcenter/pbx/caller_leg.py: music is ``StartMusicOnHold``, a dial is ``EXEC Dial`` with
``DialEnd`` telling the answer, a name is a ``Setvar`` of ``CALLERID(name)``); in unit tests
it is an in-memory leg (tests/fakes/acd.py) and a whole call's story runs in milliseconds.

The leg's operations may fail only with :class:`CallerGone` (the caller hung up) or
:class:`LinkLost` (the service lost the PBX: the call goes on in Asterisk unfollowed). Music
and prompts ride out a lost link: they wait for it to come back and play again, unless the
caller hung up meanwhile (CallerGone).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class CallerGone(Exception):
    """The caller hung up: the leg is gone."""


class LinkLost(Exception):
    """The link to the PBX dropped: the call may go on there, but this leg cannot drive it."""


class DialOutcome(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"  # rang out, busy, refused or unreachable
    CALLER_GONE = "caller_gone"  # the caller hung up while the agent's phone rang
    LINK_LOST = "link_lost"
    NOT_DIALLED = "not_dialled"  # the PBX link was down: no phone rang, the call waits on


@dataclass(frozen=True)
class TalkEnd:
    """How the agent's part of an answered call ended."""

    link_lost: bool = False  # the PBX link dropped mid-call: follow the call once it is back
    # Transferred: the caller talks on with the target until this completes.
    rest: Awaitable[None] | None = None


@dataclass(frozen=True)
class AgentLine:
    """Who is being dialled: the agent, the phone, and the call's record."""

    agent_id: int
    extension: str
    interaction_id: int | None


class Ringing(Protocol):
    """An agent's phone being dialled from the caller's leg."""

    async def outcome(self) -> DialOutcome:
        """Once the agent answers, or the dial ends without an answer."""

    async def conversation(self) -> TalkEnd:
        """After ANSWERED: until the agent's part of the call is over (hang-up on either side,
        or a transfer). Call control (hold, transfer, conference) acts meanwhile."""


class CallerLeg(Protocol):
    @property
    def call_id(self) -> str: ...

    @property
    def caller_number(self) -> str: ...

    @property
    def gone(self) -> bool:
        """The caller hung up."""

    async def wait_gone(self) -> None:
        """Return once the caller hangs up."""

    async def music_on(self) -> None:
        """Music on hold until the next command (a playback or a dial stops it)."""

    async def music_off(self) -> None: ...

    async def play(self, sound: str) -> None:
        """Play one prompt file to the caller; returns at its end, or when stopped."""

    async def stop_playback(self) -> None:
        """Stop the prompt now playing at once (no error if none plays)."""

    async def set_caller_name(self, name: str) -> None:
        """The name the agent's phone shows for the next dial. Need not wait for the PBX's
        answer, but must reach the PBX before the next command of this leg."""

    async def dial(self, line: AgentLine, ring_seconds: float) -> Ringing:
        """Ring the agent's phone; returns once the dial is on its way to the PBX."""

    async def outlive_link_loss(self) -> None:
        """After LinkLost: return once the call is over in the PBX (followed once the link is
        back; a caller whose agent hung up meanwhile is hung up)."""

    async def hang_up(self) -> None:
        """Hang the caller up; a caller already gone, or a lost link, is not an error."""
