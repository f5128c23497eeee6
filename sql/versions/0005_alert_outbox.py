"""The alert outbox: alerts wait here until Telegram accepts them, retried with backoff.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.types import BigId, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_outbox",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("dropped", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_alert_outbox_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_outbox"),
    )
    op.create_index("ix_alert_outbox_user_id", "alert_outbox", ["user_id"])
    op.create_index("ix_alert_outbox_next_attempt_at", "alert_outbox", ["next_attempt_at"])
    op.create_index("ix_alert_outbox_sent_at", "alert_outbox", ["sent_at"])


def downgrade() -> None:
    op.drop_table("alert_outbox")
