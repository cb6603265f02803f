"""The IVR flow format: one YAML file per flow, validated by these pydantic models.

A flow is a graph of nodes keyed by id; every node names the nodes it can go to in fields
whose names start with ``next`` or ``on_`` (plus a menu's ``choices``, a branch's
conditions and ``otherwise``). Structural checks that need the whole graph or the whole
folder (unknown references, unreachable nodes, loops with no way out, missing prompts,
unknown sub-flows) live in :mod:`callcenter.ivr.check`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from callcenter.crm.vocabulary import RiskProfile, Tier

Language = Literal["zh", "en"]
NodeId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
VariableName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
# DTMF keys a caller can press; a menu choice is one key.
DtmfKey = Annotated[str, Field(pattern=r"^[0-9*#]$")]
Seconds = Annotated[float, Field(gt=0, le=120)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextPrompt(_Strict):
    """Words to be rendered to speech (at setup, cached by content hash), one per language."""

    zh: str | None = Field(default=None, min_length=1)
    en: str | None = Field(default=None, min_length=1)

    def languages(self) -> set[Language]:
        present: set[Language] = set()
        if self.zh is not None:
            present.add("zh")
        if self.en is not None:
            present.add("en")
        return present

    def in_language(self, language: Language) -> str | None:
        return self.zh if language == "zh" else self.en


class Prompt(_Strict):
    """What the caller hears: an Asterisk sound name (e.g. ``vm-goodbye``) or a text."""

    sound: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_/-]+$")
    text: TextPrompt | None = None
    # Say the text in each of its languages in turn, whatever the caller's language: for the
    # language menu, which every caller must understand before choosing.
    every_language: bool = False

    @model_validator(mode="after")
    def _one_of_sound_or_text(self) -> Prompt:
        if (self.sound is None) == (self.text is None):
            raise ValueError("give exactly one of sound or text")
        return self


class _Node(_Strict):
    def references(self) -> Iterator[tuple[str, str]]:
        """(field, node id) for every node this one can go to."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            if (name == "next" or name.startswith(("next_", "on_"))) and isinstance(value, str):
                yield name, value

    def prompts(self) -> Iterator[tuple[str, Prompt | None]]:
        """(field, prompt) for every prompt the node plays; None where one is required."""
        return iter(())


class PlayNode(_Node):
    type: Literal["play"]
    sound: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_/-]+$")
    text: TextPrompt | None = None
    # Say the text in each of its languages in turn, whatever the caller's language: for the
    # language menu, which every caller must understand before choosing.
    every_language: bool = False
    interruptible: bool = False
    next: NodeId

    @model_validator(mode="after")
    def _one_of_sound_or_text(self) -> PlayNode:
        if (self.sound is None) == (self.text is None):
            raise ValueError("give exactly one of sound or text")
        return self

    def prompt(self) -> Prompt:
        return Prompt(sound=self.sound, text=self.text)

    def prompts(self) -> Iterator[tuple[str, Prompt | None]]:
        yield ("text" if self.text else "sound"), self.prompt()


class MenuNode(_Node):
    """Plays the prompt (a key press interrupts it) and waits for one key.

    Invalid keys and silence count against ``retries`` across visits of the menu (the count
    resets on a valid choice), so an ``on_invalid`` node that leads back here cannot loop
    forever: once the retries are spent the caller goes to ``on_exhausted``. Without
    ``on_invalid`` / ``on_timeout`` the menu simply plays its prompt again."""

    type: Literal["menu"]
    prompt: Prompt | None = None
    choices: dict[DtmfKey, NodeId] = Field(min_length=1)
    timeout: Seconds = 5
    retries: int = Field(default=2, ge=0, le=9)
    on_invalid: NodeId | None = None
    on_timeout: NodeId | None = None
    on_exhausted: NodeId

    def references(self) -> Iterator[tuple[str, str]]:
        for key, target in self.choices.items():
            yield f"choices.{key}", target
        yield from super().references()

    def prompts(self) -> Iterator[tuple[str, Prompt | None]]:
        yield "prompt", self.prompt


