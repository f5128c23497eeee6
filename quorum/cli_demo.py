"""`quorum demo`: the offline end-to-end run (mounted in quorum/cli.py as `app.command("demo")(demo)`).

Heavy imports (the demo, hence the engine, the analysts and the database) happen inside the command.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from quorum.cli_options import parse_day, parse_usdt


def demo(
    start: Annotated[
        str, typer.Option("--start", metavar="YYYY-MM-DD", help="First day to replay (UTC).")
    ] = "2018-01-01",
    days: Annotated[int, typer.Option("--days", help="How many days to replay.")] = 90,
    balance: Annotated[str, typer.Option("--balance", metavar="USDT", help="Paper account balance.")] = "10000",
    budget: Annotated[str, typer.Option("--budget", metavar="USDT", help="Budget of the BTC/USDT pair.")] = "2000",
    leverage: Annotated[int, typer.Option("--leverage", help="Leverage of the BTC/USDT perpetual.")] = 3,
    cycle_hours: Annotated[int, typer.Option("--cycle-hours", help="Simulated hours between decisions.")] = 4,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Record into this database instead of a fresh SQLite file in a temporary directory "
            "(DATABASE_URL is never used unless given here).",
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", help="Also show every decision the risk manager rejected or the engine skipped."),
    ] = False,
    use_llms: Annotated[
        bool,
        typer.Option("--use-llms", help="Also ask the LLM providers configured in the environment (needs network)."),
    ] = False,
) -> None:
    """Offline end-to-end demo: replay real BTC/USD hourly candles (2017-07-01..2019-10-17) and trade them on paper
    with the analysts, the risk manager and the circuit breaker; no keys, no internet."""
    from config.settings import get_settings
    from quorum.demo import DemoError, DemoOptions, run_demo
    from quorum.log import configure_logging

    options = DemoOptions(
        start=parse_day(start, "--start"),
        days=days,
        balance=parse_usdt(balance, "--balance"),
        budget=parse_usdt(budget, "--budget"),
        leverage=leverage,
        cycle_hours=cycle_hours,
        database_url=database_url,
        verbose=verbose,
        use_llms=use_llms,
    )
    settings = get_settings()
    configure_logging("WARNING", settings.log_json)  # the demo's own lines are the output; warnings still show
    try:
        asyncio.run(run_demo(options, settings, emit=typer.echo))
    except DemoError as error:
        raise typer.BadParameter(error.detail, param_hint=error.option) from None
