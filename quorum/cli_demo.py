"""`quorum demo`: the offline tour (mounted in quorum/cli.py as `app.command("demo")(demo)`).

Heavy imports (the demo, hence the bot, the engine, the analysts and the database) happen inside the command.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from quorum.cli_options import parse_day


def demo(
    start: Annotated[
        str, typer.Option("--start", metavar="YYYY-MM-DD", help="First day of the history (UTC).")
    ] = "2018-01-10",
    days: Annotated[int, typer.Option("--days", help="How many days of history to play.")] = 30,
    cycle_hours: Annotated[int, typer.Option("--cycle-hours", help="Simulated hours between decisions.")] = 4,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Record into this empty database instead of a fresh SQLite file in a temporary directory "
            "(DATABASE_URL is never used unless given here).",
        ),
    ] = None,
    charts: Annotated[
        Path | None,
        typer.Option("--charts", metavar="DIR", help="Save the equity charts here (default: the temporary directory)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Also show the bot's own log lines.")] = False,
) -> None:
    """Offline tour, no keys, no internet: three people chat with the bot while it paper-trades real BTC/USD hourly
    candles (2017-07-01..2019-10-17) with the offline analysts, the risk manager and the circuit breaker."""
    from config.settings import get_settings
    from quorum.demo import DemoError, DemoOptions, run_demo
    from quorum.log import configure_logging

    options = DemoOptions(
        start=parse_day(start, "--start"), days=days, cycle_hours=cycle_hours, database_url=database_url,
        charts=charts,
    )  # fmt: skip
    settings = get_settings()
    configure_logging("INFO" if verbose else "WARNING", settings.log_json)  # warnings always show
    try:
        asyncio.run(run_demo(options, settings))
    except DemoError as error:
        raise typer.BadParameter(error.detail, param_hint=error.option) from None
