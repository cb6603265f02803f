"""The admin console's tables: service codes and the do-not-call list (issue 15, point 6).

* ``service_codes``: the not-ready reasons and dispositions staff choose from, with labels in
  both languages, an active flag and a sort order. Seeded with what the desk offered until
  now, so nothing changes for anyone: the reasons of ``CALLCENTER_AGENT_NOT_READY_REASONS``
  when the environment that migrates sets it (a code the desk had no label for gets the code
  as its label), else the default five; the desk's nine dispositions with the labels of
  ``agent_ui/i18n``. ``missed`` is the ACD's own reason and is never a row.
* ``do_not_call``: numbers the center must not call (all calls, or care calls only), with
  why, who added them, when, and an optional expiry.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import datetime as dt
import os
import re

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The labels the desk showed (agent_ui/i18n/zh-CN.json and en.json) when this was written.
REASON_LABELS = {
    "after_call_work": ("事后处理", "After-call work"),
    "break": ("小休", "Break"),
    "lunch": ("用餐", "Lunch"),
    "meeting": ("会议", "Meeting"),
    "training": ("培训", "Training"),
}
DEFAULT_REASONS = ("break", "lunch", "meeting", "training", "after_call_work")
# In the order the desk's wrap-up listed them (agent_ui/js/wrapup.js DISPOSITIONS).
DISPOSITIONS = (
    ("information_given", "已告知信息", "Information given"),
    ("resolved", "已解决", "Resolved"),
    ("password_reset", "指导重置密码", "Password reset guided"),
    ("transferred_to_advisor", "转客户经理", "Transferred to advisor"),
    ("complaint_filed", "已受理投诉", "Complaint filed"),
    ("follow_up_scheduled", "已安排回访", "Follow-up scheduled"),
    ("callback_promised", "承诺回电", "Callback promised"),
    ("wrong_number", "打错电话", "Wrong number"),
    ("other", "其他", "Other"),
)
CODE = re.compile(r"[a-z][a-z0-9_]{0,23}")


def configured_reasons() -> list[str]:
    """The reasons the service offered: the setting, if this environment has it."""
    raw = os.environ.get("CALLCENTER_AGENT_NOT_READY_REASONS", "")
    codes = [part.strip() for part in raw.split(",") if part.strip()]
    codes = [code for code in codes if CODE.fullmatch(code) and code != "missed"]
    return codes or list(DEFAULT_REASONS)


def upgrade() -> None:
    codes = op.create_table(
        "service_codes",
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("label_zh", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('not_ready_reason', 'disposition')", name=op.f("ck_service_codes_kind")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_service_codes_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("kind", "code", name=op.f("pk_service_codes")),
    )
    op.create_table(
        "do_not_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("scope IN ('all', 'care')", name=op.f("ck_do_not_call_scope")),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["users.id"], name=op.f("fk_do_not_call_added_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_do_not_call")),
        sa.UniqueConstraint("e164", name=op.f("uq_do_not_call_e164")),
    )
    # A fixed time, not now(): the same migration gives byte-identical databases.
    at = dt.datetime(2026, 12, 7)
    rows = [
        {
            "kind": "not_ready_reason",
            "code": code,
            "label_zh": REASON_LABELS.get(code, (code, code))[0],
            "label_en": REASON_LABELS.get(code, (code, code))[1],
            # Alphabetical, as GET /api/agents/reasons listed them.
            "sort_order": (order + 1) * 10,
        }
        for order, code in enumerate(sorted(configured_reasons()))
    ] + [
        {
            "kind": "disposition",
            "code": code,
            "label_zh": zh,
            "label_en": en,
            "sort_order": (order + 1) * 10,
        }
        for order, (code, zh, en) in enumerate(DISPOSITIONS)
    ]
    op.bulk_insert(
        codes,
        [
            {**row, "active": True, "version": 1, "updated_at": at, "updated_by_id": None}
            for row in rows
        ],
    )


def downgrade() -> None:
    op.drop_table("do_not_call")
    op.drop_table("service_codes")
