"""Return-visit answers (issue 18, point 5).

* ``return_visit_answers``: one row per return-visit follow-up (unique): the call it was made
  in, the agent, the version of the script answered, the answers (question id -> answer), the
  problems found with what was opened for each, the complaints opened and the branch's task
  (a follow-up), and when. Regulation keeps the record of a return visit (DOMAIN.md).

Revision ID: 0017_return_visit_answers
Revises: 0016_outbound_work
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_return_visit_answers"
down_revision = "0016_outbound_work"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "return_visit_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("follow_up_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("script_version", sa.String(length=40), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("complaint_ids", sa.JSON(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["follow_ups.id"],
            name=op.f("fk_return_visit_answers_follow_up_id_follow_ups"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_return_visit_answers_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_return_visit_answers_interaction_id_interactions"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_return_visit_answers_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["follow_ups.id"], name=op.f("fk_return_visit_answers_task_id_follow_ups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_return_visit_answers")),
        sa.UniqueConstraint("follow_up_id", name=op.f("uq_return_visit_answers_follow_up_id")),
    )
    op.create_index(
        op.f("ix_return_visit_answers_client_id"), "return_visit_answers", ["client_id"]
    )
    op.create_index(op.f("ix_return_visit_answers_at"), "return_visit_answers", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_return_visit_answers_at"), table_name="return_visit_answers")
    op.drop_index(op.f("ix_return_visit_answers_client_id"), table_name="return_visit_answers")
    op.drop_table("return_visit_answers")
