"""`quorum admin ...`: operator commands. The database layer is imported inside each command, so `--help` and
`generate-key` stay light."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from db.database import Database

admin_app = typer.Typer(help="Operator commands: migrations, encryption keys, users.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@admin_app.command()
def migrate() -> None:
    """Bring the database (DATABASE_URL) to the newest schema; safe to run any number of times."""
    from config.settings import get_settings
    from db.database import DatabaseUnavailable, safe_url
    from db.migrate import current_revision, head_revision, upgrade
    from quorum.runtime import with_database

    settings = get_settings()

    async def _migrate(database: Database) -> tuple[str | None, str | None]:
        before = await current_revision(database.engine)
        await upgrade(database.engine)
        return before, await current_revision(database.engine)

    try:
        before, after = with_database(settings, _migrate)
    except (DatabaseUnavailable, OSError, ConnectionError) as exc:
        _fail(f"cannot reach the database {safe_url(settings.database_url)}: {exc}")
        return
    if before == after:
        typer.echo(f"{safe_url(settings.database_url)} already at revision {after} (head {head_revision()})")
    else:
        typer.echo(f"{safe_url(settings.database_url)} migrated {before or 'empty'} -> {after}")


@admin_app.command("generate-key")
def generate_key() -> None:
    """Print a new random master key (base64 of 32 bytes) for QUORUM_MASTER_KEY."""
    from db.encryption import generate_master_key

    typer.echo(generate_master_key())


@admin_app.command("rotate-key")
def rotate_key(
    new_key_env: str = typer.Option(
        "QUORUM_NEW_MASTER_KEY",
        help="Name of the environment variable holding the new key (never a CLI argument, "
        "so it stays out of shell history).",
    ),
) -> None:
    """Re-encrypt every stored exchange credential under a new master key, in one transaction."""
    from config.settings import get_settings
    from db.database import DatabaseUnavailable
    from db.encryption import DecryptionFailed, InvalidMasterKey, SecretBox
    from db.repositories import rotate_master_key
    from quorum.runtime import secret_box, with_database

    settings = get_settings()
    try:
        old = secret_box(settings)
    except InvalidMasterKey as exc:
        _fail(str(exc))
        return
    if old is None:
        _fail("QUORUM_MASTER_KEY is not set: there is no current key to rotate from.")
        return
    encoded = os.environ.get(new_key_env)
    if not encoded:
        _fail(f"set {new_key_env} to the new key (generate one with `quorum admin generate-key`).")
        return
    try:
        new = SecretBox.from_encoded(encoded)
    except InvalidMasterKey as exc:
        _fail(f"{new_key_env}: {exc}")
        return
    if new.key_id == old.key_id:
        _fail("the new key equals the current key; nothing to rotate.")
        return

    async def _rotate(database: Database) -> int:
        async with database.transaction() as session:
            return await rotate_master_key(session, old, new)

    try:
        count = with_database(settings, _rotate)
    except DecryptionFailed as exc:
        _fail(f"rotation aborted, nothing changed: a stored credential does not decrypt under the current key ({exc}).")
        return
    except DatabaseUnavailable as exc:
        _fail(str(exc))
        return
    typer.echo(
        f"re-encrypted {count} exchange account(s) under the new key; now set QUORUM_MASTER_KEY to it "
        "and restart Quorum."
    )
