"""One name per concept (docs/architecture.md): the call is ``call_id``, an agent ``agent_id``.

* ``interactions.asterisk_uniqueid`` -> ``call_id``: the Asterisk uniqueid of the caller's
  channel, the id the ACD, the events and the websocket already call ``call_id``. Its unique
  constraint follows: ``uq_interactions_call_id``. ``asterisk_linkedid`` keeps its name: it
  is Asterisk's link between the channels of a call, not our id for it.
* ``user_id`` -> ``agent_id`` in ``agent_skills``, ``agent_languages``, ``agent_queues``,
  ``agent_state_changes`` and ``agent_status``: each row is about a user acting as an agent.
  Their foreign keys and ``ix_agent_state_changes_user_id_at`` follow the new name.
  ``agent_state_changes.by_user_id`` stays: the person who acted, of any role.

Not renamed: the audit log's ``pop.offered`` entries. The log refuses UPDATE (triggers), so
entries written before this revision keep that action; new ones say ``call.offered``, and
whatever reads pops from the log matches both
(callcenter/persistence/screen_pop.py ``CALL_OFFERED_ACTIONS``).

How, on each database:

* PostgreSQL renames in place (``RENAME COLUMN``, ``RENAME CONSTRAINT``, ``ALTER INDEX``):
  catalogue changes only, no copy of the rows, no index rebuilt, no key checked again.
* SQLite cannot rename a constraint, so each table is rebuilt the way SQLite documents: a new
  table from the old one's own ``CREATE TABLE`` with the names changed, the rows copied, the
  old table dropped, the new one renamed, its indexes created again. Not Alembic's batch
  mode: it rebuilds a table with its constraints in an order that changes from run to run
  (SQLAlchemy keeps them in a set), and the demo seed promises byte-identical databases for
  one seed (tests/db/test_seed.py). env.py keeps foreign keys off while migrating (dropping
  a referenced table would fail, or cascade) and checks every reference before committing.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The tables whose rows are about an agent.
AGENT_TABLES = (
    "agent_skills",
    "agent_languages",
    "agent_queues",
    "agent_state_changes",
    "agent_status",
)
STATE_CHANGES_INDEX = "ix_agent_state_changes_{}_at"  # one agent's rows in time order


def _call_names(old: str, new: str) -> dict[str, str]:
    return {old: new, f"uq_interactions_{old}": f"uq_interactions_{new}"}


def _agent_names(table: str, old: str, new: str) -> dict[str, str]:
    names = {old: new, f"fk_{table}_{old}_users": f"fk_{table}_{new}_users"}
    if table == "agent_state_changes":
        names[STATE_CHANGES_INDEX.format(old)] = STATE_CHANGES_INDEX.format(new)
    return names


def _rename(old_column: str, new_column: str, old_agent: str, new_agent: str) -> None:
    rename = _rename_sqlite if op.get_bind().dialect.name == "sqlite" else _rename_postgresql
    rename("interactions", old_column, _call_names(old_column, new_column))
    for table in AGENT_TABLES:
        rename(table, old_agent, _agent_names(table, old_agent, new_agent))


def _rename_postgresql(table: str, column: str, names: Mapping[str, str]) -> None:
    op.alter_column(table, column, new_column_name=names[column])
    for old, new in names.items():
        if old.startswith(("uq_", "fk_")):
            op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}"')
        elif old.startswith("ix_"):
            op.execute(f'ALTER INDEX "{old}" RENAME TO "{new}"')


def _rename_sqlite(table: str, column: str, names: Mapping[str, str]) -> None:
    conn = op.get_bind()

    def renamed(sql: str) -> str:
        # Whole identifiers only: "user_id" is not the end of "by_user_id", and a column's
        # name is not the end of its constraint's.
        for old, new in names.items():
            sql = re.sub(rf"\b{re.escape(old)}\b", new, sql)
        return sql

    create_table = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar_one()
    create_indexes = (
        conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL ORDER BY name",
            (table,),
        )
        .scalars()
        .all()
    )
    columns = [row[1] for row in conn.exec_driver_sql(f'PRAGMA table_info("{table}")')]
    head = re.match(rf'CREATE TABLE (?:{table}|"{table}") \(', create_table)
    if head is None:
        raise RuntimeError(f"unexpected CREATE TABLE for {table}: {create_table[:80]}")
    new_table = f"_new_{table}"
    conn.exec_driver_sql(f'CREATE TABLE "{new_table}" (' + renamed(create_table[head.end() :]))
    # Identifiers only, all of them our own schema's (nothing here comes from outside).
    into = ", ".join(f'"{names.get(c, c)}"' for c in columns)
    select = ", ".join(f'"{c}"' for c in columns)
    copy = f'INSERT INTO "{new_table}" ({into}) SELECT {select} FROM "{table}"'  # noqa: S608
    conn.exec_driver_sql(copy)
    conn.exec_driver_sql(f'DROP TABLE "{table}"')
    conn.exec_driver_sql(f'ALTER TABLE "{new_table}" RENAME TO "{table}"')
    for create_index in create_indexes:
        conn.exec_driver_sql(renamed(create_index))


def upgrade() -> None:
    _rename("asterisk_uniqueid", "call_id", "user_id", "agent_id")


def downgrade() -> None:
    _rename("call_id", "asterisk_uniqueid", "agent_id", "user_id")
