"""Demo queues and what the demo's agents and advisors can take (skills, languages, queues).

Pure and fixed (no random draws): the ACD's demo should behave the same in every seed, and
the names match the IVR's hotline flow (ivr_flows/hotline.yaml enqueues callers into
general, trading_support, complaints and advisors).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from callcenter.acd.model import QueueConfig
from callcenter.acd.queues import config_to_json
from callcenter.crm.vocabulary import Role
from callcenter.demo.history import Row
from callcenter.demo.staff import DemoUser

DEMO_QUEUES: tuple[QueueConfig, ...] = (
    # After three minutes a caller is offered a callback or a message (the hotline flow's
    # queue_full menu); while waiting they hear their place and expected wait every minute.
    QueueConfig(
        "general",
        max_wait_seconds=180.0,
        overflow_node="queue_full",
        announce_position=True,
        announce_every_seconds=60.0,
    ),
    QueueConfig(
        "trading_support",
        required_skills=("trading",),
        max_wait_seconds=180.0,
        overflow_queue="general",
    ),
    # Complaints take longer to write up afterwards.
    QueueConfig(
        "complaints",
        required_skills=("complaints",),
        wrap_up_seconds=60.0,
        max_wait_seconds=180.0,
        overflow_node="queue_full",
    ),
    # A VIP or advised client waits a little longer for their own advisor, then any advisor,
    # then trading support.
    QueueConfig(
        "advisors",
        required_skills=("advisor",),
        advisor_wait_seconds=30.0,
        max_wait_seconds=120.0,
        overflow_queue="trading_support",
    ),
    QueueConfig("english", max_wait_seconds=180.0, overflow_queue="general"),
)

# The service center's agents (agent01..agent10) by number: skills and levels.
AGENT_SKILLS: Mapping[int, Mapping[str, int]] = {
    1: {"general": 4, "trading": 4, "margin": 3},
    2: {"general": 3, "trading": 3},
    3: {"general": 3, "trading": 2, "complaints": 2},
    4: {"general": 2, "complaints": 4},
    5: {"general": 4, "complaints": 3, "trading": 2},
    6: {"general": 2, "trading": 3, "margin": 2},
    7: {"general": 3},
    8: {"general": 2, "complaints": 2},
    9: {"general": 3, "trading": 5, "margin": 4},
    10: {"general": 1},
}
ENGLISH_AGENTS = frozenset({2, 5, 9})
# The queue an agent's skill puts them in (every agent serves "general").
SKILL_QUEUES = {"trading": "trading_support", "complaints": "complaints"}


def acd_rows(users: Sequence[DemoUser], at: dt.datetime) -> dict[str, list[Row]]:
    """Rows for queues, agent_skills, agent_languages and agent_queues; ``users`` in id order
    (ids from 1), as the demo assigns them."""
    rows: dict[str, list[Row]] = {
        "queues": [
            {
                "name": queue.name,
                "config": config_to_json(queue),
                "version": 1,
                "updated_at": at,
                "updated_by_id": None,
            }
            for queue in DEMO_QUEUES
        ],
        "agent_skills": [],
        "agent_languages": [],
        "agent_queues": [],
    }
    for user_id, user in enumerate(users, start=1):
        profile = _profile(user)
        if profile is None:
            continue
        skills, languages = profile
        rows["agent_skills"] += [
            {"agent_id": user_id, "skill": skill, "level": level}
            for skill, level in sorted(skills.items())
        ]
        rows["agent_languages"] += [
            {"agent_id": user_id, "language": language} for language in sorted(languages)
        ]
        rows["agent_queues"] += [
            {"agent_id": user_id, "queue_name": queue} for queue in _queues(user, skills, languages)
        ]
    return rows


def _profile(user: DemoUser) -> tuple[Mapping[str, int], frozenset[str]] | None:
    if user.role is Role.AGENT:
        number = _number(user)
        english = number in ENGLISH_AGENTS
        return AGENT_SKILLS[number], frozenset({"zh", "en"} if english else {"zh"})
    if user.role is Role.ADVISOR:
        # Every advisor advises and knows trading; every other one handles margin accounts;
        # the first advisor of each branch also speaks English.
        number = _number(user)
        skills = {"advisor": 4, "trading": 3} | ({"margin": 3} if number % 2 == 0 else {})
        return skills, frozenset({"zh", "en"} if number == 1 else {"zh"})
    return None


def _number(user: DemoUser) -> int:
    """agent07 -> 7, advisor.bj01.03 -> 3 (the usernames of callcenter/demo/staff.py)."""
    return int(user.username.rsplit(".", 1)[-1].removeprefix("agent"))


def _queues(user: DemoUser, skills: Mapping[str, int], languages: frozenset[str]) -> list[str]:
    """Advisors serve their clients' queue only; agents serve general, the queues of their
    skills, and english if they speak it."""
    if user.role is Role.ADVISOR:
        return ["advisors"]
    queues = {"general"} | {SKILL_QUEUES[skill] for skill in skills if skill in SKILL_QUEUES}
    if "en" in languages:
        queues.add("english")
    return sorted(queues)
