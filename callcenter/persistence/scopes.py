"""Data scopes as SQL: the WHERE conditions that keep each read inside its scope.

The rules are callcenter/crm/scopes.py's; here they become conditions on the tables, so a
store applies the scope in the same query that reads the rows (a record outside the scope is
simply not found). One function per kind of record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true, union
from sqlalchemy.orm import InstrumentedAttribute

from callcenter.crm.scopes import HANDLING_WINDOW, DataScope, Reach
from callcenter.crm.vocabulary import Direction, FollowUpStatus
from callcenter.persistence.tables import (
    AgentStatusRow,
    Client,
    Complaint,
    FollowUp,
    Interaction,
)


def _handled_clients(scope: DataScope, now: dt.datetime) -> Select[tuple[int | None]]:
    """The clients whose call or task is in the user's hands: the call the ACD reserved them
    for (their status names it from the moment of the offer, before the pop and the ring),
    a call offered to them or dialled by them whose wrap-up has not ended (within the
    handling window), or an open follow-up assigned to them or held for them (the dialler's
    preview)."""
    reserved = select(Interaction.client_id).where(
        Interaction.id.in_(
            select(AgentStatusRow.interaction_id).where(AgentStatusRow.agent_id == scope.user_id)
        ),
        Interaction.client_id.is_not(None),
    )
    calls = select(Interaction.client_id).where(
        Interaction.agent_id == scope.user_id,
        Interaction.client_id.is_not(None),
        # An outbound call (the agent dialled the client) is theirs from the dial.
        or_(Interaction.offered_at.is_not(None), Interaction.direction == Direction.OUTBOUND),
        Interaction.wrapup_ended_at.is_(None),
        Interaction.anomaly.is_(None),
        Interaction.started_at >= now - HANDLING_WINDOW,
    )
    tasks = select(FollowUp.client_id).where(
        FollowUp.status == FollowUpStatus.OPEN,
        or_(
            FollowUp.assigned_to_id == scope.user_id,
            # The dialler's work item held for them (a preview): the 360° view comes with it.
            and_(FollowUp.reserved_by_id == scope.user_id, FollowUp.reserved_until > now),
        ),
    )
    return select(union(reserved, calls, tasks).subquery().c[0])


def client_condition(
    scope: DataScope,
    now: dt.datetime,
    column: InstrumentedAttribute[int] | InstrumentedAttribute[int | None],
) -> ColumnElement[bool]:
    """Whether the client named by ``column`` (Client.id, or a table's client_id) is in
    reach."""
    if scope.all_clients:
        return true()
    if scope.reach is Reach.NONE or scope.user_id is None:
        return false()
    if scope.reach is Reach.BRANCH:
        if scope.branch_id is None:
            return false()
        return column.in_(select(Client.id).where(Client.branch_id == scope.branch_id))
    handled = column.in_(_handled_clients(scope, now))
    if scope.reach is Reach.BOOK:
        return or_(column.in_(select(Client.id).where(Client.advisor_id == scope.user_id)), handled)
    return handled


def _without_reason(scope: DataScope) -> DataScope:
    """A stated reason opens one client, not lists of other people's calls and cases."""
    return dataclasses.replace(scope, reason=None)


def _everything_or_nothing(scope: DataScope) -> ColumnElement[bool] | None:
    """The condition of a scope that sees every record or none (no person acting); None for
    one whose records depend on who is asking."""
    if scope.sees_everything:
        return true()
    if scope.reach is Reach.NONE or scope.user_id is None:
        return false()
    return None


def interaction_condition(scope: DataScope, now: dt.datetime) -> ColumnElement[bool]:
    if (fixed := _everything_or_nothing(scope)) is not None:
        return fixed
    of_client = client_condition(_without_reason(scope), now, Interaction.client_id)
    if scope.reach is Reach.BRANCH:
        return of_client
    return or_(Interaction.agent_id == scope.user_id, of_client)


def complaint_condition(scope: DataScope, now: dt.datetime) -> ColumnElement[bool]:
    if (fixed := _everything_or_nothing(scope)) is not None:
        return fixed
    of_client = client_condition(_without_reason(scope), now, Complaint.client_id)
    if scope.reach is Reach.BRANCH:
        if scope.branch_id is None:
            return false()
        return or_(Complaint.owner_branch_id == scope.branch_id, of_client)
    return or_(
        Complaint.created_by_id == scope.user_id,
        Complaint.assigned_to_id == scope.user_id,
        of_client,
    )


def follow_up_condition(scope: DataScope, now: dt.datetime) -> ColumnElement[bool]:
    if (fixed := _everything_or_nothing(scope)) is not None:
        return fixed
    of_client = client_condition(_without_reason(scope), now, FollowUp.client_id)
    if scope.reach is Reach.BRANCH:
        return of_client
    return or_(
        FollowUp.assigned_to_id == scope.user_id,
        FollowUp.created_by_id == scope.user_id,
        of_client,
    )
