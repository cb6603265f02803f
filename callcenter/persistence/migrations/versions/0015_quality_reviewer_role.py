"""The quality reviewer role, and the playbacks of recordings (issue 17, point 5).

* ``users.role`` gains ``quality`` (质检: listens to calls and reads their records, changes
  nothing). The role is the CHECK constraint ``ck_users_role``: PostgreSQL drops and
  recreates it; SQLite cannot alter a constraint, so the table is rebuilt from its own
  ``CREATE TABLE`` with the new list, as 0009 does.
* ``recording_playbacks``: each time someone plays or downloads a recording, with why. The
  row is written with its audit entry; its ticket (stored as a SHA-256, never in clear)
  lets the browser's range requests of that one playback through without another audit
  entry each (callcenter/crm/recording_access.py).

Revision ID: 0015_quality_reviewer_role
Revises: 0014_recordings
Create Date: 2026-12-07
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0015_quality_reviewer_role"
down_revision = "0014_recordings"
branch_labels = None
depends_on = None

OLD_ROLES = ("agent", "advisor", "supervisor", "admin", "branch", "compliance")
NEW_ROLES = (*OLD_ROLES, "quality")


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
    # SQLite rebuilds users; foreign keys are off during migrations (env.py), as for 0009.
    _set_roles(OLD_ROLES, NEW_ROLES)
    op.create_table(
        "recording_playbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("reason_text", sa.String(length=300), nullable=True),
        sa.Column("ticket_sha256", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('play', 'download')", name=op.f("ck_recording_playbacks_purpose")
        ),
        sa.CheckConstraint(
            "reason IN ('complaint', 'quality_review', 'dispute', 'client_request', 'other')",
            name=op.f("ck_recording_playbacks_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_playbacks_recording_id_recordings"),
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
            name=op.f("fk_recording_playbacks_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_playbacks")),
        sa.UniqueConstraint("ticket_sha256", name=op.f("uq_recording_playbacks_ticket_sha256")),
    )
    op.create_index(
        op.f("ix_recording_playbacks_recording_id"), "recording_playbacks", ["recording_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_recording_playbacks_recording_id"), table_name="recording_playbacks")
    op.drop_table("recording_playbacks")
    conn = op.get_bind()
    conn.execute(
        sa.text("UPDATE users SET active = :off, role = 'agent' WHERE role = 'quality'"),
        {"off": False},
    )
    _set_roles(NEW_ROLES, OLD_ROLES)
