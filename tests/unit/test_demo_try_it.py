"""The demo works for the README's outbound try-out at any hour: scripts/start's demo settings
(scripts/demo-settings, sourced by bash as scripts/start sources it) set the trunk to
scripts/client.py, the hotline's number and calling hours around the clock only where the user
set nothing; and the demo seed gives agent01 a care call first in their work, which the
dialler's rules allow at every hour of the week under those settings (and not under the
production hours at night)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from callcenter.app import dial_rules
from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus
from callcenter.demo.brokerage import CategoryRef, DemoBrokerage, Row
from callcenter.outbound.compliance import OUTSIDE_HOURS, may_dial
from callcenter.outbound.model import Party, WorkItem
from callcenter.settings import PROJECT_ROOT, Settings
from tests.support.demo_settings import as_settings, sourced

AS_OF = dt.date(2026, 12, 9)  # a Wednesday
SHANGHAI = ZoneInfo("Asia/Shanghai")
AROUND_THE_CLOCK = {
    "CALLCENTER_OUTBOUND_WEEKDAY_START": "00:00:00",
    "CALLCENTER_OUTBOUND_WEEKDAY_END": "23:59:59.999999",
    "CALLCENTER_OUTBOUND_WEEKEND_START": "00:00:00",
    "CALLCENTER_OUTBOUND_WEEKEND_END": "23:59:59.999999",
}


def test_with_nothing_set_the_demo_dials_scripts_client_showing_95555_around_the_clock() -> None:
    env, said = sourced()
    assert env["CALLCENTER_OUTBOUND_TRUNK"] == "127.0.0.1:5070"  # scripts/client.py's port
    assert env["CALLCENTER_HOTLINE_NUMBER"] == "95555"
    assert {k: env[k] for k in AROUND_THE_CLOCK} == AROUND_THE_CLOCK
    assert env["CALLCENTER_BUSINESS_WEEKDAYS"] == "1,2,3,4,5,6,7"  # as before
    assert "127.0.0.1:5070 showing 95555" in said
    assert "around the clock" in said
    settings = as_settings(env)
    assert settings.outbound_trunk == "127.0.0.1:5070"
    assert settings.outbound_weekday_start == dt.time(0, 0)
    assert settings.outbound_weekend_end == dt.time(23, 59, 59, 999999)


def test_what_the_user_set_is_kept_and_the_rest_of_the_production_hours_apply() -> None:
    env, said = sourced(
        CALLCENTER_OUTBOUND_TRUNK="10.1.2.3:5060",
        CALLCENTER_HOTLINE_NUMBER="95888",
        CALLCENTER_OUTBOUND_WEEKDAY_END="18:00",
    )
    assert env["CALLCENTER_OUTBOUND_TRUNK"] == "10.1.2.3:5060"
    assert env["CALLCENTER_HOTLINE_NUMBER"] == "95888"
    assert env["CALLCENTER_OUTBOUND_WEEKDAY_END"] == "18:00"
    assert not {"CALLCENTER_OUTBOUND_WEEKDAY_START", "CALLCENTER_OUTBOUND_WEEKEND_END"} & set(env)
    assert "your CALLCENTER_OUTBOUND_WEEKDAY_*" in said
    settings = as_settings(env)
    defaults = Settings.model_fields
    assert settings.outbound_weekday_start == defaults["outbound_weekday_start"].default
    assert settings.outbound_weekday_end == dt.time(18, 0)
    assert settings.outbound_weekend_end == defaults["outbound_weekend_end"].default


def test_an_empty_trunk_set_by_the_user_stays_empty() -> None:
    env, said = sourced(CALLCENTER_OUTBOUND_TRUNK="")
    assert env["CALLCENTER_OUTBOUND_TRUNK"] == ""
    assert "no outbound trunk" in said


def test_scripts_start_sources_the_demo_settings_before_it_serves() -> None:
    start = (PROJECT_ROOT / "scripts" / "start").read_text().splitlines()
    sources = start.index("source scripts/demo-settings")
    serves = start.index(".venv/bin/callcenter serve")
    assert sources < serves
    assert 'echo "Dialler: $outbound."' in start[sources:serves]


# --- the demo's work item for agent01 ----------------------------------------------------------


def demo_rows(clients: int) -> dict[str, list[Row]]:
    categories = (CategoryRef("service.waiting", "service_center"),)
    brokerage = DemoBrokerage(seed=42, as_of=AS_OF, categories=categories)
    rows = brokerage.staff_rows()
    for table, more in brokerage.client_rows(clients).items():
        rows[table].extend(more)
    return rows


def work_item(row: Row, number: str) -> WorkItem:
    """The seeded row as the dialler reads it (callcenter/persistence/outbound.py)."""
    return WorkItem(
        id=row["id"],
        kind=FollowUpKind(row["kind"]),
        status=FollowUpStatus(row["status"]),
        client_id=row["client_id"],
        number=row.get("number") or number,
        priority=row["priority"],
        due_on=row["due_on"],
        not_before=row.get("not_before"),
        assigned_to_id=row["assigned_to_id"],
        queue=row.get("queue"),
        reason=row["reason"],
        language=row.get("language"),
        attempts=0,
        next_attempt_at=None,
        last_outcome=None,
        reserved_by_id=None,
        reserved_until=None,
        version=row["version"],
    )


def test_agent01s_first_item_is_a_care_call_to_client_1_that_may_be_dialled_at_any_hour() -> None:
    rows = demo_rows(400)
    users = {u["username"]: u["id"] for u in rows["users"]}
    agent01 = users["agent01"]
    mine = sorted(
        (r for r in rows["follow_ups"] if r["assigned_to_id"] == agent01 and r["status"] == "open"),
        key=lambda r: (r["priority"], r["due_on"], r["id"]),  # the dialler's order
    )
    assert mine, "agent01 has no open work item in the demo"
    first = mine[0]
    assert (first["kind"], first["client_id"], first["priority"]) == ("care_call", 1, 4)
    assert first["due_on"] == AS_OF
    assert first["reason"]
    assert first["created_by_id"] == users["supervisor01"]
    # History ends at the demo's present: the item was listed before it.
    assert first["created_at"] < dt.datetime.combine(AS_OF, dt.time(), SHANGHAI)
    [phone] = [p for p in rows["client_phones"] if p["client_id"] == 1 and p["is_primary"]]
    assert phone["e164"] == "+8619886314307"  # dialled on the trunk: not an extension
    item = work_item(first, phone["e164"])
    [client] = [c for c in rows["clients"] if c["id"] == 1]
    party = Party(time_zone=client.get("time_zone"))

    demo = dial_rules(as_settings(sourced()[0]))
    production = dial_rules(as_settings({}))
    saturday = dt.datetime.combine(AS_OF + dt.timedelta(days=3), dt.time(), SHANGHAI)
    for hour in range(0, 24 * 7, 1):  # every hour of a week, from Saturday 00:00
        now = (saturday + dt.timedelta(hours=hour, minutes=30)).astimezone(dt.UTC)
        verdict = may_dial(item, party, [], now, demo)
        assert verdict.allowed, (now, verdict)
    night = dt.datetime.combine(AS_OF, dt.time(23, 30), SHANGHAI).astimezone(dt.UTC)
    assert may_dial(item, party, [], night, production).reason == OUTSIDE_HOURS


@pytest.mark.parametrize("clients", [1, 60])
def test_even_a_small_demo_gives_agent01_that_care_call(clients: int) -> None:
    rows = demo_rows(clients)
    agent01 = next(u["id"] for u in rows["users"] if u["username"] == "agent01")
    care = [
        (r["client_id"], r["priority"])
        for r in rows["follow_ups"]
        if r["assigned_to_id"] == agent01 and r["kind"] == "care_call" and r["priority"] == 4
    ]
    assert care == [(1, 4)]
