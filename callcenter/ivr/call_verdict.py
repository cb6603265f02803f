"""Where a call ended, read from its interaction record: what ``scripts/call.py`` reports.

The record is the truth (the service writes it phase by phase); the flow only says what kind
of node each recorded step was (an opening-hours check, a menu that took a key). The keys the
caller sent are counted, never interpreted: guessing "0 means an agent" from the keys alone
would be wrong the moment the call is somewhere else (the after-hours menu takes "1" as a call
back). A call reached what its keys asked for when

* the hotline was open (no opening-hours branch sent it to its closed side),
* the IVR took every group of keys sent (each one a valid choice, every PIN accepted),
* and a call the IVR queued was answered by an agent.

Pure: the lookup of the record is callcenter/persistence/call_lookup.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from callcenter.ivr.flow import (
    AuthenticateNode,
    BranchNode,
    CallbackNode,
    CollectNode,
    Flow,
    MenuNode,
    Node,
)

MASK = "****"  # a secret typed (a PIN): callcenter/ivr/engine.py writes this in its place
TIMEOUT = "timeout"  # what a menu, collect or callback node records when no key came


@dataclass(frozen=True)
class CallRecord:
    """What the interaction record says about one call."""

    interaction_id: int
    path: tuple[str, ...]  # "node=value" steps, as the IVR wrote them (PINs masked)
    outcome: str | None  # the IVR's outcome: self_served, queued, callback, ...
    queue: str | None
    agent: str | None  # the username of the agent it was offered to (or answered by)
    answered: bool
    waited_seconds: float | None  # from queue entry to answer, or to the end if unanswered


@dataclass(frozen=True)
class Verdict:
    reached: bool  # the call reached what its keys asked for
    ended_at: str  # the last node of the IVR, or "queue general, agent agent01"
    problem: str | None = None  # why not, in words

    @property
    def summary(self) -> str:
        if self.reached:
            return f"reached: {self.ended_at}"
        return f"NOT REACHED: {self.problem}; ended at {self.ended_at}"


@dataclass(frozen=True)
class _Step:
    node: str
    value: str | None  # what the IVR noted at the node; a node that asked again notes each
    # answer, comma separated ("after_hours_menu=0,timeout")

    def inputs(self) -> list[str]:
        """The keys typed at an input node, one entry per answer (silence left out)."""
        if self.value is None:
            return []
        return [typed for typed in self.value.split(",") if typed != TIMEOUT]


def _steps(path: tuple[str, ...]) -> list[_Step]:
    steps = []
    for entry in path:
        node, sep, value = entry.partition("=")
        steps.append(_Step(node, value if sep else None))
    return steps


def _node(flows: Mapping[str, Flow], flow: Flow, name: str) -> Node | None:
    """The node of the call's flow, or of a subflow (whose node ids the path records)."""
    if name in flow.nodes:
        return flow.nodes[name]
    for other in flows.values():
        if name in other.nodes:
            return other.nodes[name]
    return None


def closed_side(node: BranchNode, taken: str) -> bool:
    """Whether an opening-hours branch took its closed side: ``otherwise`` of a branch whose
    cases need the hotline open, or a case that asks for it closed (or a holiday)."""
    if taken == "otherwise":
        return any(case.when.business_hours is True for case in node.conditions)
    index = taken.removeprefix("condition ")
    if not index.isdigit() or int(index) >= len(node.conditions):
        return False
    when = node.conditions[int(index)].when
    return when.business_hours is False or when.holiday is True


def _key_problem(step: _Step, node: Node) -> str | None:
    """A step that took keys but not what the flow accepts there."""
    if isinstance(node, MenuNode):
        for typed in step.inputs():
            if typed not in node.choices:
                return f"key {typed} is no choice at {step.node}"
    if isinstance(node, CollectNode):
        low, high = node.min_length, node.max_length
        for typed in step.inputs():
            if typed != MASK and not low <= len(typed) <= high:
                return f"{step.node} took {len(typed)} keys, not {low}-{high}"
    if isinstance(node, AuthenticateNode) and step.value not in (None, "ok"):
        return f"{step.node}: {step.value}"
    if isinstance(node, CallbackNode) and "invalid" in step.inputs():
        return f"{step.node}: the number typed is not one"
    return None


def _keys_taken(step: _Step, node: Node) -> int:
    """How many groups of keys the node took: each answer of a menu, collect or callback."""
    if isinstance(node, MenuNode | CollectNode | CallbackNode):
        return len(step.inputs())
    return 0


def groups_pressed(groups: list[str], keys_sent: int) -> int:
    """How many groups of keys were pressed whole when the caller sent the first
    ``keys_sent`` keys of ``groups`` (sipp stops sending keys when the call ends)."""
    count = pressed = 0
    for group in groups:
        pressed += len(group)
        if pressed > keys_sent:
            break
        count += 1
    return count


def judge(
    record: CallRecord, flow: Flow, key_groups_sent: int, flows: Mapping[str, Flow] | None = None
) -> Verdict:
    """The verdict on one call: ``key_groups_sent`` is how many groups of keys the caller
    pressed before the call ended (sipp's count, not the script's)."""
    flows = flows or {flow.id: flow}
    steps = _steps(record.path)
    last = steps[-1].node if steps else "(no IVR step)"
    if record.queue is not None:
        where = f"queue {record.queue}" + (f", agent {record.agent}" if record.agent else "")
    else:
        where = f"{last} ({record.outcome or 'no outcome'})"
    taken = 0
    for index, step in enumerate(steps):
        node = _node(flows, flow, step.node)
        if node is None:
            continue
        if isinstance(node, BranchNode) and step.value and closed_side(node, step.value):
            went = steps[index + 1].node if index + 1 < len(steps) else "nowhere"
            return Verdict(
                False,
                f"{last} ({record.outcome or 'no outcome'})",
                f"after hours: the hotline was closed ({step.node}: {step.value}), so the "
                f"call went to {went}",
            )
        taken += _keys_taken(step, node)
        if (problem := _key_problem(step, node)) is not None:
            return Verdict(False, where, problem)
    if taken < key_groups_sent:
        return Verdict(
            False,
            where,
            f"the IVR took {taken} of the {key_groups_sent} groups of keys sent",
        )
    if record.queue is not None:
        return _queued(record, where)
    return Verdict(True, where)


def _queued(record: CallRecord, where: str) -> Verdict:
    waited = "" if record.waited_seconds is None else f" after {record.waited_seconds:.0f} s"
    if record.answered and record.agent is not None:
        return Verdict(True, f"{where} (answered{waited})")
    if record.agent is not None:
        problem = f"offered to {record.agent}, who did not answer; the caller left{waited}"
    else:
        problem = f"no agent answered in queue {record.queue}; the caller left{waited}"
    if record.outcome not in (None, "queued"):
        problem += f" (then {record.outcome})"
    return Verdict(False, where, problem)
