"""Demo staff: an admin, the service center's supervisors and agents on the sandbox's phones,
per branch a manager (a supervisor) and its advisors, then a compliance officer and per branch
a member of its staff (role branch: that branch's clients only)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from callcenter.crm.vocabulary import Role
from callcenter.demo.history import StaffRoster
from callcenter.demo.people import chinese_name
from callcenter.demo.places import BRANCHES

AGENT_EXTENSIONS = tuple(str(n) for n in range(1001, 1011))  # the sandbox's agent phones
SUPERVISOR_EXTENSIONS = ("1901", "1902")
# Advisors take their own clients' calls, so they have phones too (2001.., in roster order).
ADVISOR_EXTENSIONS = tuple(str(n) for n in range(2001, 2101))


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    branch_code: str | None
    extension: str | None


def demo_users(rng: random.Random) -> tuple[DemoUser, ...]:
    """The staff: an admin, the service center's supervisors and agents (on the sandbox's
    phones), and per branch a manager (a supervisor) and its advisors."""
    users = [DemoUser("admin", "系统管理员", Role.ADMIN, None, None)]
    for number, extension in enumerate(SUPERVISOR_EXTENSIONS, start=1):
        users.append(
            DemoUser(f"supervisor{number:02d}", _staff_name(rng), Role.SUPERVISOR, None, extension)
        )
    for number, extension in enumerate(AGENT_EXTENSIONS, start=1):
        users.append(DemoUser(f"agent{number:02d}", _staff_name(rng), Role.AGENT, None, extension))
    advisor_phones = iter(ADVISOR_EXTENSIONS)
    for branch in BRANCHES:
        code = branch.code.lower()
        users.append(
            DemoUser(f"manager.{code}", _staff_name(rng), Role.SUPERVISOR, branch.code, None)
        )
        for number in range(1, branch.advisors + 1):
            users.append(
                DemoUser(
                    f"advisor.{code}.{number:02d}",
                    _staff_name(rng),
                    Role.ADVISOR,
                    branch.code,
                    next(advisor_phones),
                )
            )
    # Added after everyone else, so that the ids above stay what they were.
    users.append(DemoUser("compliance01", _staff_name(rng), Role.COMPLIANCE, None, None))
    for branch in BRANCHES:
        users.append(
            DemoUser(
                f"staff.{branch.code.lower()}", _staff_name(rng), Role.BRANCH, branch.code, None
            )
        )
    # The quality reviewer (issue 17): last, and named without the generator, so that every
    # other user and every client stays what it was.
    users.append(DemoUser("quality01", "郑敏", Role.QUALITY, None, None))
    return tuple(users)


def _staff_name(rng: random.Random) -> str:
    return chinese_name(rng, rng.random() < 0.5).name


def roster_of(users: Sequence[DemoUser]) -> StaffRoster:
    branch_ids = {b.code: i for i, b in enumerate(BRANCHES, start=1)}
    ids = {u.username: i for i, u in enumerate(users, start=1)}
    advisors: dict[int, list[int]] = {i: [] for i in branch_ids.values()}
    managers = {}
    for user in users:
        if user.branch_code is None:
            continue
        branch_id = branch_ids[user.branch_code]
        if user.role is Role.ADVISOR:
            advisors[branch_id].append(ids[user.username])
        elif user.role is Role.SUPERVISOR:
            managers[branch_id] = ids[user.username]
    center = [u for u in users if u.branch_code is None]
    return StaffRoster(
        agents=tuple(ids[u.username] for u in center if u.role is Role.AGENT),
        center_supervisors=tuple(ids[u.username] for u in center if u.role is Role.SUPERVISOR),
        branch_managers=managers,
        advisors={b: tuple(a) for b, a in advisors.items()},
    )
