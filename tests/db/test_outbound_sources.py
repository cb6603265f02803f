"""Where the dialler's work comes from, on both databases: a caller's callback request in the
IVR becomes a work item in the same transaction, and every new account gets its return
visit, due 14 days after the opening and owned by the client's advisor."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlalchemy import select

from callcenter.crm.vocabulary import FollowUpKind, FollowUpStatus, Role
from callcenter.persistence import ivr
from callcenter.persistence.db import Database
from callcenter.persistence.outbound import ensure_birthday_calls, ensure_return_visits
from callcenter.persistence.tables import CallbackRequest, Client, FollowUp, User
from tests.support.crm_data import add_branch, add_client, add_interaction


class Visit(NamedTuple):
    due_on: dt.date
    owner: int | None
    priority: int
    reason: str | None


async def test_a_callback_requested_in_the_ivr_is_a_work_item_to_dial(database: Database) -> None:
    branch = await add_branch(database)
    client_id = await add_client(database, branch)
    interaction_id = await add_interaction(database, client_id)
    request_id = await ivr.file_callback(
        database,
        number="13912345678",
        language="en",
        client_id=client_id,
        interaction_id=interaction_id,
    )
    async with database.read() as session:
        request = await session.get(CallbackRequest, request_id)
        work = (await session.scalars(select(FollowUp))).all()
        assert request is not None
        assert len(work) == 1
        item = work[0]
        assert (item.kind, item.status, item.client_id, item.callback_request_id) == (
            FollowUpKind.CALLBACK,
            FollowUpStatus.OPEN,
            client_id,
            request_id,
        )
        assert (item.number, item.language, item.priority) == ("+8613912345678", "en", 2)
        assert (item.not_before, item.interaction_id) == (request.requested_at, interaction_id)


async def test_a_callback_for_a_caller_nobody_knows_keeps_the_number_only(
    database: Database,
) -> None:
    await ivr.file_callback(
        database, number="02161234567", language="zh", client_id=None, interaction_id=None
    )
    async with database.read() as session:
        item = await session.scalar(select(FollowUp))
        assert item is not None
        assert (item.client_id, item.number) == (None, "+862161234567")


async def test_every_new_account_gets_one_return_visit_owned_by_its_advisor(
    database: Database,
) -> None:
    branch = await add_branch(database)
    async with database.write() as session:
        advisor = User(username="advisor01", display_name="A", role=Role.ADVISOR)
        session.add(advisor)
        await session.flush()
        advisor_id = advisor.id
    new = await add_client(database, branch, account_no="1001000002", advisor_id=advisor_id)
    unadvised = await add_client(database, branch, account_no="1001000003")
    old = await add_client(database, branch, account_no="1001000004")  # opened in 2019
    today = dt.date(2026, 12, 7)
    async with database.write() as session:
        for client_id, opened in ((new, dt.date(2026, 12, 1)), (unadvised, dt.date(2026, 11, 10))):
            client = await session.get(Client, client_id)
            assert client is not None
            client.opened_on = opened
    async with database.write() as session:
        assert await ensure_return_visits(session, today) == 2
    async with database.write() as session:
        assert await ensure_return_visits(session, today) == 0  # once only
    async with database.read() as session:
        rows = await session.scalars(
            select(FollowUp).where(FollowUp.kind == FollowUpKind.RETURN_VISIT)
        )
        visits = {
            row.client_id: Visit(row.due_on, row.assigned_to_id, row.priority, row.reason)
            for row in rows
        }
    assert set(visits) == {new, unadvised}
    assert old not in visits
    assert visits[new] == Visit(
        dt.date(2026, 12, 15), advisor_id, 3, "account opened on 2026-12-01"
    )
    assert visits[unadvised].owner is None  # anyone's


async def test_a_client_gets_one_birthday_greeting_a_year_on_their_birthday(
    database: Database,
) -> None:
    branch = await add_branch(database)
    born_today = await add_client(database, branch, account_no="1001000020")
    leap = await add_client(database, branch, account_no="1001000021")
    other_day = await add_client(database, branch, account_no="1001000022")
    async with database.write() as session:
        for client_id, birthday in (
            (born_today, dt.date(1980, 12, 7)),
            (leap, dt.date(1992, 2, 29)),
            (other_day, dt.date(1980, 12, 8)),
        ):
            client = await session.get(Client, client_id)
            assert client is not None
            client.birthday = birthday
    async with database.write() as session:
        assert await ensure_birthday_calls(session, dt.date(2026, 12, 7)) == 1
    async with database.write() as session:
        assert await ensure_birthday_calls(session, dt.date(2026, 12, 7)) == 0  # once a year
    async with database.write() as session:  # 2027 is no leap year: the 28th
        assert await ensure_birthday_calls(session, dt.date(2027, 2, 28)) == 1
    async with database.read() as session:
        rows = (
            await session.execute(
                select(FollowUp.client_id, FollowUp.due_on, FollowUp.reason).where(
                    FollowUp.kind == FollowUpKind.BIRTHDAY
                )
            )
        ).all()
    assert sorted(tuple(r) for r in rows) == [
        (born_today, dt.date(2026, 12, 7), "birthday greeting"),
        (leap, dt.date(2027, 2, 28), "birthday greeting"),
    ]
