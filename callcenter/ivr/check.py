"""Graph checks over validated flows: what pydantic cannot see one node at a time.

Each problem is a :class:`FlowError` naming the file, the node and the field, so an author
can go straight to the line: ``ivr_flows/hotline.yaml:main_menu:choices.9: unknown node``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from callcenter.ivr.auth_paths import unauthenticated_paths
from callcenter.ivr.flow import (
    EXIT_TYPES,
    AuthenticateNode,
    CollectNode,
    Flow,
    SubflowNode,
)

FLOW_LEVEL = "(flow)"


@dataclass(frozen=True, order=True)
class FlowError:
    file: str
    node: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.node}:{self.field}: {self.message}"


def check_flows(flows: Mapping[str, Flow], files: Mapping[str, str]) -> list[FlowError]:
    """All graph problems of a folder of flows; ``files`` maps a flow id to its file."""
    errors: list[FlowError] = []
    for flow_id, flow in flows.items():
        errors.extend(check_flow(flow, files[flow_id], known_flows=flows.keys(), flows=flows))
    errors.extend(_numbers_claimed_twice(flows, files))
    return sorted(errors)


def _numbers_claimed_twice(
    flows: Mapping[str, Flow], files: Mapping[str, str]
) -> Iterable[FlowError]:
    """A called number leads to one flow: two flows claiming it is an error in both files."""
    owner: dict[str, str] = {}
    for flow_id in sorted(flows):
        for number in flows[flow_id].numbers:
            first = owner.setdefault(number, flow_id)
            if first != flow_id:
                message = f"number {number} is also claimed by flow {first!r}"
                yield FlowError(files[flow_id], FLOW_LEVEL, "numbers", message)


def check_flow(
    flow: Flow,
    file: str,
    *,
    known_flows: Iterable[str],
    flows: Mapping[str, Flow] | None = None,
) -> list[FlowError]:
    """``flows``: the folder's flows, for what the sub-flows do (default: this one alone)."""
    known = set(known_flows)
    errors = _unknown_references(flow, file)
    errors += _unknown_subflows(flow, file, known)
    errors += _missing_prompts(flow, file)
    errors += _unset_variables(flow, file)
    if not errors:  # reachability is meaningless over dangling references
        errors += _unreachable(flow, file)
        errors += _loops_without_exit(flow, file)
        errors += _account_data_without_authentication(flow, file, flows or {flow.id: flow})
    return errors


def _unknown_references(flow: Flow, file: str) -> list[FlowError]:
    errors = []
    if flow.start not in flow.nodes:
        errors.append(FlowError(file, FLOW_LEVEL, "start", f"unknown node {flow.start!r}"))
    for entry in flow.overflow_entries:
        if entry not in flow.nodes:
            errors.append(
                FlowError(file, FLOW_LEVEL, "overflow_entries", f"unknown node {entry!r}")
            )
    for node_id, node in flow.nodes.items():
        for field, target in node.references():
            if target not in flow.nodes:
                errors.append(FlowError(file, node_id, field, f"unknown node {target!r}"))
    return errors


def _unknown_subflows(flow: Flow, file: str, known: set[str]) -> list[FlowError]:
    return [
        FlowError(file, node_id, "flow", f"unknown flow {node.flow!r}")
        for node_id, node in flow.nodes.items()
        if isinstance(node, SubflowNode) and node.flow not in known
    ]


def _missing_prompts(flow: Flow, file: str) -> list[FlowError]:
    errors = []
    for node_id, node in flow.nodes.items():
        for field, prompt in node.prompts():
            if prompt is None:
                errors.append(FlowError(file, node_id, field, f"a {node.type} needs a prompt"))
            elif prompt.text is not None:
                missing = sorted(set(flow.languages) - prompt.text.languages())
                if missing:
                    where = field if field == "text" else f"{field}.text"
                    message = f"text missing in {', '.join(missing)} (the flow speaks them)"
                    errors.append(FlowError(file, node_id, where, message))
    return errors


def _unset_variables(flow: Flow, file: str) -> list[FlowError]:
    stored = {node.store for node in flow.nodes.values() if isinstance(node, CollectNode)}
    errors = []
    for node_id, node in flow.nodes.items():
        if isinstance(node, AuthenticateNode):
            for field in ("account", "pin"):
                name = getattr(node, field)
                if name is not None and name not in stored:
                    message = f"no collect node stores variable {name!r}"
                    errors.append(FlowError(file, node_id, field, message))
    return errors


def _successors(flow: Flow) -> dict[str, set[str]]:
    return {
        node_id: {target for _, target in node.references()} for node_id, node in flow.nodes.items()
    }


def _reachable_from(starts: Iterable[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        node_id = stack.pop()
        if node_id not in seen:
            seen.add(node_id)
            stack.extend(edges.get(node_id, ()))
    return seen


def _unreachable(flow: Flow, file: str) -> list[FlowError]:
    reached = _reachable_from([flow.start, *flow.overflow_entries], _successors(flow))
    return [
        FlowError(file, node_id, "id", f"unreachable from start node {flow.start!r}")
        for node_id in flow.nodes
        if node_id not in reached
    ]


def _loops_without_exit(flow: Flow, file: str) -> list[FlowError]:
    """Nodes from which no exit (hangup, enqueue, transfer, callback, message, return) can
    be reached: the caller would go round a loop forever. A menu's retry limit does not
    help here, since its ``on_exhausted`` target is part of the graph like any other."""
    edges = _successors(flow)
    predecessors: dict[str, set[str]] = {node_id: set() for node_id in flow.nodes}
    for source, targets in edges.items():
        for target in targets:
            predecessors[target].add(source)
    exits = [node_id for node_id, node in flow.nodes.items() if node.type in EXIT_TYPES]
    can_leave = _reachable_from(exits, predecessors)
    errors = []
    for node_id, node in flow.nodes.items():
        if node_id not in can_leave:
            field = next((name for name, _ in node.references()), "type")
            message = "loop with no way out: no hangup, enqueue, transfer, callback or message"
            errors.append(FlowError(file, node_id, field, message + " is reachable from here"))
    return errors


def _account_data_without_authentication(
    flow: Flow, file: str, flows: Mapping[str, Flow]
) -> list[FlowError]:
    """Account data (balance, positions, trades, account changes) reachable on a path where
    no authenticate node succeeded: caller ID may greet and route, never open an account."""
    errors = []
    for node_id, path in unauthenticated_paths(flow, flows):
        node = flow.nodes[node_id]
        what = getattr(node, "what", node.type)
        message = (
            f"account data ({node.type} {what}) is reachable without authentication: "
            f"{' -> '.join(path)}; only an authenticate node's next_ok authenticates a call"
        )
        errors.append(FlowError(file, node_id, "type", message))
    return errors
