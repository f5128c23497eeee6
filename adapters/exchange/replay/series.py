"""One symbol's replay data: its market rules and base candles, with the cached longer timeframes.

A candle is revealed only once it has closed (open time + timeframe <= clock time). Longer timeframes are
aggregated once per series and then sliced by time, so a backtest over years stays fast.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from adapters.exchange.candle_file import infer_timeframe
from adapters.exchange.errors import ExchangeError
from domain.market import TIMEFRAME_MS, Candle, MarketInfo, MarketType, timeframe_ms

from .resample import aggregate, bucket_start, resample


class UnsupportedTimeframe(ExchangeError):
    code = "unsupported_timeframe"


def split_symbol(symbol: str) -> tuple[str, str]:
    """("BTC", "USDT") from "BTC/USDT" or the ccxt perpetual form "BTC/USDT:USDT"."""
    pair = symbol.split(":", 1)[0]
    base, sep, quote = pair.partition("/")
    if not sep or not base or not quote:
        raise ValueError(f"symbol {symbol!r} must look like BASE/QUOTE, e.g. BTC/USDT")
    return base, quote


def default_market(
    symbol: str, market_type: MarketType, reference_price: Decimal, exchange_id: str = "replay"
) -> MarketInfo:
    """Binance-like rules scaled to the price: a price step of ~1e-5 of the price, an amount step worth ~0.1 quote.

    Spot pays 0.1% either side; USDT perpetuals pay 0.05% taker / 0.02% maker and allow up to 125x leverage.
    """
    base, quote = split_symbol(symbol)
    magnitude = math.floor(math.log10(float(reference_price)))
    price_step = Decimal(1).scaleb(magnitude - 5)
    amount_step = Decimal(1).scaleb(min(0, math.floor(math.log10(0.1 / float(reference_price)))))
    perpetual = market_type is MarketType.PERPETUAL
    return MarketInfo(
        symbol=symbol,
        base=base,
        quote=quote,
        type=market_type,
        amount_step=amount_step,
        price_step=price_step,
        min_amount=amount_step,
        min_notional=Decimal(5),
        max_leverage=125 if perpetual else 1,
        taker_fee=Decimal("0.0005") if perpetual else Decimal("0.001"),
        maker_fee=Decimal("0.0002") if perpetual else Decimal("0.001"),
        exchange_id=exchange_id,
    )


@dataclass(slots=True)
class ReplaySeries:
    market: MarketInfo
    candles: Sequence[Candle]
    base_timeframe: str = ""
    _open_times: list[int] = field(init=False, repr=False)
    _resampled: dict[int, tuple[list[Candle], list[int]]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.candles:
            raise ValueError(f"no candles for {self.market.symbol}")
        if not self.base_timeframe:
            self.base_timeframe = infer_timeframe(self.candles)
        timeframe_ms(self.base_timeframe)
        self._open_times = [candle.ts for candle in self.candles]
        if any(later <= earlier for earlier, later in zip(self._open_times, self._open_times[1:], strict=False)):
            raise ValueError(f"candles for {self.market.symbol} must be sorted oldest first with no duplicates")
        misaligned = next((ts for ts in self._open_times if ts % self.base_ms), None)
        if misaligned is not None:
            raise ValueError(
                f"candle open time {misaligned} of {self.market.symbol} is not on the UTC {self.base_timeframe} grid"
            )

    @property
    def symbol(self) -> str:
        return self.market.symbol

    @property
    def base_ms(self) -> int:
        return timeframe_ms(self.base_timeframe)

    @property
    def first_close_ms(self) -> int:
        return self.candles[0].ts + self.base_ms

    @property
    def last_close_ms(self) -> int:
        return self.candles[-1].ts + self.base_ms

    def closed_count(self, now_ms: int) -> int:
        """How many base candles have closed by now_ms."""
        return bisect_right(self._open_times, now_ms - self.base_ms)

    def closed(self, now_ms: int, count: int) -> Sequence[Candle]:
        """The last `count` base candles closed by now_ms, oldest first."""
        end = self.closed_count(now_ms)
        return self.candles[max(0, end - count) : end]

    def check_timeframe(self, timeframe: str) -> int:
        supported = [name for name, ms in TIMEFRAME_MS.items() if ms >= self.base_ms and ms % self.base_ms == 0]
        target = TIMEFRAME_MS.get(timeframe)
        if target is None or timeframe not in supported:
            raise UnsupportedTimeframe(
                f"The replay data for {self.symbol} has {self.base_timeframe} candles, so it cannot produce "
                f"{timeframe} candles; use one of {', '.join(supported)}."
            )
        return target

    def _buckets(self, target_ms: int) -> tuple[list[Candle], list[int]]:
        cached = self._resampled.get(target_ms)
        if cached is None:
            candles = list(self.candles) if target_ms == self.base_ms else resample(self.candles, target_ms)
            cached = (candles, [candle.ts for candle in candles])
            self._resampled[target_ms] = cached
        return cached

    def _forming(self, target_ms: int, now_ms: int) -> Candle | None:
        """The candle of the bucket holding now_ms, built only from base candles already closed.

        Right after a bucket opens no base candle in it has closed: the forming candle is then flat at the last
        close with zero volume, the way a live exchange shows a candle that has just opened.
        """
        start = bucket_start(now_ms, target_ms)
        end = self.closed_count(now_ms)
        if end == 0:
            return None
        first = bisect_left(self._open_times, start, hi=end)
        if first < end:
            return aggregate(self.candles[first:end], start)
        last_close = self.candles[end - 1].close
        return Candle(ts=start, open=last_close, high=last_close, low=last_close, close=last_close, volume=Decimal(0))

    def ohlcv(self, timeframe: str, now_ms: int, since: int | None, limit: int, include_forming: bool) -> list[Candle]:
        """Closed candles of `timeframe` by now_ms (plus the forming one when asked), ccxt's since/limit rules."""
        target_ms = self.check_timeframe(timeframe)
        candles, open_times = self._buckets(target_ms)
        current_bucket = bucket_start(now_ms, target_ms)
        closed_end = bisect_left(open_times, current_bucket)
        forming = self._forming(target_ms, now_ms) if include_forming else None
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
