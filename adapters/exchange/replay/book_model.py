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

Prices are rounded to the price step as (value / step).to_integral_value(rounding) * step in the caller's
Decimal context, amounts down to the amount step by domain.money.quantize_down (exact). A replay feed keeps one
BookLadder per closed candle: its best prices and imbalance come without level objects (every hour asks for
them), and its levels are built once, up to the deepest book asked for (a fill), serving every depth from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Context, Decimal, getcontext
from itertools import pairwise

from domain.market import BookLevel, Candle, OrderBook
from domain.money import quantize_down

_WIDE = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
_ZERO = Decimal(0)  # what Decimal(0) gives; Decimals are immutable, so one serves every answer


def _round_to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding) * step


def _is_power_of_ten(step: Decimal) -> bool:
    """step is 10**n written as a single digit (0.01, 1E+1; not 10, whose coefficient is 10)."""
    sign, digits, _ = step.as_tuple()
    return not sign and digits == (1,) and step.is_finite()


_LEVEL_NUMBERS = tuple(Decimal(level) for level in range(64))  # replaced by a longer tuple, never changed


def _level_numbers(depth: int) -> tuple[Decimal, ...]:
    """Decimal(k) for k < depth (gap * k converts k to exactly that on every call)."""
    global _LEVEL_NUMBERS
    numbers = _LEVEL_NUMBERS
    if len(numbers) < depth:
        numbers = _LEVEL_NUMBERS = tuple(Decimal(level) for level in range(2 * depth))
    return numbers


class BookSteps:
    """A market's price and amount steps as the book rounds to them (power-of-ten steps take the fast path)."""

    __slots__ = ("amount", "powers_of_ten", "price", "sum_bounds")

    def __init__(self, price: Decimal, amount: Decimal) -> None:
        self.price, self.amount = price, amount
        self.powers_of_ten = price > 0 and amount > 0 and _is_power_of_ten(price) and _is_power_of_ten(amount)
        # BookLadder._sums_exact's figures that do not depend on the ladder, by (depth, context, decay)
        self.sum_bounds: dict[tuple[int, int, str, Decimal], tuple[bool, Decimal, Decimal]] = {}

    def round_price(self, value: Decimal, rounding: str) -> Decimal:
        """_round_to_step(value, price step, rounding); for a step of 10**n in one operation in the common case.

        value / step then only moves the exponent (exact for a value of at most the context's digits), so the
        result is value.quantize(step, rounding): the value rounded at n, written with exponent n. The exception is
        a value already a multiple of the step: if its exponent is above n the division, to_integral_value and
        product keep it (and quantize could even need more digits than the context has), so that rare case takes
        the general formula. quantize runs in a context too wide to signal; its result does not depend on the
        precision.

        That case is not rare: the best level's prices (offset zero) are always multiples. For a positive value
        the general formula has a closed form: value / step is exact (the integer c = value / 10**n has fewer
        digits than value's coefficient, which the context holds, value being a result computed in it) with the
        exponent nearest the ideal exp(value) - n, i.e. value's coefficient at exp(value) - n; to_integral_value
        keeps it when that exponent is not negative and otherwise gives c at exponent 0; the product by the step
        adds n back. So the result is value itself when exp(value) >= n, else c at exponent n, which is
        `rounded`: of the two equal numbers, the one with the larger exponent, which is what max() of two equal
        positive Decimals returns (the wide context leaves its digits alone). Zero and negative values (no such
        price is offered) keep the general formula.
        """
        if self.powers_of_ten:
            rounded = value.quantize(self.price, rounding, _WIDE)
            if rounded != value:
                return rounded
            return _WIDE.max(value, rounded) if value > 0 else _round_to_step(value, self.price, rounding)
        return _round_to_step(value, self.price, rounding)


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

    def spread_from_atr(self, mid: Decimal, atr: Decimal) -> Decimal:
        """min(max_spread, max(min_spread, spread_atr_factor * atr / mid)), the builtins written out (a replay
        asks every hour): max(a, b) is b if b > a else a, and min(a, b) is b if b < a else a, the same object."""
        spread, low, high = self.spread_atr_factor * atr / mid, self.min_spread, self.max_spread
        spread = spread if spread > low else low
        return spread if spread < high else high

    def top_from_mean_volume(self, mean_volume: Decimal) -> Decimal:
        """max(min_top_amount, top_depth_fraction * mean_volume), written out as in spread_from_atr."""
        top, low = self.top_depth_fraction * mean_volume, self.min_top_amount
        return top if top > low else low

    def spread_fraction(self, recent: Sequence[Candle]) -> Decimal:
        return self.spread_from_atr(recent[-1].close, average_true_range(recent[-self.atr_period :]))

    def top_amount(self, recent: Sequence[Candle]) -> Decimal:
        window = recent[-self.volume_period :]
        return self.top_from_mean_volume(sum((candle.volume for candle in window), Decimal(0)) / len(window))

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
        steps = BookSteps(price_step, amount_step)
        return BookLadder(self, mid, self.spread_fraction(recent), self.top_amount(recent), steps).book(
            symbol, ts, depth
        )


