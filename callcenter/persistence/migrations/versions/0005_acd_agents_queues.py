"""The ACD's data: queues, agents' skills, languages and queues, and their states.

* ``queues``: name (as IVR flows name it), its QueueConfig as JSON, a version for edits.
* ``agent_skills`` (level 1..5), ``agent_languages``, ``agent_queues``: what an agent (a user
  of role agent or advisor) can take.
* ``agent_state_changes``: every move of the agent state machine with its time, never
  changed; the time in a state is the gap to the agent's next row.
* ``agent_status``: each agent's current state, written with the change in one transaction.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

AGENT_STATES = ("logged_out", "ready", "not_ready", "reserved", "on_call", "wrap_up")
AGENT_EVENTS = (
    "login", "logout", "ready", "not_ready", "offer", "answer", "ring_no_answer",
    "caller_gone", "hang_up", "wrap_up_done", "force_not_ready", "force_logout",
)  # fmt: skip


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def _user(table: str, column: str = "user_id", *, cascade: bool = False) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["users.id"],
        name=op.f(f"fk_{table}_{column}_users"),
        ondelete="CASCADE" if cascade else None,
    )


def _interaction(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["interaction_id"],
        ["interactions.id"],
        name=op.f(f"fk_{table}_interaction_id_interactions"),
    )


def upgrade() -> None:
    op.create_table(
        "queues",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        _user("queues", "updated_by_id"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_queues")),
    )
    op.create_table(
        "agent_skills",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("skill", sa.String(length=50), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.CheckConstraint("level >= 1 AND level <= 5", name=op.f("ck_agent_skills_level")),
        _user("agent_skills", cascade=True),
        sa.PrimaryKeyConstraint("user_id", "skill", name=op.f("pk_agent_skills")),
    )
    op.create_table(
        "agent_languages",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        _user("agent_languages", cascade=True),
        sa.PrimaryKeyConstraint("user_id", "language", name=op.f("pk_agent_languages")),
    )
    op.create_table(
        "agent_queues",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("queue_name", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_name"],
            ["queues.name"],
            name=op.f("fk_agent_queues_queue_name_queues"),
            ondelete="CASCADE",
        ),
        _user("agent_queues", cascade=True),
        sa.PrimaryKeyConstraint("user_id", "queue_name", name=op.f("pk_agent_queues")),
    )
    with op.batch_alter_table("agent_queues", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agent_queues_queue_name"), ["queue_name"], unique=False
        )

    op.create_table(
        "agent_state_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event", _enum("agent_event", AGENT_EVENTS), nullable=False),
        sa.Column("from_state", _enum("agent_from_state", AGENT_STATES), nullable=False),
        sa.Column("to_state", _enum("agent_to_state", AGENT_STATES), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        _user("agent_state_changes", "by_user_id"),
        _interaction("agent_state_changes"),
        _user("agent_state_changes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state_changes")),
    )
    with op.batch_alter_table("agent_state_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_state_changes_at"), ["at"], unique=False)
        # Time in state per agent: one agent's rows in time order.
        batch_op.create_index("ix_agent_state_changes_user_id_at", ["user_id", "at"], unique=False)

    op.create_table(
        "agent_status",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", _enum("agent_state", AGENT_STATES), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=True),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        _interaction("agent_status"),
        _user("agent_status"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agent_status")),
    )
    with op.batch_alter_table("agent_status", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_status_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agent_status", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_status_state"))
    op.drop_table("agent_status")

    with op.batch_alter_table("agent_state_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_state_changes_user_id_at")
        batch_op.drop_index(batch_op.f("ix_agent_state_changes_at"))
    op.drop_table("agent_state_changes")

    with op.batch_alter_table("agent_queues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_queues_queue_name"))
    op.drop_table("agent_queues")
    op.drop_table("agent_languages")
    op.drop_table("agent_skills")
    op.drop_table("queues")
