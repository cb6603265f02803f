"""Several service instances (issue 21).

* ``service_instances``: one row per running instance, written by its heartbeat: its
  internal URL (standbys forward /api to the call owner's), its role (``owner`` while it holds
  the call-owner lease, else ``standby``) and the users with a desk open on it.

Revision ID: 0020_service_instances
Revises: 0019_phone_secrets
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_service_instances"
down_revision = "0019_phone_secrets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_instances",
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("internal_url", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("desks", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("beat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    op.create_index("ix_service_instances_beat_at", "service_instances", ["beat_at"])


def downgrade() -> None:
    op.drop_index("ix_service_instances_beat_at", table_name="service_instances")
    op.drop_table("service_instances")
