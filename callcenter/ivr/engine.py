"""The sans-IO IVR interpreter: a generator that yields commands and receives results.

    run = run_flow(flow, context)
    command = next(run)
    while True:
        try:
            command = run.send(answer(command))   # the runner does the IO
        except StopIteration as stop:
            outcome = stop.value
            break

It knows no sockets, clocks or databases, so a flow can be driven from a list in a test
exactly as the Async AGI runner drives it on a call. A ``CallerHungUp`` result to any command
ends the run cleanly.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field

from callcenter.ivr.commands import (
    AccountDataRefused,
    Authenticate,
    AuthenticateKnown,
    AuthFailed,
    AuthLocked,
    AuthOk,
    CallerFound,
    CallerHungUp,
    CallerNotFound,
    ClientFacts,
    CollectDigits,
    Command,
    Digits,
    Enqueue,
    Hangup,
    LookupCaller,
    OutcomeKind,
    Play,
    RecordMessage,
    RequestCallback,
    Result,
    SelfService,
    SpokenText,
    Timeout,
    Transfer,
    UnexpectedResult,
)
from callcenter.ivr.conditions import ConditionFacts, holds
from callcenter.ivr.flow import (
    AuthenticateNode,
    BranchNode,
    CallbackNode,
    CollectNode,
    Condition,
    EnqueueNode,
    Flow,
    HangupNode,
    IdentifyCallerNode,
    Language,
    MenuNode,
    MessageNode,
    Node,
    PlayNode,
    Prompt,
    ReturnNode,
    SelfServiceNode,
    SetLanguageNode,
    SubflowNode,
    TransferNode,
)

log = logging.getLogger(__name__)

MASK = "****"
LANGUAGE_ORDER: tuple[Language, ...] = ("zh", "en")
# A valid flow cannot loop forever (the checker sees to it), but a runner must never spin.
MAX_STEPS = 1000
# Where a caller refused account data goes when the node names no ``on_unauthenticated``: an
# agent, who can find out who they are by other means. The ACD's catch-all queue
# (callcenter/acd/service.py DEFAULT_QUEUE).
REFUSED_QUEUE = "general"


@dataclass(frozen=True)
class CallContext:
    """What the runner knows of the call before the IVR starts."""

    caller_number: str | None
    called_number: str | None = None
    call_id: str | None = None  # for log lines only
    business_hours: bool = True
    holiday: bool = False
    language: Language | None = None


@dataclass(frozen=True)
class Step:
    """One visit of a node, with what the caller typed or what happened there."""

    node: str
    inputs: tuple[str, ...] = ()
    # What the node was (its ``type``: menu, set_language, ...) and what it set (the language
    # chosen, the queue): for the agent's screen pop, which tells the path in words. Not part
    # of the stored entry, nor of equality: a record's path is what it always was.
    kind: str = field(default="", compare=False)
    value: str | None = field(default=None, compare=False)

    def entry(self) -> str:
        """As stored in a record's path: ``main_menu`` or ``main_menu=timeout,1``."""
        return f"{self.node}={','.join(self.inputs)}" if self.inputs else self.node


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    path: tuple[Step, ...]
    hung_up_by: str | None = None  # "caller" or "ivr" when the call ended in the IVR
    client_id: int | None = None  # the client record's id (ClientFacts)
    authenticated: bool = False
    language: Language = "zh"
    queue: str | None = None
    transferred_to: str | None = None
    client: ClientFacts | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Resume:
    """Go on with a call's flow at ``node`` after it left the IVR (its queue overflowed):
    who the caller is, the language and the path so far carry over from ``after``, and
    ``steps`` (what happened in between, e.g. the overflow) are added to the path first."""

    node: str
    after: Outcome
    steps: tuple[Step, ...] = ()


@dataclass
class _Ended:
    """How a walk through the nodes stopped."""

    kind: OutcomeKind | None = None  # None: the call ended; the outcome depends on history
    hung_up_by: str | None = None
    queue: str | None = None
    transferred_to: str | None = None


@dataclass
class _Returned:
    """A sub-flow reached its return node."""


class _CallerGone(Exception):
    """Raised inside the walk when a CallerHungUp result arrives, to unwind every handler."""


