"""ai_decisions.prompt_version wide enough for the prompt's version name ("quorum-decision-v1" is 18 characters;
the column held 16, so PostgreSQL refused every LLM vote's row). SQLite does not enforce a VARCHAR length.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column("ai_decisions", "prompt_version", type_=sa.String(length=64), existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column("ai_decisions", "prompt_version", type_=sa.String(length=16), existing_nullable=True)
