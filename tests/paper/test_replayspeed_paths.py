"""The replay's hourly shortcuts against the straightforward forms they replace, value and exponent alike.

Compared by repr, so Decimal('10.00') is not accepted for Decimal('1E+1').
"""

from __future__ import annotations

from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    localcontext,
)

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.exchange.candle_file import read_candles, shipped_candle_file
from adapters.exchange.replay import ReplaySeries, SyntheticBookModel, default_market
from adapters.exchange.replay.book_model import BookLadder, BookSteps, _round_to_step
from adapters.exchange.replay.feed import _window_start
from domain.market import MarketType

D = Decimal
HOUR = 3_600_000
_WIDE = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
ROUNDINGS = [ROUND_FLOOR, ROUND_CEILING, ROUND_DOWN, ROUND_UP, ROUND_HALF_EVEN, ROUND_HALF_UP]


def _steps() -> st.SearchStrategy[Decimal]:
    return st.sampled_from([D("0.01"), D("0.001"), D("1"), D("1E+1"), D("1E-8"), D("0.00001")])


@settings(max_examples=600, deadline=None)
@given(
    coefficient=st.one_of(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from([0, 1, 10, 100])),
    exponent=st.integers(min_value=-30, max_value=4),
    zero_exponent=st.integers(min_value=-30, max_value=4),
    operation=st.sampled_from(["+", "-", "plus"]),
    step=_steps(),
    rounding=st.sampled_from(ROUNDINGS),
    prec=st.sampled_from([28, 12, 6, 4]),
    context_rounding=st.sampled_from(ROUNDINGS),
)
def test_round_price_when_power_of_ten_step_then_the_general_formula_digit_for_digit(
    coefficient, exponent, zero_exponent, operation, step, rounding, prec, context_rounding
):
    """Values as the ladder rounds them: results of the context's arithmetic (at most its digits), often
    multiples of the step spelled with a larger, equal or smaller exponent (a price minus a zero offset), zero
    (of either sign: x - x is -0 when rounding to floor) or negative."""
    exact, zero = D(coefficient).scaleb(exponent, _WIDE), D(0).scaleb(zero_exponent)
    steps = BookSteps(step, D("0.001"))
    assert steps.powers_of_ten
    with localcontext(prec=prec, rounding=context_rounding):
        value = exact + zero if operation == "+" else exact - zero if operation == "-" else +exact
        for candidate in (value, value - value):
            assert repr(steps.round_price(candidate, rounding)) == repr(_round_to_step(candidate, step, rounding))


@pytest.mark.parametrize(
    "value, step, want",
    [
        ("1E+1", "0.01", "1E+1"),  # a multiple with a larger exponent keeps it
        ("10.000000", "0.01", "10.00"),  # with a smaller one takes the step's
        ("10.00", "0.01", "10.00"),
        ("11195.64", "0.01", "11195.64"),
        ("11195.6400000000000000000000", "0.01", "11195.64"),
        ("1.2E+3", "1E+1", "1.2E+3"),
        ("0E-5", "0.01", "0.00"),  # zero and negatives keep the general formula
        ("-0E-5", "0.01", "-0.00"),
        ("-1E+1", "0.01", "-1E+1"),
    ],
)
@pytest.mark.parametrize("rounding", [ROUND_FLOOR, ROUND_CEILING])
def test_round_price_when_value_is_a_multiple_of_the_step_then_the_spelling_of_the_general_formula(
    value, step, want, rounding
):
    steps = BookSteps(D(step), D("0.001"))
    got = steps.round_price(D(value), rounding)
    assert repr(got) == repr(_round_to_step(D(value), D(step), rounding)) == repr(D(want))


