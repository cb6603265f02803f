"""Each person's own SIP secret (issue 19).

* ``phone_secrets``: one row per user with an extension, the secret sealed with the service's
  key (AES-GCM, bound to the user's id), and when it was made. Rows are made by the service
  at its start for everyone with an extension who has none, and replaced on rotation.

Revision ID: 0019_phone_secrets
Revises: 0018_outbound_index
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_phone_secrets"
down_revision = "0018_outbound_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_secrets",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.String(length=255), nullable=False),
        sa.Column("rotated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("phone_secrets")
