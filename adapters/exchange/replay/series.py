"""One symbol's replay data: its market rules and base candles, with the cached longer timeframes.

A candle is revealed only once it has closed (open time + timeframe <= clock time). Longer timeframes are
aggregated once per series and then sliced by time, so a backtest over years stays fast; the forming candle of
each timeframe grows by one base candle at a time, and the per-candle terms of the ticker and book sums (true
range, volume * close) are computed once.

The sums and the forming candle are computed in the caller's Decimal context, the same operations in the same
order as a straightforward computation, so the values (and their exponents) are identical; what is kept is kept
per context (precision, rounding). The resampled closed candles are computed once, in the context of the first
call for that timeframe.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, getcontext
from itertools import islice
from operator import attrgetter, lt, mul, sub

from adapters.exchange.candle_file import infer_timeframe
from adapters.exchange.errors import ExchangeError
from domain.market import TIMEFRAME_MS, Candle, MarketInfo, MarketType, timeframe_ms

from .resample import aggregate, fold, resample

_TS, _HIGH, _LOW, _CLOSE, _VOLUME = (
    attrgetter("ts"),
    attrgetter("high"),
    attrgetter("low"),
    attrgetter("close"),
    attrgetter("volume"),
)
_NO_VOLUME = Decimal(0)  # the volume of a forming candle no base candle has closed in yet
_ZERO = Decimal(0)  # Decimal(0) of the sums (a Decimal is immutable: one serves them all)


class UnsupportedTimeframe(ExchangeError):
    code = "unsupported_timeframe"


def context_key() -> tuple[int, str]:
    """What of the Decimal context changes a computed value here: its precision and rounding."""
    context = getcontext()
    return context.prec, context.rounding


@dataclass(frozen=True, slots=True)
class CandleTerms:
    """Per-candle terms of the ticker's and the synthetic book's sums, in one Decimal context.

    A window's sum is then the straightforward left fold over a list slice: integer prefix sums were measured to
    cost as much, since they need each term's exponent and a conversion back to Decimal.
    """

    volumes: list[Decimal]
    quote_volumes: list[Decimal]  # volume * close
    ranges: list[Decimal]  # high - low: the true range of a window's first candle, which has no previous close
    true_ranges: list[Decimal]  # [k] = max(high, previous close) - min(low, previous close); [0] = ranges[0]

    @classmethod
    def of(cls, candles: Sequence[Candle]) -> CandleTerms:
        """The terms of every candle. A true range's max(high, previous close) keeps the high unless the close is
        strictly above it and min(low, previous close) the low unless the close is strictly below, as written."""
        highs, lows = list(map(_HIGH, candles)), list(map(_LOW, candles))
        closes, volumes = list(map(_CLOSE, candles)), list(map(_VOLUME, candles))
        ranges = list(map(sub, highs, lows))
        true_ranges = ranges[:1] + [
            (close if close > high else high) - (close if close < low else low)
            for close, high, low in zip(closes, islice(highs, 1, None), islice(lows, 1, None), strict=False)
        ]
        return cls(
            volumes=volumes, quote_volumes=list(map(mul, volumes, closes)), ranges=ranges, true_ranges=true_ranges
        )

    def true_range_sum(self, start: int, stop: int) -> Decimal:
        """average_true_range's sum over candles[start:stop] (start < stop): Decimal(0) + the first candle's
        range + the true ranges of the others, left to right."""
        return sum(self.true_ranges[start + 1 : stop], _ZERO + self.ranges[start])


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
    _base_ms: int = field(init=False, repr=False, compare=False, default=0)
    # how many base candles a day holds, at least one (a ticker's 24h volumes), fixed with the base timeframe
    day_count: int = field(init=False, repr=False, compare=False, default=0)
    _timeframes: dict[str, int] = field(init=False, repr=False, compare=False, default_factory=dict)
    _terms: dict[tuple[int, str], CandleTerms] = field(init=False, repr=False, compare=False, default_factory=dict)
    # per timeframe: (context, bucket start, closed base candles, the forming candle, whether base candles built it)
    _forming_cache: dict[int, tuple[tuple[int, str], int, int, Candle, bool]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if not self.candles:
            raise ValueError(f"no candles for {self.market.symbol}")
        if not self.base_timeframe:
            self.base_timeframe = infer_timeframe(self.candles)
        self._base_ms = timeframe_ms(self.base_timeframe)
        self.day_count = max(1, 86_400_000 // self._base_ms)
        self._open_times = list(map(_TS, self.candles))
        if not all(map(lt, self._open_times, islice(self._open_times, 1, None))):
            raise ValueError(f"candles for {self.market.symbol} must be sorted oldest first with no duplicates")
        if any(map(self.base_ms.__rmod__, self._open_times)):  # some ts % base_ms is not 0
            misaligned = next(ts for ts in self._open_times if ts % self.base_ms)
            raise ValueError(
                f"candle open time {misaligned} of {self.market.symbol} is not on the UTC {self.base_timeframe} grid"
            )

    @property
    def symbol(self) -> str:
        return self.market.symbol

    @property
    def base_ms(self) -> int:
        return self._base_ms

    @property
    def first_close_ms(self) -> int:
        return self.candles[0].ts + self.base_ms

    @property
    def last_close_ms(self) -> int:
        return self.candles[-1].ts + self.base_ms

    def closed_count(self, now_ms: int) -> int:
        """How many base candles have closed by now_ms."""
        return bisect_right(self._open_times, now_ms - self._base_ms)

    def closed(self, now_ms: int, count: int) -> Sequence[Candle]:
        """The last `count` base candles closed by now_ms, oldest first."""
        end = self.closed_count(now_ms)
        return self.candles[max(0, end - count) : end]

    def terms(self, context: tuple[int, str]) -> CandleTerms:
        """The per-candle sum terms computed in the current Decimal context, whose context_key() is `context`."""
        terms = self._terms.get(context)
        if terms is None:
            if len(self._terms) >= 4:  # contexts come and go: keep a few
                self._terms.clear()
            terms = self._terms[context] = CandleTerms.of(self.candles)
        return terms

    def check_timeframe(self, timeframe: str) -> int:
        known = self._timeframes.get(timeframe)
        if known is not None:
            return known
        supported = [name for name, ms in TIMEFRAME_MS.items() if ms >= self.base_ms and ms % self.base_ms == 0]
        target = TIMEFRAME_MS.get(timeframe)
        if target is None or timeframe not in supported:
            raise UnsupportedTimeframe(
                f"The replay data for {self.symbol} has {self.base_timeframe} candles, so it cannot produce "
                f"{timeframe} candles; use one of {', '.join(supported)}."
            )
        self._timeframes[timeframe] = target
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
        close with zero volume, the way a live exchange shows a candle that has just opened. As the clock moves
        through a bucket the cached candle takes in the newly closed base candles the way aggregate() folds them.
        """
        start = now_ms - now_ms % target_ms
        end = bisect_right(self._open_times, now_ms - self._base_ms)
        if end == 0:
            return None
        decimal_context = getcontext()
        context = (decimal_context.prec, decimal_context.rounding)  # context_key(), inline on this hourly path
        cached = self._forming_cache.get(target_ms)
        if cached is not None and cached[0] == context and cached[1] == start:
            if cached[2] == end:
                return cached[3]
            if cached[4] and cached[2] < end:
                candle = fold(cached[3], self.candles[cached[2] : end])
                self._forming_cache[target_ms] = (context, start, end, candle, True)
                return candle
        first = bisect_left(self._open_times, start, hi=end)
        if first < end:
            candle = aggregate(self.candles[first:end], start)
        else:
            last = self.candles[end - 1].close
            candle = Candle(start, last, last, last, last, _NO_VOLUME)  # positional: the hot path of every hour
        self._forming_cache[target_ms] = (context, start, end, candle, first < end)
        return candle

    def closed_ohlcv(self, timeframe: str, now_ms: int, limit: int) -> list[Candle]:
        """ohlcv(timeframe, now_ms, None, limit, False) for limit > 0: the last `limit` closed candles, one slice
        (without a forming candle the slice holds at most limit candles, so ohlcv would return it as it is)."""
        target_ms = self._timeframes.get(timeframe) or self.check_timeframe(timeframe)
        candles, open_times = self._resampled.get(target_ms) or self._buckets(target_ms)
        closed_end = bisect_left(open_times, now_ms - now_ms % target_ms)
        first = closed_end - limit
        return candles[first if first > 0 else 0 : closed_end]  # max(0, first), written out

    def ohlcv(self, timeframe: str, now_ms: int, since: int | None, limit: int, include_forming: bool) -> list[Candle]:
        """Closed candles of `timeframe` by now_ms (plus the forming one when asked), ccxt's since/limit rules."""
        target_ms = self._timeframes.get(timeframe) or self.check_timeframe(timeframe)
        candles, open_times = self._resampled.get(target_ms) or self._buckets(target_ms)
        closed_end = bisect_left(open_times, now_ms - now_ms % target_ms)
        forming = self._forming(target_ms, now_ms) if include_forming else None
        if since is None:
            wanted = limit - (1 if forming else 0)
            result = candles[max(0, closed_end - wanted) : closed_end] if wanted > 0 else []
            if forming is not None:
                result.append(forming)
            return result[-limit:] if limit <= 0 or len(result) > limit else result
        first = bisect_left(open_times, since, hi=closed_end)
        result = candles[first : min(closed_end, first + limit)]
        if forming is not None and forming.ts >= since and len(result) < limit:
            result.append(forming)
        return result
