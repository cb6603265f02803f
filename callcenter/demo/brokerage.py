"""A deterministic demo brokerage: branches, staff for every role, clients and their history.

Pure: rows come out as dicts keyed by column name (times aware UTC, money in fen, enums as
their values, account positions as JSON text); ``callcenter.persistence.seed`` writes them.
The same ``seed`` and ``as_of`` always give the same rows, byte for byte:

* each client draws from its own ``random.Random``, seeded from (seed, client index), so
  client 1,234 is the same person whether 2,000 or 1,000,000 clients are generated, with or
  without history (the history has a stream of its own);
* the database keys are assigned here, in generation order;
* ``as_of`` is the demo's present: history ends there and open tasks fall due around it;
* tiers and value classes come from the project's own rules (callcenter.crm.tiers and
  segmentation) over the latest month; value classes rank clients against each other, so they
  are known only after the last client (:meth:`DemoBrokerage.value_classes`).

Demo PINs: every client's telephone PIN is :data:`DEMO_PIN`. That is a demo-only rule:
a real PIN is chosen by its client and is never derivable from anything else.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable, Sequence

from callcenter.crm.pins import hash_pin
from callcenter.crm.segmentation import (
    ClientFigures,
    ValueClassRules,
    classify_clients,
    is_declining,
)
from callcenter.crm.tiers import TierThresholds, tier_for_assets
from callcenter.crm.vocabulary import Gender, Tier, ValueClass
from callcenter.demo import people
from callcenter.demo.acd import acd_rows
from callcenter.demo.agent_states import AgentCall, agent_state_rows
from callcenter.demo.history import (
    BEIJING,
    CategoryRef,
    ClientFacts,
    DemoClock,
    History,
    Row,
    RowIds,
)
from callcenter.demo.money import (
    AccountYear,
    Investor,
    Market,
    account_year,
    draw_investor,
    month_starts,
)
from callcenter.demo.places import BRANCHES, HOMETOWN_REGIONS, BranchProfile, street_address
from callcenter.demo.staff import demo_users, roster_of

__all__ = ["DEMO_PIN", "TABLES", "CategoryRef", "DemoBrokerage", "Row"]

DEMO_PIN = "246813"
# The stored format records the work factor (see callcenter.crm.pins). Demo PINs use a token
# one so that a million clients seed in seconds; PINs that clients choose use PIN_ITERATIONS.
DEMO_PIN_ITERATIONS = 16

# Every table the demo fills, parents before children.
TABLES = (
    "branches", "users", "queues", "agent_skills", "agent_languages", "agent_queues", "clients",
    "client_phones", "account_summaries", "interactions", "complaints", "complaint_events",
    "follow_ups", "tier_changes", "agent_state_changes",
)  # fmt: skip

# The project's default tier rule, so that the tier job finds nothing to change in the demo.
TIER_THRESHOLDS = TierThresholds()
VALUE_CLASS_RULES = ValueClassRules()

# Seeds for the independent random streams. Client streams use (seed, 2 * index [+ 1]),
# below 2**40; the brokerage-wide streams sit above.
_STREAM_BITS = 41
_STAFF_STREAM = 1 << 40
_MARKET_STREAM = (1 << 40) + 1


def empty_rows() -> dict[str, list[Row]]:
    return {table: [] for table in TABLES}


class DemoBrokerage:
    """Generates the brokerage: :meth:`staff_rows` once, then :meth:`client_rows` in order."""

    def __init__(
        self,
        *,
        seed: int,
        as_of: dt.date,
        categories: Sequence[CategoryRef] = (),
        history: bool = True,
    ) -> None:
        if seed < 0:
            raise ValueError("the demo seed must not be negative")
        self.seed = seed
        self.history = history
        self.clock = DemoClock.at(as_of)
        self.window = month_starts(as_of)
        self.market = Market.simulate(self._stream(_MARKET_STREAM), len(self.window))
        self.categories = tuple(sorted(categories, key=lambda c: c.code))
        self.users = demo_users(self._stream(_STAFF_STREAM))
        self.roster = roster_of(self.users)
        self.ids = RowIds()
        self._next_index = 0
        self._id_numbers: set[str] = set()
        self._last_landline: dict[str, str] = {}  # branch code -> the latest landline there
        self._branch_weights = list(itertools.accumulate(b.weight for b in BRANCHES))
        # The latest month's figures of every client, for the value classes (see value_classes).
        self._figures: list[ClientFigures] = []
        self._previous_turnover: dict[int, int] = {}
        self._agent_calls: list[AgentCall] = []  # what the agents' states follow (see there)

    def _stream(self, number: int) -> random.Random:
        # Demo data wants reproducible draws, not secrecy: the salts of demo PINs too.
        return random.Random((self.seed << _STREAM_BITS) + number)  # noqa: S311

    # --- staff ------------------------------------------------------------------------------

    def staff_rows(self) -> dict[str, list[Row]]:
        rows = empty_rows()
        for branch_id, branch in enumerate(BRANCHES, start=1):
            rows["branches"].append(
                {
                    "id": branch_id,
                    "code": branch.code,
                    "name": branch.name,
                    "name_en": branch.name_en,
                    "city": branch.city.name_en,
                }
            )
        created = self.clock.now - dt.timedelta(days=1000)
        branch_ids = {b.code: i for i, b in enumerate(BRANCHES, start=1)}
        for user_id, user in enumerate(self.users, start=1):
            rows["users"].append(
                {
                    "id": user_id,
                    "username": user.username,
                    "display_name": user.display_name,
                    "role": user.role.value,
                    "branch_id": branch_ids.get(user.branch_code or ""),
                    "extension": user.extension,
                    "password_hash": None,  # the seed sets the demo password (one hash for all)
                    "active": True,
                    "created_at": created,
                }
            )
        for table, more in acd_rows(self.users, created).items():
            rows[table].extend(more)
        return rows

    # --- clients ----------------------------------------------------------------------------

    def client_rows(self, count: int) -> dict[str, list[Row]]:
        """The next ``count`` clients with their phones and, unless ``history`` is off, their
        account summaries, contacts, complaints, follow-ups and tier changes."""
        rows = empty_rows()
        for index in range(self._next_index, self._next_index + count):
            self._client(index, rows)
        self._next_index += count
        self._agent_calls.extend(
            call for row in rows["interactions"] if (call := AgentCall.of(row)) is not None
        )
        return rows

    def agent_state_rows(self) -> dict[str, list[Row]]:
        """The agents' states through the calls of every client generated so far (call it
        once, after the last :meth:`client_rows`): the agents' working days."""
        rows = empty_rows()
        rows["agent_state_changes"] = agent_state_rows(self._agent_calls, self.ids)
        return rows

    def _client(self, index: int, rows: dict[str, list[Row]]) -> None:
        rng = self._stream(2 * index)
        client_id = index + 1
        branch_id = rng.choices(range(1, len(BRANCHES) + 1), cum_weights=self._branch_weights)[0]
        branch = BRANCHES[branch_id - 1]
        english, female = rng.random() < 0.15, rng.random() < 0.45
        person = (people.english_name if english else people.chinese_name)(rng, female)
        birthday = self.clock.as_of - dt.timedelta(days=round(rng.triangular(20, 78, 38) * 365.25))
        opened_on = max(self._opening_day(rng), _add_years(birthday, 18))
        closed_on = self._closing_day(rng, opened_on)
        address = street_address(rng, branch.city, english) if rng.random() < 0.85 else None
        id_type, id_number = self._identity(rng, english, female, birthday, branch)
        phones = self._phones(rng, index, branch, english, birthday, rows, client_id)
        investor = draw_investor(rng)
        year = account_year(
            rng,
            investor,
            self.market,
            self.window,
            opened_on=opened_on,
            closed_on=closed_on,
            with_positions=self.history,
        )
        tier = tier_for_assets(year.latest_assets_fen, TIER_THRESHOLDS)
        declining = self._note_figures(client_id, year)
        advisor_id, acquired_by_id = self._advisors(rng, branch_id, tier)
        age = (self.clock.as_of - birthday).days // 365
        client: Row = {
            "id": client_id,
            "account_no": f"{branch.number}{client_id:08d}",
            "name": person.name,
            "name_latin": person.latin,
            "id_type": id_type,
            "id_number": id_number,
            "email": people.email_address(rng, person, birthday, english)
            if rng.random() < 0.8
            else None,
            "address": address.text if address else None,
            "birthday": birthday,
            "gender": (Gender.FEMALE if female else Gender.MALE).value,
            "occupation": people.occupation(rng, english, age),
            "income_band": people.income_band(rng, investor).value,
            "language": "en" if english and rng.random() < 0.85 else "zh",
            "branch_id": branch_id,
            "advisor_id": advisor_id,
            "acquired_by_id": acquired_by_id,
            "opened_on": opened_on,
            "closed_on": closed_on,
            "risk_profile": people.risk_profile(rng, investor, age).value,
            "risk_assessed_on": max(
                opened_on, self.clock.as_of - dt.timedelta(rng.randint(20, 700))
            ),
            "tier": tier.value,
            "value_class": ValueClass.ORDINARY.value,  # until value_classes() ranks everyone
            "consent_marketing": rng.random() < 0.55,
            "consent_recording": rng.random() < 0.97,
            "consent_data_sharing": rng.random() < 0.3,
            "pin_hash": hash_pin(DEMO_PIN, salt=rng.randbytes(16), iterations=DEMO_PIN_ITERATIONS),
            "notes": people.client_note(rng, english),
            "created_at": _during_office_hours(rng, opened_on),
            "version": 1,
        }
        client["updated_at"] = client["created_at"]
        rows["clients"].append(client)
        if self.history:
            self._summaries(client_id, year, rows)
            self._history(index, client, investor, year, phones, declining, rows)

    def _note_figures(self, client_id: int, year: AccountYear) -> bool:
        """Keep the client's latest-month figures for the value classes; whether its trading
        fell enough on the month before to count as declining."""
        if not year.periods or year.periods[-1] != self.window[-1]:
            return False
        figures = ClientFigures(client_id, year.commission_fen[-1], year.turnover_fen[-1])
        self._figures.append(figures)
        previous = year.turnover_fen[-2] if len(year.periods) > 1 else 0
        if previous:
            self._previous_turnover[client_id] = previous
        return is_declining(figures, previous, VALUE_CLASS_RULES.declining_drop_pct)

    def value_classes(self) -> dict[int, ValueClass]:
        """Every generated client's value class that is not ``ordinary``: the segmentation's
        own rules over the latest month, as the monthly job would set them. Top profit and
        core volume rank clients against each other, so this needs every client first."""
        classes = classify_clients(self._figures, self._previous_turnover, VALUE_CLASS_RULES)
        return {cid: vc for cid, vc in sorted(classes.items()) if vc is not ValueClass.ORDINARY}

    def _opening_day(self, rng: random.Random) -> dt.date:
        """Account openings: a few in the last weeks (their return visits are due now), about
        one in ten this year, the rest over eleven earlier years, recent years busier."""
        draw = rng.random()
        if draw < 0.025:
            days = rng.randint(1, 44)
        elif draw < 0.12:
            days = rng.randint(45, 365)
        else:
            days = 366 + int(rng.betavariate(1.3, 2.0) * 11 * 365)
        return self.clock.as_of - dt.timedelta(days=days)

    def _closing_day(self, rng: random.Random, opened_on: dt.date) -> dt.date | None:
        """Churn: about 5% of accounts closed this year, 3% earlier."""
        draw, as_of, window_start = rng.random(), self.clock.as_of, self.clock.window_start
        earliest = opened_on + dt.timedelta(days=60)
        if draw < 0.05 and earliest < as_of - dt.timedelta(days=1):
            first = max(earliest, window_start)
            return first + dt.timedelta(days=rng.randrange((as_of - first).days))
        if draw < 0.08 and earliest < window_start:
            return earliest + dt.timedelta(days=rng.randrange((window_start - earliest).days))
        return None

    def _identity(
        self,
        rng: random.Random,
        english: bool,
        female: bool,
        birthday: dt.date,
        branch: BranchProfile,
    ) -> tuple[str, str]:
        if english:
            return "passport", self._unique(lambda: people.passport_number(rng))
        # Most clients were born in the branch's city; the rest moved there.
        if rng.random() < 0.7:
            region = rng.choice(branch.city.districts).region_code
        else:
            region = rng.choice(HOMETOWN_REGIONS)
        sequence = people.resident_id_sequence(rng, female)
        for step in range(500):  # the rare clash: the next free sequence of the same sex
            number = people.resident_id_number(region, birthday, (sequence + 2 * step) % 1000)
            if number not in self._id_numbers:
                self._id_numbers.add(number)
                return "resident_id", number
        raise RuntimeError("no free resident ID sequence left for one region and birthday")

    def _unique(self, draw: Callable[[], str]) -> str:
        while True:
            value = draw()
            if value not in self._id_numbers:
                self._id_numbers.add(value)
                return value

    def _phones(
        self,
        rng: random.Random,
        index: int,
        branch: BranchProfile,
        english: bool,
        birthday: dt.date,
        rows: dict[str, list[Row]],
        client_id: int,
    ) -> tuple[str, ...]:
        numbers = [
            (people.mobile_e164(self.seed, index, rng.choice(people.MOBILE_PREFIXES)), "mobile")
        ]
        older = self.clock.as_of.year - birthday.year >= 50
        if rng.random() < (0.35 if older else 0.15):
            shared = self._last_landline.get(branch.code)
            if shared is not None and rng.random() < 0.04:  # a family sharing one home phone
                landline = shared
            else:
                first_digit = rng.randint(2, 8)
                landline = people.landline_e164(
                    self.seed, index, branch.city.area_code, first_digit
                )
            self._last_landline[branch.code] = landline
            numbers.append((landline, "home" if rng.random() < 0.8 else "office"))
        if english and rng.random() < 0.3:
            numbers.append((people.overseas_mobile_e164(self.seed, index, rng), "mobile"))
        for position, (e164, kind) in enumerate(numbers):
            rows["client_phones"].append(
                {
                    "id": self.ids.next("client_phones"),
                    "client_id": client_id,
                    "e164": e164,
                    "kind": kind,
                    "is_primary": position == 0,
                }
            )
        return tuple(e164 for e164, _ in numbers)

    def _advisors(
        self, rng: random.Random, branch_id: int, tier: Tier
    ) -> tuple[int | None, int | None]:
        """(dedicated advisor, who won the client): every client from silver up has a dedicated
        advisor; about half of all clients were won by an advisor, some by hotline agents."""
        advisors = self.roster.advisors[branch_id]
        won = rng.random()
        if won < 0.45:
            acquired_by: int | None = rng.choice(advisors)
        elif won < 0.6:  # converted on the hotline
            acquired_by = rng.choice(self.roster.agents)
        else:  # walked in or opened online
            acquired_by = None
        advisor = acquired_by if acquired_by in advisors and rng.random() < 0.4 else None
        if advisor is None and tier is not Tier.STANDARD:
            advisor = rng.choice(advisors)
        return advisor, acquired_by

    def _summaries(self, client_id: int, year: AccountYear, rows: dict[str, list[Row]]) -> None:
        for period, assets, turnover, commission, positions in zip(
            year.periods,
            year.assets_fen,
            year.turnover_fen,
            year.commission_fen,
            year.positions,
            strict=True,
        ):
            rows["account_summaries"].append(
                {
                    "id": self.ids.next("account_summaries"),
                    "client_id": client_id,
                    "period": period,
                    "total_assets_fen": assets,
                    "positions": positions,
                    "turnover_fen": turnover,
                    "commission_fen": commission,
                }
            )

    def _history(
        self,
        index: int,
        client: Row,
        investor: Investor,
        year: AccountYear,
        phones: tuple[str, ...],
        declining: bool,
        rows: dict[str, list[Row]],
    ) -> None:
        facts = ClientFacts(
            id=client["id"],
            branch_id=client["branch_id"],
            advisor_id=client["advisor_id"],
            english=client["language"] == "en",
            tier=Tier(client["tier"]),
            active_trader=investor.monthly_turnover_ratio > 0.8,
            speculative=client["risk_profile"] in {"aggressive", "speculative"},
            declining=declining,
            opened_on=client["opened_on"],
            closed_on=client["closed_on"],
            birthday=client["birthday"],
            phones=phones,
            consent_recording=client["consent_recording"],
        )
        tier_changes_before = len(rows["tier_changes"])
        rng = self._stream(2 * index + 1)
        history = History(
            rng, self.clock, self.roster, self.categories, self.ids, rows, TIER_THRESHOLDS
        )
        history.client(facts, year)
        if len(rows["tier_changes"]) > tier_changes_before:
            client["updated_at"] = max(client["created_at"], rows["tier_changes"][-1]["changed_at"])


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _during_office_hours(rng: random.Random, day: dt.date) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(9), BEIJING) + dt.timedelta(
        seconds=rng.randrange(8 * 3600)
    )
    return local.astimezone(dt.UTC)
