"""Outbound work: follow-ups become the dialler's work items (issue 18, points 1 and 4).

* ``follow_ups`` gains the kind ``callback`` (a caller asked to be called back) and may have
  no client (an unidentified caller's callback names a number only); it gains what a dialler
  needs: a priority (1 first, 9 last), an owning queue (when no person owns it), the number
  to dial (else the client's own), the caller's language, the reason shown to the agent, the
  start of the due window (``not_before``; ``due_on`` stays its last day), the attempts
  made, when the next may be made, the last attempt's outcome, the agent it is reserved for
  (a preview) and until when, and the callback request it keeps.
* ``follow_up_attempts``: every dial of a work item (or a skip in preview), with its mode,
  agent, interaction, times, outcome and note.
* ``clients`` gains ``time_zone`` (IANA; none: the center's) for calling hours, and
  ``care_calls_opt_out``: the client asked for no care calls.

SQLite cannot alter a CHECK constraint or a NOT NULL: ``follow_ups`` is rebuilt from its own
``CREATE TABLE`` with the new kind list and a nullable ``client_id``, as 0015 does for users.

Revision ID: 0016_outbound_work
Revises: 0015_quality_reviewer_role
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_outbound_work"
down_revision = "0015_quality_reviewer_role"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "return_visit",
    "care_call",
    "birthday",
    "ipo_reminder",
    "investment_report",
    "market_alert",
)
NEW_KINDS = (*OLD_KINDS, "callback")
OUTCOMES = (
    "agent_no_answer",
    "answered",
    "no_answer",
    "busy",
    "wrong_number",
    "failed",
    "cancelled",
    "reached",
    "refused",
    "completed",
    "skipped",
)


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


# On SQLite the table is created anew from these (0001's, and this revision's), and the
# columns both have are copied over.
_SQLITE_FOLLOW_UPS = """CREATE TABLE "{table}" (
    id INTEGER NOT NULL,
    client_id INTEGER{client_null},
    kind VARCHAR(24) NOT NULL,
    status VARCHAR(24) NOT NULL,
    due_on DATE NOT NULL,
    assigned_to_id INTEGER,
    created_by_id INTEGER,
    created_at DATETIME NOT NULL,
    done_at DATETIME,
    interaction_id INTEGER,
    outcome TEXT,
    version INTEGER NOT NULL,{columns}
    CONSTRAINT pk_follow_ups PRIMARY KEY (id),
    CONSTRAINT fk_follow_ups_assigned_to_id_users FOREIGN KEY(assigned_to_id) REFERENCES users (id),
    CONSTRAINT fk_follow_ups_client_id_clients FOREIGN KEY(client_id) REFERENCES clients (id),
    CONSTRAINT fk_follow_ups_created_by_id_users FOREIGN KEY(created_by_id) REFERENCES users (id),
    CONSTRAINT fk_follow_ups_interaction_id_interactions FOREIGN KEY(interaction_id)
        REFERENCES interactions (id),{constraints}
    CONSTRAINT ck_follow_ups_follow_up_kind CHECK ({kinds}),
    CONSTRAINT ck_follow_ups_follow_up_status CHECK (status IN ('open', 'done', 'cancelled'))
)"""
_SQLITE_NEW_COLUMNS = """
    priority INTEGER DEFAULT '5' NOT NULL,
    queue VARCHAR(50),
    number VARCHAR(32),
    language VARCHAR(8),
    reason VARCHAR(300),
    not_before DATETIME,
    attempts INTEGER DEFAULT '0' NOT NULL,
    next_attempt_at DATETIME,
    last_outcome VARCHAR(24),
    reserved_by_id INTEGER,
    reserved_until DATETIME,
    callback_request_id INTEGER,"""
_SQLITE_NEW_CONSTRAINTS = """
    CONSTRAINT fk_follow_ups_reserved_by_id_users FOREIGN KEY(reserved_by_id)
        REFERENCES users (id),
    CONSTRAINT fk_follow_ups_callback_request_id_callback_requests
        FOREIGN KEY(callback_request_id) REFERENCES callback_requests (id),
    CONSTRAINT uq_follow_ups_callback_request_id UNIQUE (callback_request_id),"""
_SQLITE_INDEXES = (
    "CREATE INDEX ix_follow_ups_assigned_to_id ON follow_ups (assigned_to_id)",
    "CREATE INDEX ix_follow_ups_client_id ON follow_ups (client_id)",
    "CREATE INDEX ix_follow_ups_status_due ON follow_ups (status, due_on)",
)


def _rebuild_follow_ups_sqlite(*, new: bool) -> None:
    conn = op.get_bind()
    ddl = _SQLITE_FOLLOW_UPS.format(
        table="_new_follow_ups",
        client_null="" if new else " NOT NULL",
        columns=_SQLITE_NEW_COLUMNS if new else "",
        constraints=_SQLITE_NEW_CONSTRAINTS if new else "",
        kinds=_in_list("kind", NEW_KINDS if new else OLD_KINDS),
    )
    conn.exec_driver_sql(ddl)
    old = [row[1] for row in conn.exec_driver_sql('PRAGMA table_info("follow_ups")')]
    kept = [row[1] for row in conn.exec_driver_sql('PRAGMA table_info("_new_follow_ups")')]
    columns = ", ".join(f'"{name}"' for name in old if name in kept)
    conn.exec_driver_sql(
        f'INSERT INTO "_new_follow_ups" ({columns}) SELECT {columns} FROM "follow_ups"'  # noqa: S608
    )
    conn.exec_driver_sql('DROP TABLE "follow_ups"')
    conn.exec_driver_sql('ALTER TABLE "_new_follow_ups" RENAME TO "follow_ups"')
    for create_index in _SQLITE_INDEXES:
        conn.exec_driver_sql(create_index)


NEW_COLUMNS = (
    ("priority", sa.Integer(), "5"),
    ("queue", sa.String(length=50), None),
    ("number", sa.String(length=32), None),
    ("language", sa.String(length=8), None),
    ("reason", sa.String(length=300), None),
    ("not_before", sa.DateTime(), None),
    ("attempts", sa.Integer(), "0"),
    ("next_attempt_at", sa.DateTime(), None),
    ("last_outcome", sa.String(length=24), None),
    ("reserved_by_id", sa.Integer(), None),
    ("reserved_until", sa.DateTime(), None),
    ("callback_request_id", sa.Integer(), None),
)


def _upgrade_follow_ups_postgres() -> None:
    name = op.f("ck_follow_ups_follow_up_kind")
    op.drop_constraint(name, "follow_ups", type_="check")
    op.create_check_constraint(name, "follow_ups", sa.text(_in_list("kind", NEW_KINDS)))
    op.alter_column("follow_ups", "client_id", existing_type=sa.Integer(), nullable=True)
    for column, type_, default in NEW_COLUMNS:
        op.add_column(
            "follow_ups",
            sa.Column(column, type_, nullable=default is None, server_default=default),
        )
    op.create_foreign_key(
        op.f("fk_follow_ups_reserved_by_id_users"),
        "follow_ups",
        "users",
        ["reserved_by_id"],
        ["id"],
    )
    op.create_foreign_key(
        op.f("fk_follow_ups_callback_request_id_callback_requests"),
        "follow_ups",
        "callback_requests",
        ["callback_request_id"],
        ["id"],
    )
    op.create_unique_constraint(
        op.f("uq_follow_ups_callback_request_id"), "follow_ups", ["callback_request_id"]
    )


def _downgrade_follow_ups_postgres() -> None:
    op.drop_constraint(op.f("uq_follow_ups_callback_request_id"), "follow_ups", type_="unique")
    for column, _type, _default in NEW_COLUMNS:
        op.drop_column("follow_ups", column)  # drops its foreign key with it
    op.alter_column("follow_ups", "client_id", existing_type=sa.Integer(), nullable=False)
    name = op.f("ck_follow_ups_follow_up_kind")
    op.drop_constraint(name, "follow_ups", type_="check")
    op.create_check_constraint(name, "follow_ups", sa.text(_in_list("kind", OLD_KINDS)))


def upgrade() -> None:
    # Foreign keys are off during migrations on SQLite (env.py), as for 0009 and 0015.
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_follow_ups_sqlite(new=True)
    else:
        _upgrade_follow_ups_postgres()
    # The dialler's order among the open items: priority 1 (first) to 9, then the due day.
    op.create_index(
        "ix_follow_ups_dial_order",
        "follow_ups",
        ["status", "priority", "due_on", "id"],
    )
    op.create_index("ix_follow_ups_queue", "follow_ups", ["queue"])
    op.create_table(
        "follow_up_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("follow_up_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.CheckConstraint(
            "mode IN ('preview', 'progressive')", name=op.f("ck_follow_up_attempts_mode")
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR " + _in_list("outcome", OUTCOMES),
            name=op.f("ck_follow_up_attempts_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["follow_ups.id"],
            name=op.f("fk_follow_up_attempts_follow_up_id_follow_ups"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_follow_up_attempts_agent_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_follow_up_attempts_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_attempts")),
    )
    op.create_index(
        op.f("ix_follow_up_attempts_follow_up_id"), "follow_up_attempts", ["follow_up_id"]
    )
    op.create_index(
        op.f("ix_follow_up_attempts_interaction_id"), "follow_up_attempts", ["interaction_id"]
    )
    op.add_column("clients", sa.Column("time_zone", sa.String(length=40), nullable=True))
    op.add_column(
        "clients",
        sa.Column("care_calls_opt_out", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): a batch rebuild of clients would
    # lose its expression indexes (name search, 0003).
    op.drop_column("clients", "care_calls_opt_out")
    op.drop_column("clients", "time_zone")
    op.drop_index(op.f("ix_follow_up_attempts_interaction_id"), table_name="follow_up_attempts")
    op.drop_index(op.f("ix_follow_up_attempts_follow_up_id"), table_name="follow_up_attempts")
    op.drop_table("follow_up_attempts")
    op.drop_index("ix_follow_ups_queue", table_name="follow_ups")
    op.drop_index("ix_follow_ups_dial_order", table_name="follow_ups")
    # Work the older schema cannot hold: callbacks, and items without a client.
    op.get_bind().execute(
        sa.text("DELETE FROM follow_ups WHERE kind = 'callback' OR client_id IS NULL")
    )
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_follow_ups_sqlite(new=False)
    else:
        _downgrade_follow_ups_postgres()
