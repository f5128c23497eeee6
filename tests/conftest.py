"""Shared fixtures: every repository and migration test runs against SQLite AND a real PostgreSQL.

PostgreSQL comes from QUORUM_TEST_POSTGRES_URL (default: the local server, database `test`, used only to
CREATE/DROP throwaway databases). When it is unreachable, PostgreSQL tests are skipped locally but FAIL when
QUORUM_REQUIRE_POSTGRES=1 or CI=true, so CI can never pass without them.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from loguru import logger

from db.database import Database, create_engine
from db.migrate import upgrade

PG_ADMIN_URL = os.environ.get("QUORUM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("QUORUM_REQUIRE_POSTGRES") == "1" or os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgres"]


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _with_database(url: str, name: str) -> str:
    base, _, _ = _asyncpg_dsn(url).rpartition("/")
    return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://")


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class PostgresFactory:
    """Creates throwaway PostgreSQL databases and drops them at the end of the session."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.error: str | None = None
        try:
            asyncio.run(_admin("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
            self.error = f"PostgreSQL at {PG_ADMIN_URL} unreachable: {exc!r}"

    def new_url(self) -> str:
        if self.error:
            if REQUIRE_PG:
                pytest.fail(self.error + " (required: CI / QUORUM_REQUIRE_POSTGRES=1)")
            pytest.skip(self.error)
        name = f"quorum_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return _with_database(PG_ADMIN_URL, name)

    def drop_all(self) -> None:
        for name in self.created:
            try:
                asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception:  # noqa: BLE001 - cleanup must not mask test results
                pass


def _migrate(url: str) -> None:
    async def _run() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(_run())


@pytest.fixture(scope="session")
def postgres_factory() -> Iterator[PostgresFactory]:
    factory = PostgresFactory()
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def migrated_urls(postgres_factory: PostgresFactory, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One migrated database per backend for the whole session (tests keep to their own users)."""
    cache: dict[str, str] = {}

    def get(backend: str) -> str:
        if backend not in cache:
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'quorum.db'}"
            else:
                url = postgres_factory.new_url()
            _migrate(url)
            cache[backend] = url
        return cache[backend]

    return {"get": get}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, migrated_urls: dict[str, Callable[[str], str]]) -> str:
    return migrated_urls["get"](backend)


@pytest.fixture
def fresh_db_url(backend: str, postgres_factory: PostgresFactory, tmp_path: Path) -> str:
    """An empty, unmigrated database of the current backend, for this test only."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    return postgres_factory.new_url()


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    yield db
    await db.dispose()


@pytest.fixture
def telegram_id() -> Callable[[], int]:
    """Unique Telegram ids, so tests sharing a database never see each other's users."""
    return lambda: uuid.uuid4().int % 10**12 + 10**6


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """A command run through CliRunner configures loguru onto the runner's stream, which closes when the command
    ends: put a sink on the session's stderr back after, so later tests' log lines do not go to a closed file."""
    yield
    logger.remove()
    logger.add(sys.stderr)