@dataclass
class _RunState:
    """What the run knows. Two facts are kept apart on purpose: ``client`` is who the caller
    was *identified* as (their number, or the account an authentication named), enough to
    greet and route; ``authenticated`` means a PIN (or another factor an authenticate node
    checks) was proven *in this call*, and only it opens account data."""

    flows: Mapping[str, Flow]
    context: CallContext
    language: Language
    secrets: frozenset[str]
    variables: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    path: list[_Visit] = field(default_factory=list)
    client: ClientFacts | None = None
    authenticated: bool = False
    self_served: bool = False
    callback_requested: bool = False
    message_left: bool = False

    def enter(self, node: str, kind: str) -> None:
        if len(self.path) >= MAX_STEPS:
            raise _StepLimit
        self.path.append(_Visit(node, [], kind))

    def note(self, value: str) -> None:
        self.path[-1].inputs.append(value)

    def set_value(self, value: str) -> None:
        self.path[-1].value = value

    def count_attempt(self, node: str) -> int:
        self.attempts[node] = self.attempts.get(node, 0) + 1
        return self.attempts[node]


@dataclass
class _Visit:
    """A step of the path as the run builds it (a :class:`Step` once the run is over)."""

    node: str
    inputs: list[str]
    kind: str = ""
    value: str | None = None

    @classmethod
    def of(cls, step: Step) -> _Visit:
        return cls(step.node, list(step.inputs), step.kind, step.value)

    def step(self) -> Step:
        return Step(self.node, tuple(self.inputs), self.kind, self.value)


class _StepLimit(Exception):
    pass


_Walk = Generator[Command, Result, str | _Ended | _Returned]


def run_flow(
    flow: Flow,
    context: CallContext,
    *,
    flows: Mapping[str, Flow] | None = None,
    resume: Resume | None = None,
) -> Generator[Command, Result, Outcome]:
    """Interpret ``flow`` for one call; ``flows`` holds the sub-flows it may call. With
    ``resume``, the walk starts at its node of ``flow`` instead of the start."""
    state = _RunState(
        flows={**(flows or {}), flow.id: flow},
        context=context,
        language=context.language or flow.language,
        secrets=flow.secret_variables(),
    )
    start = flow.start
    if resume is not None:
        if resume.node not in flow.overflow_entries:
            raise ValueError(
                f"{resume.node!r} is not among the overflow_entries of flow {flow.id!r}"
            )
        after = resume.after
        start = resume.node
        state.language = after.language
        state.client, state.authenticated = after.client, after.authenticated
        state.path = [_Visit.of(step) for step in (*after.path, *resume.steps)]
    try:
        ended = yield from _walk(flow, state, prefix="", start=start)
    except _CallerGone:
        ended = _Ended(hung_up_by="caller")
    except _StepLimit:
        yield Hangup()
        ended = _Ended(hung_up_by="ivr")
    if isinstance(ended, _Returned):
        ended = _Ended(hung_up_by="ivr")
    return _outcome(ended, state)


def _outcome(ended: _Ended, state: _RunState) -> Outcome:
    # A call that ends in the IVR counts as what the caller got done there, best first:
    # a callback or a message is a request taken; self-service is containment.
    kind = ended.kind
    if kind is None:
        if state.callback_requested:
            kind = OutcomeKind.CALLBACK
        elif state.message_left:
            kind = OutcomeKind.MESSAGE
        elif state.self_served:
            kind = OutcomeKind.SELF_SERVED
        else:
            kind = OutcomeKind.ABANDONED_IN_IVR
    return Outcome(
        kind=kind,
        path=tuple(visit.step() for visit in state.path),
        hung_up_by=ended.hung_up_by,
        client_id=state.client.client_id if state.client else None,
        authenticated=state.authenticated,
        language=state.language,
        queue=ended.queue,
        transferred_to=ended.transferred_to,
        client=state.client,
    )


def _walk(
    flow: Flow, state: _RunState, *, prefix: str, start: str | None = None
) -> Generator[Command, Result, _Ended | _Returned]:
    node_id = start or flow.start
    while True:
        node = flow.nodes[node_id]
        state.enter(prefix + node_id, node.type)
        step = yield from _visit(node, prefix + node_id, state)
        if isinstance(step, _Ended | _Returned):
            return step
        node_id = step


def _ask(command: Command) -> Generator[Command, Result, Result]:
    result = yield command
    if isinstance(result, CallerHungUp):
        raise _CallerGone
    return result


def _visit(node: Node, key: str, state: _RunState) -> _Walk:
    match node:
        case PlayNode():
            yield from _play(node.prompt(), state, interruptible=node.interruptible)
            return node.next
        case MenuNode():
            return (yield from _menu(node, key, state))
        case CollectNode():
            return (yield from _collect(node, key, state))
        case IdentifyCallerNode():
            return (yield from _identify(node, state))
        case AuthenticateNode():
            return (yield from _authenticate(node, key, state))
        case SelfServiceNode():
            return (yield from _self_service(node, key, state))
        case SetLanguageNode():
            state.language = node.language
            state.set_value(node.language)
            return node.next
        case BranchNode():
            return _branch(node, state)
        case CallbackNode():
            return (yield from _callback(node, key, state))
        case MessageNode():
            return (yield from _message(node, state))
        case SubflowNode():
            return (yield from _subflow(node, key, state))
        case _:
            return (yield from _finish(node, state))


