"""Data scopes: which clients, calls, complaints and follow-ups a member of staff may see.

Need-to-know, by role (issue 15; ../shared/DOMAIN.md, privacy):

===========  ===========  ===============================================================
role         reach        sees
===========  ===========  ===============================================================
supervisor   all          everything
compliance   all          everything (and changes nothing)
quality      all          every call and its client, to review them (and changes nothing)
branch       branch       the clients of their branch, and what belongs to them
advisor      book         the clients they advise, and the calls they took themselves
agent        handling     the clients of the calls and tasks in their hands right now, and
                          their own calls; any other client only with a stated reason
                          (an audited "search with a reason", see :attr:`DataScope.reason`)
admin        none         no client data: admins run the system
===========  ===========  ===============================================================

The scope is applied by the stores, in the queries themselves (callcenter/persistence/
scopes.py): a record outside it is not found, so a refusal is 404 and never tells whether the
record exists. Pure values here; no IO.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from callcenter.crm.vocabulary import Role
from callcenter.errors import Forbidden

# An agent's call is "in their hands" from the offer until their wrap-up ends; a record
# left open longer than this (a bug, a lost event) no longer opens its client's data.
HANDLING_WINDOW: Final = dt.timedelta(hours=12)


class Reach(StrEnum):
    ALL = "all"
    BRANCH = "branch"
    BOOK = "book"
    HANDLING = "handling"
    NONE = "none"


REACH_OF_ROLE: Final[dict[Role, Reach]] = {
    Role.SUPERVISOR: Reach.ALL,
    Role.COMPLIANCE: Reach.ALL,
    Role.QUALITY: Reach.ALL,
    Role.BRANCH: Reach.BRANCH,
    Role.ADVISOR: Reach.BOOK,
    Role.AGENT: Reach.HANDLING,
    Role.ADMIN: Reach.NONE,
}

# The roles that may read client data at all (admins may not).
CLIENT_DATA_ROLES: Final = tuple(
    role for role, reach in REACH_OF_ROLE.items() if reach is not Reach.NONE
)


class ReasonNotAllowed(Forbidden):
    """Only service-center agents reach beyond their scope with a stated reason; an advisor
    or branch user sees their book or branch and nothing else."""

    error_id = "scope-reason-not-allowed"


@dataclass(frozen=True)
class DataScope:
    """What one request may see. ``user_id`` and ``branch_id`` are the acting user's;
    ``reason``: an agent's stated reason to reach a client beyond their calls (audited with
    every read it opens)."""

    reach: Reach
    user_id: int | None = None
    branch_id: int | None = None
    reason: str | None = None

    @classmethod
    def of(
        cls, role: Role, user_id: int, branch_id: int | None, reason: str | None = None
    ) -> DataScope:
        reach = REACH_OF_ROLE[role]
        reason = (reason or "").strip() or None
        if reason is not None and reach in (Reach.BOOK, Reach.BRANCH, Reach.NONE):
            raise ReasonNotAllowed(
                f"a {role} sees their own clients only; a reason opens nothing more"
            )
        return cls(reach, user_id, branch_id, reason)

    @property
    def all_clients(self) -> bool:
        """Whether every client is in reach: supervisors, compliance, and an agent who stated
        a reason (the break-glass read, audited)."""
        return self.reach is Reach.ALL or (self.reach is Reach.HANDLING and self.reason is not None)

    @property
    def sees_everything(self) -> bool:
        """Every call, complaint and follow-up (a reason opens clients, not other lists)."""
        return self.reach is Reach.ALL

    def owns_call(self, agent_id: int | None) -> bool:
        return agent_id is not None and agent_id == self.user_id


# The system's own work (the ACD, the IVR, adoption, reports) is not a member of staff.
SYSTEM: Final = DataScope(Reach.ALL)
