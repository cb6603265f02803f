"""Branch conditions: a small declarative vocabulary evaluated over what the call knows.

A condition is a mapping of tests that must all hold (see ``Condition`` in flow.py); ``any_of``
and ``not`` combine conditions. Nothing is evaluated as code: a flow file cannot run anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from callcenter.ivr.commands import ClientFacts
from callcenter.ivr.flow import Condition, Language


@dataclass(frozen=True)
class ConditionFacts:
    """Everything a condition may look at, at the moment the branch is taken."""

    business_hours: bool
    holiday: bool
    client: ClientFacts | None
    authenticated: bool
    language: Language
    variables: Mapping[str, str]


def holds(condition: Condition, facts: ConditionFacts) -> bool:
    client = facts.client
    checks: list[bool] = []
    if condition.business_hours is not None:
        checks.append(condition.business_hours == facts.business_hours)
    if condition.holiday is not None:
        checks.append(condition.holiday == facts.holiday)
    if condition.identified is not None:
        checks.append(condition.identified == (client is not None))
    if condition.authenticated is not None:
        checks.append(condition.authenticated == facts.authenticated)
    if condition.language is not None:
        checks.append(condition.language == facts.language)
    if condition.tier_in is not None:
        checks.append(client is not None and client.tier in condition.tier_in)
    if condition.risk_profile_in is not None:
        checks.append(client is not None and client.risk_profile in condition.risk_profile_in)
    if condition.variable is not None:
        checks.append(facts.variables.get(condition.variable) == condition.equals)
    if condition.any_of is not None:
        checks.append(any(holds(option, facts) for option in condition.any_of))
    if condition.not_ is not None:
        checks.append(not holds(condition.not_, facts))
    return all(checks)