def _finish(node: Node, state: _RunState) -> _Walk:
    client_id = state.client.client_id if state.client else None
    match node:
        case EnqueueNode():
            state.set_value(node.queue)
            command = Enqueue(
                node.queue, tuple(node.skills), node.priority, client_id, state.language
            )
            yield from _ask(command)
            return _Ended(OutcomeKind.QUEUED, queue=node.queue)
        case TransferNode():
            state.set_value(node.to)
            yield from _ask(Transfer(node.to))
            return _Ended(OutcomeKind.TRANSFERRED, transferred_to=node.to)
        case ReturnNode():
            return _Returned()
        case HangupNode():
            yield Hangup()  # whatever the answer, the call is over
            return _Ended(hung_up_by="ivr")
    raise AssertionError(f"no handler for node type {node.type}")


def _play(
    prompt: Prompt, state: _RunState, *, interruptible: bool
) -> Generator[Command, Result, str]:
    """Plays a prompt; returns the keys pressed during it ("" if none)."""
    result = yield from _ask(Play(prompt.sound, _texts(prompt, state), interruptible))
    return result.digits if isinstance(result, Digits) and interruptible else ""


def _texts(prompt: Prompt, state: _RunState) -> tuple[SpokenText, ...]:
    """The prompt's text in the caller's language, or in every language it has (Mandarin
    first) when it asks for that: the language menu must reach callers of either."""
    if prompt.text is None:
        return ()
    languages: tuple[Language, ...] = LANGUAGE_ORDER if prompt.every_language else (state.language,)
    return tuple(
        (text, language)
        for language in languages
        if (text := prompt.text.in_language(language)) is not None
    )


def _prompt_for_digits(
    prompt: Prompt | None,
    state: _RunState,
    *,
    max_digits: int,
    timeout: float,
    terminator: str | None,
) -> Generator[Command, Result, str | None]:
    """The prompt and the keys as one command; None when the caller pressed nothing."""
    sound = prompt.sound if prompt is not None else None
    texts = _texts(prompt, state) if prompt is not None else ()
    result = yield from _ask(CollectDigits(max_digits, timeout, terminator, sound, texts))
    if isinstance(result, Digits):
        return result.digits or None
    if isinstance(result, Timeout):
        return None
    raise UnexpectedResult(f"CollectDigits answered with {result!r}")


def _menu(node: MenuNode, key: str, state: _RunState) -> Generator[Command, Result, str]:
    while True:
        typed = yield from _prompt_for_digits(
            node.prompt, state, max_digits=1, timeout=node.timeout, terminator=None
        )
        state.note(typed or "timeout")
        if typed in node.choices:
            state.attempts.pop(key, None)
            return node.choices[typed]
        if state.count_attempt(key) > node.retries:
            state.attempts.pop(key, None)
            return node.on_exhausted
        detour = node.on_timeout if typed is None else node.on_invalid
        if detour is not None:
            return detour


def _collect(node: CollectNode, key: str, state: _RunState) -> Generator[Command, Result, str]:
    masked = node.secret or node.store in state.secrets
    while True:
        typed = yield from _prompt_for_digits(
            node.prompt,
            state,
            max_digits=node.max_length,
            timeout=node.timeout,
            terminator=node.terminator,
        )
        valid = typed is not None and node.min_length <= len(typed) <= node.max_length
        if typed is None:
            state.note("timeout")
        else:
            state.note(MASK if masked else typed)
        if valid and typed is not None:
            state.attempts.pop(key, None)
            state.variables[node.store] = typed
            return node.next
        if state.count_attempt(key) > node.retries:
            state.attempts.pop(key, None)
            return node.on_exhausted


def _identify(node: IdentifyCallerNode, state: _RunState) -> Generator[Command, Result, str]:
    number = state.context.caller_number
    if not number:  # withheld: nothing to look up
        state.note("no_number")
        return node.next_not_found
    result = yield from _ask(LookupCaller(number))
    if isinstance(result, CallerFound):
        state.client = result.client
        state.note("found")
        return node.next_found
    if isinstance(result, CallerNotFound):
        state.note("not_found")
        return node.next_not_found
    raise UnexpectedResult(f"LookupCaller answered with {result!r}")


