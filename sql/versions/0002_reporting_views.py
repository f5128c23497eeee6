"""Reporting views: user_overview, recent_trades_by_user, ai_provider_stats_by_user.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

from sql.views import VIEWS

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for create_sql in VIEWS.values():
        op.execute(create_sql)


def downgrade() -> None:
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
