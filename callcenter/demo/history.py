"""Demo history: a year of contacts per client (calls through the IVR and queues, web and
e-mail messages), complaints with their status history, follow-ups, and tier changes.

Each contact is consistent with itself and with the rules in DOMAIN.md: phase times follow one
another (IVR, queue, ring, talk, wrap-up), a complaint's response is due two days after it was
made and its events walk the workflow in order, a new account's return visit is due within two
weeks of opening, and nothing happens after the demo's present (``DemoClock.now``).
"""

from __future__ import annotations

# Chinese text takes full-width commas and colons, which RUF001 flags as look-alikes.
# ruff: noqa: RUF001
import datetime as dt
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from callcenter.crm.periods import MonthRange
from callcenter.crm.tiers import TierThresholds, tier_for_assets, tier_reason
from callcenter.crm.vocabulary import (
    Channel,
    ComplaintStatus,
    Direction,
    FollowUpKind,
    FollowUpStatus,
    Tier,
)
from callcenter.demo.money import AccountYear
from callcenter.demo.texts import COMPLAINT_TEXTS, GENERIC_COMPLAINT, INTENTS, CallIntent

Row = dict[str, Any]
BEIJING = dt.timezone(dt.timedelta(hours=8))
HOTLINE = "95555"
COMPLAINT_RESPONSE_TIME = dt.timedelta(days=2)  # DOMAIN.md: written answers within 2 days
RETURN_VISIT_WITHIN_DAYS = 14
# The README's outbound try-out: agent01's first item in "My work", whatever the number of
# clients and the hour (scripts/start lets the demo call clients around the clock): a care
# call to client 1 (李凯亮, a mobile dialled on the trunk) from a supervisor's list, so
# priority 4 (docs/outbound.md), before the demo's other items (5) and after callbacks (2).
TRY_IT_CLIENT_ID = 1
TRY_IT_PRIORITY = 4
TRY_IT_REASON = (
    "关怀电话：近期市场波动较大，了解客户持仓与风险承受情况 (care call after the market's swings)"
)

TIER_RANK = {tier: rank for rank, tier in enumerate(Tier)}  # Tier.rank, without its list

# Calls by hour of the day (Beijing time), busiest in the trading sessions 9:30-11:30, 13-15.
_CALL_HOURS = tuple(range(8, 21))
_CALL_HOUR_CUMULATIVE = tuple(itertools.accumulate((3, 10, 12, 9, 4, 9, 11, 7, 5, 3, 3, 2, 1)))
_INTENT_CUMULATIVE = tuple(itertools.accumulate(i.weight for i in INTENTS))


@dataclass(frozen=True)
class DemoClock:
    """The demo's present: ``as_of`` at 00:00 Beijing time; history ends there."""

    as_of: dt.date
    now: dt.datetime
    window_start: dt.date  # a year back: the start of the contact history

    @classmethod
    def at(cls, as_of: dt.date) -> DemoClock:
        now = dt.datetime.combine(as_of, dt.time(), BEIJING).astimezone(dt.UTC)
        return cls(as_of, now, as_of - dt.timedelta(days=365))


@dataclass(frozen=True)
class StaffRoster:
    agents: tuple[int, ...]
    center_supervisors: tuple[int, ...]
    branch_managers: dict[int, int]  # branch id -> its manager (a supervisor)
    advisors: dict[int, tuple[int, ...]]  # branch id -> its advisors


@dataclass(frozen=True)
class CategoryRef:
    """A leaf of the complaint taxonomy, as the database holds it."""

    code: str
    owner: str  # a department, or "branch": the client's own branch


@dataclass(frozen=True)
class ClientFacts:
    """What the history of one client depends on."""

    id: int
    branch_id: int
    advisor_id: int | None
    english: bool
    tier: Tier
    active_trader: bool
    speculative: bool
    declining: bool
    opened_on: dt.date
    closed_on: dt.date | None
    birthday: dt.date | None
    phones: tuple[str, ...]  # E.164, the primary first
    consent_recording: bool