def _authenticate(
    node: AuthenticateNode, key: str, state: _RunState
) -> Generator[Command, Result, str]:
    # The PIN leaves the state as soon as it is used: nothing later can leak it.
    pin = state.variables.pop(node.pin, "")
    command: Authenticate | AuthenticateKnown | None
    if node.account is not None:
        command = Authenticate(state.variables.get(node.account, ""), pin)
    elif state.client is not None:  # known by number: the PIN of that client
        command = AuthenticateKnown(state.client.client_id, pin)
    else:  # no account to check the PIN against: a failure, with no account tried
        command = None
        state.note("not_identified")
    result = AuthFailed() if command is None else (yield from _ask(command))
    if isinstance(result, AuthOk):
        state.attempts.pop(key, None)
        state.client, state.authenticated = result.client, True
        state.note("ok")
        return node.next_ok
    if isinstance(result, AuthLocked):
        state.note("locked")
        return node.next_locked
    if not isinstance(result, AuthFailed):
        raise UnexpectedResult(f"{type(command).__name__} answered with {result!r}")
    if state.count_attempt(key) >= node.max_attempts:
        state.note("failed, locked")
        return node.next_locked
    state.note("failed")
    return node.next_failed


def _self_service(node: SelfServiceNode, key: str, state: _RunState) -> _Walk:
    client = state.client
    if client is None or not state.authenticated:
        # Account data needs the PIN in this call; caller ID alone (a shared landline, a
        # spoofed number) never opens it. A checked flow cannot get here: this is the
        # defense behind the checker, for a flow or an engine that got past it.
        return (yield from _refuse(node, key, state, "not_authenticated"))
    result = yield SelfService(node.what, client.client_id, state.language)
    if isinstance(result, AccountDataRefused):  # the runner's own check said no
        return (yield from _refuse(node, key, state, "refused"))
    # Served once the answer starts playing: a caller who hangs up during the balance has
    # usually heard what they called for (and containment counts it so).
    state.self_served = True
    state.note(node.what)
    if isinstance(result, CallerHungUp):
        raise _CallerGone
    return node.next


def _refuse(node: SelfServiceNode, key: str, state: _RunState, reason: str) -> _Walk:
    """Nothing of the account is said; the caller goes where the flow says, or to an agent."""
    log.warning(
        "call %s: %s (%s) refused: %s (identified: %s)",
        state.context.call_id,
        key,
        node.what,
        reason,
        "yes" if state.client is not None else "no",
    )
    state.note(reason)
    if node.on_unauthenticated is not None:
        return node.on_unauthenticated
    client_id = state.client.client_id if state.client else None
    yield from _ask(Enqueue(REFUSED_QUEUE, (), 0, client_id, state.language))
    return _Ended(OutcomeKind.QUEUED, queue=REFUSED_QUEUE)


def _branch(node: BranchNode, state: _RunState) -> str:
    for index, case in enumerate(node.conditions):
        if _holds(case.when, state):
            state.note(f"condition {index}")
            return case.next
    state.note("otherwise")
    return node.otherwise


def _holds(condition: Condition, state: _RunState) -> bool:
    return holds(
        condition,
        ConditionFacts(
            business_hours=state.context.business_hours,
            holiday=state.context.holiday,
            client=state.client,
            authenticated=state.authenticated,
            language=state.language,
            variables=state.variables,
        ),
    )


def _callback(node: CallbackNode, key: str, state: _RunState) -> Generator[Command, Result, str]:
    while True:
        typed = yield from _prompt_for_digits(
            node.prompt, state, max_digits=20, timeout=node.timeout, terminator="#"
        )
        number = _callback_number(typed, node, state)
        state.note("confirmed" if number else (typed and "invalid") or "timeout")
        if number:
            state.attempts.pop(key, None)
            client_id = state.client.client_id if state.client else None
            yield from _ask(
                RequestCallback(number, client_id, state.language, keep_place=node.keep_place)
            )
            state.callback_requested = True
            return node.next
        if state.count_attempt(key) > node.retries:
            state.attempts.pop(key, None)
            return node.on_exhausted


def _callback_number(typed: str | None, node: CallbackNode, state: _RunState) -> str | None:
    """Key 1 confirms the number the caller calls from; a longer entry is another number."""
    if typed == "1":
        return state.context.caller_number
    if typed and typed.isdigit() and len(typed) >= node.min_length:
        return typed
    return None


def _message(node: MessageNode, state: _RunState) -> Generator[Command, Result, str]:
    if node.prompt is not None:
        yield from _play(node.prompt, state, interruptible=False)
    client_id = state.client.client_id if state.client else None
    result = yield RecordMessage(node.max_seconds, client_id)
    # Hanging up is how many callers finish a message: Asterisk keeps the recording.
    state.message_left = True
    state.note("recorded")
    if isinstance(result, CallerHungUp):
        raise _CallerGone
    return node.next


def _subflow(node: SubflowNode, key: str, state: _RunState) -> _Walk:
    ended = yield from _walk(state.flows[node.flow], state, prefix=f"{key}/")
    if isinstance(ended, _Returned):
        return node.next
    return ended
