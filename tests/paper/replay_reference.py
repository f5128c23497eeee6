"""The replay feed's values computed the straightforward way, as the feed computed them before it was optimized.

Kept verbatim (every sum, division and rounding in the same order; amounts through domain.money.quantize_down as
the book always called it; resampled buckets cached per timeframe as the series always did) so that the optimized
feed can be compared to it value for value and representation for representation (Decimal('1.50') is not
accepted for Decimal('1.5')).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import pairwise

from adapters.exchange.candle_file import format_timestamp
from adapters.exchange.replay import ReplayDataUnavailable, SyntheticBookModel
from domain.market import BookLevel, Candle, FundingRate, MarketInfo, OrderBook, Ticker
from domain.money import quantize_down


def _round_to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def average_true_range(candles: Sequence[Candle]) -> Decimal:
    if not candles:
        return Decimal(0)
    ranges = [candles[0].high - candles[0].low]
    for previous, candle in pairwise(candles):
        ranges.append(max(candle.high, previous.close) - min(candle.low, previous.close))
    return sum(ranges, Decimal(0)) / len(ranges)


def build_book(
    model: SyntheticBookModel,
    symbol: str,
    recent: Sequence[Candle],
    ts: int,
    depth: int,
    price_step: Decimal,
    amount_step: Decimal,
) -> OrderBook:
    mid = recent[-1].close
    atr = average_true_range(recent[-model.atr_period :])
    spread = min(model.max_spread, max(model.min_spread, model.spread_atr_factor * atr / mid))
    half = mid * spread / 2
    gap = max(price_step, half)
    best_bid = _round_to_step(mid - half, price_step, ROUND_FLOOR)
    best_ask = _round_to_step(mid + half, price_step, ROUND_CEILING)
    if best_ask <= best_bid:
        best_ask = best_bid + max(price_step, gap)
    window = recent[-model.volume_period :]
    mean_volume = sum((candle.volume for candle in window), Decimal(0)) / len(window)
    top = max(model.min_top_amount, model.top_depth_fraction * mean_volume)
    bids: list[BookLevel] = []
    asks: list[BookLevel] = []
    for level in range(depth):
        amount = max(amount_step, quantize_down(top * model.depth_decay**level, amount_step))
        bid_price = _round_to_step(best_bid - gap * level, price_step, ROUND_FLOOR)
        if bid_price > 0:
            bids.append(BookLevel(price=bid_price, amount=amount))
        asks.append(BookLevel(price=_round_to_step(best_ask + gap * level, price_step, ROUND_CEILING), amount=amount))
    return OrderBook(symbol=symbol, ts=ts, bids=tuple(bids), asks=tuple(asks))


def aggregate(candles: Sequence[Candle], ts: int) -> Candle:
    return Candle(
        ts=ts,
        open=candles[0].open,
        high=max(candle.high for candle in candles),
        low=min(candle.low for candle in candles),
        close=candles[-1].close,
        volume=sum((candle.volume for candle in candles), candles[0].volume * 0),
    )


def resample(candles: Sequence[Candle], timeframe_ms: int) -> list[Candle]:
    result: list[Candle] = []
    group: list[Candle] = []
    current = 0
    for candle in candles:
        start = candle.ts - candle.ts % timeframe_ms
        if start != current and group:
            result.append(aggregate(group, current))
            group = []
        current = start
        group.append(candle)
    if group:
        result.append(aggregate(group, current))
    return result


class ReferenceFeed:
    """One symbol's ticker, book, funding and OHLCV at any clock time, recomputed from scratch on every call."""

    def __init__(
        self,
        market: MarketInfo,
        candles: Sequence[Candle],
        base_ms: int,
        model: SyntheticBookModel | None = None,
        funding_rate: Decimal = Decimal(0),
        funding_interval_ms: int = 8 * 3_600_000,
    ) -> None:
        self.market, self.candles, self.base_ms = market, list(candles), base_ms
        self.model = model or SyntheticBookModel()
        self.funding_rate, self.funding_interval_ms = funding_rate, funding_interval_ms
        self.open_times = [candle.ts for candle in self.candles]
        self.buckets: dict[int, list[Candle]] = {}  # resampled once per timeframe, as the feed always did

    def closed_count(self, now: int) -> int:
        return bisect_right(self.open_times, now - self.base_ms)

    def latest(self, now: int, count: int) -> list[Candle]:
        end = self.closed_count(now)
        recent = list(self.candles[max(0, end - count) : end])
        if not recent:
            raise ReplayDataUnavailable(
                f"No {self.market.symbol} candle has closed yet at {format_timestamp(now)}; the replay data starts "
                f"with the candle closing at {format_timestamp(self.open_times[0] + self.base_ms)}."
            )
        return recent

    def order_book(self, now: int, depth: int) -> OrderBook:
        recent = self.latest(now, self.model.lookback)
        market = self.market
        return build_book(self.model, market.symbol, recent, now, max(1, depth), market.price_step, market.amount_step)

    def ticker(self, now: int) -> Ticker:
        day = self.latest(now, max(1, 86_400_000 // self.base_ms))
        book = self.order_book(now, 1)
        return Ticker(
            symbol=self.market.symbol,
            ts=now,
            last=day[-1].close,
            bid=book.bids[0].price if book.bids else None,
            ask=book.asks[0].price if book.asks else None,
            base_volume=sum((candle.volume for candle in day), Decimal(0)),
            quote_volume=sum((candle.volume * candle.close for candle in day), Decimal(0)),
        )

    def funding(self, now: int) -> FundingRate:
        last = self.latest(now, 1)[-1]
        interval = self.funding_interval_ms
        return FundingRate(
            symbol=self.market.symbol,
            rate=self.funding_rate,
            ts=now,
            next_funding_ts=(now // interval + 1) * interval,
            mark_price=last.close,
        )

    def forming(self, target_ms: int, now: int) -> Candle | None:
        start = now - now % target_ms
        end = self.closed_count(now)
        if end == 0:
            return None
        first = bisect_left(self.open_times, start, hi=end)
        if first < end:
            return aggregate(self.candles[first:end], start)
        last_close = self.candles[end - 1].close
        return Candle(ts=start, open=last_close, high=last_close, low=last_close, close=last_close, volume=Decimal(0))

    def ohlcv(self, target_ms: int, now: int, since: int | None, limit: int, include_forming: bool) -> list[Candle]:
        if limit <= 0:
            return []
        if target_ms not in self.buckets:
            self.buckets[target_ms] = (
                list(self.candles) if target_ms == self.base_ms else resample(self.candles, target_ms)
            )
        candles = self.buckets[target_ms]
        open_times = [candle.ts for candle in candles]
        closed_end = bisect_left(open_times, now - now % target_ms)
        forming = self.forming(target_ms, now) if include_forming else None
        if since is None:
            wanted = limit - (1 if forming else 0)
            result = list(candles[max(0, closed_end - wanted) : closed_end]) if wanted > 0 else []
        else:
            first = bisect_left(open_times, since, hi=closed_end)
            result = list(candles[first : min(closed_end, first + limit)])
            if forming is not None and (forming.ts < since or len(result) >= limit):
                forming = None
        if forming is not None:
            result.append(forming)
        return result[-limit:] if since is None else result
