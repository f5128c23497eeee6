"""Market data as the engine sees it: prices and amounts in Decimal, timestamps in UTC milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from domain.fast_init import fast_init


class MarketType(StrEnum):
    SPOT = "spot"
    PERPETUAL = "perpetual"  # USDT-margined linear perpetual swap


TIMEFRAME_MS: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


def timeframe_ms(timeframe: str) -> int:
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        raise ValueError(f"unsupported timeframe {timeframe!r}; use one of {', '.join(TIMEFRAME_MS)}") from None


@fast_init
@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV bar; ts is the candle's open time in UTC milliseconds."""

    ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@fast_init
@dataclass(frozen=True, slots=True)
class Ticker:
    symbol: str
    ts: int
    last: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    base_volume: Decimal | None = None
    quote_volume: Decimal | None = None

    @property
    def spread_fraction(self) -> Decimal | None:
        """(ask - bid) / mid, or None when the book side is unknown."""
        if self.bid is None or self.ask is None or self.bid <= 0 or self.ask <= 0:
            return None
        mid = (self.bid + self.ask) / 2
        return (self.ask - self.bid) / mid


@fast_init
@dataclass(frozen=True, slots=True)
class BookLevel:
    price: Decimal
    amount: Decimal


@fast_init
@dataclass(frozen=True, slots=True)
class OrderBook:
    symbol: str
    ts: int
    bids: tuple[BookLevel, ...]  # best (highest) first
    asks: tuple[BookLevel, ...]  # best (lowest) first

    def imbalance(self, depth: int = 20) -> Decimal:
        """(bid volume - ask volume) / total over the top `depth` levels: -1 (all asks) .. +1 (all bids)."""
        bid_volume = sum((level.amount for level in self.bids[:depth]), Decimal(0))
        ask_volume = sum((level.amount for level in self.asks[:depth]), Decimal(0))
        total = bid_volume + ask_volume
        return (bid_volume - ask_volume) / total if total else Decimal(0)


@fast_init
@dataclass(frozen=True, slots=True)
class FundingRate:
    symbol: str
    rate: Decimal
    ts: int
    next_funding_ts: int | None = None
    mark_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """What the exchange allows for one symbol: precision steps and minimums."""

    symbol: str
    base: str
    quote: str
    type: MarketType
    amount_step: Decimal
    price_step: Decimal
    min_amount: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    max_leverage: int = 1
    contract_size: Decimal = Decimal(1)
    taker_fee: Decimal = Decimal("0.001")
    maker_fee: Decimal = Decimal("0.001")
    active: bool = True
    exchange_id: str = field(default="", compare=False)
