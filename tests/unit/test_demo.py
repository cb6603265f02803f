"""The demo brokerage's generators: valid identities and phones, determinism, a realistic
concentration of commission, and history that keeps the domain's rules."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections import Counter
from functools import cache

import phonenumbers
import pytest

from callcenter.crm.complaints import TRANSITIONS
from callcenter.crm.phones import to_e164
from callcenter.crm.pins import verify_pin
from callcenter.crm.tiers import TierThresholds, tier_for_assets
from callcenter.crm.vocabulary import ComplaintStatus, Role
from callcenter.demo import people
from callcenter.demo.brokerage import DEMO_PIN, CategoryRef, DemoBrokerage, Row
from callcenter.demo.money import STOCKS

AS_OF = dt.date(2026, 11, 25)
SYMBOLS = {stock.symbol for stock in STOCKS}
CATEGORIES = (
    CategoryRef("account.opening", "branch"),
    CategoryRef("trading.execution", "trading_operations"),
    CategoryRef("service.waiting", "service_center"),
)


def generate(clients: int, *, seed: int = 42, history: bool = True) -> dict[str, list[Row]]:
    brokerage = DemoBrokerage(seed=seed, as_of=AS_OF, categories=CATEGORIES, history=history)
    rows = brokerage.staff_rows()
    for table, more in brokerage.client_rows(clients).items():
        rows[table].extend(more)
    return rows


@cache
def sample() -> dict[str, list[Row]]:
    """2,000 clients with their history, generated once for the tests that only read."""
    return generate(2_000)


def mod11_check(first17: str) -> str:
    """GB 11643 written out independently: sum of digit * (2**(17 - i) mod 11), then the
    check character that brings the total to 1 mod 11."""
    total = sum(int(digit) * (2 ** (17 - i) % 11) for i, digit in enumerate(first17))
    return "10X98765432"[total % 11]


def test_check_digit_of_the_standards_example_is_x() -> None:
    assert people.resident_id_check_digit("11010519491231002") == "X"
    assert mod11_check("11010519491231002") == "X"


def test_resident_ids_are_valid_and_agree_with_birthday_and_sex() -> None:
    residents = [c for c in sample()["clients"] if c["id_type"] == "resident_id"]
    assert len(residents) > 1_500
    for client in residents:
        number = client["id_number"]
        assert re.fullmatch(r"[1-6]\d{16}[\dX]", number), number
        assert number[17] == mod11_check(number[:17])
        assert number[6:14] == client["birthday"].strftime("%Y%m%d")
        assert int(number[16]) % 2 == (1 if client["gender"] == "male" else 0)
    assert len({c["id_number"] for c in sample()["clients"]}) == len(sample()["clients"])


def test_clients_are_adults_when_they_open_their_account() -> None:
    for client in sample()["clients"]:
        age_at_opening = (client["opened_on"] - client["birthday"]).days / 365.25
        assert age_at_opening >= 18 - 1 / 365


def test_every_phone_is_a_valid_e164_number() -> None:
    for phone in sample()["client_phones"]:
        e164 = phone["e164"]
        assert to_e164(e164) == e164
        assert phonenumbers.is_valid_number(phonenumbers.parse(e164)), e164


def test_every_client_has_one_primary_mobile_of_its_own() -> None:
    phones = sample()["client_phones"]
    primaries = [p for p in phones if p["is_primary"]]
    assert sorted(p["client_id"] for p in primaries) == [c["id"] for c in sample()["clients"]]
    assert all(p["kind"] == "mobile" and p["e164"].startswith("+861") for p in primaries)
    assert len({p["e164"] for p in primaries}) == len(primaries)
    # Only landlines are ever shared (a family at home), never a mobile.
    uses = Counter(p["e164"] for p in phones)
    shared = [p for p in phones if uses[p["e164"]] > 1]
    assert shared
    assert all(p["kind"] != "mobile" for p in shared)


def test_mobile_numbers_of_other_indexes_are_free() -> None:
    taken = {p["e164"] for p in sample()["client_phones"]}
    absent = {people.mobile_e164(42, index, "138") for index in range(2_000, 12_000)}
    assert not taken & absent


def test_names_are_chinese_with_pinyin_and_some_english() -> None:
    clients = sample()["clients"]
    english = [c for c in clients if c["id_type"] == "passport"]
    assert 0.10 <= len(english) / len(clients) <= 0.20
    surnames = {zh: latin for zh, latin, _ in people.SURNAMES}
    for client in clients:
        if client["id_type"] == "passport":
            assert client["name"] == client["name_latin"]
            assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", client["name"])
            continue
        surname_latin, given_latin = client["name_latin"].split(" ")
        assert re.fullmatch(r"[A-Z][a-z]+('?[a-z]+)?", given_latin), client["name_latin"]
        assert any(
            client["name"].startswith(zh) and latin == surname_latin
            for zh, latin in surnames.items()
        )


def test_pinyin_given_names_take_an_apostrophe_before_a_vowel_syllable() -> None:
    assert people.pinyin_given_name(["xi", "an"]) == "Xi'an"
    assert people.pinyin_given_name(["xiao", "ming"]) == "Xiaoming"


def test_emails_only_use_reserved_example_domains() -> None:
    emails = [c["email"] for c in sample()["clients"] if c["email"]]
    assert len(emails) > 1_000
    assert all(re.fullmatch(r"[^@\s]+@([a-z0-9]+\.)?example\.(com|net|org)", e) for e in emails)


def test_the_same_seed_gives_the_same_rows_and_another_seed_other_rows() -> None:
    assert generate(300) == generate(300)
    other = generate(300, seed=7)
    assert [c["name"] for c in other["clients"]] != [c["name"] for c in generate(300)["clients"]]


def test_a_client_does_not_depend_on_batching_or_on_the_history() -> None:
    brokerage = DemoBrokerage(seed=42, as_of=AS_OF, categories=CATEGORIES)
    brokerage.staff_rows()
    batched = [c for size in (120, 80, 100) for c in brokerage.client_rows(size)["clients"]]
    minimal = generate(300, history=False)["clients"]
    whole = generate(300)["clients"]
    assert batched == whole
    assert [c | {"updated_at": None} for c in minimal] == [c | {"updated_at": None} for c in whole]


def test_a_fifth_of_the_clients_bring_70_to_90_percent_of_commission() -> None:
    commission = Counter[int]()
    for summary in sample()["account_summaries"]:
        commission[summary["client_id"]] += summary["commission_fen"]
    ranked = sorted((commission[c["id"]] for c in sample()["clients"]), reverse=True)
    top_fifth = sum(ranked[: len(ranked) // 5])
    assert 0.70 <= top_fifth / sum(ranked) <= 0.90


def test_tiers_follow_the_assets_of_the_latest_month() -> None:
    latest: dict[int, int] = {}
    for summary in sample()["account_summaries"]:
        latest[summary["client_id"]] = summary["total_assets_fen"]
    tiers = Counter()
    for client in sample()["clients"]:
        expected = tier_for_assets(latest.get(client["id"], 0), TierThresholds())
        assert client["tier"] == expected.value
        tiers[client["tier"]] += 1
    assert tiers["standard"] > tiers["silver"] > tiers["gold"] > 0


def test_clients_from_silver_up_have_an_advisor_of_their_branch() -> None:
    users = {u["id"]: u for u in sample()["users"]}
    for client in sample()["clients"]:
        if client["tier"] != "standard":
            assert client["advisor_id"] is not None
        if client["advisor_id"] is not None:
            advisor = users[client["advisor_id"]]
            assert advisor["role"] == Role.ADVISOR.value
            assert advisor["branch_id"] == client["branch_id"]


def test_positions_json_is_what_json_dumps_writes() -> None:
    for summary in sample()["account_summaries"][:3_000]:
        positions = json.loads(summary["positions"])
        assert json.dumps(positions) == summary["positions"]
        for position in positions:
            assert set(position) == {"symbol", "name", "quantity", "value_fen"}
            assert position["symbol"] in SYMBOLS
            assert position["quantity"] % 100 == 0
        assert sum(p["value_fen"] for p in positions) <= summary["total_assets_fen"]


def test_every_demo_pin_hash_verifies_the_demo_pin_with_its_own_salt() -> None:
    hashes = [c["pin_hash"] for c in sample()["clients"][:200]]
    assert all(verify_pin(h, DEMO_PIN) for h in hashes)
    assert not any(verify_pin(h, "000000") for h in hashes[:20])
    assert len({h.split("$")[2] for h in hashes}) == len(hashes)


def test_history_ends_at_the_demo_present() -> None:
    now = dt.datetime.combine(AS_OF, dt.time(), dt.timezone(dt.timedelta(hours=8)))
    rows = sample()
    times = [
        value
        for table in ("interactions", "complaints", "complaint_events", "follow_ups")
        for row in rows[table]
        for value in row.values()
        if isinstance(value, dt.datetime)
    ]
    assert len(times) > 5_000
    assert max(times) < now


def test_call_phases_follow_each_other() -> None:
    phases = (
        "started_at",
        "ivr_ended_at",
        "queued_at",
        "offered_at",
        "answered_at",
        "ended_at",
        "wrapup_ended_at",
    )
    calls = [i for i in sample()["interactions"] if i["channel"] == "voice"]
    assert len({c["call_id"] for c in calls}) == len(calls)
    for call in calls:
        times = [call[p] for p in phases if call[p] is not None]
        assert times == sorted(times), call
        if call["answered_at"] is not None:
            assert call["agent_id"] is not None
            assert call["talk_seconds"] > 0


def test_complaints_walk_the_workflow_and_are_due_two_days_after_creation() -> None:
    rows = sample()
    assert len(rows["complaints"]) > 10
    events: dict[int, list[Row]] = {}
    for event in rows["complaint_events"]:
        events.setdefault(event["complaint_id"], []).append(event)
    for complaint in rows["complaints"]:
        assert complaint["response_due_at"] - complaint["created_at"] == dt.timedelta(days=2)
        history = events[complaint["id"]]
        assert history[0]["from_status"] is None
        assert history[0]["to_status"] == ComplaintStatus.OPEN.value
        for before, after in itertools.pairwise(history):
            assert after["from_status"] == before["to_status"]
            assert (
                ComplaintStatus(after["to_status"])
                in TRANSITIONS[ComplaintStatus(before["to_status"])]
            )
            assert after["at"] > before["at"]
        assert complaint["status"] == history[-1]["to_status"]
        assert (complaint["owner_department"] is None) != (complaint["owner_branch_id"] is None)


def test_new_accounts_get_a_return_visit_due_within_two_weeks() -> None:
    rows = sample()
    opened = {c["id"]: c["opened_on"] for c in rows["clients"]}
    visits = [f for f in rows["follow_ups"] if f["kind"] == "return_visit"]
    new_accounts = [cid for cid, day in opened.items() if AS_OF - day <= dt.timedelta(days=365)]
    assert sorted(v["client_id"] for v in visits) == sorted(new_accounts)
    for visit in visits:
        assert dt.timedelta(0) < visit["due_on"] - opened[visit["client_id"]] <= dt.timedelta(14)
        if visit["status"] == "done":
            assert visit["done_at"] is not None
            assert visit["interaction_id"] is not None
    assert {"done", "open"} <= {v["status"] for v in visits}


def test_staff_covers_every_role_on_the_sandbox_phones() -> None:
    users = sample()["users"]
    assert {u["role"] for u in users} == {r.value for r in Role}
    extensions = {u["username"]: u["extension"] for u in users if u["extension"]}
    assert extensions["agent01"] == "1001"
    assert extensions["supervisor02"] == "1902"
    assert len({u["username"] for u in users}) == len(users)


def test_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        DemoBrokerage(seed=-1, as_of=AS_OF)
