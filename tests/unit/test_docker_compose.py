"""docker-compose.yml and the images it builds, checked by parsing: no Docker engine runs here.

What a broken compose file would only show at ``docker compose up`` on a production host is
checked here instead: build contexts, Dockerfiles and their COPY sources, volumes, port
mappings, the environment each container gets, and the Asterisk entrypoint's rendering of
``asterisk_conf/``. The checkers return a list of problems, so a failure names every one of
them; the ``*_catches_*`` tests feed them broken input to show they do catch it.
"""

from __future__ import annotations

import ast
import importlib.util
import ipaddress
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jinja2 import Environment, FileSystemLoader, meta

from callcenter.sandbox import instance as instance_module
from callcenter.sandbox.rootfs import ROOTFS_PACKAGES
from callcenter.settings import PROJECT_ROOT, Settings

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
RENDER_SCRIPT = PROJECT_ROOT / "docker" / "asterisk" / "render_conf.py"
CONF_SOURCE = PROJECT_ROOT / "asterisk_conf"
IVR_PROMPTS = "/var/lib/callcenter/prompts"
RECORDINGS = "/var/lib/callcenter/recordings"
PHONES = "/var/lib/callcenter/phones"  # pjsip_phones.conf: the app writes, Asterisk reads
TLS = "/var/lib/callcenter/tls"  # the WSS certificate (a bind mount)
PREFIX = "CALLCENTER_"
AMI_PORT = 5038
SIP_PORT = 5060
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/asterisk/modules"

# What an operator puts in .env for the variables that have no default.
SAMPLE_ENV = {
    "CALLCENTER_AMI_USERNAME": "ops-ami",
    "CALLCENTER_AMI_SECRET": "sample-ami-secret",
    "CALLCENTER_TRUNK_ADDRESS": "203.0.113.7",
    "CALLCENTER_SIP_EXTERNAL_ADDRESS": "198.51.100.20",
    "POSTGRES_PASSWORD": "sample-pg-password",
}
# The phones' secrets are each person's own, made by the app (issue 19): none in .env.
SECRETS = ("CALLCENTER_AMI_SECRET", "POSTGRES_PASSWORD")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own CALLCENTER_* variables must not leak into Settings here."""
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)


# --- compose file: reading and variable interpolation -----------------------------------------

_VARIABLE = re.compile(
    r"\$(?:\$|\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))"
)


class MissingVariableError(Exception):
    pass


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ``${VAR:+alt}``, ``$$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        is_set = value is not None and (value != "" or not (op or "").startswith(":"))
        if op and op.endswith("-"):
            return value if is_set else interpolate(arg, env)  # type: ignore[return-value]
        if op and op.endswith("?"):
            if not is_set:
                raise MissingVariableError(f"{name}: {arg}")
            return value  # type: ignore[return-value]
        if op and op.endswith("+"):
            return interpolate(arg, env) if is_set else ""
        return value or ""

    return _VARIABLE.sub(replace, text)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    return node


def variable_uses(node: Any) -> Iterator[tuple[str, str | None, str]]:
    """Every ``${NAME<op><arg>}`` in the tree, as (name, op, arg)."""
    if isinstance(node, str):
        for match in _VARIABLE.finditer(node):
            name = match.group("name") or match.group("bare")
            if name:
                yield name, match.group("op"), match.group("arg") or ""
    elif isinstance(node, list):
        for item in node:
            yield from variable_uses(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from variable_uses(value)


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    """The compose file as ``docker compose`` sees it with SAMPLE_ENV in .env."""
    return interpolate_tree(raw, SAMPLE_ENV)


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def load_render_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("callcenter_docker_render_conf", RENDER_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def render_conf() -> ModuleType:
    return load_render_script()


# --- checkers ---------------------------------------------------------------------------------


def build_problems(compose: Mapping[str, Any], base: Path) -> list[str]:
    problems = []
    for name, service in compose.get("services", {}).items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = (base / build.get("context", ".")).resolve()
        if not context.is_dir():
            problems.append(f"{name}: build context {build.get('context')!r} is not a directory")
            continue
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        if not dockerfile.is_file():
            problems.append(f"{name}: dockerfile {build.get('dockerfile')!r} not in its context")
    return problems


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
    return instructions


def copy_arguments(instruction: Instruction) -> tuple[list[str], list[str], str] | None:
    """(flags, sources, destination) of a COPY/ADD, or None for other instructions."""
    if instruction.keyword not in ("COPY", "ADD"):
        return None
    flags_text, rest_text = re.fullmatch(r"((?:--\S+\s+)*)(.*)", instruction.args, re.S).groups()  # type: ignore[union-attr]
    flags = flags_text.split()
    rest = json.loads(rest_text) if rest_text.startswith("[") else shlex.split(rest_text)
    return flags, rest[:-1], rest[-1]


def _pattern_matches(pattern: list[str], path: list[str]) -> bool:
    """Docker's .dockerignore matching, one path segment at a time, ``**`` spanning segments."""
    if not pattern:
        return not path
    if pattern[0] == "**":
        return any(_pattern_matches(pattern[1:], path[i:]) for i in range(len(path) + 1))
    if not path or not fnmatchcase(path[0], pattern[0]):
        return False
    return _pattern_matches(pattern[1:], path[1:])


