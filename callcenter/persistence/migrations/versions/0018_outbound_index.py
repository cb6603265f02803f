"""The dialler's reads at a million clients' work (issue 18, "Measure"; docs/benchmarks.md,
"Outbound: next due work item").

* ``ix_follow_ups_owner_dial`` (assigned_to_id, status, priority, due_on, id; of the items
  a person owns: SQLite, which knows only the average rows per owner, would take it for
  the items nobody owns, all under the one NULL),
  ``ix_follow_ups_queue_dial`` (queue, status, priority, due_on, id; of the items no person
  owns) and ``ix_follow_ups_unowned_dial`` (status, priority, due_on, id; of the items nobody
  owns): the next due item is read per owner the agent may take from (their own items, each
  of their queues', nobody's), each in the dialler's order along its own index. One scan of
  every open item in that order (``ix_follow_ups_dial_order``) read past everyone else's
  items, tens of thousands at a million clients. The "nobody" conditions are the partial
  indexes' own: PostgreSQL does not read a column tested IS NULL as fixed for the order of
  an index scan, so (queue, assigned_to_id, ...) with both NULL would not give the order.
* ``ix_follow_ups_open_counts`` (status, kind, not_before, next_attempt_at): the wallboard's
  open and due-now counts per kind, read every 10 seconds, from the index alone (tens of
  thousands of open items at a million clients: 400 ms through the table on SQLite).
* ``ix_follow_ups_done_at`` and ``ix_follow_up_attempts_started_at``: the wallboard's "done
  today" and "attempts today", and the outbound report's range.

Revision ID: 0018_outbound_index
Revises: 0017_return_visit_answers
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_outbound_index"
down_revision = "0017_return_visit_answers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    a_person = sa.text("assigned_to_id IS NOT NULL")
    op.create_index(
        "ix_follow_ups_owner_dial",
        "follow_ups",
        ["assigned_to_id", "status", "priority", "due_on", "id"],
        postgresql_where=a_person,
        sqlite_where=a_person,
    )
    no_person = sa.text("assigned_to_id IS NULL")
    op.create_index(
        "ix_follow_ups_queue_dial",
        "follow_ups",
        ["queue", "status", "priority", "due_on", "id"],
        postgresql_where=no_person,
        sqlite_where=no_person,
    )
    nobody = sa.text("assigned_to_id IS NULL AND queue IS NULL")
    op.create_index(
        "ix_follow_ups_unowned_dial",
        "follow_ups",
        ["status", "priority", "due_on", "id"],
        postgresql_where=nobody,
        sqlite_where=nobody,
    )
    op.create_index(
        "ix_follow_ups_open_counts",
        "follow_ups",
        ["status", "kind", "not_before", "next_attempt_at"],
    )
    op.create_index("ix_follow_ups_done_at", "follow_ups", ["done_at"])
    op.create_index(op.f("ix_follow_up_attempts_started_at"), "follow_up_attempts", ["started_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_follow_up_attempts_started_at"), table_name="follow_up_attempts")
    op.drop_index("ix_follow_ups_done_at", table_name="follow_ups")
    op.drop_index("ix_follow_ups_open_counts", table_name="follow_ups")
    op.drop_index("ix_follow_ups_unowned_dial", table_name="follow_ups")
    op.drop_index("ix_follow_ups_queue_dial", table_name="follow_ups")
    op.drop_index("ix_follow_ups_owner_dial", table_name="follow_ups")