class BookLadder:
    """The levels of one synthetic book (mid, spread and top amount fixed), computed once up to the deepest depth
    asked for; a book of any depth is then a prefix of them. Each level is computed as build() always did."""

    __slots__ = ("_decay", "_powers", "_steps", "_unpriced", "asks", "best_ask", "best_bid", "bids", "gap", "top")

    def __init__(
        self,
        model: SyntheticBookModel,
        mid: Decimal,
        spread: Decimal,
        top: Decimal,
        steps: BookSteps,
        powers: list[Decimal] | None = None,
    ) -> None:
        """`powers` caches depth_decay**k across ladders of the same model (and Decimal context)."""
        self._steps, self._decay, self._powers = steps, model.depth_decay, [] if powers is None else powers
        half = mid * spread / 2
        self.gap = half if half > steps.price else steps.price  # max(steps.price, half), written out
        self.best_bid = steps.round_price(mid - half, ROUND_FLOOR)
        self.best_ask = steps.round_price(mid + half, ROUND_CEILING)
        if self.best_ask <= self.best_bid:
            self.best_ask = self.best_bid + max(steps.price, self.gap)
        self.top = top
        self.bids: list[BookLevel | None] = []  # level k's bid, None where its price is not positive
        self.asks: list[BookLevel] = []
        self._unpriced = -1  # the first level without a bid (-1: none so far)

    def _extend(self, depth: int) -> None:
        """Levels up to `depth` (a fill's book: the hourly ticker and imbalance need none of them)."""
        for level in range(len(self.asks), depth):
            amount = self._amount(level)
            bid_price, ask_price = self._level_prices(level)
            self.bids.append(BookLevel(bid_price, amount) if bid_price > 0 else None)
            if bid_price <= 0 and self._unpriced < 0:
                self._unpriced = level
            self.asks.append(BookLevel(ask_price, amount))

    def _level_prices(self, level: int) -> tuple[Decimal, Decimal]:
        """Level k's bid and ask prices, k gaps out from the best (the bid may not be positive: no bid there)."""
        offset = self._offset(level)
        round_price = self._steps.round_price
        return round_price(self.best_bid - offset, ROUND_FLOOR), round_price(self.best_ask + offset, ROUND_CEILING)

    def _offset(self, level: int) -> Decimal:
        """gap * level, level converted to Decimal(level) as the product would (from the table when it holds it)."""
        numbers = _LEVEL_NUMBERS
        return self.gap * (numbers[level] if level < len(numbers) else _level_numbers(level + 1)[level])

    def imbalance(self, depth: int) -> Decimal:
        """book(..., depth).imbalance(depth), pricing only the deepest bid: the levels of both sides hold the same
        amounts, and the bids stop where their price would not be positive, which the deepest one tells. When it
        is not positive the book is built (rare: a price a few gaps above zero)."""
        if depth < 1 or len(self.asks) >= depth:
            return self.book("", 0, max(depth, 0)).imbalance(depth)
        steps = self._steps
        if not steps.round_price(self.best_bid - self._offset(depth - 1), ROUND_FLOOR) > 0:  # the deepest bid
            return self.book("", 0, depth).imbalance(depth)
        if steps.powers_of_ten and self._sums_exact(depth):
            # both sides hold the same amounts, so the difference of two equal exact sums over their exact double:
            # a zero whose exponent is exp(sum) - exp(2 * sum) = 0, which is Decimal(0)
            return _ZERO
        amounts = [self._amount(level) for level in range(depth)]
        bid_volume = sum(amounts, Decimal(0))
        ask_volume = sum(amounts, Decimal(0))
        total = bid_volume + ask_volume
        return (bid_volume - ask_volume) / total if total else Decimal(0)

    def _sums_exact(self, depth: int) -> bool:
        """Whether imbalance's sums are exact in the current context: each of the depth amounts (multiples of the
        power-of-ten amount step, so of 10**e with e = min(its exponent, 0) once added to Decimal(0)) is at most
        max(step, top * power) give or take the product's rounding, and twice their sum must keep below
        10**(prec + e) for every partial sum to fit the context's digits; 4 * depth * the largest amount bounds it
        with room to spare.

        In exact (wide) arithmetic 4 * depth * max(step, top * power) < limit holds exactly when both
        4 * depth * step < limit and (4 * depth * power) * top < limit: what does not depend on the ladder's top is
        worked out once, leaving one product a ladder."""
        context = getcontext()
        key = (depth, context.prec, context.rounding, self._decay)  # the powers are the decay's in this context
        bounds = self._steps.sum_bounds.get(key)
        if bounds is None:
            step = self._steps.amount
            exponent = min(int(step.as_tuple().exponent), 0)
            four_depth = Decimal(4 * depth)
            limit = _WIDE.scaleb(Decimal(1), context.prec + exponent)
            bound = _WIDE.multiply(four_depth, max(self._powers_to(depth)[:depth]))
            bounds = self._steps.sum_bounds[key] = (_WIDE.multiply(four_depth, step) < limit, bound, limit)
        steps_fit, bound, limit = bounds
        return steps_fit and _WIDE.multiply(bound, self.top) < limit

    def _powers_to(self, depth: int) -> list[Decimal]:
        """depth_decay ** k for k < depth (at least), computed once per model and context."""
        powers, decay = self._powers, self._decay
        while len(powers) < depth:
            powers.append(decay ** len(powers))
        return powers

    def _amount(self, level: int) -> Decimal:
        """The amount of both sides' level `level`: top * decay**level, down to the amount step, at least one."""
        amount_step, value = self._steps.amount, self.top * self._powers_to(level + 1)[level]
        if self._steps.powers_of_ten:
            amount = value.quantize(amount_step, ROUND_DOWN, _WIDE)
            return amount if amount > amount_step else amount_step
        return max(amount_step, quantize_down(value, amount_step))

    def best(self) -> tuple[Decimal | None, Decimal]:
        """The best bid (None when its price is not positive) and the best ask."""
        if not self.asks:  # the prices alone: the ticker of every hour needs no level objects
            bid_price, ask_price = self._level_prices(0)
            return (bid_price if bid_price > 0 else None), ask_price
        bid = self.bids[0]
        return (None if bid is None else bid.price), self.asks[0].price

    def book(self, symbol: str, ts: int, depth: int) -> OrderBook:
        if len(self.asks) < depth:
            self._extend(depth)
        if 0 <= self._unpriced < depth:
            bids = tuple(level for level in self.bids[:depth] if level is not None)
        else:
            bids = tuple(self.bids[:depth])  # type: ignore[arg-type]  # no None before depth
        return OrderBook(symbol, ts, bids, tuple(self.asks[:depth]))  # positional: cheaper than keywords
