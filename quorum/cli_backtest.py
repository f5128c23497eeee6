"""`quorum backtest`: the engine over a candle file (mounted in quorum/cli.py). Heavy imports happen inside."""

from __future__ import annotations

import asyncio
import atexit
import gc
from pathlib import Path
from typing import Annotated

import typer

from quorum.cli_options import parse_day, parse_usdt


def backtest(
    data: Annotated[
        Path | None, typer.Option("--data", help="Candle file (CSV or CSV.GZ); default: the shipped BTC/USD 1h.")
    ] = None,
    symbol: Annotated[str, typer.Option("--symbol", help="Symbol to trade the candles as.")] = "BTC/USDT",
    timeframe: Annotated[str, typer.Option("--timeframe", help="Timeframe of the file's candles.")] = "1h",
    start: Annotated[str | None, typer.Option("--start", metavar="YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--end", metavar="YYYY-MM-DD", help="Last day (inclusive).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for metrics.json, trades.csv, equity.csv/png.")] = Path(
        "backtest"
    ),
    balance: Annotated[str, typer.Option("--balance", metavar="USDT")] = "10000",
    budget: Annotated[str, typer.Option("--budget", metavar="USDT", help="The pair's budget.")] = "2000",
    leverage: Annotated[int, typer.Option("--leverage")] = 3,
    cycle_hours: Annotated[int, typer.Option("--cycle-hours", help="Hours between decisions.")] = 1,
    use_llms: Annotated[
        bool, typer.Option("--use-llms", help="Let configured LLMs vote; answers are cached in OUT for reruns.")
    ] = False,
) -> None:
    """Backtest the engine (analysts, consensus, risk manager, paper exchange) over historical candles."""
    from adapters.exchange.candle_file import shipped_candle_file
    from config.settings import get_settings
    from engine.backtest import BacktestError, BacktestOptions, run_backtest
    from quorum.log import configure_logging

    options = BacktestOptions(
        data=data or shipped_candle_file(),
        out=out,
        symbol=symbol,
        timeframe=timeframe,
        start=parse_day(start, "--start") if start else None,
        end=parse_day(end, "--end") if end else None,
        balance=parse_usdt(balance, "--balance"),
        budget=parse_usdt(budget, "--budget"),
        leverage=leverage,
        cycle_hours=cycle_hours,
        use_llms=use_llms,
    )
    settings = get_settings()
    configure_logging("WARNING", settings.log_json)
    try:
        result = asyncio.run(run_backtest(options, settings))
    except BacktestError as error:
        raise typer.BadParameter(error.detail, param_hint=error.option) from None
    skip_exit_collections()
    for line in result.metrics.lines():
        typer.echo(line)
    typer.echo(f"Cycles {result.cycles} · ensemble consultations {result.consultations}")
    for name, path in result.files.items():
        typer.echo(f"{name}: {path}")


def skip_exit_collections() -> None:
    """At interpreter exit, before its shutdown, move every object to the collector's permanent generation
    (gc.freeze), so that the full collections of the shutdown skip the heap a backtest leaves (about 0.1 s of a
    command that exits right after). Nothing is lost: each output file is written and closed by then, and the
    objects are freed by reference counting as before; only cyclic garbage still alive at exit is left to the
    operating system instead of being collected. Registered once however often the command runs in a process."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
