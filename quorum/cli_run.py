"""`quorum run`: the bot and the engines in one process (mounted in quorum/cli.py). Heavy imports inside."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer


def run(
    replay: Annotated[
        Path | None,
        typer.Option("--replay", metavar="FILE", help="Trade paper accounts on this candle file instead of live."),
    ] = None,
    speed: Annotated[
        float, typer.Option("--speed", help="With --replay: simulated time per wall time (3600 = an hour a second).")
    ] = 3600.0,
    symbol: Annotated[str, typer.Option("--symbol", help="With --replay: what the candles trade as.")] = "BTC/USDT",
    stepped: Annotated[
        bool,
        typer.Option(
            "--stepped", help="With --replay: candle by candle as fast as the engines go (same data, same books)."
        ),
    ] = False,
    replay_end: Annotated[
        datetime | None,
        typer.Option(
            "--replay-end",
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="With --replay: stop after this day's 00:00 UTC candle and exit (default: the file's last).",
        ),
    ] = None,
) -> None:
    """Run Quorum: the Telegram bot (or, without TELEGRAM_BOT_TOKEN, a chat in this terminal) and the engines."""
    from bot.run import RunOptions
    from bot.run import run as run_quorum
    from config.settings import get_settings
    from quorum.runtime import secret_box

    if replay is not None and not replay.is_file():
        raise typer.BadParameter(f"{replay} is not a file", param_hint="--replay")
    if not speed > 0:
        raise typer.BadParameter("must be a positive number", param_hint="--speed")
    end_ms = int(replay_end.replace(tzinfo=UTC).timestamp() * 1000) if replay_end is not None else None
    options = RunOptions(replay=replay, speed=speed, symbol=symbol, stepped=stepped, replay_end_ms=end_ms)
    settings = get_settings()
    asyncio.run(run_quorum(settings, options, secret_box(settings)))
