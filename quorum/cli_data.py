"""`quorum data ...`: historical market data commands. CCXT is imported when a download builds its client."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from adapters.exchange.candle_file import format_timestamp
from adapters.exchange.download import CandleDownloadError, download_candles
from adapters.exchange.errors import ExchangeError
from adapters.exchange.factory import create_live_exchange
from domain.market import TIMEFRAME_MS, MarketType
from domain.money import datetime_to_ms

data_app = typer.Typer(help="Historical market data.", no_args_is_help=True)


@data_app.callback()
def data() -> None:
    """Historical market data: download candles for backtests and the demo."""


def _parse_day(value: str, option: str) -> int:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-01-01", param_hint=option
        ) from None
    return datetime_to_ms(day)


@data_app.command("download")
def download(
    symbol: Annotated[str, typer.Option("--symbol", help="Trading pair, e.g. BTC/USDT.")],
    since: Annotated[str, typer.Option("--since", help="First day to download, YYYY-MM-DD (UTC).")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write or resume; gzip when it ends in .gz.")],
    exchange: Annotated[str, typer.Option("--exchange", help="Any CCXT exchange id.")] = "binance",
    timeframe: Annotated[str, typer.Option("--timeframe", help=f"One of {', '.join(TIMEFRAME_MS)}.")] = "1h",
    until: Annotated[
        str | None, typer.Option("--until", help="Day to stop before, YYYY-MM-DD (UTC); default now.")
    ] = None,
    market: Annotated[str, typer.Option("--market", help="spot or perpetual.")] = "spot",
    # when not given, create_live_exchange reads QUORUM_EXCHANGE_URL_OVERRIDE (ccxt_client.URL_OVERRIDE_ENV)
    url_override: Annotated[
        str | None, typer.Option("--url-override", hidden=True, help="Send API calls to this base URL.")
    ] = None,
) -> None:
    """Download candles via CCXT (no API key needed); re-running resumes after the file's last candle."""
    if timeframe not in TIMEFRAME_MS:
        raise typer.BadParameter(f"use one of {', '.join(TIMEFRAME_MS)}", param_hint="--timeframe")
    try:
        market_type = MarketType(market.lower())
    except ValueError:
        raise typer.BadParameter("use spot or perpetual", param_hint="--market") from None
    since_ms = _parse_day(since, "--since")
    until_ms = _parse_day(until, "--until") if until else None
    if until_ms is not None and until_ms <= since_ms:
        raise typer.BadParameter("must be after --since", param_hint="--until")
    try:
        written = asyncio.run(
            _download(exchange, market_type, symbol, timeframe, out, since_ms, until_ms, url_override)
        )
    except (ExchangeError, CandleDownloadError) as error:
        typer.echo(f"Download stopped: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Done: {written} new candles in {out}.")


async def _download(
    exchange_id: str,
    market_type: MarketType,
    symbol: str,
    timeframe: str,
    out: Path,
    since_ms: int,
    until_ms: int | None,
    url_override: str | None,
) -> int:
    client = create_live_exchange(exchange_id, market_type=market_type, url_override=url_override)
    try:
        result = await download_candles(
            client,
            symbol,
            timeframe,
            out,
            since_ms=since_ms,
            until_ms=until_ms,
            on_page=lambda count, last: typer.echo(f"  +{count} candles, up to {format_timestamp(last)}"),
        )
    finally:
        await client.close()
    if result.resumed_after is not None:
        typer.echo(f"Resumed after {format_timestamp(result.resumed_after)}.")
    return result.written