@settings(max_examples=300, deadline=None)
@given(
    spread_factor=st.sampled_from([D("0.05"), D("1.7"), D("0")]),
    low=st.sampled_from([D("0.0001"), D("0.02"), D("0.010"), D("-1")]),
    high=st.sampled_from([D("0.01"), D("0.5"), D("0.0100")]),
    atr=st.decimals(min_value=0, max_value=10_000, places=6, allow_nan=False),
    mid=st.decimals(min_value=D("0.001"), max_value=100_000, places=3, allow_nan=False),
    fraction=st.sampled_from([D("0.05"), D("0.333"), D("0")]),
    min_top=st.sampled_from([D("0.001"), D("7.5"), D("7.50")]),
    mean=st.decimals(min_value=0, max_value=1_000_000, places=4, allow_nan=False),
)
def test_model_bounds_when_written_out_then_the_objects_the_builtins_pick(
    spread_factor, low, high, atr, mid, fraction, min_top, mean
):
    model = SyntheticBookModel(
        min_spread=low, max_spread=high, spread_atr_factor=spread_factor, top_depth_fraction=fraction,
        min_top_amount=min_top,
    )  # fmt: skip
    spread = model.spread_from_atr(mid, atr)
    want = min(model.max_spread, max(model.min_spread, model.spread_atr_factor * atr / mid))
    assert repr(spread) == repr(want)
    if want is low or want is high:  # a bound: the very object the builtins return
        assert spread is want
    top = model.top_from_mean_volume(mean)
    want = max(model.min_top_amount, model.top_depth_fraction * mean)
    assert repr(top) == repr(want)
    assert (top is min_top) == (want is min_top)


@pytest.mark.parametrize("atr", ["0.0100", "0.010", "0.01", "0.0099", "0.02"])
def test_model_bounds_when_equal_values_are_spelled_apart_then_the_one_the_builtins_keep(atr):
    model = SyntheticBookModel(min_spread=D("0.010"), max_spread=D("0.01"), spread_atr_factor=D(1))
    want = min(model.max_spread, max(model.min_spread, model.spread_atr_factor * D(atr) / D(1)))
    assert repr(model.spread_from_atr(D(1), D(atr))) == repr(want)
    model = SyntheticBookModel(min_top_amount=D("5.0"), top_depth_fraction=D(1))
    assert repr(model.top_from_mean_volume(D(atr) * 500)) == repr(max(D("5.0"), D(1) * (D(atr) * 500)))


@pytest.mark.parametrize("period", [-40, -3, -1, 0, 1, 2, 14, 24, 30, 100])
def test_window_start_when_any_period_then_the_start_of_the_range_slice(period):
    for start in range(0, 8):
        for stop in range(start, 40):
            assert _window_start(start, stop, period) == range(start, stop)[-period:].start


def _old_sums_exact(ladder: BookLadder, depth: int) -> bool:
    """BookLadder._sums_exact as it was: 4 * depth * max(step, top * power) < 10 ** (prec + e), all exact."""
    with localcontext() as context:
        step = ladder._steps.amount
        exponent = min(int(step.as_tuple().exponent), 0)
        power = max(ladder._powers_to(depth)[:depth])
        limit = _WIDE.scaleb(D(1), context.prec + exponent)
        return _WIDE.multiply(D(4 * depth), max(step, _WIDE.multiply(ladder.top, power))) < limit


@settings(max_examples=300, deadline=None)
@given(
    top=st.decimals(min_value=D("0.001"), max_value=D("1E+30"), allow_nan=False, allow_infinity=False),
    amount_step=st.sampled_from([D("0.001"), D("1"), D("1E+3"), D("1E+24"), D("1E-8")]),
    decay=st.sampled_from([D("0.8"), D("1"), D("1.5"), D("0.123456789")]),
    depth=st.integers(min_value=1, max_value=60),
    prec=st.sampled_from([28, 12, 6, 4]),
)
def test_sums_exact_when_split_into_its_two_bounds_then_the_same_verdict(top, amount_step, decay, depth, prec):
    model = SyntheticBookModel(depth_decay=decay)
    with localcontext(prec=prec):
        ladder = BookLadder(model, D(100), D("0.001"), top, BookSteps(D("0.01"), amount_step))
        assert ladder._sums_exact(depth) == _old_sums_exact(ladder, depth)
        assert ladder._sums_exact(depth) == _old_sums_exact(ladder, depth)  # the kept bounds give the same


@pytest.fixture(scope="module")
def shipped_series() -> ReplaySeries:
    candles = read_candles(shipped_candle_file())
    return ReplaySeries(market=default_market("BTC/USDT", MarketType.SPOT, candles[0].close), candles=candles)


@pytest.mark.parametrize("timeframe", ["1h", "4h", "1d"])
def test_closed_ohlcv_when_anywhere_then_ohlcv_without_the_forming_candle(shipped_series, timeframe):
    first = shipped_series.first_close_ms
    for now in (first - 1, first, first + 1, first + 5 * HOUR + 7, first + 400 * HOUR, shipped_series.last_close_ms):
        for limit in (1, 2, 101, 10**6):
            want = shipped_series.ohlcv(timeframe, now, None, limit, False)
            assert shipped_series.closed_ohlcv(timeframe, now, limit) == want
