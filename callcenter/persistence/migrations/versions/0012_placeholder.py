"""A client's data rights: export and erasure (issue 15, point 7).

Placeholder so that the revision chain exists while this part is built; its owner replaces
this file (keeping its revision and down_revision).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
