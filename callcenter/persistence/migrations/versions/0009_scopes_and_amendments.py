"""Roles for data scopes, and supervisors' amendments of call records (issue 15).

* ``users.role`` gains ``branch`` (营业部 staff: their branch's clients and complaints) and
  ``compliance`` (reads everything, changes nothing). The role is a CHECK constraint
  (``ck_users_role``): PostgreSQL drops and recreates it; SQLite cannot alter a constraint,
  so the table is rebuilt from its own ``CREATE TABLE`` with the new list, the way 0007 does
  (and for the same reason: byte-identical demo databases).
* ``interaction_amendments``: a supervisor's correction of a call record's facts. The record
  itself keeps what the system wrote; each amendment says who changed which fields from what
  to what, when and why.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_ROLES = ("agent", "advisor", "supervisor", "admin")
NEW_ROLES = (*OLD_ROLES, "branch", "compliance")


def _in_list(roles: tuple[str, ...]) -> str:
    return "role IN (" + ", ".join(f"'{role}'" for role in roles) + ")"


def _set_roles(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_users_role"), "users", type_="check")
        op.create_check_constraint(op.f("ck_users_role"), "users", sa.text(_in_list(new)))
        return
    create_table = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'"
    ).scalar_one()
    if _in_list(old) not in create_table:
        raise RuntimeError(f"unexpected role constraint in: {create_table[:300]}")
    create_indexes = (
        conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' "
            "AND sql IS NOT NULL ORDER BY name"
        )
        .scalars()
        .all()
    )
    head = re.match(r'CREATE TABLE (?:users|"users") \(', create_table)
    if head is None:
        raise RuntimeError(f"unexpected CREATE TABLE for users: {create_table[:80]}")
    body = create_table[head.end() :].replace(_in_list(old), _in_list(new))
    columns = ", ".join(f'"{row[1]}"' for row in conn.exec_driver_sql('PRAGMA table_info("users")'))
    conn.exec_driver_sql('CREATE TABLE "_new_users" (' + body)
    conn.exec_driver_sql(
        f'INSERT INTO "_new_users" ({columns}) SELECT {columns} FROM "users"'  # noqa: S608
    )
    conn.exec_driver_sql('DROP TABLE "users"')
    conn.exec_driver_sql('ALTER TABLE "_new_users" RENAME TO "users"')
    for create_index in create_indexes:
        conn.exec_driver_sql(create_index)


def upgrade() -> None:
    _set_roles(OLD_ROLES, NEW_ROLES)
    op.create_table(
        "interaction_amendments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_amendments_interaction_id_interactions"),
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"], ["users.id"], name=op.f("fk_interaction_amendments_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_amendments")),
    )
    op.create_index(
        op.f("ix_interaction_amendments_interaction_id"),
        "interaction_amendments",
        ["interaction_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_interaction_amendments_interaction_id"), table_name="interaction_amendments"
    )
    op.drop_table("interaction_amendments")
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE users SET active = :off, role = 'agent' WHERE role IN ('branch', 'compliance')"
        ),
        {"off": False},
    )
    _set_roles(NEW_ROLES, OLD_ROLES)
