"""The admin console's tables: service codes and the do-not-call list (issue 15, point 6).

Placeholder so that the revision chain exists while this part is built; its owner replaces
this file (keeping its revision and down_revision).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