class CollectNode(_Node):
    """Collects several keys (an account number, a PIN) into a variable. ``secret`` values
    (and every variable an authenticate node uses as a PIN) are masked in the recorded path."""

    type: Literal["collect"]
    prompt: Prompt | None = None
    min_length: int = Field(default=1, ge=1, le=32)
    max_length: int = Field(default=20, ge=1, le=32)
    terminator: Literal["#", "*"] | None = "#"
    timeout: Seconds = 8
    retries: int = Field(default=2, ge=0, le=9)
    store: VariableName
    secret: bool = False
    next: NodeId
    on_exhausted: NodeId

    @model_validator(mode="after")
    def _lengths_in_order(self) -> CollectNode:
        if self.min_length > self.max_length:
            raise ValueError("min_length is greater than max_length")
        return self

    def prompts(self) -> Iterator[tuple[str, Prompt | None]]:
        yield "prompt", self.prompt


class IdentifyCallerNode(_Node):
    """Looks the caller's number up in the CRM."""

    type: Literal["identify_caller"]
    next_found: NodeId
    next_not_found: NodeId


class AuthenticateNode(_Node):
    """Checks the account and PIN held in two variables. A failure goes to ``next_failed``
    (usually back to collecting the PIN) until ``max_attempts`` failures, then ``next_locked``.

    Without ``account`` the PIN is checked against the client the caller's number identified
    (identify_caller): a caller known by number types only the PIN. A caller not identified
    then fails without any account being tried. Success (``next_ok``) is what authenticates
    the call: the only way to account data (``ACCOUNT_DATA_TYPES``)."""

    type: Literal["authenticate"]
    account: VariableName | None = None
    pin: VariableName
    max_attempts: int = Field(default=3, ge=1, le=9)
    next_ok: NodeId
    next_failed: NodeId
    next_locked: NodeId


SelfServiceKind = Literal["balance", "positions", "recent_trades"]


class SelfServiceNode(_Node):
    """Reads the caller's account out. Account data: only for a call authenticated in this
    call (an authenticate node's ``next_ok``), never for a caller known by number alone.
    The checker refuses a flow that can get here unauthenticated; should a call get here all
    the same, nothing is said and it goes to ``on_unauthenticated`` (or, without one, to an
    agent in the ``general`` queue)."""

    type: Literal["self_service"]
    what: SelfServiceKind
    next: NodeId
    on_unauthenticated: NodeId | None = None


class SetLanguageNode(_Node):
    type: Literal["set_language"]
    language: Language
    next: NodeId


