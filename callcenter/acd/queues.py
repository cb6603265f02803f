"""Queue configuration as data: checks that span queues, and the stored (JSON) form.

Pure. A queue is stored as its name, a version and its :class:`QueueConfig` as JSON
(callcenter/persistence/queues.py): a field added to QueueConfig with a default needs no
migration, and a stored queue without it reads back with the default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from callcenter.acd.model import MAX_SKILL_LEVEL, MIN_SKILL_LEVEL, QueueConfig
from callcenter.crm.vocabulary import Tier, ValueClass
from callcenter.errors import Conflict, InvalidInput, NotFound

# Queue and skill names are slugs: they appear in IVR flows, logs and URLs.
NAME = re.compile(r"[a-z][a-z0-9_]{0,49}")
LANGUAGES = frozenset({"zh", "en"})  # the IVR's languages


class QueueNotFound(NotFound):
    error_id = "queue-not-found"


class QueueExists(Conflict):
    error_id = "queue-exists"


class InvalidQueueConfig(InvalidInput):
    error_id = "queue-invalid"


class InvalidAgentProfile(InvalidInput):
    error_id = "agent-profile-invalid"


# --- checks -----------------------------------------------------------------------------------


def check_name(name: str, what: str = "queue") -> str:
    if not NAME.fullmatch(name):
        raise InvalidQueueConfig(
            f"a {what} name is a lowercase slug (a-z, 0-9, _), not {name!r}", field="name"
        )
    return name


def check_queue_config(config: QueueConfig, overflows: Mapping[str, str | None]) -> QueueConfig:
    """``config`` is fit to store next to the queues in ``overflows`` (every other stored
    queue's name and overflow target): the overflow queue exists and overflowing never comes
    back round to this queue, which would pass a waiting caller around for ever."""
    check_name(config.name)
    for skill in config.required_skills:
        if not NAME.fullmatch(skill):
            raise InvalidQueueConfig(f"bad skill name {skill!r}", field="required_skills")
    target = config.overflow_queue
    if target is None:
        return config
    if target == config.name:
        raise InvalidQueueConfig("a queue cannot overflow into itself", field="overflow_queue")
    if target not in overflows:
        raise InvalidQueueConfig(f"no queue {target!r} to overflow into", field="overflow_queue")
    seen = {config.name}
    while target is not None:
        if target in seen:
            raise InvalidQueueConfig(
                f"overflow from {config.name!r} comes back round through {target!r}",
                field="overflow_queue",
            )
        seen.add(target)
        target = overflows.get(target)
    return config


def check_agent_profile(skills: Mapping[str, int], languages: frozenset[str]) -> None:
    for skill, level in skills.items():
        if not NAME.fullmatch(skill):
            raise InvalidAgentProfile(f"bad skill name {skill!r}", field="skills")
        if not MIN_SKILL_LEVEL <= level <= MAX_SKILL_LEVEL:
            raise InvalidAgentProfile(
                f"skill level {level} of {skill!r} is not {MIN_SKILL_LEVEL}..{MAX_SKILL_LEVEL}",
                field="skills",
            )
    unknown = sorted(languages - LANGUAGES)
    if unknown:
        raise InvalidAgentProfile(f"unknown languages {unknown}", field="languages")
    if not languages:
        raise InvalidAgentProfile("an agent speaks at least one language", field="languages")


# --- stored form ------------------------------------------------------------------------------


def config_to_json(config: QueueConfig) -> dict[str, Any]:
    """Everything but the name (the row's key), as JSON values; enum keys by their value."""
    return {
        "required_skills": list(config.required_skills),
        "service_level_seconds": config.service_level_seconds,
        "tier_priority": {tier.value: points for tier, points in config.tier_priority.items()},
        "value_class_priority": {
            value_class.value: points for value_class, points in config.value_class_priority.items()
        },
        "advisor_wait_seconds": config.advisor_wait_seconds,
        "max_wait_seconds": config.max_wait_seconds,
        "overflow_queue": config.overflow_queue,
        "ring_seconds": config.ring_seconds,
        "wrap_up_seconds": config.wrap_up_seconds,
        "announce_position": config.announce_position,
    }


def config_from_json(name: str, data: Mapping[str, Any]) -> QueueConfig:
    """The inverse of :func:`config_to_json`. Missing fields take QueueConfig's defaults;
    fields QueueConfig no longer has are ignored, so older rows keep loading."""
    known = {f.name for f in fields(QueueConfig)} - {"name"}
    values: dict[str, Any] = {key: value for key, value in data.items() if key in known}
    if "required_skills" in values:
        values["required_skills"] = tuple(values["required_skills"])
    if "tier_priority" in values:
        values["tier_priority"] = {Tier(k): int(v) for k, v in values["tier_priority"].items()}
    if "value_class_priority" in values:
        values["value_class_priority"] = {
            ValueClass(k): int(v) for k, v in values["value_class_priority"].items()
        }
    return QueueConfig(name=name, **values)
