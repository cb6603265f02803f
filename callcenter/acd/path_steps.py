"""What the caller did before reaching the agent, as typed steps the desk tells in words.

A record's IVR path names the nodes of one flow ("choose_language=1", "set_zh",
"check_pin=ok"): right for the record, meaningless on an agent's screen. The pop carries the
same path as steps of a small closed vocabulary, from what each node *was* (its type, which
the engine keeps with each step) and what came of it, so any flow reads as words ("chose
Mandarin", "identified by number", "entered the PIN", "asked for an agent") without a text per
node. Steps the caller did nothing in (a prompt played, a branch taken) are left out; a step
of a kind this table does not know is ``other``, which the desk tells in a generic wording,
never as a node id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from callcenter.ivr.engine import MASK, Step

PathStepKind = Literal[
    "language",  # value: zh / en
    "identified",  # result: found / not_found / no_number
    "entered_pin",
    "entered_number",  # an account number, a callback number: digits the caller typed
    "pin_checked",  # result: ok / failed / locked / not_identified
    "menu",  # value: the key pressed; result: timeout when none was
    "self_service",  # value: balance / positions; result: refused when not authenticated
    "callback",
    "message",
    "queue",  # value: the queue asked for
    "transfer",  # value: where to
    "overflow",  # value: the queue it moved on to (none: back to the IVR)
    "moved",  # by a supervisor; value: the queue
    "other",
]

# Node types that record nothing the caller did.
SILENT = frozenset({"play", "branch", "subflow", "return", "hangup"})
# A menu choice is told by the step it led to, when that step says it better.
SAYS_WHAT_A_CHOICE_MEANT = frozenset(
    {"language", "queue", "self_service", "callback", "message", "transfer"}
)
# Steps the ACD adds to a call's path (callcenter/acd/service.py): "overflow:general=backup".
ACD_STEPS: dict[str, PathStepKind] = {"overflow": "overflow", "moved": "moved"}


@dataclass(frozen=True, slots=True, kw_only=True)
class PathStep:
    """One step of the caller's way to the agent, as the pop carries it."""

    kind: PathStepKind
    result: str | None = None
    value: str | None = None


def path_steps(steps: Sequence[Step]) -> tuple[PathStep, ...]:
    """The steps worth telling the agent, in order."""
    told = [s for s in (_step(step) for step in steps) if s is not None]
    return tuple(_without_explained_choices(told))


def _without_explained_choices(steps: list[PathStep]) -> Iterable[PathStep]:
    for index, step in enumerate(steps):
        following = steps[index + 1] if index + 1 < len(steps) else None
        if (
            step.kind == "menu"
            and step.result is None
            and following is not None
            and following.kind in SAYS_WHAT_A_CHOICE_MEANT
        ):
            continue
        yield step


def _step(step: Step) -> PathStep | None:
    last = step.inputs[-1] if step.inputs else None
    match step.kind:
        case "" if ":" in step.node:
            acd_kind = ACD_STEPS.get(step.node.split(":", 1)[0], "other")
            return PathStep(kind=acd_kind, value=last if acd_kind != "other" else None)
        case node_type if node_type in SILENT:
            return None
        case "set_language":
            return PathStep(kind="language", value=step.value)
        case "identify_caller":
            return PathStep(kind="identified", result=last)
        case "collect":
            if last in (None, "timeout"):
                return PathStep(kind="menu", result="timeout")
            return PathStep(kind="entered_pin" if last == MASK else "entered_number")
        case "authenticate":
            result = (last or "").split(",")[0].strip() or None
            return PathStep(kind="pin_checked", result=result)
        case "menu":
            if last in (None, "timeout"):
                return PathStep(kind="menu", result="timeout")
            return PathStep(kind="menu", value=last)
        case "self_service":
            refused = last in ("not_authenticated", "refused")
            return PathStep(
                kind="self_service",
                result="refused" if refused else None,
                value=None if refused else last,
            )
        case "callback":
            return PathStep(kind="callback") if last == "confirmed" else None
        case "message":
            return PathStep(kind="message")
        case "enqueue":
            return PathStep(kind="queue", value=step.value)
        case "transfer":
            return PathStep(kind="transfer", value=step.value)
    return PathStep(kind="other")
