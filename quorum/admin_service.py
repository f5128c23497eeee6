"""The admin CLI's way into the service: one QuorumService acting as the operator at the shell
(engine/service_admin_access.py), a call run on it, and every refusal turned into plain words on stderr and a
non-zero exit, never a traceback.

The CLI runs in its own process, beside a running `quorum run` or without one: it changes rows in the database
(DATABASE_URL) and the running process picks the changes up (pair pauses and resumes, and breaker resets, at its
configuration refresh; messages through the alert outbox). Heavy modules are imported inside the functions, so
`quorum admin --help` stays light.
"""

from __future__ import annotations

import getpass
import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from config.settings import Settings
    from db.database import Database
    from engine.service import QuorumService

PICKUP = (
    "A running `quorum run` applies it at its next configuration refresh (every 30 s); without one, the engines "
    "load it when Quorum starts."
)


def fail(message: str) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def reflowed(doc: str | None) -> str:
    """A docstring as command help: each paragraph on one line, so the help re-flows to the terminal's width
    (typer keeps the single line breaks of every paragraph after the first)."""
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def operator_name() -> str:
    """Who is at the shell, for the audit log (admin-cli:<name>)."""
    try:
        return getpass.getuser() or "operator"
    except (OSError, KeyError):  # no login name in a container without a passwd entry
        return "operator"


def settings_or_fail() -> Settings:
    from pydantic import ValidationError

    from config.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper() or '?'}: {e['msg']}" for e in exc.errors())
        fail(f"the settings do not load: {problems}. Fix them in the environment or .env.")  # never the values


def call_service[T](work: Callable[[QuorumService], Awaitable[T]]) -> T:
    """work(service) on the database at DATABASE_URL, which must be reachable and migrated."""
    from db.database import DatabaseUnavailable, safe_url
    from engine.service import QuorumService
    from engine.service_errors import ServiceError, ServiceUnavailable
    from engine.service_gateway import CcxtGateway
    from quorum.runtime import with_database

    settings = settings_or_fail()
    where = safe_url(settings.database_url)

    async def run(database: Database) -> T:
        await require_head(database)
        service = QuorumService(
            database, settings, gateway=CcxtGateway(settings), channel="admin-cli", operator=operator_name()
        )
        return await work(service)

    try:
        return with_database(settings, run)
    except SchemaBehind as exc:
        fail(str(exc))
    except ServiceUnavailable:
        fail(f"cannot reach the database {where}; nothing was changed. `quorum admin doctor` says why.")
    except ServiceError as exc:
        fail(exc.message)
    except (DatabaseUnavailable, OSError, ConnectionError) as exc:
        fail(f"cannot reach the database {where}: {type(exc).__name__}. `quorum admin doctor` says why.")


class SchemaBehind(Exception):
    """The database is not at the schema this Quorum needs; str() says what to run."""


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite DATABASE_URL (None for another database or an in-memory one)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    if not parsed.get_backend_name().startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


async def require_head(database: Database) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from db.database import DatabaseUnavailable, safe_url
    from db.migrate import current_revision, head_revision

    file = sqlite_file(database.url)
    if file is not None and not file.is_file():  # connecting would create an empty file
        raise SchemaBehind(f"the SQLite file {file} does not exist: run `quorum admin migrate` to create it, or "
                           "point DATABASE_URL at your database.")  # fmt: skip
    try:
        current = await current_revision(database.engine)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"database {safe_url(database.url)} is unavailable") from exc
    head = head_revision()
    if current != head:
        raise SchemaBehind(
            f"the database {safe_url(database.url)} is at schema {current or 'none (empty)'}, this Quorum needs "
            f"{head}: run `quorum admin migrate` first."
        )
