"""Replay: historical candles served through the MarketData port under a simulated clock."""

from .book_model import SyntheticBookModel, average_true_range
from .clock import SimulatedClock
from .feed import DEFAULT_OHLCV_LIMIT, ReplayDataUnavailable, ReplayFeed
from .resample import aggregate, bucket_start, resample
from .series import ReplaySeries, UnsupportedTimeframe, default_market, split_symbol

__all__ = [
    "DEFAULT_OHLCV_LIMIT",
    "ReplayDataUnavailable",
    "ReplayFeed",
    "ReplaySeries",
    "SimulatedClock",
    "SyntheticBookModel",
    "UnsupportedTimeframe",
    "aggregate",
    "average_true_range",
    "bucket_start",
    "default_market",
    "resample",
    "split_symbol",
]
