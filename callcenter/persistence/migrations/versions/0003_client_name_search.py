"""Client search by name: indexes on the case-folded name and Latin spelling.

Agents find a client by typing the start of the name (张伟, or Zhang Wei in any case). Without
an index that is a scan of every client; with these it is an index range among a million.

* PostgreSQL: ``lower(name) text_pattern_ops``, which serves ``lower(name) LIKE 'zhang%'``
  under any database collation.
* SQLite: ``lower(name)``, which serves the range ``lower(name) >= 'zhang' AND < 'zhanh'``
  (SQLite's LIKE optimisation cannot use an index on an expression).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = {"ix_clients_name_lower": "name", "ix_clients_name_latin_lower": "name_latin"}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    opclass = " text_pattern_ops" if postgresql else ""
    for index, column in COLUMNS.items():
        # Constant DDL: index and column names come from this file, never from input.
        op.execute(f"CREATE INDEX {index} ON clients (lower({column}){opclass})")


def downgrade() -> None:
    for index in COLUMNS:
        op.drop_index(index, table_name="clients")
