"""Which account-data nodes a flow lets a caller reach without authenticating in the call.

Caller ID identifies a caller (enough to greet and route them) but never authenticates
them: a shared landline or a spoofed number would otherwise read one client's holdings to
someone else. So every path from an entry of the flow (``start``, each of
``overflow_entries``) to a node of ``ACCOUNT_DATA_TYPES`` must pass an authenticate node's
``next_ok``.

The walk is over (node, authenticated?) states, breadth first, so the path it reports is a
shortest one. Only an authenticate node's ``next_ok`` sets authenticated; nothing unsets it.
A branch takes only the edges its conditions allow given that one fact
(:func:`~callcenter.ivr.conditions.holds_given_authentication`): a case whose condition is
false is skipped, and one that is surely true hides the cases after it. Everything else
about a call is unknown here, so every other edge is possible. Entries start
unauthenticated: a caller sent back by a queue's overflow may never have typed a PIN. A
sub-flow that can authenticate may return authenticated or not; a sub-flow is itself checked
from its own start, unauthenticated.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping

from callcenter.ivr.conditions import holds_given_authentication
from callcenter.ivr.flow import (
    ACCOUNT_DATA_TYPES,
    AuthenticateNode,
    BranchNode,
    Flow,
    Node,
    SubflowNode,
)

_State = tuple[str, bool]  # a node id, and whether the call is authenticated there


def unauthenticated_paths(
    flow: Flow, flows: Mapping[str, Flow]
) -> list[tuple[str, tuple[str, ...]]]:
    """(account-data node id, a shortest path of node ids to it from an entry, the node
    last) for every such node an unauthenticated call can reach; sorted by node id. The flow's
    references must all be known (the checker's other checks come first)."""
    parent: dict[_State, _State | None] = {}
    queue: deque[_State] = deque()
    for entry in (flow.start, *flow.overflow_entries):
        if (entry, False) not in parent:
            parent[(entry, False)] = None
            queue.append((entry, False))
    found: dict[str, _State] = {}
    while queue:
        state = queue.popleft()
        node_id, authenticated = state
        node = flow.nodes[node_id]
        if node.type in ACCOUNT_DATA_TYPES and not authenticated:
            found.setdefault(node_id, state)
        for move in _moves(node, authenticated, flows):
            if move not in parent:
                parent[move] = state
                queue.append(move)
    return [(node_id, _path_to(state, parent)) for node_id, state in sorted(found.items())]


def _path_to(state: _State, parent: Mapping[_State, _State | None]) -> tuple[str, ...]:
    path: list[str] = []
    at: _State | None = state
    while at is not None:
        path.append(at[0])
        at = parent[at]
    return tuple(reversed(path))


def _moves(node: Node, authenticated: bool, flows: Mapping[str, Flow]) -> Iterator[_State]:
    """The states a call at ``node`` can be in next."""
    match node:
        case AuthenticateNode():
            yield node.next_ok, True
            yield node.next_failed, authenticated
            yield node.next_locked, authenticated
        case BranchNode():
            for target in _branch_targets(node, authenticated):
                yield target, authenticated
        case SubflowNode():
            yield node.next, authenticated
            if not authenticated and _may_authenticate(node.flow, flows, set()):
                yield node.next, True
        case _ if node.type in ACCOUNT_DATA_TYPES:
            # Authenticated: the data, then on. Not: the engine refuses and goes to
            # on_unauthenticated (or hands the call to an agent, which ends the flow).
            for field, target in node.references():
                if (field == "on_unauthenticated") != authenticated:
                    yield target, authenticated
        case _:
            for _field, target in node.references():
                yield target, authenticated


def _branch_targets(node: BranchNode, authenticated: bool) -> Iterator[str]:
    for case in node.conditions:
        holds = holds_given_authentication(case.when, authenticated)
        if holds is not False:
            yield case.next
        if holds is True:  # the cases after it, and otherwise, are never taken
            return
    yield node.otherwise


def _may_authenticate(flow_id: str, flows: Mapping[str, Flow], seen: set[str]) -> bool:
    """Whether running ``flow_id`` can authenticate the call (itself or a sub-flow of it)."""
    flow = flows.get(flow_id)
    if flow is None or flow_id in seen:  # unknown flows are another check's error
        return False
    seen.add(flow_id)
    return any(
        isinstance(node, AuthenticateNode)
        or (isinstance(node, SubflowNode) and _may_authenticate(node.flow, flows, seen))
        for node in flow.nodes.values()
    )
