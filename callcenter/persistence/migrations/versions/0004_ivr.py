"""The IVR's records: PIN lockout on clients, every PIN attempt, callback requests and voice
messages.

* ``clients.pin_failures`` counts wrong PINs in a row across calls; reaching the IVR's limit
  sets ``clients.pin_locked_at`` until staff unlock it. Existing clients start at 0.
* ``pin_attempts``: one row per attempt (the account number as typed, never the PIN).
* ``callback_requests`` and ``voice_messages``: what after-hours callers leave behind.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _status(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def upgrade() -> None:
    # ADD COLUMN is a plain ALTER TABLE on both databases (no table rebuild on SQLite).
    op.add_column(
        "clients",
        sa.Column("pin_failures", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("clients", sa.Column("pin_locked_at", sa.DateTime(), nullable=True))

    op.create_table(
        "pin_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("account_no", sa.String(length=20), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("caller_number", sa.String(length=32), nullable=True),
        sa.Column(
            "result",
            _status("pin_attempt_result", "ok", "failed", "locked", "unknown_account"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_pin_attempts_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_pin_attempts_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pin_attempts")),
    )
    with op.batch_alter_table("pin_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pin_attempts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_pin_attempts_client_id"), ["client_id"], unique=False)

    op.create_table(
        "callback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column(
            "status", _status("callback_status", "open", "done", "cancelled"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_callback_requests_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_callback_requests_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_requests")),
    )
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_callback_requests_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_callback_requests_status"), ["status"], unique=False)

    op.create_table(
        "voice_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("caller_number", sa.String(length=32), nullable=True),
        sa.Column("recording_ref", sa.String(length=200), nullable=False),
        sa.Column("status", _status("voice_message_status", "open", "done"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_voice_messages_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_voice_messages_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_messages")),
    )
    with op.batch_alter_table("voice_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_voice_messages_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_voice_messages_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("voice_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_messages_status"))
        batch_op.drop_index(batch_op.f("ix_voice_messages_client_id"))

    op.drop_table("voice_messages")
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_requests_status"))
        batch_op.drop_index(batch_op.f("ix_callback_requests_client_id"))

    op.drop_table("callback_requests")
    with op.batch_alter_table("pin_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pin_attempts_client_id"))
        batch_op.drop_index(batch_op.f("ix_pin_attempts_at"))

    op.drop_table("pin_attempts")
    # Not batch mode: on SQLite a batch rebuild of clients would drop and re-create the table
    # that every other table points at (its phones cascade). SQLite (3.35+) drops a column that
    # no index or constraint uses with a plain ALTER TABLE, as PostgreSQL does.
    op.drop_column("clients", "pin_locked_at")
    op.drop_column("clients", "pin_failures")
