"""Loading flows from YAML: a file or a folder of ``*.yaml`` files, one flow per file.

A folder is all or nothing: if any file is invalid the loader raises
:class:`FlowsInvalid` with every error found (so a running service keeps the flows it had).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from callcenter.errors import InvalidInput
from callcenter.ivr.check import FLOW_LEVEL, FlowError, check_flows
from callcenter.ivr.flow import Flow


class FlowsInvalid(InvalidInput):
    error_id = "ivr-flows-invalid"

    def __init__(self, errors: list[FlowError]) -> None:
        super().__init__(f"{len(errors)} error(s) in IVR flows", errors=[str(e) for e in errors])
        self.errors = tuple(errors)


@dataclass(frozen=True)
class FlowCatalog:
    """The valid flows of a folder, by id, and the file each came from."""

    flows: Mapping[str, Flow]
    files: Mapping[str, str]


def flow_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    return [path]


def load_flows(path: Path) -> FlowCatalog:
    """The flows at ``path`` (a file or a folder); raises FlowsInvalid listing every error."""
    catalog, errors = check_path(path)
    if errors:
        raise FlowsInvalid(errors)
    return catalog


def check_path(path: Path) -> tuple[FlowCatalog, list[FlowError]]:
    """Parse and check every flow at ``path``; the catalog holds the flows that parsed."""
    flows: dict[str, Flow] = {}
    files: dict[str, str] = {}
    errors: list[FlowError] = []
    if not path.exists():
        return FlowCatalog(flows, files), [FlowError(str(path), FLOW_LEVEL, "-", "no such file")]
    for file in flow_files(path):
        flow, file_errors = parse_flow_file(file)
        errors += file_errors
        if flow is None:
            continue
        if flow.id in flows:
            message = f"flow id {flow.id!r} is also used by {files[flow.id]}"
            errors.append(FlowError(str(file), FLOW_LEVEL, "id", message))
            continue
        flows[flow.id] = flow
        files[flow.id] = str(file)
    errors += check_flows(flows, files)
    return FlowCatalog(flows, files), errors


def parse_flow_file(file: Path) -> tuple[Flow | None, list[FlowError]]:
    name = str(file)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, [FlowError(name, FLOW_LEVEL, "-", f"cannot read: {_one_line(exc)}")]
    if not isinstance(data, dict):
        return None, [FlowError(name, FLOW_LEVEL, "-", "a flow file holds one mapping")]
    try:
        return Flow.model_validate(data), []
    except ValidationError as exc:
        return None, [_as_flow_error(name, error) for error in exc.errors()]


def _as_flow_error(file: str, error: Any) -> FlowError:
    """pydantic's location (``nodes.main_menu.menu.choices.9``) as node + field."""
    loc = [str(part) for part in error["loc"]]
    message = str(error["msg"])
    if len(loc) >= 2 and loc[0] == "nodes":
        node = loc[1]
        if len(loc) == 2:  # the node's type is missing or unknown
            return FlowError(file, node, "type", message)
        if loc[2] == "[key]":
            return FlowError(file, node, "id", message)
        # The discriminated union puts the node's type in the location: nodes.<id>.<type>.
        return FlowError(file, node, ".".join(loc[3:]) or "type", message)
    return FlowError(file, FLOW_LEVEL, ".".join(loc) or "-", message)


def _one_line(exc: Exception) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        return f"YAML line {exc.problem_mark.line + 1}: {exc.problem}"
    return " ".join(str(exc).split())
