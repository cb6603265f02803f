"""The golden day of the call-center reports: a hand-built set of calls and agent state changes
on Monday 2026-03-02 (Asia/Shanghai, UTC+8), and the figures computed from it by hand.

Used by tests/unit/test_callstats_golden.py (pure), tests/db/test_callstats.py (through the
database) and tests/api/test_call_reports_api.py (through HTTP, SQLite and PostgreSQL).

Queues: ``general`` (service level threshold 10 s), ``trading`` (20 s). Agents A1, A2;
clients C1, C2. All calls inbound voice, local times; "q" = queued, "a" = answered.

 #   client  started         queue: q / a / ended / wrap-up end   what                 wait
 1   C1      09:00:00        general 09:00:30 / 09:00:38 A1 / 09:05:38 / 09:06:08,
                             hold 60 s: talk 240, hold 60, wrap 30             answered   8
 2   -       09:10:00        general 09:10:20 / 09:10:35 A2 / 09:12:35 / 09:13:05
                             talk 120, wrap 30                                 answered  15
 3   C2      09:20:00        general 09:20:10 / - / 09:20:13                  abandoned  3 (short)
 4   -       09:30:00        general 09:30:05 / - / 09:30:45                  abandoned 40
 5   C2      09:40:00        general 09:40:10, overflows to trading / 09:40:25 A1 /
                             09:44:25 / 09:45:25: talk 240, wrap 60            answered  15 (<= 20)
 6   -       09:50:00        IVR only: self_served, ended 09:51:00
 7   -       09:55:00        IVR only: abandoned_in_ivr, ended 09:55:20
 8   C2      10:05:00        general 10:05:10, back to the IVR (max_wait): callback, 10:06:30
 9   C1      03-03 10:00:00  trading 10:00:05 / 10:00:10 A2 (next day: out of range)
 10  C1      03-09 09:00:01  general 09:00:06 (7 days and 1 s after call 1: out of range)
 11  -       10:20:00        general 10:20:05, no answer, no end: still waiting
 12  -       03-01 23:59:50  general 00:00:05 / 00:00:09 A2 / 00:01:09, no wrap-up end
                             talk 60, wrap 0 (queued on 03-02: counts)         answered   4
 13  -       23:59:55        general 03-03 00:00:02 / - / 00:00:30 (queued on 03-03: IVR only)

First-contact resolution (same client, same first queue, next call within 7 days):
call 1 (C1, general) resolved: C1's next calls are on trading (9) or 7 days + 1 s later (10).
Call 5 (C2, first queue general) is not: C2 calls general again at 10:05 (8).
Calls 2 and 12 have no client: not judged.

Agent states (from the state changes; "avail" = ready or ringing, "busy" = on call or
wrap-up):

  A1 09:00-10:00  avail 30+8+1432+10+15+275+20+300 = 2090, busy 300+30+240+60 = 630,
                  not ready 600 (break) + 280 (missed) = 880; occupancy 630/2720; 1 missed
  A1 08:00-09:00  avail 300 (logged in 08:55); occupancy 0
  A2 00:00-01:00  avail 5+4 = 9, busy 60+60 = 120 (logged out in wrap-up at 00:02:09)
  A2 09:00-10:00  avail 620+15+2815 = 3450, busy 120+30 = 150; occupancy 150/3600
  A2 10:00-11:00  avail 1800 (logged out 10:30); occupancy 0

Queue rows (60-minute intervals):

  interval  queue    offered ans inSL aband short toIVR wait ovfOut  SL   aband.rate  ASA  AHT
  00:00     general  1       1   1    0     0     0     0    0       1    0           4    60
  09:00     general  4       2   1    2     1     0     0    1       1/3  1/3         11.5 240
  09:00     trading  1       1   1    0     0     0     0    0       1    0           15   300
  10:00     general  2       0   0    0     0     1     1    0       0    0           -    -

  SL = in SL / (offered - waiting - short); 09:00 general: 1 / (4 - 0 - 1) = 1/3.
  AHT 09:00 general = (240+60+30 + 120+0+30) / 2 = 240.

Total: offered 8, answered 4, in SL 3, abandoned 2 (1 short), to IVR 1, waiting 1,
overflowed out 1; SL 3/6 = 0.5; abandon rate 1/6; ASA (4+8+15+15)/4 = 10.5;
AHT (60 + 330 + 150 + 300)/4 = 210; FCR 1/2; IVR 10 entered (calls 1-8, 11, 13), 1
self-served: containment 0.1; occupancy 900 / (7649 + 900).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.acd.agents import FIXED_REASONS, TRANSITIONS, AgentEvent
from callcenter.acd.model import AgentState, QueueConfig
from callcenter.crm.agent_time import StateChange
from callcenter.crm.callstats import CallFact
from callcenter.crm.vocabulary import Channel, Direction
from callcenter.persistence import queues
from callcenter.persistence.agents import apply_event
from callcenter.persistence.db import Database
from callcenter.persistence.tables import Interaction
from tests.support.crm_data import add_client

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 20, tzinfo=ZONE)  # long after: first-contact figures are final
THRESHOLDS = {"general": 10.0, "trading": 20.0}


def at(clock: str, day: dt.date = DAY) -> dt.datetime:
    """A local time of the golden day (or ``day``), as an aware UTC datetime."""
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    local = dt.datetime.combine(day, dt.time(hours, minutes, seconds), ZONE)
    return local.astimezone(dt.UTC)


MAR1 = dt.date(2026, 3, 1)
MAR3 = dt.date(2026, 3, 3)
MAR9 = dt.date(2026, 3, 9)


def calls(clients: Mapping[str, int], agents: Mapping[str, int]) -> list[CallFact]:
    c1, c2 = clients["C1"], clients["C2"]
    a1, a2 = agents["A1"], agents["A2"]
    menu = ("language=1", "main_menu=1")
    return [
        CallFact(1, at("09:00:00"), c1, at("09:00:30"), at("09:00:38"), at("09:05:38"),
                 at("09:06:08"), "queued", menu, "general", a1, 60),
        CallFact(2, at("09:10:00"), None, at("09:10:20"), at("09:10:35"), at("09:12:35"),
                 at("09:13:05"), "queued", menu, "general", a2, None),
        CallFact(3, at("09:20:00"), c2, at("09:20:10"), None, at("09:20:13"), None,
                 "queued", menu, "general", None, None),
        CallFact(4, at("09:30:00"), None, at("09:30:05"), None, at("09:30:45"), None,
                 "queued", menu, "general", None, None),
        CallFact(5, at("09:40:00"), c2, at("09:40:10"), at("09:40:25"), at("09:44:25"),
                 at("09:45:25"), "queued", (*menu, "overflow:general=trading"), "trading",
                 a1, 0),
        CallFact(6, at("09:50:00"), None, None, None, at("09:51:00"), None, "self_served",
                 ("language=1", "main_menu=1", "balance"), None, None, None),
        CallFact(7, at("09:55:00"), None, None, None, at("09:55:20"), None,
                 "abandoned_in_ivr", ("language",), None, None, None),
        CallFact(8, at("10:05:00"), c2, at("10:05:10"), None, at("10:06:30"), None,
                 "callback", (*menu, "overflow:general=max_wait", "callback=1"), "general",
                 None, None),
        CallFact(9, at("10:00:00", MAR3), c1, at("10:00:05", MAR3), at("10:00:10", MAR3),
                 at("10:02:10", MAR3), at("10:02:40", MAR3), "queued", menu, "trading", a2,
                 None),
        CallFact(10, at("09:00:01", MAR9), c1, at("09:00:06", MAR9), None,
                 at("09:00:30", MAR9), None, "queued", menu, "general", None, None),
        CallFact(11, at("10:20:00"), None, at("10:20:05"), None, None, None, "queued", menu,
                 "general", None, None),
        CallFact(12, at("23:59:50", MAR1), None, at("00:00:05"), at("00:00:09"),
                 at("00:01:09"), None, "queued", menu, "general", a2, None),
        CallFact(13, at("23:59:55"), None, at("00:00:02", MAR3), None, at("00:00:30", MAR3),
                 None, "queued", menu, "general", None, None),
    ]  # fmt: skip


@dataclass(frozen=True)
class AgentMove:
    agent: str  # A1, A2
    at: dt.datetime
    event: AgentEvent
    reason: str | None = None


E = AgentEvent
MOVES = [
    AgentMove("A1", at("08:00:00", MAR1), E.LOGIN),
    AgentMove("A1", at("17:00:00", MAR1), E.LOGOUT),
    AgentMove("A2", at("08:00:00", MAR1), E.LOGIN),
    AgentMove("A2", at("12:00:00", MAR1), E.LOGOUT),
    AgentMove("A2", at("20:00:00", MAR1), E.LOGIN),  # ready when the day begins
    AgentMove("A2", at("00:00:05"), E.OFFER),
    AgentMove("A2", at("00:00:09"), E.ANSWER),
    AgentMove("A2", at("00:01:09"), E.HANG_UP),
    AgentMove("A2", at("00:02:09"), E.LOGOUT),
    AgentMove("A1", at("08:55:00"), E.LOGIN),
    AgentMove("A2", at("09:00:00"), E.LOGIN),
    AgentMove("A1", at("09:00:30"), E.OFFER),
    AgentMove("A1", at("09:00:38"), E.ANSWER),
    AgentMove("A1", at("09:05:38"), E.HANG_UP),
    AgentMove("A1", at("09:06:08"), E.WRAP_UP_DONE),
    AgentMove("A2", at("09:10:20"), E.OFFER),
    AgentMove("A2", at("09:10:35"), E.ANSWER),
    AgentMove("A2", at("09:12:35"), E.HANG_UP),
    AgentMove("A2", at("09:13:05"), E.WRAP_UP_DONE),
    AgentMove("A1", at("09:30:00"), E.NOT_READY, "break"),
    AgentMove("A1", at("09:40:00"), E.READY),
    AgentMove("A1", at("09:40:10"), E.OFFER),
    AgentMove("A1", at("09:40:25"), E.ANSWER),
    AgentMove("A1", at("09:44:25"), E.HANG_UP),
    AgentMove("A1", at("09:45:25"), E.WRAP_UP_DONE),
    AgentMove("A1", at("09:50:00"), E.OFFER),
    AgentMove("A1", at("09:50:20"), E.RING_NO_ANSWER),
    AgentMove("A1", at("09:55:00"), E.READY),
    AgentMove("A1", at("10:00:00"), E.LOGOUT),
    AgentMove("A2", at("10:30:00"), E.LOGOUT),
]


def state_changes(agents: Mapping[str, int]) -> list[StateChange]:
    """The moves as the state machine turns them into stored changes."""
    state = {name: AgentState.LOGGED_OUT for name in agents}
    changes = []
    for move in MOVES:
        state[move.agent] = TRANSITIONS[(state[move.agent], move.event)]
        reason = move.reason or FIXED_REASONS.get(move.event)
        changes.append(StateChange(agents[move.agent], move.at, state[move.agent], reason))
    return changes


# --- the hand-computed figures --------------------------------------------------------------

H = dt.timedelta(hours=1)


def hour(clock: str) -> str:
    """The local ISO form of an interval start (as the API writes it)."""
    return dt.datetime.fromisoformat(f"{DAY.isoformat()}T{clock}+08:00").isoformat()


# (interval start, queue) -> figures; the count fields not listed are 0.
QUEUE_ROWS: dict[tuple[str, str], dict[str, float | int | None]] = {
    (hour("00:00:00"), "general"): {
        "offered": 1, "answered": 1, "answered_in_threshold": 1, "handled": 1,
        "service_level": 1.0, "abandon_rate": 0.0, "asa_seconds": 4.0, "aht_seconds": 60.0,
        "average_talk_seconds": 60.0, "average_hold_seconds": 0.0,
        "average_wrapup_seconds": 0.0, "fcr_rate": None, "service_level_seconds": 10.0,
    },
    (hour("09:00:00"), "general"): {
        "offered": 4, "answered": 2, "answered_in_threshold": 1, "abandoned": 2,
        "short_abandoned": 1, "overflowed_out": 1, "handled": 2,
        "service_level": 1 / 3, "abandon_rate": 1 / 3, "asa_seconds": 11.5,
        "aht_seconds": 240.0, "average_talk_seconds": 180.0, "average_hold_seconds": 30.0,
        "average_wrapup_seconds": 30.0, "fcr_eligible": 1, "fcr_resolved": 1,
        "fcr_rate": 1.0, "service_level_seconds": 10.0,
    },
    (hour("09:00:00"), "trading"): {
        "offered": 1, "answered": 1, "answered_in_threshold": 1, "handled": 1,
        "service_level": 1.0, "abandon_rate": 0.0, "asa_seconds": 15.0, "aht_seconds": 300.0,
        "average_talk_seconds": 240.0, "average_hold_seconds": 0.0,
        "average_wrapup_seconds": 60.0, "fcr_eligible": 1, "fcr_resolved": 0,
        "fcr_rate": 0.0, "service_level_seconds": 20.0,
    },
    (hour("10:00:00"), "general"): {
        "offered": 2, "to_ivr": 1, "waiting": 1, "service_level": 0.0, "abandon_rate": 0.0,
        "asa_seconds": None, "aht_seconds": None, "fcr_rate": None,
        "service_level_seconds": 10.0,
    },
}  # fmt: skip

# (interval start, agent) -> figures
AGENT_ROWS: dict[tuple[str, str], dict[str, float | int | None]] = {
    (hour("00:00:00"), "A2"): {
        "answered": 1, "handled": 1, "asa_seconds": 4.0, "aht_seconds": 60.0,
        "available_seconds": 9.0, "busy_seconds": 120.0, "not_ready_seconds": 0.0,
        "logged_in_seconds": 129.0, "occupancy": 120 / 129, "missed": 0, "fcr_rate": None,
    },
    (hour("08:00:00"), "A1"): {
        "answered": 0, "handled": 0, "asa_seconds": None, "aht_seconds": None,
        "available_seconds": 300.0, "busy_seconds": 0.0, "not_ready_seconds": 0.0,
        "logged_in_seconds": 300.0, "occupancy": 0.0, "missed": 0, "fcr_rate": None,
    },
    (hour("09:00:00"), "A1"): {
        "answered": 2, "handled": 2, "asa_seconds": 11.5, "aht_seconds": 315.0,
        "average_talk_seconds": 240.0, "average_hold_seconds": 30.0,
        "average_wrapup_seconds": 45.0, "available_seconds": 2090.0, "busy_seconds": 630.0,
        "not_ready_seconds": 880.0, "logged_in_seconds": 3600.0, "occupancy": 630 / 2720,
        "missed": 1, "fcr_eligible": 2, "fcr_resolved": 1, "fcr_rate": 0.5,
    },
    (hour("09:00:00"), "A2"): {
        "answered": 1, "handled": 1, "asa_seconds": 15.0, "aht_seconds": 150.0,
        "available_seconds": 3450.0, "busy_seconds": 150.0, "not_ready_seconds": 0.0,
        "logged_in_seconds": 3600.0, "occupancy": 150 / 3600, "missed": 0, "fcr_rate": None,
    },
    (hour("10:00:00"), "A2"): {
        "answered": 0, "available_seconds": 1800.0, "busy_seconds": 0.0, "occupancy": 0.0,
    },
}  # fmt: skip

# interval start -> center figures (calls, IVR, agents' time)
INTERVALS: dict[str, dict[str, float | int | None]] = {
    hour("00:00:00"): {
        "offered": 1, "answered": 1, "service_level": 1.0, "ivr_entered": 0,
        "ivr_containment": None, "occupancy": 120 / 129,
    },
    hour("08:00:00"): {
        "offered": 0, "service_level": None, "asa_seconds": None, "ivr_entered": 0,
        "available_seconds": 300.0, "occupancy": 0.0,
    },
    hour("09:00:00"): {
        "offered": 5, "answered": 3, "answered_in_threshold": 2, "abandoned": 2,
        "short_abandoned": 1, "overflowed_out": 1, "service_level": 0.5,
        "abandon_rate": 0.25, "asa_seconds": 38 / 3, "aht_seconds": 260.0,
        "fcr_eligible": 2, "fcr_resolved": 1, "fcr_rate": 0.5, "ivr_entered": 7,
        "self_served": 1, "ivr_containment": 1 / 7, "available_seconds": 5540.0,
        "busy_seconds": 780.0, "not_ready_seconds": 880.0, "logged_in_seconds": 7200.0,
        "occupancy": 780 / 6320, "missed": 1,
    },
    hour("10:00:00"): {
        "offered": 2, "to_ivr": 1, "waiting": 1, "service_level": 0.0, "ivr_entered": 2,
        "self_served": 0, "ivr_containment": 0.0, "available_seconds": 1800.0,
        "occupancy": 0.0,
    },
    hour("23:00:00"): {
        "offered": 0, "ivr_entered": 1, "self_served": 0, "ivr_containment": 0.0,
        "logged_in_seconds": 0.0, "occupancy": None,
    },
}  # fmt: skip

TOTAL: dict[str, float | int | None] = {
    "offered": 8, "answered": 4, "answered_in_threshold": 3, "abandoned": 2,
    "short_abandoned": 1, "to_ivr": 1, "waiting": 1, "overflowed_out": 1, "handled": 4,
    "service_level": 0.5, "abandon_rate": 1 / 6, "asa_seconds": 10.5, "aht_seconds": 210.0,
    "average_talk_seconds": 165.0, "average_hold_seconds": 15.0,
    "average_wrapup_seconds": 30.0, "fcr_eligible": 2, "fcr_resolved": 1, "fcr_rate": 0.5,
    "ivr_entered": 10, "self_served": 1, "ivr_containment": 0.1,
    "available_seconds": 7649.0, "busy_seconds": 900.0, "not_ready_seconds": 880.0,
    "logged_in_seconds": 9429.0, "occupancy": 900 / 8549, "missed": 1,
}  # fmt: skip


# --- comparing a report with the figures above ------------------------------------------------

COUNTS = (
    "offered",
    "answered",
    "answered_in_threshold",
    "abandoned",
    "short_abandoned",
    "to_ivr",
    "waiting",
    "overflowed_out",
    "handled",
    "fcr_eligible",
    "fcr_resolved",
)


def value(row: Any, name: str) -> Any:
    """A figure by its API name: on the row, its call figures or its agents' time."""
    for holder in (row, getattr(row, "figures", None), getattr(row, "time", None)):
        if holder is not None and hasattr(holder, name):
            return getattr(holder, name)
    raise AttributeError(name)


