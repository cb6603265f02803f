"""What the engine asks of the call (commands) and what the call answers (results).

Plain frozen dataclasses: the runner translates them to Async AGI, tests answer them from a
script. A ``Hangup`` result may answer any command: the caller hung up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from callcenter.crm.vocabulary import RiskProfile, Tier
from callcenter.ivr.flow import Language, SelfServiceKind

# --- commands -------------------------------------------------------------------------------


# A text to say and its language; a prompt is one, or (the language menu) one per language.
SpokenText = tuple[str, Language]


@dataclass(frozen=True)
class Play:
    """Play a sound, or texts rendered to speech. Answered by Done, or by Digits when the
    prompt is interruptible and the caller pressed keys while it played."""

    sound: str | None
    texts: tuple[SpokenText, ...]
    interruptible: bool = False


@dataclass(frozen=True)
class CollectDigits:
    """Play the prompt, if any (a key interrupts it), then wait for keys until ``max_digits``,
    the terminator, or ``timeout`` seconds of silence. Answered by Digits (without the
    terminator, possibly partial after a timeout) or Timeout (nothing pressed).

    Prompt and keys are one command because they are one action on the phone: a caller who
    knows the menu types over the prompt, and no key may fall in a gap between two commands.
    """

    max_digits: int
    timeout: float
    terminator: str | None
    sound: str | None = None
    texts: tuple[SpokenText, ...] = ()


@dataclass(frozen=True)
class LookupCaller:
    number: str


@dataclass(frozen=True)
class Authenticate:
    account: str
    pin: str = field(repr=False)  # never in a log line


@dataclass(frozen=True)
class AuthenticateKnown:
    """Check the PIN of the client the caller's number identified: the account is known, so
    the caller types only the PIN. Answered like Authenticate."""

    client_id: int
    pin: str = field(repr=False)  # never in a log line


@dataclass(frozen=True)
class SelfService:
    """Read the account of ``client_id`` out. The engine asks only once the call is
    authenticated as that client; the runner checks it again (AccountDataRefused)."""

    what: SelfServiceKind
    client_id: int
    language: Language


@dataclass(frozen=True)
class Enqueue:
    queue: str
    skills: tuple[str, ...]
    priority: int
    client_id: int | None
    language: Language


@dataclass(frozen=True)
class RequestCallback:
    number: str
    client_id: int | None
    language: Language
    keep_place: bool = False  # the caller keeps their place in the queue they waited in


@dataclass(frozen=True)
class RecordMessage:
    max_seconds: int
    client_id: int | None


@dataclass(frozen=True)
class Transfer:
    to: str


@dataclass(frozen=True)
class Hangup:
    """The IVR ends the call."""


Command = (
    Play
    | CollectDigits
    | LookupCaller
    | Authenticate
    | AuthenticateKnown
    | SelfService
    | Enqueue
    | RequestCallback
    | RecordMessage
    | Transfer
    | Hangup
)

# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientFacts:
    """What the IVR may know of an identified caller (no name, no balance).

    ``client_id`` is the client record's own id, as the database, the ACD and the events
    carry it: the engine only passes it on (to self-service, callbacks, messages and the
    queue), never spells or parses it, so it stays an int from the lookup to the screen pop.
    """

    client_id: int
    tier: Tier | None = None
    risk_profile: RiskProfile | None = None


@dataclass(frozen=True)
class Done:
    """The command was carried out (a prompt played, a request filed)."""


@dataclass(frozen=True)
class Digits:
    digits: str


@dataclass(frozen=True)
class Timeout:
    pass


@dataclass(frozen=True)
class CallerHungUp:
    pass


@dataclass(frozen=True)
class CallerFound:
    client: ClientFacts


@dataclass(frozen=True)
class CallerNotFound:
    pass


@dataclass(frozen=True)
class AuthOk:
    client: ClientFacts


@dataclass(frozen=True)
class AuthFailed:
    pass


@dataclass(frozen=True)
class AuthLocked:
    """The account is locked already (failures on earlier calls)."""


@dataclass(frozen=True)
class AccountDataRefused:
    """SelfService refused by the runner: this call has not authenticated as that client.
    Nothing was said; defense in depth behind the engine's own check."""


Result = (
    Done
    | Digits
    | Timeout
    | CallerHungUp
    | CallerFound
    | CallerNotFound
    | AuthOk
    | AuthFailed
    | AuthLocked
    | AccountDataRefused
)


class OutcomeKind(StrEnum):
    SELF_SERVED = "self_served"
    QUEUED = "queued"
    TRANSFERRED = "transferred"
    CALLBACK = "callback"
    MESSAGE = "message"
    ABANDONED_IN_IVR = "abandoned_in_ivr"


class UnexpectedResult(TypeError):
    """The runner answered a command with a result that does not fit it: a runner bug."""
