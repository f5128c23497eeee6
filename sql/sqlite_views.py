"""SQLite refuses to rename a table while a view refers to it, which batch mode does to alter a table: such a
migration drops the views first and recreates them, unchanged, afterwards."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def drop_sqlite_views(bind: sa.Connection) -> list[str]:
    if bind.dialect.name != "sqlite":
        return []
    views = bind.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name")).all()
    for name, _ in views:
        op.execute(f'DROP VIEW "{name}"')
    return [create for _, create in views]


def restore_sqlite_views(creates: list[str]) -> None:
    for create in creates:
        op.execute(create)