def dockerignored(relative: str, patterns: list[str]) -> bool:
    """Whether ``relative`` (or a folder holding it) is left out of the build context."""
    parts = [p for p in Path(relative).parts if p not in (".", "")]
    excluded = False
    for depth in range(1, len(parts) + 1):
        for raw_pattern in patterns:
            negate = raw_pattern.startswith("!")
            pattern = raw_pattern.lstrip("!").strip("/")
            if _pattern_matches([p for p in pattern.split("/") if p], parts[:depth]):
                excluded = not negate
    return excluded


def read_dockerignore(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def copy_problems(compose: Mapping[str, Any], base: Path) -> list[str]:
    problems = []
    for name, service in compose.get("services", {}).items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = (base / build.get("context", ".")).resolve()
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        if not dockerfile.is_file():
            continue  # build_problems reports it
        ignore = read_dockerignore(context)
        for instruction in dockerfile_instructions(dockerfile.read_text()):
            parsed = copy_arguments(instruction)
            if parsed is None:
                continue
            flags, sources, _ = parsed
            if any(flag.startswith("--from=") for flag in flags):
                continue  # from another build stage or image, not the context
            for source in sources:
                if re.match(r"^(https?://|git@)", source) or source.startswith("<<"):
                    continue
                matches = list(context.glob(source.strip("/"))) if source.strip("/") else [context]
                if not matches:
                    problems.append(
                        f"{name}: {instruction.keyword} source {source!r} not found "
                        f"in build context {context}"
                    )
                elif all(dockerignored(str(m.relative_to(context)), ignore) for m in matches):
                    problems.append(
                        f"{name}: {instruction.keyword} source {source!r} is "
                        "excluded by .dockerignore"
                    )
    return problems


def volume_problems(compose: Mapping[str, Any], base: Path) -> list[str]:
    declared = set((compose.get("volumes") or {}).keys())
    problems = []
    for name, service in compose.get("services", {}).items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                kind, source = volume.get("type", "volume"), volume.get("source")
            else:
                source = volume.split(":", 1)[0] if ":" in volume else None
                is_path = source is not None and source.startswith(("/", ".", "~"))
                kind = "bind" if is_path else "volume"
            if source is None:
                continue  # anonymous volume
            if kind == "bind":
                if not (base / Path(source).expanduser()).exists():
                    problems.append(f"{name}: bind-mounted host path {source!r} does not exist")
            elif kind == "volume" and source not in declared:
                problems.append(f"{name}: named volume {source!r} is not declared under volumes:")
    return problems


@dataclass(frozen=True)
class PortMapping:
    host_ip: str | None
    published: tuple[int, int] | None  # None: Docker picks a host port
    target: tuple[int, int]
    protocol: str

    def covers(self, port: int, protocol: str | None = None) -> bool:
        in_range = self.target[0] <= port <= self.target[1]
        return in_range and (protocol is None or protocol == self.protocol)


def _port_range(text: str) -> tuple[int, int]:
    start, _, end = str(text).partition("-")
    if not start.isdigit() or (end and not end.isdigit()):
        raise ValueError(f"{text!r} is not a port or port range")
    low, high = int(start), int(end or start)
    if not 1 <= low <= high <= 65535:
        raise ValueError(f"{text!r} is not a port range within 1-65535")
    return low, high


def parse_port(spec: str | int | Mapping[str, Any]) -> PortMapping:
    """Short ``[ip:][host[-range]:]container[-range][/proto]`` or the long mapping syntax."""
    if isinstance(spec, Mapping):
        host_ip, protocol = spec.get("host_ip"), str(spec.get("protocol", "tcp"))
        published_text = spec.get("published")
        target = _port_range(str(spec["target"]))
    else:
        text, _, protocol = str(spec).partition("/")
        protocol = protocol or "tcp"
        ipv6 = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(.*)", text)
        host_ip, text = (ipv6.group(1), ipv6.group(2)) if ipv6 else (None, text)
        parts = text.split(":")
        if len(parts) == 3 and host_ip is None:
            host_ip = parts.pop(0)
        if len(parts) > 2 or not all(parts):
            raise ValueError(f"{spec!r} is not [ip:][host:]container[/proto]")
        published_text = parts[0] if len(parts) == 2 else None
        target = _port_range(parts[-1])
    if protocol not in ("tcp", "udp", "sctp"):
        raise ValueError(f"{spec!r}: protocol {protocol!r} is not tcp, udp or sctp")
    if host_ip is not None:
        ipaddress.ip_address(host_ip)  # ValueError if malformed
    published = _port_range(str(published_text)) if published_text not in (None, "") else None
    if published is not None and published[1] - published[0] != target[1] - target[0]:
        raise ValueError(f"{spec!r}: host and container ranges differ in length")
    return PortMapping(host_ip, published, target, protocol)


def port_problems(compose: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, service in compose.get("services", {}).items():
        for spec in service.get("ports", []):
            try:
                parse_port(spec)
            except (ValueError, KeyError) as exc:
                problems.append(f"{name}: bad port mapping {spec!r}: {exc}")
    return problems


def published(service: Mapping[str, Any]) -> list[PortMapping]:
    return [parse_port(spec) for spec in service.get("ports", [])]


def settings_fields() -> set[str]:
    return {PREFIX + name.upper() for name in Settings.model_fields}


# --- the compose file -------------------------------------------------------------------------


def test_three_services(compose: dict[str, Any]) -> None:
    assert {"asterisk", "postgres", "app"} <= set(compose.get("services", {}))


def test_build_contexts_and_dockerfiles_exist(compose: dict[str, Any]) -> None:
    assert build_problems(compose, COMPOSE_FILE.parent) == []
    for name in ("asterisk", "app"):
        build = compose["services"][name]["build"]
        assert (COMPOSE_FILE.parent / build["context"]).resolve() == PROJECT_ROOT, (
            f"{name} must build from the repository root"
        )


def test_copy_sources_exist_in_build_context(compose: dict[str, Any]) -> None:
    assert copy_problems(compose, COMPOSE_FILE.parent) == []


def test_volumes(compose: dict[str, Any], render_conf: ModuleType) -> None:
    assert volume_problems(compose, COMPOSE_FILE.parent) == []
    # Named volumes must sit where the data is written, or they silently hold nothing.
    asterisk_targets = {
        v.split(":")[1] for v in compose["services"]["asterisk"]["volumes"] if isinstance(v, str)
    }
    instance_dir = str(render_conf.INSTANCE_DIR)
    assert {f"{instance_dir}/log", f"{instance_dir}/spool"} <= asterisk_targets
    for target in asterisk_targets - {IVR_PROMPTS, RECORDINGS, PHONES, TLS}:
        assert Path(target).parent == render_conf.INSTANCE_DIR, target
        assert Path(target).name in render_conf.INSTANCE_SUBDIRS, target


def test_the_phones_are_one_volume_the_app_writes_and_asterisk_reads(
    compose: dict[str, Any], render_conf: ModuleType
) -> None:
    """Each person's own phone secret (issue 19): the app writes pjsip_phones.conf where
    Asterisk's pjsip.conf includes it."""
    services = compose["services"]
    mounts = {
        name: [v for v in services[name]["volumes"] if ":" + PHONES in v]
        for name in ("app", "asterisk")
    }
    assert mounts == {"app": [f"phones:{PHONES}"], "asterisk": [f"phones:{PHONES}"]}
    written = services["app"]["environment"]["CALLCENTER_PHONES_CONF_FILE"]
    assert (
        written
        == f"{PHONES}/pjsip_phones.conf"
        == str(render_conf.PHONES_DIR / written.split("/")[-1])
    )


def test_the_ivr_prompts_are_one_volume_at_one_path_in_both_containers(
    compose: dict[str, Any],
) -> None:
    """The app renders prompts and names them by path; Asterisk must see the same path."""
    services = compose["services"]
    mounts = {
        name: [v for v in services[name]["volumes"] if ":" + IVR_PROMPTS in v]
        for name in ("app", "asterisk")
    }
    assert mounts == {
        "app": [f"ivr-prompts:{IVR_PROMPTS}"],
        "asterisk": [f"ivr-prompts:{IVR_PROMPTS}:ro"],
    }
    env = services["app"]["environment"]
    assert env["CALLCENTER_IVR_PROMPTS_DIR"] == IVR_PROMPTS
    assert env["CALLCENTER_IVR_PROMPTS_DIR_IN_ASTERISK"] == IVR_PROMPTS
    spool = next(v for v in services["asterisk"]["volumes"] if v.endswith("/spool"))
    assert env["CALLCENTER_IVR_RECORDINGS_DIR"] == spool.split(":")[1] + "/messages"
    instructions = _dockerfile(compose, "app")
    assert Instruction("COPY", "ivr_flows/ ./ivr_flows/") in instructions
    cmd = json.loads(next(i.args for i in reversed(instructions) if i.keyword == "CMD"))
    assert "callcenter flows render-prompts" in cmd[-1]
    postgres_volumes = compose["services"]["postgres"]["volumes"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres_volumes)


def test_the_recordings_are_one_volume_shared_by_a_group_in_both_containers(
    compose: dict[str, Any], render_conf: ModuleType
) -> None:
    """Asterisk records into the volume, the app finishes, plays and purges the files: the
    same path in both, both writable, and one group (same gid) whose members may write what
    the other made (setgid folder, Asterisk's umask 002)."""
    services = compose["services"]
    mounts = {
        name: [v for v in services[name]["volumes"] if ":" + RECORDINGS in v]
        for name in ("app", "asterisk")
    }
    assert mounts == {
        "app": [f"recordings:{RECORDINGS}"],
        "asterisk": [f"recordings:{RECORDINGS}"],
    }
    env = services["app"]["environment"]
    assert env["CALLCENTER_RECORDINGS_DIR"] == RECORDINGS
    assert env["CALLCENTER_RECORDINGS_DIR_IN_ASTERISK"] == RECORDINGS
    assert str(render_conf.RECORDINGS_DIR) == RECORDINGS
    assert render_conf.RECORDINGS_MODE == 0o2775
    assert render_conf.ASTERISK_UMASK == 0o002
    runs = {name: " ".join(i.args for i in _dockerfile(compose, name) if i.keyword == "RUN")
            for name in ("app", "asterisk")}  # fmt: skip
    gids = {name: re.findall(r"groupadd --gid (\d+) recordings", run) for name, run in runs.items()}
    assert len(gids["app"]) == 1, gids
    assert gids["app"] == gids["asterisk"], gids
    assert "--groups recordings callcenter" in runs["app"]
    assert "usermod --append --groups recordings asterisk" in runs["asterisk"]
    # Not inside the web root the app serves (docs/recording.md, point 6).
    assert not RECORDINGS.startswith("/opt/callcenter/agent_ui")


def test_port_mappings(compose: dict[str, Any]) -> None:
    assert port_problems(compose) == []
    services = compose["services"]
    asterisk_ports = published(services["asterisk"])
    assert any(
        p.covers(SIP_PORT, "udp") and p.published == (SIP_PORT, SIP_PORT) for p in asterisk_ports
    ), "SIP 5060/udp must be published"
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    rtp = (defaults.rtp_start, defaults.rtp_end)
    assert any(
        p.target == rtp and p.published == rtp and p.protocol == "udp" for p in asterisk_ports
    ), f"RTP {rtp[0]}-{rtp[1]}/udp must be published as is"
    assert any(p.covers(8080, "tcp") for p in published(services["app"]))


def test_ami_is_not_published(compose: dict[str, Any]) -> None:
    asterisk = compose["services"]["asterisk"]
    assert asterisk.get("network_mode") != "host", "asterisk on the host network exposes AMI"
    for mapping in published(asterisk):
        assert not mapping.covers(AMI_PORT), f"asterisk publishes AMI port {AMI_PORT}: {mapping}"


def test_app_environment_names_real_settings(compose: dict[str, Any]) -> None:
    app_env = environment(compose["services"]["app"])
    unknown = sorted(set(app_env) - settings_fields())
    assert unknown == [], f"the app ignores these (not fields of Settings): {unknown}"
    assert app_env["CALLCENTER_AMI_HOST"] == "asterisk"


def test_app_environment_parses_as_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment(compose["services"]["app"]).items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.ami_host == "asterisk"
    assert settings.ami_username == SAMPLE_ENV["CALLCENTER_AMI_USERNAME"]
    assert settings.ami_secret.get_secret_value() == SAMPLE_ENV["CALLCENTER_AMI_SECRET"]


def test_asterisk_environment_is_read_by_its_entrypoint(
    compose: dict[str, Any], render_conf: ModuleType
) -> None:
    asterisk_env = set(environment(compose["services"]["asterisk"]))
    read = set(render_conf.DEFAULTS) | set(render_conf.REQUIRED)
    assert sorted(asterisk_env - read) == [], "variables the entrypoint does not read"
    assert sorted(set(render_conf.REQUIRED) - asterisk_env) == [], "required but not passed"
    assert sorted(asterisk_env - settings_fields()) == [], "not named like a Settings field"


def test_ami_login_is_shared(raw: dict[str, Any]) -> None:
    app_env = environment(raw["services"]["app"])
    asterisk_env = environment(raw["services"]["asterisk"])
    for name in ("CALLCENTER_AMI_USERNAME", "CALLCENTER_AMI_SECRET"):
        assert name in app_env, f"app lacks {name}"
        assert name in asterisk_env, f"asterisk lacks {name}"
    shared = set(app_env) & set(asterisk_env)
    differ = {n: (app_env[n], asterisk_env[n]) for n in shared if app_env[n] != asterisk_env[n]}
    assert differ == {}, "app and asterisk must get the same value for these"


def test_secrets_have_no_default(raw: dict[str, Any]) -> None:
    uses = list(variable_uses(raw))
    for secret in SECRETS:
        ops = {op for name, op, _ in uses if name == secret}
        assert ops, f"{secret} is not used"
        assert ops == {":?"}, f"{secret} must be required (${{{secret}:?...}}), not defaulted"
    with pytest.raises(MissingVariableError):
        interpolate_tree(raw, {})


def test_ami_permit_covers_the_compose_network(raw: dict[str, Any]) -> None:
    compose = interpolate_tree(raw, SAMPLE_ENV)
    subnets = [
        ipaddress.ip_network(entry["subnet"])
        for network in compose["networks"].values()
        for entry in network["ipam"]["config"]
    ]
    permit = environment(compose["services"]["asterisk"])["CALLCENTER_AMI_PERMIT"]
    permitted = [ipaddress.ip_network(net.strip(), strict=False) for net in permit.split(",")]
    for subnet in subnets:
        assert any(subnet.subnet_of(net) for net in permitted), (  # type: ignore[arg-type]
            f"AMI permit {permit} does not cover the compose network {subnet}"
        )
    assert not any(net.prefixlen == 0 for net in permitted), "AMI permit must not be 0.0.0.0/0"


def test_app_waits_for_postgres_and_asterisk(compose: dict[str, Any]) -> None:
    depends = compose["services"]["app"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["asterisk"]["condition"] == "service_started"
    assert "pg_isready" in " ".join(compose["services"]["postgres"]["healthcheck"]["test"])
    assert compose["services"]["postgres"]["image"].startswith("postgres:16")


def test_env_example_lists_every_variable(raw: dict[str, Any]) -> None:
    example = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            example[name.strip()] = value.strip()
    uses = list(variable_uses(raw))
    used = {name for name, _, _ in uses}
    assert sorted(used - set(example)) == [], "missing from .env.example"
    assert sorted(set(example) - used) == [], "in .env.example but unused by docker-compose.yml"
    for name, op, arg in uses:
        if op == ":-":
            assert example[name] == arg, f".env.example {name} differs from the compose default"
        elif op == ":?":
            assert example[name] == "", f".env.example must leave required {name} empty"


# --- the Dockerfiles --------------------------------------------------------------------------


def _dockerfile(compose: Mapping[str, Any], service: str) -> list[Instruction]:
    build = compose["services"][service]["build"]
    path = COMPOSE_FILE.parent / build["context"] / build["dockerfile"]
    return dockerfile_instructions(path.read_text())


def test_asterisk_image_matches_the_sandbox(
    compose: dict[str, Any], render_conf: ModuleType
) -> None:
    instructions = _dockerfile(compose, "asterisk")
    assert instructions[0] == Instruction("FROM", "debian:sid-slim")
    installs = " ".join(i.args for i in instructions if i.keyword == "RUN" and "install" in i.args)
    for package in (*ROOTFS_PACKAGES, "python3-jinja2"):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", installs), package
    copies = {}
    for instruction in instructions:
        parsed = copy_arguments(instruction)
        if parsed:
            for source in parsed[1]:
                copies[source.rstrip("/")] = parsed[2].rstrip("/")
    assert copies.get("asterisk_conf") == str(render_conf.CONF_SOURCE)
    script = copies.get("docker/asterisk/render_conf.py")
    entrypoint = [i for i in instructions if i.keyword == "ENTRYPOINT"]
    assert script, "the render script is not copied into the image"
    assert entrypoint, "no ENTRYPOINT"
    assert script in json.loads(entrypoint[-1].args), "ENTRYPOINT does not run the render script"


def test_app_image_serves_on_the_published_port(compose: dict[str, Any]) -> None:
    instructions = _dockerfile(compose, "app")
    # The image the service runs in is the last stage's; an earlier one builds the desk's
    # browser phone (JsSIP, npm) and only its output is copied over.
    stages = [i for i in instructions if i.keyword == "FROM"]
    assert stages[-1] == Instruction("FROM", "python:3.11-slim")
    assert stages[:-1] == [Instruction("FROM", "python:3.11-slim AS browser-phone")]
    copied = [i.args for i in instructions if i.keyword == "COPY" and "--from=" in i.args]
    assert copied == ["--from=browser-phone /build/agent_ui/vendor/ ./agent_ui/vendor/"]
    cmd = json.loads(next(i.args for i in reversed(instructions) if i.keyword == "CMD"))
    assert cmd[:2] == ["sh", "-c"]
    serve = cmd[2].split("exec ", 1)[1].split()
    assert serve[:2] == ["callcenter", "serve"]
    port = int(serve[serve.index("--port") + 1])
    assert serve[serve.index("--host") + 1] == "0.0.0.0"
    assert any(p.covers(port, "tcp") for p in published(compose["services"]["app"]))


def test_app_is_published_on_the_host_loopback_only_by_default(raw: dict[str, Any]) -> None:
    # No login protects the API yet, and it shows caller numbers: without an explicit
    # HTTP_PUBLISH it must not be reachable from other hosts.
    env_without_override = {k: v for k, v in SAMPLE_ENV.items() if k != "HTTP_PUBLISH"}
    app = interpolate_tree(raw, env_without_override)["services"]["app"]
    assert [p.host_ip for p in published(app)] == ["127.0.0.1"]


def test_dockerignore_keeps_secrets_and_caches_out() -> None:
    patterns = read_dockerignore(PROJECT_ROOT)
    for path in (".env", ".venv/bin/python", ".git/HEAD", "callcenter/__pycache__/x.pyc"):
        assert dockerignored(path, patterns), f"{path} would be sent to the Docker daemon"
    for path in ("pyproject.toml", "callcenter/settings.py", "asterisk_conf/manager.conf"):
        assert not dockerignored(path, patterns), f"{path} is needed by a build"


# --- the Asterisk entrypoint ------------------------------------------------------------------


def asterisk_env(raw: Mapping[str, Any]) -> dict[str, str]:
    """What the asterisk container's environment is with SAMPLE_ENV in .env."""
    return environment(interpolate_tree(raw["services"]["asterisk"], SAMPLE_ENV))


def _top_level_imports(path: Path) -> set[str]:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    return imported


SHARED_RENDERER = PROJECT_ROOT / "callcenter" / "sandbox" / "render.py"
SHARED_ADDRESSES = PROJECT_ROOT / "callcenter" / "sandbox" / "addresses.py"


def test_render_script_is_standalone(compose: dict[str, Any]) -> None:
    # The image has Debian's python3 and python3-jinja2, and the one renderer the sandbox
    # also uses, copied next to the script; nothing else of the project.
    # So is the reader of the host's addresses (ICE host candidates, rtp.conf).
    allowed = set(sys.stdlib_module_names) | {"jinja2"}
    assert sorted(_top_level_imports(RENDER_SCRIPT) - allowed - {"render", "addresses"}) == []
    assert sorted(_top_level_imports(SHARED_RENDERER) - allowed) == []
    assert sorted(_top_level_imports(SHARED_ADDRESSES) - set(sys.stdlib_module_names)) == []
    copies = {
        i.args.split()[-1]: i.args.split()[-2]
        for i in _dockerfile(compose, "asterisk")
        if i.keyword == "COPY"
    }
    script_dir = str(Path(copies_key(copies, RENDER_SCRIPT)).parent)
    assert copies.get(f"{script_dir}/render.py") == "callcenter/sandbox/render.py"
    assert copies.get(f"{script_dir}/addresses.py") == "callcenter/sandbox/addresses.py"


def copies_key(copies: Mapping[str, str], source: Path) -> str:
    """The image path a COPY puts ``source`` (a file of this repository) at."""
    relative = str(source.relative_to(PROJECT_ROOT))
    return next(dest for dest, src in copies.items() if src == relative)


def test_render_script_uses_the_sandbox_context_keys(
    render_conf: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: dict[str, object] = {}

    def capture(source: Path, target: Path, context: dict[str, object]) -> list[Path]:
        captured.update(context)
        return []

    monkeypatch.setattr(instance_module, "render_tree", capture)
    settings = Settings(_env_file=None, sandbox_cache_dir=tmp_path)  # type: ignore[call-arg]
    instance_module.AsteriskInstance(settings).render_config()
    context = render_conf.build_context(
        SAMPLE_ENV | {"CALLCENTER_AMI_PERMIT": "10.0.0.0/8"}, MODULE_DIR
    )
    assert set(context) == set(captured)


def test_render_script_defaults_match_settings(
    render_conf: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    for name, value in render_conf.DEFAULTS.items():
        if name in {"CALLCENTER_SIP_BIND", "CALLCENTER_SIP_LOCAL_NETS"}:
            # The container binds its own interfaces and sits on the compose network; the
            # sandbox binds loopback and has no NAT to describe.
            continue
        monkeypatch.setenv(name, value)
        field = name.removeprefix(PREFIX).lower()
        assert getattr(Settings(_env_file=None), field) == getattr(defaults, field), name  # type: ignore[call-arg]
        monkeypatch.delenv(name)


def test_render_script_renders_every_template(
    render_conf: ModuleType, raw: dict[str, Any], tmp_path: Path
) -> None:
    env = asterisk_env(raw)
    command = render_conf.prepare(
        env, source=CONF_SOURCE, instance_dir=tmp_path, module_dir=MODULE_DIR, user=None
    )
    assert command == [
        "asterisk",
        "-f",
        "-U",
        "asterisk",
        "-G",
        "asterisk",
        "-C",
        str(tmp_path / "etc" / "asterisk.conf"),
    ]
    templates = sorted(p.name for p in CONF_SOURCE.iterdir() if p.is_file())
    assert sorted(p.name for p in (tmp_path / "etc").iterdir()) == templates
    for sub in render_conf.INSTANCE_SUBDIRS:
        assert (tmp_path / sub).is_dir(), sub

    # Every variable any template names (also in branches not taken) is in the context.
    context = render_conf.build_context(env, MODULE_DIR)
    jinja = Environment(loader=FileSystemLoader(str(CONF_SOURCE)))
    for name in templates:
        source = (CONF_SOURCE / name).read_text()
        undeclared = meta.find_undeclared_variables(jinja.parse(source))
        assert sorted(undeclared - set(context)) == [], name
        rendered = (tmp_path / "etc" / name).read_text()
        assert "{{" not in rendered, name
        assert "{%" not in rendered, name

    manager = (tmp_path / "etc" / "manager.conf").read_text()
    assert re.search(r"^bindaddr = 0\.0\.0\.0$", manager, re.M)
    assert f"\n[{SAMPLE_ENV['CALLCENTER_AMI_USERNAME']}]\n" in manager
    assert f"\nsecret = {SAMPLE_ENV['CALLCENTER_AMI_SECRET']}\n" in manager
    assert f"\npermit = {env['CALLCENTER_AMI_PERMIT']}\n" in manager
    pjsip = (tmp_path / "etc" / "pjsip.conf").read_text()
    assert f"\nbind = 0.0.0.0:{SIP_PORT}\n" in pjsip
    assert f"\nmatch = {SAMPLE_ENV['CALLCENTER_TRUNK_ADDRESS']}\n" in pjsip
    # No phone password in the rendered config: each person's own is in the app's file.
    assert f"\n#tryinclude {PHONES}/pjsip_phones.conf\n" in pjsip
    assert not re.search(r"^password\s*=", pjsip, re.M)
    http = (tmp_path / "etc" / "http.conf").read_text()
    assert "\ntlsbindaddr = 0.0.0.0:8089\n" in http
    assert f"\ntlscertfile = {TLS}/asterisk.crt\n" in http
    assert "\nbindaddr = 127.0.0.1\nbindport = 8090\n" in http
    # Behind NAT the SDP must carry the host's address, never the wildcard bind address.
    external = SAMPLE_ENV["CALLCENTER_SIP_EXTERNAL_ADDRESS"]
    assert f"\nexternal_media_address = {external}\n" in pjsip
    assert f"\nexternal_signaling_address = {external}\n" in pjsip
    assert "\nlocal_net = 172.28.0.0/24\n" in pjsip
    assert "media_address = 0.0.0.0" not in pjsip
    rtp = (tmp_path / "etc" / "rtp.conf").read_text()
    assert "rtpstart = 10000\nrtpend = 10999\n" in rtp


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"CALLCENTER_AMI_SECRET": ""}, "CALLCENTER_AMI_SECRET"),
        ({"CALLCENTER_AMI_SECRET": "abc;def"}, "CALLCENTER_AMI_SECRET"),
        ({"CALLCENTER_SIP_REALM": "realm\n[evil]"}, "CALLCENTER_SIP_REALM"),
        ({"CALLCENTER_SIP_WSS_PORT": "0"}, "CALLCENTER_SIP_WSS_PORT"),
        ({"CALLCENTER_AMI_USERNAME": "user]\n[x"}, "CALLCENTER_AMI_USERNAME"),
        ({"CALLCENTER_AMI_PERMIT": "0.0.0.0/0 ;x"}, "CALLCENTER_AMI_PERMIT"),
        ({"CALLCENTER_RTP_END": "9000"}, "CALLCENTER_RTP_END"),
        ({"CALLCENTER_SIP_PORT": "70000"}, "CALLCENTER_SIP_PORT"),
    ],
)
def test_render_script_rejects_bad_values(
    render_conf: ModuleType, raw: dict[str, Any], change: dict[str, str], named: str
) -> None:
    with pytest.raises(render_conf.ConfigError, match=named):
        render_conf.build_context(asterisk_env(raw) | change, MODULE_DIR)


def test_render_script_as_a_program_names_missing_variables() -> None:
    proc = subprocess.run(
        [sys.executable, str(RENDER_SCRIPT)],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    for name in ("CALLCENTER_AMI_SECRET", "CALLCENTER_TRUNK_ADDRESS"):
        assert name in proc.stderr


# --- the checkers catch what they are for -----------------------------------------------------


def _project(tmp_path: Path, dockerfile: str, compose_text: str) -> dict[str, Any]:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "present.txt").write_text("x")
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text(dockerfile)
    (tmp_path / ".dockerignore").write_text("secret.env\n")
    (tmp_path / "secret.env").write_text("x")
    return yaml.safe_load(compose_text)


def test_build_check_catches_missing_context_and_dockerfile(tmp_path: Path) -> None:
    compose = _project(
        tmp_path,
        "FROM scratch\n",
        """
services:
  a: {build: {context: ./nowhere}}
  b: {build: {context: ., dockerfile: docker/Missing}}
  c: {build: {context: ., dockerfile: docker/Dockerfile}}
""",
    )
    problems = build_problems(compose, tmp_path)
    assert len(problems) == 2
    assert "'./nowhere'" in problems[0]
    assert "docker/Missing" in problems[1]


def test_copy_check_catches_missing_and_ignored_sources(tmp_path: Path) -> None:
    compose = _project(
        tmp_path,
        (
            "FROM scratch AS base\n"
            "COPY src/present.txt /a\n"
            "COPY --chown=1:1 \\\n    src/absent.txt /b\n"
            'COPY ["src/pres*.txt", "/c"]\n'
            "COPY --from=base /nowhere /d\n"
            "COPY secret.env /e\n"
        ),
        "services:\n  a: {build: {context: ., dockerfile: docker/Dockerfile}}\n",
    )
    problems = copy_problems(compose, tmp_path)
    assert len(problems) == 2, problems
    assert "src/absent.txt" in problems[0]
    assert "secret.env" in problems[1]
    assert ".dockerignore" in problems[1]


def test_volume_check_catches_undeclared_and_missing(tmp_path: Path) -> None:
    compose = _project(
        tmp_path,
        "FROM scratch\n",
        """
services:
  a:
    volumes:
      - data:/data
      - undeclared:/x
      - ./src:/src:ro
      - ./absent:/absent
      - {type: bind, source: ./also-absent, target: /y}
volumes:
  data:
""",
    )
    problems = volume_problems(compose, tmp_path)
    assert len(problems) == 3, problems
    assert "'undeclared'" in problems[0]
    assert "'./absent'" in problems[1]
    assert "'./also-absent'" in problems[2]


@pytest.mark.parametrize(
    "spec",
    [
        "5060:5060/udpx",
        "10000-10999:10000-10998/udp",
        "70000:1",
        "abc",
        "1:2:3:4",
        "300.1.1.1:80:80",
        "8080:",
        {"target": "0"},
    ],
)
def test_port_check_rejects(spec: Any) -> None:
    assert port_problems({"services": {"a": {"ports": [spec]}}}) != []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("5060:5060/udp", PortMapping(None, (5060, 5060), (5060, 5060), "udp")),
        ("127.0.0.1:8080:8080", PortMapping("127.0.0.1", (8080, 8080), (8080, 8080), "tcp")),
        ("[::1]:80:8080", PortMapping("::1", (80, 80), (8080, 8080), "tcp")),
        ("9000-9001:5000-5001", PortMapping(None, (9000, 9001), (5000, 5001), "tcp")),
        ("5038", PortMapping(None, None, (5038, 5038), "tcp")),
        (
            {"target": 5038, "published": "15038", "protocol": "tcp"},
            PortMapping(None, (15038, 15038), (5038, 5038), "tcp"),
        ),
    ],
)
def test_port_parser(spec: Any, expected: PortMapping) -> None:
    assert parse_port(spec) == expected


def test_ami_check_catches_a_published_ami(raw: dict[str, Any]) -> None:
    for extra in ("5038:5038", "127.0.0.1:15038:5038", "5038", "5000-5100:5000-5100"):
        broken = interpolate_tree(raw, SAMPLE_ENV)
        broken["services"]["asterisk"]["ports"].append(extra)
        with pytest.raises(AssertionError, match="publishes AMI"):
            test_ami_is_not_published(broken)


def test_app_uses_the_compose_postgres_with_its_credentials(compose: dict[str, Any]) -> None:
    app_env = environment(compose["services"]["app"])
    pg_env = environment(compose["services"]["postgres"])
    expected = (
        f"postgresql+asyncpg://{pg_env['POSTGRES_USER']}:{pg_env['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{pg_env['POSTGRES_DB']}"
    )
    assert app_env["CALLCENTER_DATABASE_URL"] == expected
    assert "postgres" in compose["services"]["app"]["depends_on"]
