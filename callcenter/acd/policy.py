"""The ACD routing policy: which ready agent takes a queued call, and which waiting call an agent
who becomes ready takes.

Pure and synchronous: no clock, no IO. The service mirrors the agents' states and the waiting
calls into one ``Router``, asks it for a decision, and applies the decision through the
Router's explicit methods (``assign``). Asking never changes what the Router holds (it may
drop dead heap entries on the way, which changes no answer), so a decision can be asked again,
logged or thrown away. Times are the caller's monotonic clock, as in callcenter.acd.model.

The rules, in order:

1. Only a READY agent is ever chosen: never a reserved one, one on a call, in wrap-up, not ready
   or logged out.
2. A call's dedicated advisor is chosen first whenever they are ready; the advisor need not
   serve the call's queue or have its skills (they own the client). While the call has waited
   less than its queue's ``advisor_wait_seconds`` and its advisor is logged in (in any state but
   logged out), only the advisor may take it: the call waits for them. After that wait, or at
   once when the advisor is logged out, any eligible agent may take it.
3. Eligible: the agent serves the call's queue, has every skill the queue requires and every
   extra skill the call asks for (level >= 1), and speaks the call's language.
4. Among calls: the higher priority first, then the longest waiting (earliest ``enqueued_at``),
   then the lowest call id so that a tie is still decided the same way every time. An advisor
   who becomes ready takes their own clients' calls first, in that order, from any queue.
5. Among agents: the longest idle (earliest ``idle_since``: when they last became ready), then
   the lowest agent id.

Fair across the queues an agent serves means: no queue has precedence over another. An agent who
becomes ready takes the best call, by rule 4, among the calls of every queue they serve that
they may take; the head of a small queue competes on equal terms with the head of a long one.

How it stays fast with thousands of calls and agents: calls are grouped into classes that share
everything eligibility depends on (queue, language, extra skills); each class keeps its open
calls in a heap, the calls held for a logged-in advisor in one heap per priority (a held call
opens with time, and within one priority the longest waiting opens first), and the ready agents
eligible for it in a heap by idle time. Each agent knows the classes it is eligible for, each
advisor the calls of their own clients. A decision looks at the heads of a few heaps; nothing
scans the waiting calls. Heaps delete lazily: an entry is marked dead by its token and dropped
when it reaches the head, or when dead entries outnumber live ones.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from callcenter.acd.model import MIN_SKILL_LEVEL, AgentProfile, AgentState, QueueConfig, WaitingCall
from callcenter.errors import Conflict, NotFound

# (-priority, enqueued_at, call_id) and (idle_since, agent_id): the smallest goes first.
CallKey = tuple[int, float, str]
AgentKey = tuple[float, int]
_Key = TypeVar("_Key", CallKey, AgentKey)
# Rebuilding a heap costs O(n); below this many dead entries it is not worth it.
_COMPACT_AFTER = 64


class UnknownQueue(NotFound):
    error_id = "routing-unknown-queue"


class UnknownAgent(NotFound):
    error_id = "routing-unknown-agent"


class CallNotWaiting(NotFound):
    error_id = "routing-call-not-waiting"


class CallAlreadyWaiting(Conflict):
    error_id = "routing-call-already-waiting"


class AgentAlreadyKnown(Conflict):
    error_id = "routing-agent-already-known"


class AgentNotReady(Conflict):
    error_id = "routing-agent-not-ready"


def call_key(call: WaitingCall) -> CallKey:
    return (-call.priority, call.enqueued_at, call.call_id)


class _LazyHeap(Generic[_Key]):
    """A heap whose entries are removed by token: removal is O(1), the cost is paid when a dead
    entry reaches the head (or in a rebuild once most entries are dead)."""

    __slots__ = ("_dead", "_entries")

    def __init__(self) -> None:
        self._entries: list[tuple[_Key, int]] = []
        self._dead: set[int] = set()

    def __len__(self) -> int:
        return len(self._entries) - len(self._dead)

    def push(self, key: _Key, token: int) -> None:
        heapq.heappush(self._entries, (key, token))

    def discard(self, token: int) -> None:
        """Forget the entry pushed with ``token`` (which must be live in this heap)."""
        self._dead.add(token)
        if len(self._dead) > _COMPACT_AFTER and 2 * len(self._dead) > len(self._entries):
            dead = self._dead
            self._entries = [entry for entry in self._entries if entry[1] not in dead]
            heapq.heapify(self._entries)
            dead.clear()

    def first(self) -> _Key | None:
        entries, dead = self._entries, self._dead
        while entries and entries[0][1] in dead:
            dead.discard(heapq.heappop(entries)[1])
        return entries[0][0] if entries else None


class _CallClass:
    """Waiting calls that the same agents may take, and the ready agents who may take them."""

    __slots__ = ("config", "held", "language", "open", "ready", "required")

    def __init__(self, config: QueueConfig, language: str, skills: frozenset[str]) -> None:
        self.config = config
        self.language = language
        self.required = frozenset(config.required_skills) | skills
        self.open: _LazyHeap[CallKey] = _LazyHeap()
        self.held: dict[int, _LazyHeap[CallKey]] = {}  # by priority: waiting for their advisor
        self.ready: _LazyHeap[AgentKey] = _LazyHeap()

    def admits(self, profile: AgentProfile) -> bool:
        skills = profile.skills
        return (
            self.config.name in profile.queues
            and self.language in profile.languages
            and all(skills.get(skill, 0) >= MIN_SKILL_LEVEL for skill in self.required)
        )

    def best_open(self, now: float, better_than: CallKey | None) -> CallKey | None:
        """The best call anyone eligible may take now: an open one, or a held one whose wait
        for its advisor is over. Within one priority the longest waiting is the first to open,
        so one look per priority suffices."""
        best = self.open.first()
        if better_than is not None and (best is None or better_than < best):
            best = better_than
        wait = self.config.advisor_wait_seconds
        for priority, heap in self.held.items():
            if best is not None and -priority > best[0]:
                continue
            head = heap.first()
            if head is not None and not now - head[1] < wait and (best is None or head < best):
                best = head
        return best


@dataclass(slots=True)
class _Agent:
    profile: AgentProfile
    state: AgentState
    idle_since: float
    token: int = 0  # marks its entries in the classes' ready heaps while it is ready
    classes: list[_CallClass] = field(default_factory=list)  # the classes it is eligible for


@dataclass(slots=True)
class _Waiting:
    call: WaitingCall
    key: CallKey
    cls: _CallClass
    held: bool = False  # waiting for a logged-in advisor (in cls.held, else in cls.open)
    token: int = 0  # its entry in the class
    own_token: int = 0  # its entry in its advisor's heap


class Router:
    """The live routing state of the center and the two decisions taken on it."""

    def __init__(self, queues: Iterable[QueueConfig] = ()) -> None:
        self._queues = {config.name: config for config in queues}
        self._agents: dict[int, _Agent] = {}
        self._calls: dict[str, _Waiting] = {}
        self._classes: dict[tuple[str, str, frozenset[str]], _CallClass] = {}
        self._own: dict[int, _LazyHeap[CallKey]] = {}  # advisor id -> their clients' calls
        self._own_ids: dict[int, set[str]] = {}
        self._tokens = itertools.count(1)

    # --- the decisions ----------------------------------------------------------------------

    def best_agent_for(self, call_id: str, now: float) -> int | None:
        """The agent who should take this waiting call now, or None: the call stays queued."""
        waiting = self._waiting(call_id)
        advisor_id = waiting.call.advisor_id
        if advisor_id is not None:
            advisor = self._agents.get(advisor_id)
            if advisor is not None and advisor.state is AgentState.READY:
                return advisor_id
            if waiting.held and self._still_held(waiting.call, waiting.cls.config, now):
                return None
        head = waiting.cls.ready.first()
        return None if head is None else head[1]

    def best_call_for(self, agent_id: int, now: float) -> str | None:
        """The waiting call this agent should take now, or None (also when not ready)."""
        agent = self._agent(agent_id)
        if agent.state is not AgentState.READY:
            return None
        own = self._own.get(agent_id)
        if own is not None and (head := own.first()) is not None:
            return head[2]
        best: CallKey | None = None
        for cls in agent.classes:
            best = cls.best_open(now, best)
        return None if best is None else best[2]

    def widens_at(self, call_id: str) -> float | None:
        """When a call held for its logged-in advisor opens to every eligible agent (the service
        asks ``best_agent_for`` again then); None if it is not held."""
        waiting = self._waiting(call_id)
        if not waiting.held:
            return None
        return waiting.call.enqueued_at + waiting.cls.config.advisor_wait_seconds

    # --- queues and calls -------------------------------------------------------------------

    def set_queue(self, config: QueueConfig) -> None:
        """Add a queue, or change one (rare: the whole index is rebuilt). Setting a queue to
        the configuration it already has costs nothing."""
        before = self._queues.get(config.name)
        if before == config:
            return
        self._queues[config.name] = config
        if before is not None:
            self._reindex()

    def add_call(self, call: WaitingCall) -> None:
        if call.call_id in self._calls:
            raise CallAlreadyWaiting("call already waiting", call_id=call.call_id)
        self._insert(call)

    def remove_call(self, call_id: str) -> WaitingCall:
        """The call left the queue (taken, abandoned, overflowed)."""
        waiting = self._calls.pop(call_id, None)
        if waiting is None:
            raise CallNotWaiting("call not waiting", call_id=call_id)
        self._unplace(waiting)
        advisor_id = waiting.call.advisor_id
        if advisor_id is not None:
            self._own[advisor_id].discard(waiting.own_token)
            ids = self._own_ids[advisor_id]
            ids.discard(call_id)
            if not ids:
                del self._own[advisor_id], self._own_ids[advisor_id]
        return waiting.call

    def assign(self, call_id: str, agent_id: int) -> WaitingCall:
        """Apply a decision: the call leaves the queue and the agent is reserved for it."""
        if self._agent(agent_id).state is not AgentState.READY:
            raise AgentNotReady("agent not ready", agent_id=agent_id, call_id=call_id)
        call = self.remove_call(call_id)
        self._set_state(self._agents[agent_id], AgentState.RESERVED, 0.0)
        return call

    def waiting_call(self, call_id: str) -> WaitingCall | None:
        waiting = self._calls.get(call_id)
        return None if waiting is None else waiting.call

    def waiting_calls(self, queue: str) -> list[WaitingCall]:
        """A queue's calls in routing order (a scan: for display, not for decisions)."""
        calls = [w for w in self._calls.values() if w.call.queue == queue]
        return [w.call for w in sorted(calls, key=lambda w: w.key)]

    # --- agents -----------------------------------------------------------------------------

    def add_agent(
        self, profile: AgentProfile, now: float, state: AgentState = AgentState.LOGGED_OUT
    ) -> None:
        if profile.agent_id in self._agents:
            raise AgentAlreadyKnown("agent already known", agent_id=profile.agent_id)
        agent = _Agent(profile, AgentState.LOGGED_OUT, now)
        agent.classes = [cls for cls in self._classes.values() if cls.admits(profile)]
        self._agents[profile.agent_id] = agent
        self._set_state(agent, state, now)

    def update_agent(self, profile: AgentProfile) -> None:
        """New skills, languages or queues; the state and idle time are kept."""
        agent = self._agent(profile.agent_id)
        ready = agent.state is AgentState.READY
        if ready:
            self._leave_ready(agent)
        agent.profile = profile
        agent.classes = [cls for cls in self._classes.values() if cls.admits(profile)]
        if ready:
            self._enter_ready(agent)

    def remove_agent(self, agent_id: int) -> None:
        agent = self._agent(agent_id)
        self._set_state(agent, AgentState.LOGGED_OUT, agent.idle_since)
        del self._agents[agent_id]

    def set_agent_state(self, agent_id: int, state: AgentState, now: float) -> None:
        """Mirror an agent's state. Becoming ready at ``now`` starts their idle time; staying
        ready keeps it."""
        self._set_state(self._agent(agent_id), state, now)

    def agent_state(self, agent_id: int) -> AgentState:
        return self._agent(agent_id).state

    # --- inside -----------------------------------------------------------------------------

    def _agent(self, agent_id: int) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise UnknownAgent("agent not known to the router", agent_id=agent_id)
        return agent

    def _waiting(self, call_id: str) -> _Waiting:
        waiting = self._calls.get(call_id)
        if waiting is None:
            raise CallNotWaiting("call not waiting", call_id=call_id)
        return waiting

    @staticmethod
    def _still_held(call: WaitingCall, config: QueueConfig, now: float) -> bool:
        return now - call.enqueued_at < config.advisor_wait_seconds

    def _advisor_logged_in(self, advisor_id: int | None) -> bool:
        if advisor_id is None:
            return False
        advisor = self._agents.get(advisor_id)
        return advisor is not None and advisor.state is not AgentState.LOGGED_OUT

    def _set_state(self, agent: _Agent, state: AgentState, now: float) -> None:
        before = agent.state
        if before is state:
            return
        if before is AgentState.READY:
            self._leave_ready(agent)
        agent.state = state
        if state is AgentState.READY:
            agent.idle_since = now
            self._enter_ready(agent)
        if AgentState.LOGGED_OUT in (before, state):
            # Their clients' calls are held for them while they are logged in, open otherwise.
            for call_id in self._own_ids.get(agent.profile.agent_id, ()):
                waiting = self._calls[call_id]
                self._unplace(waiting)
                self._place(waiting)

    def _enter_ready(self, agent: _Agent) -> None:
        agent.token = next(self._tokens)
        key = (agent.idle_since, agent.profile.agent_id)
        for cls in agent.classes:
            cls.ready.push(key, agent.token)

    def _leave_ready(self, agent: _Agent) -> None:
        for cls in agent.classes:
            cls.ready.discard(agent.token)

    def _class_for(self, call: WaitingCall) -> _CallClass:
        """The call's class, made on first use. Classes stay when empty: there are as many as
        queues x languages x extra-skill sets in use, a small number."""
        skills = frozenset(call.skills)
        cls = self._classes.get((call.queue, call.language, skills))
        if cls is None:
            config = self._queues.get(call.queue)
            if config is None:
                raise UnknownQueue("queue not known to the router", queue=call.queue)
            cls = _CallClass(config, call.language, skills)
            self._classes[call.queue, call.language, skills] = cls
            for agent in self._agents.values():
                if cls.admits(agent.profile):
                    agent.classes.append(cls)
                    if agent.state is AgentState.READY:
                        cls.ready.push((agent.idle_since, agent.profile.agent_id), agent.token)
        return cls

    def _insert(self, call: WaitingCall) -> None:
        waiting = _Waiting(call, call_key(call), self._class_for(call))
        self._place(waiting)
        advisor_id = call.advisor_id
        if advisor_id is not None:
            waiting.own_token = next(self._tokens)
            self._own.setdefault(advisor_id, _LazyHeap()).push(waiting.key, waiting.own_token)
            self._own_ids.setdefault(advisor_id, set()).add(call.call_id)
        self._calls[call.call_id] = waiting

    def _place(self, waiting: _Waiting) -> None:
        waiting.token = next(self._tokens)
        waiting.held = self._advisor_logged_in(waiting.call.advisor_id)
        cls = waiting.cls
        heap = cls.held.setdefault(waiting.call.priority, _LazyHeap()) if waiting.held else cls.open
        heap.push(waiting.key, waiting.token)

    def _unplace(self, waiting: _Waiting) -> None:
        cls = waiting.cls
        if not waiting.held:
            cls.open.discard(waiting.token)
            return
        heap = cls.held[waiting.call.priority]
        heap.discard(waiting.token)
        if not heap:
            del cls.held[waiting.call.priority]

    def _reindex(self) -> None:
        calls = [waiting.call for waiting in self._calls.values()]
        self._calls.clear()
        self._classes.clear()
        self._own.clear()
        self._own_ids.clear()
        for agent in self._agents.values():
            agent.classes = []
        for call in calls:
            self._insert(call)
