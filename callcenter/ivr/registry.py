"""The flows the service answers calls with, and which called number gets which flow.

A call takes the current :class:`FlowSet` when it starts and keeps it to the end, so a reload
changes what the next caller hears and never the flow a caller is in the middle of. A reload
that finds any error keeps the set it had: a typo in one file must not take the hotline down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from callcenter.ivr.check import FLOW_LEVEL, FlowError
from callcenter.ivr.flow import EnqueueNode, Flow
from callcenter.ivr.loader import FlowCatalog, FlowsInvalid, load_flows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowSet:
    """One consistent generation of flows: never changed, only replaced."""

    flows: Mapping[str, Flow]
    files: Mapping[str, str]
    default: str
    generation: int

    def for_number(self, called: str | None) -> Flow:
        """The flow that answers ``called``; unmapped (or withheld) numbers get the default."""
        if called:
            for flow in self.flows.values():
                if called in flow.numbers:
                    return flow
        return self.flows[self.default]

    def missing_overflow_node(self, queue: str, node: str) -> list[str]:
        """The flows that enqueue callers into ``queue`` but do not list ``node`` in their
        ``overflow_entries`` (the ACD resumes the caller's own flow there)."""
        return sorted(
            flow.id
            for flow in self.flows.values()
            if node not in flow.overflow_entries
            and any(
                isinstance(each, EnqueueNode) and each.queue == queue
                for each in flow.nodes.values()
            )
        )


@dataclass(frozen=True)
class ReloadReport:
    generation: int
    flows: tuple[str, ...]


def flow_set(catalog: FlowCatalog, default: str, generation: int) -> FlowSet:
    if default not in catalog.flows:
        known = ", ".join(sorted(catalog.flows)) or "none"
        error = FlowError(FLOW_LEVEL, FLOW_LEVEL, "default", f"no flow {default!r} ({known})")
        raise FlowsInvalid([error])
    return FlowSet(catalog.flows, catalog.files, default, generation)


class FlowRegistry:
    """Holds the current FlowSet; ``reload`` swaps in a new one only when all of it is valid."""

    def __init__(self, path: Path, default: str) -> None:
        self.path = path
        self.default = default
        self._current = flow_set(load_flows(path), default, generation=1)

    @property
    def current(self) -> FlowSet:
        return self._current

    def reload(self) -> ReloadReport:
        """Load the folder again; raises FlowsInvalid (and keeps the old set) on any error."""
        try:
            candidate = flow_set(load_flows(self.path), self.default, self._current.generation + 1)
        except FlowsInvalid as exc:
            log.error(
                "IVR flows not reloaded, keeping generation %d: %s",
                self._current.generation,
                "; ".join(str(error) for error in exc.errors),
            )
            raise
        self._current = candidate
        log.info(
            "IVR flows reloaded: generation %d, %s",
            candidate.generation,
            ", ".join(sorted(candidate.flows)),
        )
        return ReloadReport(candidate.generation, tuple(sorted(candidate.flows)))
