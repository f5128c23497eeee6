"""The engine's state: the exactly-once guard and the engine state per pair, the reason a pair is paused, and
equity snapshots per user (and pair) for the equity curve.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.types import BigId, Money, UTCDateTime
from sql.sqlite_views import drop_sqlite_views, restore_sqlite_views

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_pairs") as batch:
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_candle_ts", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("engine_state", sa.JSON(), nullable=False, server_default="{}"))
    op.create_table(
        "equity_snapshots",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("pair_id", BigId, nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("equity", Money(), nullable=False),
        sa.Column("balance", Money(), nullable=False),
        sa.Column("unrealized_pnl", Money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_equity_snapshots_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pair_id", "user_id"],
            ["user_pairs.id", "user_pairs.user_id"],
            name="fk_equity_snapshots_pair_id_same_user",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_equity_snapshots"),
    )
    op.create_index("ix_equity_snapshots_user_id", "equity_snapshots", ["user_id"])
    op.create_index("ix_equity_snapshots_pair_id", "equity_snapshots", ["pair_id"])
    op.create_index("ix_equity_snapshots_at", "equity_snapshots", ["at"])


def downgrade() -> None:
    op.drop_table("equity_snapshots")
    views = drop_sqlite_views(op.get_bind())
    with op.batch_alter_table("user_pairs") as batch:
        batch.drop_column("engine_state")
        batch.drop_column("last_candle_ts")
        batch.drop_column("status_reason")
    restore_sqlite_views(views)
