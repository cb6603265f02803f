"""Branch conditions of IVR flows, evaluated over the call's facts."""

from __future__ import annotations

import pytest

from callcenter.crm.vocabulary import RiskProfile, Tier
from callcenter.ivr.commands import ClientFacts
from callcenter.ivr.conditions import ConditionFacts, holds
from callcenter.ivr.flow import Condition

VIP = ClientFacts(client_id=1, tier=Tier.VIP, risk_profile=RiskProfile.AGGRESSIVE)


def facts(**overrides: object) -> ConditionFacts:
    values: dict[str, object] = {
        "business_hours": True,
        "holiday": False,
        "client": VIP,
        "authenticated": False,
        "language": "zh",
        "variables": {"menu_choice": "2"},
    }
    values.update(overrides)
    return ConditionFacts(**values)  # type: ignore[arg-type]


def when(data: dict[str, object]) -> Condition:
    return Condition.model_validate(data)


@pytest.mark.parametrize(
    ("condition", "call", "expected"),
    [
        ({"business_hours": True}, {}, True),
        ({"business_hours": True}, {"business_hours": False}, False),
        ({"tier_in": ["vip", "gold"]}, {}, True),
        ({"tier_in": ["vip"]}, {"client": None}, False),  # an unknown caller has no tier
        ({"identified": False}, {"client": None}, True),
        ({"risk_profile_in": ["conservative"]}, {}, False),
        ({"variable": "menu_choice", "equals": "2"}, {}, True),
        ({"variable": "menu_choice", "equals": "3"}, {}, False),
        # every test of one condition must hold
        ({"business_hours": True, "tier_in": ["gold"]}, {}, False),
        ({"any_of": [{"holiday": True}, {"language": "zh"}]}, {}, True),
        ({"not": {"authenticated": True}}, {}, True),
        ({"not": {"any_of": [{"holiday": True}, {"business_hours": False}]}}, {}, True),
    ],
)
def test_condition_holds_exactly_when_all_its_tests_do(
    condition: dict[str, object], call: dict[str, object], expected: bool
) -> None:
    assert holds(when(condition), facts(**call)) is expected
