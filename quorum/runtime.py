"""Shared helpers for command entry points: run a coroutine, open the database, load the secret box.

The database layer (SQLAlchemy) and the crypto library are imported when a helper is called, not when a command
module imports this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config.settings import Settings
    from db.database import Database
    from db.encryption import SecretBox


def secret_box(settings: Settings) -> SecretBox | None:
    """The box for the configured master key, or None when none is set (paper-only operation)."""
    from db.encryption import SecretBox
    from quorum.log import register_secret

    if settings.quorum_master_key is None:
        return None
    encoded = settings.quorum_master_key.get_secret_value()
    register_secret(encoded)
    return SecretBox.from_encoded(encoded)


def register_settings_secrets(settings: Settings) -> None:
    """Mask every secret setting (bot token, API keys, the master key) in every later log line, exactly."""
    from pydantic import SecretStr

    from quorum.log import register_secret

    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())


def with_database[T](settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    from db.database import Database

    async def _run() -> T:
        database = Database(settings.database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(_run())
