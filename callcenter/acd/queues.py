"""Queue configuration as data: checks that span queues, and the stored (JSON) form.

Pure. A queue is stored as its name, a version and its :class:`QueueConfig` as JSON
(callcenter/persistence/queues.py): a field added to QueueConfig with a default needs no
migration, and a stored queue without it reads back with the default.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from callcenter.acd.model import MAX_SKILL_LEVEL, MIN_SKILL_LEVEL, QueueConfig, QueueHours
from callcenter.crm.vocabulary import Tier, ValueClass
from callcenter.errors import Conflict, InvalidInput, NotFound

# Queue and skill names are slugs: they appear in IVR flows, logs and URLs.
NAME = re.compile(r"[a-z][a-z0-9_]{0,49}")
LANGUAGES = frozenset({"zh", "en"})  # the IVR's languages
NODE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,99}")  # an IVR flow's node id
MIN_ANNOUNCE_SECONDS = 15.0  # more often and callers hear announcements, not music


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
    _check_numbers(config)
    if config.overflow_node is not None and not NODE.fullmatch(config.overflow_node):
        raise InvalidQueueConfig(
            f"{config.overflow_node!r} is not an IVR node id", field="overflow_node"
        )
    if config.overflow_node is not None and config.overflow_queue is not None:
        raise InvalidQueueConfig(
            "overflow goes to a queue or to an IVR node, not both", field="overflow_node"
        )
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


def _check_numbers(config: QueueConfig) -> None:
    for name in ("service_level_seconds", "max_wait_seconds", "ring_seconds"):
        if not getattr(config, name) > 0:
            raise InvalidQueueConfig(f"{name} must be more than 0", field=name)
    for name in ("advisor_wait_seconds", "wrap_up_seconds"):
        if getattr(config, name) < 0:
            raise InvalidQueueConfig(f"{name} cannot be negative", field=name)
    if config.announce_every_seconds < MIN_ANNOUNCE_SECONDS:
        raise InvalidQueueConfig(
            f"announce_every_seconds is at least {MIN_ANNOUNCE_SECONDS:g}",
            field="announce_every_seconds",
        )
    hours = config.hours
    if hours is not None:
        if hours.opens == hours.closes:
            raise InvalidQueueConfig("a queue's hours open and close at once", field="hours")
        if not hours.weekdays or not hours.weekdays <= set(range(1, 8)):
            raise InvalidQueueConfig(
                f"weekdays are ISO numbers 1-7, not {sorted(hours.weekdays)}", field="hours"
            )


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
        "overflow_node": config.overflow_node,
        "ring_seconds": config.ring_seconds,
        "wrap_up_seconds": config.wrap_up_seconds,
        "announce_position": config.announce_position,
        "announce_every_seconds": config.announce_every_seconds,
        "hours": None if config.hours is None else hours_to_json(config.hours),
    }


def hours_to_json(hours: QueueHours) -> dict[str, Any]:
    return {
        "opens": hours.opens.strftime("%H:%M"),
        "closes": hours.closes.strftime("%H:%M"),
        "weekdays": sorted(hours.weekdays),
    }


def hours_from_json(data: Mapping[str, Any]) -> QueueHours:
    try:
        return QueueHours(
            opens=dt.time.fromisoformat(str(data["opens"])),
            closes=dt.time.fromisoformat(str(data["closes"])),
            weekdays=frozenset(int(day) for day in data.get("weekdays", (1, 2, 3, 4, 5))),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidQueueConfig(
            f"hours are {{opens: HH:MM, closes: HH:MM, weekdays: [1-7]}}: {exc}", field="hours"
        ) from exc


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
    if values.get("hours") is not None:
        values["hours"] = hours_from_json(values["hours"])
    return QueueConfig(name=name, **values)