class RowIds:
    """The next primary key of each table: ids are assigned here so rows can refer to each
    other without a round trip, and the same seed always gives the same ids."""

    def __init__(self) -> None:
        self._counters: dict[str, Iterator[int]] = {}

    def next(self, table: str) -> int:
        counter = self._counters.get(table)
        if counter is None:
            counter = self._counters[table] = itertools.count(1)
        return next(counter)


@dataclass
class History:
    """Generates one client's history into ``rows`` (table name -> rows)."""

    rng: random.Random
    clock: DemoClock
    staff: StaffRoster
    categories: Sequence[CategoryRef]
    ids: RowIds
    rows: dict[str, list[Row]]
    tiers: TierThresholds

    def client(self, facts: ClientFacts, year: AccountYear) -> None:
        start = max(facts.opened_on, self.clock.window_start)
        end = min(facts.closed_on or self.clock.as_of, self.clock.as_of)
        if start < end:
            self._inbound_contacts(facts, start, end)
            if self.rng.random() < (0.03 if facts.active_trader else 0.012):
                self._complaint(facts, start, end)
        self._return_visit(facts)
        self._care(facts)
        if facts.id == TRY_IT_CLIENT_ID:
            self._try_it_care_call(facts)
        self._tier_changes(facts, year)

    # --- contacts ---------------------------------------------------------------------------

    def _inbound_contacts(self, facts: ClientFacts, start: dt.date, end: dt.date) -> None:
        mean = 1.4 + 0.5 * TIER_RANK[facts.tier] + (1.0 if facts.active_trader else 0.0)
        for _ in range(_poisson(self.rng, mean)):
            when = self._business_time(start, end)
            if self.rng.random() < 0.08:
                self._written(facts, when)
            else:
                intent = self.rng.choices(INTENTS, cum_weights=_INTENT_CUMULATIVE)[0]
                self._inbound_call(facts, when, intent)

    def _inbound_call(self, facts: ClientFacts, started: dt.datetime, intent: CallIntent) -> Row:
        rng = self.rng
        path = ["welcome", *(["language_en"] if facts.english else []), *intent.path]
        row = self._interaction(facts, Channel.VOICE, Direction.INBOUND, started)
        row.update(
            caller_number=rng.choice(facts.phones) if rng.random() < 0.2 else facts.phones[0],
            called_number=HOTLINE,
            ivr_path=path,
            authenticated="pin" in path,
        )
        ivr_ended = started + dt.timedelta(seconds=rng.randint(12, 95))
        row["ivr_ended_at"] = ivr_ended
        if rng.random() < intent.self_service:
            row.update(ivr_outcome="self_served", ended_at=ivr_ended, disposition="self_served")
            return row
        row.update(ivr_outcome="queued", queued_at=ivr_ended, queue=self._queue(facts, intent))
        wait = _seconds(rng, 5.0 if TIER_RANK[facts.tier] < TIER_RANK[Tier.GOLD] else 3.0, 0.8, 600)
        if wait > _seconds(rng, 70.0, 0.7, 900):  # the caller gave up in the queue
            row.update(ended_at=ivr_ended + dt.timedelta(seconds=wait), disposition="abandoned")
            row["wait_seconds"] = wait
            return row
        notes = intent.note_en if facts.english else intent.note_zh
        self._answered(facts, row, ivr_ended, wait, intent.disposition, notes)
        return row

    def _answered(
        self,
        facts: ClientFacts,
        row: Row,
        queued: dt.datetime,
        wait: int,
        disposition: str,
        notes: str,
        agent_id: int | None = None,
    ) -> None:
        rng = self.rng
        ring = min(rng.randint(2, 8), wait)  # the phone rang while the caller waited
        answered = queued + dt.timedelta(seconds=wait)
        talk = _seconds(rng, 170.0, 0.6, 1800)
        hold = rng.randint(10, 120) if rng.random() < 0.25 else 0
        wrapup = rng.randint(10, 60)
        ended = answered + dt.timedelta(seconds=talk + hold)
        row.update(
            offered_at=answered - dt.timedelta(seconds=ring),
            answered_at=answered,
            ended_at=ended,
            wrapup_ended_at=ended + dt.timedelta(seconds=wrapup),
            agent_id=agent_id or rng.choice(self.staff.agents),
            wait_seconds=wait,
            talk_seconds=talk,
            hold_seconds=hold,
            wrapup_seconds=wrapup,
            disposition=disposition,
            notes=notes,
        )
        if facts.consent_recording:
            row["recording_ref"] = f"{answered:%Y/%m/%d}/{row['call_id']}.wav"

    def _written(self, facts: ClientFacts, started: dt.datetime) -> None:
        channel = Channel.EMAIL if self.rng.random() < 0.4 else Channel.WEB
        row = self._interaction(facts, channel, Direction.INBOUND, started)
        answered = started + dt.timedelta(minutes=self.rng.randint(10, 36 * 60))
        if answered >= self.clock.now:
            return  # still in the inbox
        row.update(
            answered_at=answered,
            ended_at=answered,
            agent_id=self.rng.choice(self.staff.agents),
            disposition="answered_in_writing",
            notes="Replied by e-mail." if facts.english else "已书面答复客户。",
        )

    def _outbound_call(
        self, facts: ClientFacts, started: dt.datetime, agent_id: int, notes: str
    ) -> Row:
        row = self._interaction(facts, Channel.VOICE, Direction.OUTBOUND, started)
        row.update(caller_number=HOTLINE, called_number=facts.phones[0])
        self._answered(facts, row, started, self.rng.randint(8, 25), "completed", notes, agent_id)
        row["wait_seconds"] = None  # ringing the client is not queue time
        return row

    def _interaction(
        self, facts: ClientFacts, channel: Channel, direction: Direction, started: dt.datetime
    ) -> Row:
        interaction_id = self.ids.next("interactions")
        voice = channel is Channel.VOICE
        # A call id is the caller's channel's Asterisk uniqueid, "<epoch>.<sequence>"; the
        # sequence keeps it unique here.
        call_id = f"{int(started.timestamp())}.{interaction_id}" if voice else None
        row: Row = dict.fromkeys(_INTERACTION_COLUMNS)
        row.update(
            id=interaction_id,
            client_id=facts.id,
            channel=channel.value,
            direction=direction.value,
            started_at=started,
            ivr_path=[],
            authenticated=False,
            call_id=call_id,
            asterisk_linkedid=call_id,
            version=1,
        )
        self.rows["interactions"].append(row)
        return row

    def _queue(self, facts: ClientFacts, intent: CallIntent) -> str:
        if TIER_RANK[facts.tier] >= TIER_RANK[Tier.GOLD]:
            return "vip"
        return "english" if facts.english else intent.queue

    def _business_time(self, start: dt.date, end: dt.date) -> dt.datetime:
        """A moment in business hours (Beijing) on a day in [start, end), weekdays mostly."""
        rng = self.rng
        day = start + dt.timedelta(days=rng.randrange((end - start).days))
        if day.weekday() >= 5 and rng.random() < 0.7 and day - start >= dt.timedelta(days=2):
            day -= dt.timedelta(days=day.weekday() - 4)  # most weekend wishes wait for Friday
        hour = rng.choices(_CALL_HOURS, cum_weights=_CALL_HOUR_CUMULATIVE)[0]
        midnight_utc = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        return midnight_utc + dt.timedelta(hours=hour - 8, seconds=rng.randrange(3600))

    # --- complaints -------------------------------------------------------------------------

    def _complaint(self, facts: ClientFacts, start: dt.date, end: dt.date) -> None:
        if not self.categories:
            return
        rng = self.rng
        category = rng.choice(self.categories)
        text = COMPLAINT_TEXTS.get(category.code, GENERIC_COMPLAINT)
        summary, description = (
            (text.summary_en, text.detail_en)
            if facts.english
            else (
                text.summary_zh,
                text.detail_zh,
            )
        )
        call = self._inbound_call(facts, self._business_time(start, end), _COMPLAINT_INTENT)
        if call["answered_at"] is None:
            return  # the caller gave up in the queue: no complaint was taken
        call["notes"] = ("Complaint: " if facts.english else "客户投诉：") + summary
        created = call["ended_at"]
        branch_owned = category.owner == "branch"
        owner = (
            self.staff.branch_managers[facts.branch_id]
            if branch_owned
            else rng.choice(self.staff.center_supervisors)
        )
        complaint_id = self.ids.next("complaints")
        row: Row = {
            "id": complaint_id,
            "client_id": facts.id,
            "interaction_id": call["id"],
            "category_code": category.code,
            "owner_department": None if branch_owned else category.owner,
            "owner_branch_id": facts.branch_id if branch_owned else None,
            "summary": summary,
            "description": description,
            "created_by_id": call["agent_id"],
            "assigned_to_id": owner,
            "created_at": created,
            "response_due_at": created + COMPLAINT_RESPONSE_TIME,
            "responded_at": None,
            "resolved_at": None,
            "closed_at": None,
            "resolution": None,
            "version": 1,
        }
        self._complaint_workflow(row, call["agent_id"], owner, text.resolution(facts.english))
        self.rows["complaints"].append(row)

    def _complaint_workflow(self, row: Row, agent_id: int, owner: int, resolution: str) -> None:
        """Walk open -> acknowledged -> [investigating ->] resolved -> closed while the steps
        fall before the demo's present; one event per step. One in twenty answers is late."""
        rng = self.rng
        late = rng.random() < 0.05
        acknowledged = (
            ComplaintStatus.ACKNOWLEDGED,
            rng.uniform(50, 80) if late else rng.uniform(1, 40),
        )
        investigating = (ComplaintStatus.INVESTIGATING, rng.uniform(2, 48))
        resolved = (ComplaintStatus.RESOLVED, rng.uniform(24, 240))
        closed = (ComplaintStatus.CLOSED, rng.uniform(24, 120))
        # Some are settled on the spot once acknowledged (a fee refunded): no investigation.
        steps: tuple[tuple[ComplaintStatus, float], ...]
        if rng.random() < 0.3:
            steps = (acknowledged, resolved, closed)
        else:
            steps = (acknowledged, investigating, resolved, closed)
        at: dt.datetime = row["created_at"]
        status = ComplaintStatus.OPEN
        self._complaint_event(row["id"], None, status, at, agent_id)
        for next_status, hours in steps:
            at = at + dt.timedelta(hours=hours)
            if at >= self.clock.now:
                break
            self._complaint_event(row["id"], status, next_status, at, owner)
            status = next_status
            if status is ComplaintStatus.ACKNOWLEDGED:
                row["responded_at"] = at
            elif status is ComplaintStatus.RESOLVED:
                row.update(resolved_at=at, resolution=resolution)
            elif status is ComplaintStatus.CLOSED:
                row["closed_at"] = at
        row["status"] = status.value

    def _complaint_event(
        self,
        complaint_id: int,
        from_status: ComplaintStatus | None,
        to_status: ComplaintStatus,
        at: dt.datetime,
        by_user_id: int,
    ) -> None:
        self.rows["complaint_events"].append(
            {
                "id": self.ids.next("complaint_events"),
                "complaint_id": complaint_id,
                "from_status": from_status.value if from_status else None,
                "to_status": to_status.value,
                "at": at,
                "by_user_id": by_user_id,
                "note": None,
            }
        )

    # --- follow-ups -------------------------------------------------------------------------

    def _return_visit(self, facts: ClientFacts) -> None:
        """回访: every new account within two weeks of opening (this year's accounts)."""
        if facts.opened_on < self.clock.window_start or facts.opened_on >= self.clock.as_of:
            return
        rng = self.rng
        due = facts.opened_on + dt.timedelta(days=rng.randint(3, RETURN_VISIT_WITHIN_DAYS))
        created = _morning(facts.opened_on)
        agent = rng.choice(self.staff.agents)
        row = self._follow_up(facts, FollowUpKind.RETURN_VISIT, due, agent, created)
        done_day = facts.opened_on + dt.timedelta(days=rng.randint(1, (due - facts.opened_on).days))
        done = self._business_time(done_day, done_day + dt.timedelta(days=1))
        if facts.closed_on is not None and facts.closed_on < done_day:
            row["status"] = FollowUpStatus.CANCELLED.value
        elif done < self.clock.now and rng.random() > 0.03:  # a few stay in the backlog
            note = (
                "Return visit: account details confirmed, risks explained."
                if facts.english
                else ("回访完成：客户确认开户信息，已提示投资风险。")
            )
            call = self._outbound_call(facts, done, agent, note)
            row.update(
                status=FollowUpStatus.DONE.value,
                done_at=call["ended_at"],
                interaction_id=call["id"],
                outcome=note,
            )

    def _care(self, facts: ClientFacts) -> None:
        if facts.closed_on is not None:
            return
        rng, as_of = self.rng, self.clock.as_of
        owner = facts.advisor_id or rng.choice(self.staff.agents)
        if TIER_RANK[facts.tier] >= TIER_RANK[Tier.SILVER] and facts.birthday is not None:
            birthday = _next_birthday(facts.birthday, as_of)
            if birthday - as_of <= dt.timedelta(days=30):
                created = _morning(as_of - dt.timedelta(days=rng.randint(1, 7)))
                self._follow_up(facts, FollowUpKind.BIRTHDAY, birthday, owner, created)
        if TIER_RANK[facts.tier] >= TIER_RANK[Tier.GOLD]:
            self._quarterly_reports(facts, owner)
        if facts.declining and rng.random() < 0.3:  # the advisor calls some of them soon
            due = as_of + dt.timedelta(days=rng.randint(0, 14))
            created = _morning(as_of - dt.timedelta(days=rng.randint(1, 10)))
            self._follow_up(facts, FollowUpKind.CARE_CALL, due, owner, created)
        if facts.speculative and rng.random() < 0.08:
            due = as_of + dt.timedelta(days=rng.randint(1, 10))
            created = _morning(as_of - dt.timedelta(days=1))
            self._follow_up(facts, FollowUpKind.IPO_REMINDER, due, owner, created)

    def _try_it_care_call(self, facts: ClientFacts) -> None:
        """agent01's care call to the README's client, due on the demo's present, put on a
        supervisor's list the morning before (so it is open, and history still ends at
        ``now``). The roster lists agent01 first, supervisor01 first."""
        yesterday = self.clock.as_of - dt.timedelta(days=1)
        agent01, supervisor01 = self.staff.agents[0], self.staff.center_supervisors[0]
        row = self._follow_up(
            facts, FollowUpKind.CARE_CALL, self.clock.as_of, agent01, _morning(yesterday)
        )
        row.update(priority=TRY_IT_PRIORITY, reason=TRY_IT_REASON, created_by_id=supervisor01)

    def _quarterly_reports(self, facts: ClientFacts, owner: int) -> None:
        """A report mid-January, April, July and October: sent this year, the next one due."""
        start = max(self.clock.window_start, facts.opened_on)
        quarter = dt.date(start.year, (start.month - 1) // 3 * 3 + 1, 15)
        while True:
            if quarter >= start:
                listed = min(quarter.replace(day=1), self.clock.as_of - dt.timedelta(days=1))
                row = self._follow_up(
                    facts, FollowUpKind.INVESTMENT_REPORT, quarter, owner, _morning(listed)
                )
                sent = _morning(quarter)
                if sent >= self.clock.now:
                    return  # the next report: still to do
                row.update(status=FollowUpStatus.DONE.value, done_at=sent)
                row["outcome"] = (
                    "Quarterly report sent." if facts.english else "已发送季度投资报告。"
                )
            quarter = _next_month(_next_month(_next_month(quarter.replace(day=1)))).replace(day=15)

    def _follow_up(
        self,
        facts: ClientFacts,
        kind: FollowUpKind,
        due: dt.date,
        assigned_to: int,
        created: dt.datetime,
    ) -> Row:
        row: Row = {
            "id": self.ids.next("follow_ups"),
            "client_id": facts.id,
            "kind": kind.value,
            "status": FollowUpStatus.OPEN.value,
            "due_on": due,
            "assigned_to_id": assigned_to,
            "created_by_id": None,  # made by the system's rules
            "created_at": created,
            "done_at": None,
            "interaction_id": None,
            "outcome": None,
            "version": 1,
            "priority": 5,  # the column's default: every row names the same columns
            "reason": None,
        }
        self.rows["follow_ups"].append(row)
        return row

    # --- tiers ------------------------------------------------------------------------------

    def _tier_changes(self, facts: ClientFacts, year: AccountYear) -> None:
        """Quarterly asset reviews (and the latest month): one row per change of tier, as the
        tier job writes them, the morning after the month is booked."""
        if not year.periods:
            return
        current = tier_for_assets(year.assets_fen[0], self.tiers)
        last = len(year.periods) - 1
        for index, period in enumerate(year.periods):
            if period.month % 3 != 0 and index != last:
                continue
            assets = year.assets_fen[index]
            tier = tier_for_assets(assets, self.tiers)
            if tier is current:
                continue
            self.rows["tier_changes"].append(
                {
                    "id": self.ids.next("tier_changes"),
                    "client_id": facts.id,
                    "from_tier": current.value,
                    "to_tier": tier.value,
                    "changed_at": _morning(_next_month(period)),
                    "period": period,
                    "reason": tier_reason(assets, tier, MonthRange(period, period), self.tiers),
                    "changed_by_id": None,
                }
            )
            current = tier


_INTERACTION_COLUMNS = (
    "id", "client_id", "channel", "direction", "caller_number", "called_number", "started_at",
    "ivr_ended_at", "queued_at", "offered_at", "answered_at", "ended_at", "wrapup_ended_at",
    "ivr_path", "ivr_outcome", "authenticated", "queue", "agent_id", "wait_seconds",
    "talk_seconds", "hold_seconds", "wrapup_seconds", "disposition", "notes", "recording_ref",
    "call_id", "asterisk_linkedid", "version",
)  # fmt: skip
_COMPLAINT_INTENT = CallIntent(
    "complaint", 0, ("identify", "pin", "main_menu", "complaint"), 0.0, "general",
    "complaint_logged", "", "",
)  # fmt: skip


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means of contacts per client."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _seconds(rng: random.Random, median: float, spread: float, cap: int) -> int:
    return max(1, min(cap, round(rng.lognormvariate(math.log(median), spread))))


def _morning(day: dt.date) -> dt.datetime:
    """09:00 Beijing time on ``day``, when the day's rule-made tasks appear."""
    return dt.datetime.combine(day, dt.time(9), BEIJING).astimezone(dt.UTC)


def _next_month(period: dt.date) -> dt.date:
    return dt.date(period.year + period.month // 12, period.month % 12 + 1, 1)


def _next_birthday(birthday: dt.date, as_of: dt.date) -> dt.date:
    for year in (as_of.year, as_of.year + 1):
        try:
            candidate = birthday.replace(year=year)
        except ValueError:  # 29 February in a common year: greet on the 28th
            candidate = dt.date(year, 2, 28)
        if candidate >= as_of:
            return candidate
    raise AssertionError("unreachable: next year's birthday is always ahead")
