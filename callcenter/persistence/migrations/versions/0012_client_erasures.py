"""A client's data rights (issue 15, point 7): the tombstone an erasure leaves.

``client_erasures``: one row per erased client, saying when, by whom, why and under which
request reference the client's personal data was erased, and how many rows of each kind were
erased or redacted. It holds no personal data: the client is named by their record's id only.
A unique ``client_id`` makes a second erasure of the same client impossible.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("request_ref", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_client_erasures_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"], ["users.id"], name=op.f("fk_client_erasures_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_erasures")),
        sa.UniqueConstraint("client_id", name=op.f("uq_client_erasures_client_id")),
    )


def downgrade() -> None:
    op.drop_table("client_erasures")
