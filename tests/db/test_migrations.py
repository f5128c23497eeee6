from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import inspect

from db.database import Database
from db.migrate import current_revision, head_revision, upgrade
from db.models import Base

TABLES = {
    "users",
    "exchange_accounts",
    "user_pairs",
    "user_states",
    "orders",
    "fills",
    "trades",
    "positions",
    "trade_decisions",
    "ai_decisions",
    "news_items",
    "audit_log",
    "engine_heartbeats",
    "paper_ledgers",
}
VIEWS = {"user_overview", "recent_trades_by_user", "ai_provider_stats_by_user"}


async def _schema(database: Database) -> tuple[set[str], set[str], dict[str, list[dict]]]:
    async with database.engine.connect() as connection:

        def read(sync_connection):  # type: ignore[no-untyped-def]
            inspector = inspect(sync_connection)
            tables = set(inspector.get_table_names())
            views = set(inspector.get_view_names())
            fks = {table: inspector.get_foreign_keys(table) for table in tables if table != "alembic_version"}
            return tables, views, fks

        return await connection.run_sync(read)


def _cli_migrate(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "quorum.cli", "admin", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_migrate_when_run_twice_on_an_empty_database_then_all_tables_and_views_exist(fresh_db_url: str) -> None:
    first = _cli_migrate(fresh_db_url)
    second = _cli_migrate(fresh_db_url)

    assert first.returncode == 0, first.stderr
    assert "migrated empty -> " in first.stdout
    assert second.returncode == 0, second.stderr
    assert "already at revision" in second.stdout
    database = Database(fresh_db_url)
    try:
        tables, views, _ = await _schema(database)
        assert TABLES <= tables
        assert VIEWS <= views
        assert await current_revision(database.engine) == head_revision()
    finally:
        await database.dispose()


async def test_migrate_when_done_then_schema_matches_models(database: Database) -> None:
    tables, _, fks = await _schema(database)

    assert set(Base.metadata.tables) <= tables
    for table in TABLES - {"users", "news_items"}:
        user_fks = [fk for fk in fks[table] if fk["referred_table"] == "users"]
        if table == "paper_ledgers" or user_fks:
            assert all(fk["options"].get("ondelete") == "CASCADE" for fk in user_fks), table
    assert any(fk["referred_table"] == "users" for fk in fks["orders"])


async def test_upgrade_when_called_inside_a_running_loop_then_is_idempotent(database: Database) -> None:
    await upgrade(database.engine)
    await upgrade(database.engine)

    assert await current_revision(database.engine) == head_revision()
