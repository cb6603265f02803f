"""Multi-factor login and login throttling (issue 15, point 5).

Placeholder so that the revision chain exists while this part is built; its owner replaces
this file (keeping its revision and down_revision).

Revision ID: 0010
Revises: 009
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
