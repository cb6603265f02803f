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


def holds_given_authentication(condition: Condition, authenticated: bool) -> bool | None:
    """Whether ``condition`` holds knowing only whether the call is authenticated: True or
    False when that decides it, None when it depends on what else the call turns out to be.

    For the checker, which walks a flow before any call: three-valued (Kleene) logic over
    the same tests :func:`holds` evaluates. An authenticated call is identified too (the
    authentication named the client); every other fact is unknown."""
    parts: list[bool | None] = []
    if condition.authenticated is not None:
        parts.append(condition.authenticated == authenticated)
    if condition.identified is not None:
        parts.append(condition.identified if authenticated else None)
    other_tests = (
        condition.business_hours,
        condition.holiday,
        condition.language,
        condition.tier_in,
        condition.risk_profile_in,
        condition.variable,
    )
    parts.extend(None for test in other_tests if test is not None)
    if condition.any_of is not None:
        parts.append(_any([holds_given_authentication(c, authenticated) for c in condition.any_of]))
    if condition.not_ is not None:
        inner = holds_given_authentication(condition.not_, authenticated)
        parts.append(None if inner is None else not inner)
    return _all(parts)


def _all(parts: list[bool | None]) -> bool | None:
    if any(part is False for part in parts):
        return False
    return True if all(part is True for part in parts) else None


def _any(parts: list[bool | None]) -> bool | None:
    if any(part is True for part in parts):
        return True
    return False if all(part is False for part in parts) else None
