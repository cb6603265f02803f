"""Where an interaction's end came from, when the service did not see the call end (issue 16).

``interactions.end_source``: "asterisk" when the end is the hang-up in Asterisk's own record
(CEL), read after a restart or by the record's import; "restart" when Asterisk has no record
of it and the end is the time a restart found the channel gone (an estimate, later than the
real end). NULL for every call whose end the service saw. Adding a nullable column copies no
row on either database.

Revision ID: 0013_end_source
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_end_source"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("end_source", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("end_source")
