"""The roles' edges that need no worker: SQLite is refused with a message saying what to do, the layer rule
holds, and the unit of work commits all of a job's writes or none."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from distributed.app import NeedsPostgres, conninfo, require_postgres
from distributed.unit import UnitDatabase, UnitFailed
from quorum.cli import app


@pytest.mark.parametrize("role", ["gateway", "worker"])
def test_quorum_run_when_a_role_is_asked_on_sqlite_then_it_refuses_with_what_to_do(
    role: str, tmp_path: Any, restore_logging: None
) -> None:
    result = CliRunner().invoke(
        app, ["run", "--role", role], env={"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'q.db'}"}
    )
    assert result.exit_code == 2
    assert "need PostgreSQL" in result.output and "quorum run" in result.output
    assert not (tmp_path / "q.db").exists(), "nothing was started"


def test_quorum_run_when_the_role_is_unknown_then_it_is_refused(restore_logging: None) -> None:
    result = CliRunner().invoke(app, ["run", "--role", "boss"])
    assert result.exit_code == 2 and "--role" in result.output


def test_conninfo_when_given_the_asyncpg_url_then_libpq_reads_the_same_database() -> None:
    url = "postgresql+asyncpg://quorum:s3cret@db.example:5433/quorum"
    assert conninfo(url) == "postgresql://quorum:s3cret@db.example:5433/quorum"
    with pytest.raises(NeedsPostgres):
        require_postgres("sqlite+aiosqlite:///quorum.db")


@pytest.mark.postgres
async def test_unit_when_a_write_fails_then_none_of_the_jobs_writes_stand(postgres_factory: Any) -> None:
    url = await _url(postgres_factory)
    database = UnitDatabase(url)
    try:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE t (v int PRIMARY KEY)"))
        async with database.unit():
            for value in (1, 2):
                async with database.transaction() as session:
                    await session.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
        with pytest.raises(UnitFailed):
            async with database.unit():
                async with database.transaction() as session:
                    await session.execute(text("INSERT INTO t VALUES (3)"))
                with pytest.raises(Exception, match="duplicate key"):
                    async with database.transaction() as session:
                        await session.execute(text("INSERT INTO t VALUES (1)"))  # the engine would catch and go on
        async with database.transaction() as session:
            assert list(await session.scalars(text("SELECT v FROM t ORDER BY v"))) == [1, 2]
    finally:
        await database.dispose()


async def _url(postgres_factory: Any) -> str:
    import asyncio

    return await asyncio.to_thread(postgres_factory.new_url)
