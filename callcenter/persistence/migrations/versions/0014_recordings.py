"""Call recordings and their hash chain (issue 17, points 1, 2 and 6).

* ``recordings``: one row per recorded call, tied to its interaction: the file's path relative
  to the recordings storage root, its format, status (recording, complete, failed with a
  reason), start and end, duration, size and SHA-256; a consult leg's recording names the
  call's own (``consult_of_id``).
* ``recording_chain``: the append-only ledger, each entry hashing the one before it
  (callcenter/crm/recording_chain.py); ``recording_chain_head``: its last entry, one row,
  locked to append. The head starts at seq 0 with the genesis hash (64 zeros).
* ``recording_pauses``: the spans the agent paused a recording (point 3), as offsets into it,
  who paused and who or what resumed (the agent, the limit, the call's end).
* A purged recording (retention, point 4) keeps its row, ``deleted`` with ``deleted_at``.

Revision ID: 0014_recordings
Revises: 0013_end_source
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_recordings"
down_revision = "0013_end_source"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("consult_of_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('recording', 'complete', 'failed', 'deleted')",
            name=op.f("ck_recordings_status"),
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_recordings_interaction_id_interactions"),
        ),
        sa.ForeignKeyConstraint(
            ["consult_of_id"],
            ["recordings.id"],
            name=op.f("fk_recordings_consult_of_id_recordings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("path", name=op.f("uq_recordings_path")),
    )
    op.create_index("ix_recordings_interaction_id", "recordings", ["interaction_id"])
    op.create_table(
        "recording_chain",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('created', 'completed', 'failed', 'deleted', 'paused', 'resumed')",
            name=op.f("ck_recording_chain_kind"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_recording_chain")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_recording_chain_entry_hash")),
    )
    op.create_index(op.f("ix_recording_chain_recording_id"), "recording_chain", ["recording_id"])
    head = op.create_table(
        "recording_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_chain_head")),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "entry_hash": "0" * 64}])
    op.create_table(
        "recording_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("paused_at", sa.DateTime(), nullable=False),
        sa.Column("resumed_at", sa.DateTime(), nullable=True),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=True),
        sa.Column("paused_by_user_id", sa.Integer(), nullable=True),
        sa.Column("resumed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("resumed_by", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "resumed_by IS NULL OR resumed_by IN ('agent', 'limit', 'hangup', 'supervisor')",
            name=op.f("ck_recording_pauses_resumed_by"),
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_pauses_recording_id_recordings"),
        ),
        sa.ForeignKeyConstraint(
            ["paused_by_user_id"],
            ["users.id"],
            name=op.f("fk_recording_pauses_paused_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["resumed_by_user_id"],
            ["users.id"],
            name=op.f("fk_recording_pauses_resumed_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_pauses")),
    )
    op.create_index(op.f("ix_recording_pauses_recording_id"), "recording_pauses", ["recording_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_recording_pauses_recording_id"), table_name="recording_pauses")
    op.drop_table("recording_pauses")
    op.drop_table("recording_chain_head")
    op.drop_index(op.f("ix_recording_chain_recording_id"), table_name="recording_chain")
    op.drop_table("recording_chain")
    op.drop_index("ix_recordings_interaction_id", table_name="recordings")
    op.drop_table("recordings")