def assert_figures(row: Any, expected: dict[str, Any], counts: tuple[str, ...] = COUNTS) -> None:
    wanted = {name: 0 for name in counts} | expected
    actual = {name: value(row, name) for name in wanted}
    wrong = {n: (actual[n], w) for n, w in wanted.items() if not same(actual[n], w)}
    assert not wrong, wrong


def same(actual: Any, wanted: Any) -> bool:
    """Equal; floats to 12 significant digits (sums of seconds may round differently)."""
    if wanted is None or actual is None:
        return actual is wanted
    return bool(math.isclose(actual, wanted, rel_tol=1e-12, abs_tol=1e-12))


# --- the same day in a database -------------------------------------------------------------


async def load_into(db: Database, branch_id: int, agents: Mapping[str, int]) -> dict[str, int]:
    """Store the golden day: the two clients, the queues, every call (plus an outbound call
    and a web message, which the figures must leave out) and the agents' state changes
    through the real state machine. Returns the client ids."""
    clients = {
        "C1": await add_client(db, branch_id, account_no="1001000101", id_number="1" * 18,
                               phones=("+8613800000101",)),
        "C2": await add_client(db, branch_id, account_no="1001000102", id_number="2" * 18,
                               phones=("+8613800000102",), name="李娜", name_latin="Li Na"),
    }  # fmt: skip
    async with db.write() as session:
        await queues.put_queue(session, QueueConfig("general", service_level_seconds=10.0), None)
        await queues.put_queue(session, QueueConfig("trading", service_level_seconds=20.0), None)
        for fact in calls(clients, agents):
            session.add(_interaction(fact, Channel.VOICE, Direction.INBOUND))
        outbound = CallFact(0, at("10:40:00"), clients["C1"], at("10:40:00"), at("10:40:05"),
                            at("10:45:00"), queue="general", agent_id=agents["A1"])  # fmt: skip
        session.add(_interaction(outbound, Channel.VOICE, Direction.OUTBOUND))
        web = CallFact(0, at("09:05:00"), clients["C2"], at("09:05:00"), queue="general")
        session.add(_interaction(web, Channel.WEB, Direction.INBOUND))
    for move in MOVES:
        async with db.write() as session:
            await apply_event(
                session, agents[move.agent], move.event, at=move.at, reason=move.reason
            )
    return clients


def _interaction(fact: CallFact, channel: Channel, direction: Direction) -> Interaction:
    return Interaction(
        client_id=fact.client_id,
        channel=channel,
        direction=direction,
        started_at=fact.started_at,
        queued_at=fact.queued_at,
        offered_at=fact.answered_at,
        answered_at=fact.answered_at,
        ended_at=fact.ended_at,
        wrapup_ended_at=fact.wrapup_ended_at,
        ivr_outcome=fact.ivr_outcome,
        ivr_path=list(fact.ivr_path),
        queue=fact.queue,
        agent_id=fact.agent_id,
        hold_seconds=fact.hold_seconds,
    )
