"""The complaint taxonomy: categories that route a complaint to its owning department.

Poor classification was the main weakness seen at brokerages (DOMAIN.md): a complaint that
lands in "other" reaches nobody. Two levels; every leaf names its owner, and "branch" means the
client's own branch (营业部).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# code, parent, name, name_en, owner
CATEGORIES = [
    ("account", None, "账户服务", "Account services", "branch"),
    ("account.opening", "account", "开户", "Account opening", "branch"),
    ("account.information", "account", "资料变更", "Change of personal details", "branch"),
    ("account.password", "account", "密码服务", "Passwords and PINs", "service_center"),
    ("account.closure", "account", "销户", "Account closure", "branch"),
    ("trading", None, "交易", "Trading", "trading_operations"),
    ("trading.execution", "trading", "委托执行", "Order execution", "trading_operations"),
    ("trading.system", "trading", "交易系统故障", "Trading system outage", "it_operations"),
    ("trading.fees", "trading", "佣金与费用", "Commission and fees", "finance"),
    ("trading.settlement", "trading", "清算交收", "Clearing and settlement", "finance"),
    ("advice", None, "投资顾问", "Investment advice", "advisory"),
    ("advice.suitability", "advice", "产品适当性", "Unsuitable product", "compliance"),
    ("advice.misleading", "advice", "误导性陈述", "Misleading statements", "compliance"),
    ("advice.advisor_conduct", "advice", "客户经理服务", "Advisor conduct", "branch"),
    ("products", None, "产品", "Products", "product_management"),
    ("products.funds", "products", "基金", "Funds", "product_management"),
    ("products.margin", "products", "融资融券", "Margin trading", "credit_business"),
    ("products.ipo", "products", "新股申购", "New share subscriptions", "product_management"),
    ("service", None, "客服中心", "Service center", "service_center"),
    ("service.waiting", "service", "热线等待时间", "Waiting time on the hotline", "service_center"),
    ("service.agent_conduct", "service", "座席服务态度", "Agent conduct", "service_center"),
    (
        "service.no_callback",
        "service",
        "未按承诺回电",
        "Promised call-back not made",
        "service_center",
    ),
    ("information", None, "信息与隐私", "Information and privacy", "compliance"),
    (
        "information.privacy",
        "information",
        "个人信息保护",
        "Personal data protection",
        "compliance",
    ),
    ("information.statements", "information", "对账单", "Account statements", "finance"),
]

categories = sa.table(
    "complaint_categories",
    sa.column("code", sa.String),
    sa.column("parent_code", sa.String),
    sa.column("name", sa.String),
    sa.column("name_en", sa.String),
    sa.column("owner", sa.String),
    sa.column("active", sa.Boolean),
)


def upgrade() -> None:
    op.bulk_insert(
        categories,
        [
            {"code": c, "parent_code": p, "name": n, "name_en": e, "owner": o, "active": True}
            for c, p, n, e, o in CATEGORIES
        ],
    )


def downgrade() -> None:
    # Children first: they reference their parents.
    op.execute("DELETE FROM complaint_categories WHERE parent_code IS NOT NULL")
    op.execute("DELETE FROM complaint_categories")
