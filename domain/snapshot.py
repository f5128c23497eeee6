"""The market as every analyst sees it for one symbol and candle: shared by all users on that symbol.

A snapshot holds no user identity and no balance: only the market, the news and the position side with its
entry price. That is what lets one ensemble answer serve every user on the same symbol and position side.
Indicator values are floats because they come out of indicator math; prices and levels stay Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from domain.fast_init import fast_init
from domain.market import Candle, FundingRate, Ticker
from domain.trading import PositionSide


@fast_init
@dataclass(frozen=True, slots=True)
class TimeframeIndicators:
    """Indicator values on the last closed candle; None where there were too few candles to compute one."""

    close: float | None = None
    rsi: float | None = None
    macd: float | None = None
    macd_signal: float | None = None
    macd_hist: float | None = None
    macd_hist_prev: float | None = None
    bb_lower: float | None = None
    bb_middle: float | None = None
    bb_upper: float | None = None
    bb_percent_b: float | None = None
    bb_bandwidth: float | None = None  # (upper - lower) / middle, a fraction
    ema_20: float | None = None
    ema_50: float | None = None
    ema_200: float | None = None
    trend: str = "unknown"  # up / down / sideways / unknown
    atr: float | None = None
    atr_pct: float | None = None  # ATR / close, a fraction
    volume_ratio: float | None = None  # last volume / mean of the 20 bars before it
    realised_volatility: float | None = None  # stdev of log returns over 20 bars, a fraction per bar


@fast_init
@dataclass(frozen=True, slots=True)
class TimeframeView:
    """Closed candles (oldest first) and their indicators for one timeframe."""

    timeframe: str
    candles: tuple[Candle, ...]
    indicators: TimeframeIndicators


@dataclass(frozen=True, slots=True)
class NewsItem:
    """One headline, matched to the base symbols it mentions and scored -1 (bearish) .. +1 (bullish)."""

    title: str
    url: str
    source: str
    published_at: datetime  # timezone-aware UTC
    symbols: frozenset[str] = frozenset()
    sentiment: float = 0.0

    def __post_init__(self) -> None:
        if self.published_at.tzinfo is None:
            raise ValueError("NewsItem.published_at must be timezone-aware UTC")
        if not -1.0 <= self.sentiment <= 1.0:
            raise ValueError(f"sentiment {self.sentiment} is outside -1..+1")


class SnapshotKey(NamedTuple):
    """What makes two snapshots interchangeable for the ensemble."""

    exchange: str
    symbol: str
    candle_ts: int  # open time (UTC ms) of the last closed candle of the base timeframe
    position_side: PositionSide


@fast_init
@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    exchange: str
    symbol: str
    base_timeframe: str
    candle_ts: int
    price: Decimal  # last traded price from the ticker
    ticker: Ticker
    timeframes: tuple[TimeframeView, ...]
    position_side: PositionSide = PositionSide.FLAT
    entry_price: Decimal | None = None
    order_book_imbalance: Decimal | None = None  # -1 (all asks) .. +1 (all bids)
    spread_fraction: Decimal | None = None
    funding_rate: FundingRate | None = None
    news: tuple[NewsItem, ...] = ()

    @property
    def key(self) -> SnapshotKey:
        return SnapshotKey(self.exchange, self.symbol, self.candle_ts, self.position_side)

    @property
    def base(self) -> TimeframeView:
        """The base timeframe's view (timeframe()'s loop written here: every analyst reads it at every vote)."""
        base = self.base_timeframe
        for view in self.timeframes:
            if view.timeframe == base:
                return view
        raise LookupError(f"snapshot has no base timeframe {base}")

    def timeframe(self, timeframe: str) -> TimeframeView | None:
        for view in self.timeframes:
            if view.timeframe == timeframe:
                return view
        return None


def consultation_key(key: SnapshotKey, fingerprint: str) -> str:
    """The text form of one consultation: the snapshot key and the ensemble configuration's fingerprint.

    trade_decisions.consultation_key points at the ai_decisions rows with the same text."""
    return f"{key.exchange}:{key.symbol}:{key.candle_ts}:{key.position_side.value}:{fingerprint}"
