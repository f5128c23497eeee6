"""A synthetic order book derived from candles, for replays where no historical book exists.

The model (deterministic, so a backtest is reproducible):
- mid = close of the latest closed candle.
- spread (a fraction of mid) = spread_atr_factor * ATR / mid, clamped to [min_spread, max_spread], where ATR is
  the mean true range of the last `atr_period` closed candles. Volatile markets get wider spreads.
- best bid = mid * (1 - spread/2) rounded down to the price step, best ask = mid * (1 + spread/2) rounded up;
  level k (k = 0, 1, ...) lies k * gap further out, with gap = max(price step, mid * spread / 2).
- depth: the best level holds top_depth_fraction of the mean candle volume over the last `volume_period`
  candles (at least min_top_amount); level k holds that times depth_decay**k, rounded down to the amount step.
  A market order larger than a few levels therefore pays visible slippage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import pairwise

from domain.market import BookLevel, Candle, OrderBook
from domain.money import quantize_down


def _round_to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def average_true_range(candles: Sequence[Candle]) -> Decimal:
    """Mean true range; the first candle's range has no previous close and uses high - low."""
    if not candles:
        return Decimal(0)
    ranges = [candles[0].high - candles[0].low]
    for previous, candle in pairwise(candles):
        ranges.append(max(candle.high, previous.close) - min(candle.low, previous.close))
    return sum(ranges, Decimal(0)) / len(ranges)


@dataclass(frozen=True, slots=True)
class SyntheticBookModel:
    min_spread: Decimal = Decimal("0.0001")  # 1 basis point
    max_spread: Decimal = Decimal("0.01")
    spread_atr_factor: Decimal = Decimal("0.05")
    atr_period: int = 14
    volume_period: int = 24
    top_depth_fraction: Decimal = Decimal("0.05")
    depth_decay: Decimal = Decimal("0.8")
    min_top_amount: Decimal = Decimal("0.001")

    @property
    def lookback(self) -> int:
        """How many recent closed candles build() needs."""
        return max(self.atr_period, self.volume_period)

    def spread_fraction(self, recent: Sequence[Candle]) -> Decimal:
        mid = recent[-1].close
        atr = average_true_range(recent[-self.atr_period :])
        return min(self.max_spread, max(self.min_spread, self.spread_atr_factor * atr / mid))

    def top_amount(self, recent: Sequence[Candle]) -> Decimal:
        window = recent[-self.volume_period :]
        mean_volume = sum((candle.volume for candle in window), Decimal(0)) / len(window)
        return max(self.min_top_amount, self.top_depth_fraction * mean_volume)

    def build(
        self,
        symbol: str,
        recent: Sequence[Candle],
        ts: int,
        depth: int,
        price_step: Decimal,
        amount_step: Decimal,
    ) -> OrderBook:
        """The book at time ts from the latest closed candles (oldest first; the last one sets the mid)."""
        if not recent:
            raise ValueError("the synthetic book needs at least one closed candle")
        mid = recent[-1].close
        spread = self.spread_fraction(recent)
        half = mid * spread / 2
        gap = max(price_step, half)
        best_bid = _round_to_step(mid - half, price_step, ROUND_FLOOR)
        best_ask = _round_to_step(mid + half, price_step, ROUND_CEILING)
        if best_ask <= best_bid:
            best_ask = best_bid + max(price_step, gap)
        top = self.top_amount(recent)
        bids: list[BookLevel] = []
        asks: list[BookLevel] = []
        for level in range(depth):
            amount = max(amount_step, quantize_down(top * self.depth_decay**level, amount_step))
            bid_price = _round_to_step(best_bid - gap * level, price_step, ROUND_FLOOR)
            if bid_price > 0:
                bids.append(BookLevel(price=bid_price, amount=amount))
            asks.append(
                BookLevel(price=_round_to_step(best_ask + gap * level, price_step, ROUND_CEILING), amount=amount)
            )
        return OrderBook(symbol=symbol, ts=ts, bids=tuple(bids), asks=tuple(asks))
