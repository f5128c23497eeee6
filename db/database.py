"""The async engine and session factory; one Database per process, shared by every engine and transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


class DatabaseUnavailable(Exception):
    """The database cannot be reached; str() is safe to show (no credentials)."""


def is_unavailable(exc: BaseException) -> bool:
    """Whether an error (or one it came from) says the database cannot be reached, as opposed to a bug."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, DatabaseUnavailable | OperationalError | InterfaceError | ConnectionError):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        sqlstate = str(getattr(seen, "sqlstate", "") or "")  # asyncpg's: 08 connection, 57P shutting down
        if sqlstate.startswith(("08", "57P")) or type(seen).__name__ == "ConnectionDoesNotExistError":
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return False


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores ON DELETE CASCADE without it
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)  # a lost connection is replaced, not handed out
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_async_engine(url, **kwargs)


def safe_url(url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any error: all or nothing."""
        try:
            async with self.sessions() as session, session.begin():
                yield session
        except (OperationalError, InterfaceError, OSError) as exc:
            raise DatabaseUnavailable(
                f"database {safe_url(self.url)} is unavailable ({type(exc).__name__}); nothing was saved"
            ) from exc

    async def ping(self) -> None:
        """SELECT 1; DatabaseUnavailable when it cannot be reached."""
        from sqlalchemy import text

        async with self.transaction() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
