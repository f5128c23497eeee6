"""The procrastinate App on Quorum's PostgreSQL database, and its schema applied idempotently.

procrastinate is PostgreSQL-only and talks psycopg 3 (the rest of Quorum talks asyncpg through SQLAlchemy): the
connector gets the same database URL with the libpq driver name. The schema (procrastinate's tables and the
consultation claims) is applied at gateway and worker start under an advisory lock, so any number of processes
starting at once apply it once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine.url import make_url

from distributed.claims import CLAIMS_SCHEMA

SCHEMA_LOCK = 0x51_0A_0B_12  # pg_advisory_lock key of the schema step: one process applies it at a time


class NeedsPostgres(RuntimeError):
    """The gateway and worker roles share their jobs through PostgreSQL; str() says what to do instead."""


def require_postgres(database_url: str) -> None:
    backend = make_url(database_url).get_backend_name()
    if backend != "postgresql":
        raise NeedsPostgres(
            f"--role gateway and --role worker need PostgreSQL (procrastinate keeps its jobs there), but "
            f"DATABASE_URL is {backend}. Set DATABASE_URL=postgresql://... for every process, or run `quorum run` "
            "(gateway and engines in one process) on SQLite."
        )


def conninfo(database_url: str) -> str:
    """The database URL as libpq (psycopg 3) reads it."""
    require_postgres(database_url)
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def build_app(database_url: str, *, min_size: int = 1, max_size: int = 4):
    """A procrastinate App with Quorum's tasks (distributed.tasks), on the database at `database_url`; its
    connector counts the queries it sends (`app.connector.queries`, for the benchmark's database load)."""
    from procrastinate import App, PsycopgConnector

    from distributed.tasks import blueprint

    class CountingConnector(PsycopgConnector):
        queries = 0

        async def execute_query_async(self, query: Any, **arguments: Any) -> None:
            self.queries += 1
            await super().execute_query_async(query, **arguments)

        async def execute_query_one_async(self, query: Any, **arguments: Any) -> Any:
            self.queries += 1
            return await super().execute_query_one_async(query, **arguments)

        async def execute_query_all_async(self, query: Any, **arguments: Any) -> Any:
            self.queries += 1
            return await super().execute_query_all_async(query, **arguments)

    connector = CountingConnector(conninfo=conninfo(database_url), min_size=min_size, max_size=max_size)
    app = App(connector=connector)
    app.add_tasks_from(blueprint, namespace="quorum")
    return app


async def apply_schema(database_url: str) -> bool:
    """procrastinate's schema and the claims table, once: True when procrastinate's schema was applied now."""
    import psycopg
    from procrastinate.schema import SchemaManager

    async with await psycopg.AsyncConnection.connect(conninfo(database_url), autocommit=True) as connection:
        await connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            found = await connection.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
            row = await found.fetchone()
            applied = not (row and row[0])
            if applied:
                await connection.execute(SchemaManager.get_schema())  # type: ignore[arg-type]
            await connection.execute(CLAIMS_SCHEMA)  # type: ignore[arg-type]
        finally:
            await connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
    return applied