class Condition(_Strict):
    """A tiny declarative test over the call; every field given must hold (and).

    Deliberately not an expression language: a flow author can combine these facts with
    ``any_of`` / ``not_`` but cannot run code."""

    business_hours: bool | None = None
    holiday: bool | None = None
    identified: bool | None = None
    authenticated: bool | None = None
    language: Language | None = None
    tier_in: list[Tier] | None = Field(default=None, min_length=1)
    risk_profile_in: list[RiskProfile] | None = Field(default=None, min_length=1)
    variable: VariableName | None = None
    equals: str | None = None
    any_of: list[Condition] | None = Field(default=None, min_length=1)
    not_: Condition | None = Field(default=None, alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _meaningful(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("a condition needs at least one test")
        if (self.variable is None) != (self.equals is None):
            raise ValueError("variable and equals go together")
        return self


class BranchCase(_Strict):
    when: Condition
    next: NodeId


class BranchNode(_Node):
    type: Literal["branch"]
    conditions: list[BranchCase] = Field(min_length=1)
    otherwise: NodeId

    def references(self) -> Iterator[tuple[str, str]]:
        for index, case in enumerate(self.conditions):
            yield f"conditions.{index}.next", case.next
        yield "otherwise", self.otherwise


class EnqueueNode(_Node):
    """Hands the call to the ACD: the end of the IVR run."""

    type: Literal["enqueue"]
    queue: str = Field(min_length=1, max_length=64)
    skills: list[str] = Field(default_factory=list)
    priority: int = Field(default=0, ge=0, le=9, description="a hint added to the tier's rank")


class CallbackNode(_Node):
    """Asks the caller to confirm (key 1) the number they call from, or type another one
    ending with the terminator; then files a callback request. ``keep_place``: a caller a
    queue sent here (its overflow node) keeps their place in that queue, and is called back
    when their turn comes (virtual hold, docs/outbound.md); elsewhere it changes nothing."""

    type: Literal["callback"]
    prompt: Prompt | None = None
    keep_place: bool = False
    min_length: int = Field(default=7, ge=3, le=20)
    timeout: Seconds = 10
    retries: int = Field(default=2, ge=0, le=9)
    next: NodeId
    on_exhausted: NodeId

    def prompts(self) -> Iterator[tuple[str, Prompt | None]]:
        yield "prompt", self.prompt


class MessageNode(_Node):
    """Plays the prompt, then records a message (the terminator or hanging up ends it)."""

    type: Literal["message"]
    prompt: Prompt | None = None
    max_seconds: int = Field(default=120, ge=5, le=600)
    next: NodeId

    def prompts(self) -> Iterator[tuple[str, Prompt | None]]:
        yield "prompt", self.prompt


class TransferNode(_Node):
    type: Literal["transfer"]
    to: str = Field(min_length=1, max_length=64)


class HangupNode(_Node):
    type: Literal["hangup"]


class SubflowNode(_Node):
    """Runs another flow of the folder; its ``return`` node comes back here to ``next``."""

    type: Literal["subflow"]
    flow: str = Field(min_length=1)
    next: NodeId


class ReturnNode(_Node):
    """Ends a sub-flow (back to the calling flow); at the top level it ends the call."""

    type: Literal["return"]


Node = Annotated[
    PlayNode
    | MenuNode
    | CollectNode
    | IdentifyCallerNode
    | AuthenticateNode
    | SelfServiceNode
    | SetLanguageNode
    | BranchNode
    | EnqueueNode
    | CallbackNode
    | MessageNode
    | TransferNode
    | HangupNode
    | SubflowNode
    | ReturnNode,
    Field(discriminator="type"),
]

# Nodes that read or change a client's account: they need the call authenticated (a PIN or
# another factor checked by an authenticate node in this call), never caller ID alone.
ACCOUNT_DATA_TYPES = frozenset({"self_service"})

# Where a caller's request is taken or the call ends: what a loop must be able to reach.
EXIT_TYPES = frozenset({"hangup", "enqueue", "transfer", "callback", "message", "return"})


def _both_languages() -> list[Language]:
    return ["zh", "en"]


class Flow(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)
    description: str = ""
    language: Language = "zh"
    languages: list[Language] = Field(default_factory=_both_languages, min_length=1)
    # The called numbers (DIDs) this flow answers; numbers no flow claims get the default flow.
    numbers: list[Annotated[str, Field(pattern=r"^\+?[0-9]{2,20}$")]] = Field(default_factory=list)
    start: NodeId
    # Nodes the ACD may send a caller back to when their queue overflows (a queue's
    # overflow_node): entry points besides ``start``.
    overflow_entries: list[NodeId] = Field(default_factory=list)
    nodes: dict[NodeId, Node] = Field(min_length=1)

    def spoken_texts(self) -> list[tuple[str, Language]]:
        """Every text prompt of the flow, in each language it has, once: what setup renders."""
        seen: dict[tuple[str, Language], None] = {}
        for node in self.nodes.values():
            for _field, prompt in node.prompts():
                if prompt is None or prompt.text is None:
                    continue
                for language in sorted(prompt.text.languages()):
                    text = prompt.text.in_language(language)
                    if text is not None:
                        seen.setdefault((text, language), None)
        return list(seen)

    def secret_variables(self) -> frozenset[str]:
        """Variables whose values never reach the recorded path."""
        names: set[str] = set()
        for node in self.nodes.values():
            if isinstance(node, CollectNode) and node.secret:
                names.add(node.store)
            elif isinstance(node, AuthenticateNode):
                names.add(node.pin)
        return frozenset(names)
