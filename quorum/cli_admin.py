"""`quorum admin ...`: operator commands. The database layer, the engine and rich are imported inside each
command, so `--help` and `generate-key` stay light.

Here: migrate, generate-key, rotate-key and doctor; the users' commands (users, pairs, trades, stats, pause,
resume, reset-breaker, broadcast) are in quorum/cli_admin_ops.py.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

from quorum import cli_admin_ops
from quorum.admin_service import fail as _fail
from quorum.admin_service import reflowed, settings_or_fail

if TYPE_CHECKING:
    from db.database import Database

admin_app = typer.Typer(
    help="Operator commands: users, pairs, trades, stats, pause / resume, breakers, broadcasts, migrations, keys, "
    "and a doctor. They change the database (DATABASE_URL); a running `quorum run` picks the changes up at its "
    "next configuration refresh (30 s), and delivers messages through its alert outbox.",
    no_args_is_help=True,
)
cli_admin_ops.register(admin_app)


@admin_app.command()
def migrate() -> None:
    """Bring the database (DATABASE_URL) to the newest schema (on PostgreSQL also the job queue's, for gateway and
    workers); safe to run any number of times."""
    from config.settings import get_settings
    from db.database import DatabaseUnavailable, safe_url
    from db.migrate import current_revision, head_revision, upgrade
    from quorum.runtime import with_database

    settings = get_settings()

    async def _migrate(database: Database) -> tuple[str | None, str | None]:
        before = await current_revision(database.engine)
        await upgrade(database.engine)
        if database.engine.dialect.name == "postgresql":  # the job queue of gateway and workers lives there too
            from distributed.app import apply_schema

            if await apply_schema(settings.database_url):
                typer.echo("procrastinate's job queue schema applied (quorum run --role gateway|worker)")
        return before, await current_revision(database.engine)

    try:
        before, after = with_database(settings, _migrate)
    except (DatabaseUnavailable, OSError, ConnectionError) as exc:
        _fail(f"cannot reach the database {safe_url(settings.database_url)}: {exc}")
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
    if old is None:
        _fail("QUORUM_MASTER_KEY is not set: there is no current key to rotate from.")
    encoded = os.environ.get(new_key_env)
    if not encoded:
        _fail(f"set {new_key_env} to the new key (generate one with `quorum admin generate-key`).")
    try:
        new = SecretBox.from_encoded(encoded)
    except InvalidMasterKey as exc:
        _fail(f"{new_key_env}: {exc}")
    if new.key_id == old.key_id:
        _fail("the new key equals the current key; nothing to rotate.")

    async def _rotate(database: Database) -> int:
        async with database.transaction() as session:
            return await rotate_master_key(session, old, new)

    try:
        count = with_database(settings, _rotate)
    except DecryptionFailed as exc:
        _fail(f"rotation aborted, nothing changed: a stored credential does not decrypt under the current key ({exc}).")
    except DatabaseUnavailable as exc:
        _fail(str(exc))
    typer.echo(
        f"re-encrypted {count} exchange account(s) under the new key; now set QUORUM_MASTER_KEY to it "
        "and restart Quorum."
    )


def doctor() -> None:
    """Check what Quorum needs and say in plain words what is missing.

    The settings, the database and its schema, the master key and whether stored credentials decrypt (never shown),
    the Telegram token (getMe at TELEGRAM_API_BASE_URL) and which analysts vote. Exits non-zero when something
    required is missing.
    """
    import asyncio

    settings = settings_or_fail()
    from quorum.doctor import MISSING, diagnose

    findings = asyncio.run(diagnose(settings))
    for finding in findings:
        colour = {"ok": typer.colors.GREEN, "note": typer.colors.YELLOW}.get(finding.status, typer.colors.RED)
        typer.echo(typer.style(f"{finding.status:<8}", fg=colour) + f"{finding.topic:<11} {finding.text}")
    missing = [finding for finding in findings if finding.status == MISSING]
    if missing:
        typer.secho(f"{len(missing)} thing(s) missing: fix them, then run `quorum admin doctor` again.", err=True,
                    fg=typer.colors.RED)  # fmt: skip
        raise typer.Exit(code=1)
    typer.echo("Quorum has what it needs to run.")


admin_app.command("doctor", help=reflowed(doctor.__doc__))(doctor)
