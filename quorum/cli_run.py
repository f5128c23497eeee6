"""`quorum run`: the bot and the engines in one process (mounted in quorum/cli.py). Heavy imports inside."""

from __future__ import annotations

import asyncio
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
    settings = get_settings()
    asyncio.run(run_quorum(settings, RunOptions(replay=replay, speed=speed, symbol=symbol), secret_box(settings)))
