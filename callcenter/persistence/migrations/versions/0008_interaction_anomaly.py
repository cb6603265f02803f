"""An interaction can be closed as an anomaly (issue 14).

``interactions.anomaly``: why the service closed a record it found in an impossible state (a
call's record wrapped up but never ended, say, left by a bug or an edit), instead of failing
on it. NULL for every ordinary record. Adding a nullable column copies no row on either
database.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("anomaly", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("anomaly")
