"""Bring a database to the newest schema with Alembic; safe to run any number of times."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import sql


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(sql.__file__).parent))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "sql/versions holds no migration"
    return head


class MigrationFailed(Exception):
    """The migration left the database inconsistent, so it was rolled back; str() says what is wrong."""


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade through an open async engine (usable from inside a running event loop)."""
    await _migrate(engine, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _migrate(engine, lambda config: command.downgrade(config, revision))


async def _migrate(engine: AsyncEngine, step: Callable[[Config], None]) -> None:
    """Run `step` in one transaction. On SQLite, foreign keys are off while it runs and checked before commit.

    SQLite changes a constraint by recreating the table, and dropping a referred table with foreign keys on
    would cascade its delete into every child. The pragma only takes effect outside a transaction, and pysqlite
    leaves DDL outside one unless told, so the transaction is begun explicitly: all or nothing.
    """

    def _run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config)

    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(_run)
        return
    async with engine.connect() as connection:
        try:
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            if (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() != 0:
                raise MigrationFailed("could not turn SQLite foreign keys off; nothing was migrated")
            await connection.commit()
            async with connection.begin():
                await connection.exec_driver_sql("BEGIN")
                await connection.run_sync(_run)
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise MigrationFailed(f"rows refer to missing rows (table, rowid, parent, key): {broken[:20]}")
        finally:
            await _enforce_foreign_keys(connection)


async def _enforce_foreign_keys(connection: AsyncConnection) -> None:
    """Never hand a connection without foreign keys back to the pool: turn them on, or discard it."""
    try:
        await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        await connection.commit()
    except Exception:  # noqa: BLE001 - whatever broke, the connection must not be reused
        await connection.invalidate()


async def current_revision(engine: AsyncEngine) -> str | None:
    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(_current)
