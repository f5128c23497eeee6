"""The optimized replay feed returns exactly what the straightforward computation returns, at any clock time.

Answers are compared by repr, so a Decimal must match down to its exponent: Decimal('1.5') and Decimal('1.50')
are equal values but different answers.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.exchange.candle_file import read_candles, shipped_candle_file
from adapters.exchange.replay import (
    ReplayFeed,
    ReplaySeries,
    SimulatedClock,
    SyntheticBookModel,
    default_market,
)
from adapters.exchange.replay.series import context_key
from domain.market import Candle, MarketInfo, MarketType

from .replay_reference import ReferenceFeed, build_book

D = Decimal
HOUR = 3_600_000
DAY = 24 * HOUR
SYMBOL = "BTC/USDT"
TIMEFRAMES = {"1h": HOUR, "2h": 2 * HOUR, "4h": 4 * HOUR, "1d": DAY}
DEPTHS = (1, 20, 5, 50)  # a shallow book first, then deeper and shallower ones at the same time


@pytest.fixture(scope="module")
def shipped_candles():
    return read_candles(shipped_candle_file())


def comparable(value: object) -> object:
    """repr of the value; a candle list as its length, the repr of its last two (where the forming candle is)
    and the candles themselves by value (the closed ones are the feed's cached resampled candles)."""
    if isinstance(value, list):
        return len(value), repr(value[-2:]), tuple(value)
    return repr(value)


def outcome(compute) -> object:  # type: ignore[no-untyped-def]
    """The value to compare, or the exception's type and message."""
    try:
        return comparable(compute())
    except Exception as exc:  # noqa: BLE001 - the reference and the feed must fail alike
        return f"{type(exc).__name__}: {exc}"


async def feed_outcome(call) -> object:  # type: ignore[no-untyped-def]
    try:
        value = await call()
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    result = comparable(value)
    if isinstance(value, list):
        value.clear()  # a caller may mutate what it got; later answers must not change
    return result


def ohlcv_requests(now: int, timeframes: dict[str, int]) -> list[tuple[str, int | None, int]]:
    requests: list[tuple[str, int | None, int]] = []
    for name, step in timeframes.items():
        bucket = now - now % step
        requests += [(name, None, limit) for limit in (1, 2, 300)]
        requests += [(name, since, limit) for since in (bucket - 2 * step, bucket, now - HOUR) for limit in (1, 500)]
        requests.append((name, 0, 3))
    return requests


async def assert_same(feed: ReplayFeed, reference: ReferenceFeed, now: int, timeframes: dict[str, int]) -> None:
    feed.clock.advance_to(now)
    symbol = reference.market.symbol
    got = [await feed_outcome(lambda: feed.fetch_ticker(symbol))]
    want = [outcome(lambda: reference.ticker(now))]
    for depth in DEPTHS:
        got.append(await feed_outcome(lambda: feed.fetch_order_book(symbol, depth)))  # noqa: B023
        want.append(outcome(lambda: reference.order_book(now, depth)))  # noqa: B023
    got.append(await feed_outcome(lambda: feed.fetch_ticker(symbol)))
    want.append(want[0])
    if reference.market.type is MarketType.PERPETUAL:
        got.append(await feed_outcome(lambda: feed.fetch_funding_rate(symbol)))
        want.append(outcome(lambda: reference.funding(now)))
    for name, since, limit in ohlcv_requests(now, timeframes):
        got.append(await feed_outcome(lambda: feed.fetch_ohlcv(symbol, name, since, limit)))  # noqa: B023
        want.append(
            outcome(lambda: reference.ohlcv(timeframes[name], now, since, limit, feed.include_forming))  # noqa: B023
        )
    assert got == want, f"at clock {now}"


def walk_times(candles: list[Candle]) -> list[int]:
    """The first candles' hours (and instants around them), day boundaries across the history, and the end."""
    first, last = candles[0].ts + HOUR, candles[-1].ts + HOUR
    times = [first - 1]
    for hour in range(50):
        times += [first + hour * HOUR + offset for offset in (0, 1, 30 * 60_000, HOUR - 1)]
    for day in range(first - first % DAY + 5 * DAY, last, 53 * DAY):
        times += [day - HOUR, day - 1, day, day + 1, day + HOUR, day + 4 * HOUR]
    return [*times, last - HOUR, last - 1, last, last + 1, last + 3 * DAY]


@pytest.mark.parametrize("include_forming", [True, False])
async def test_feed_when_clock_walks_the_shipped_history_then_every_answer_equals_the_straightforward_one(
    shipped_candles, include_forming
):
    market = default_market(SYMBOL, MarketType.PERPETUAL, shipped_candles[0].close)
    series = ReplaySeries(market=market, candles=shipped_candles, base_timeframe="1h")
    times = walk_times(shipped_candles)
    feed = ReplayFeed(SimulatedClock(times[0]), series, funding_rate=D("0.0001"), include_forming=include_forming)
    reference = ReferenceFeed(market, shipped_candles, HOUR, funding_rate=D("0.0001"))

    for now in times:
        await assert_same(feed, reference, now, TIMEFRAMES)


async def test_feed_when_decimal_context_changes_then_answers_follow_the_new_context(shipped_candles):
    market = default_market(SYMBOL, MarketType.SPOT, shipped_candles[0].close)
    series = ReplaySeries(market=market, candles=shipped_candles, base_timeframe="1h")
    now = shipped_candles[3000].ts + 30 * 60_000
    feed = ReplayFeed(SimulatedClock(now), series)
    reference = ReferenceFeed(market, shipped_candles, HOUR)
    await assert_same(feed, reference, now, TIMEFRAMES)  # the caches are now warm in the default context

    with localcontext(prec=7, rounding=ROUND_DOWN):
        await assert_same(feed, reference, now, TIMEFRAMES)
    with localcontext(prec=12, rounding=ROUND_HALF_UP):
        await assert_same(feed, reference, now + 1, TIMEFRAMES)
    with localcontext(prec=4):  # prices need 6 digits at the 0.01 step: the book's rounding must not signal
        for hour in range(1, 30):
            await assert_same(feed, reference, now + hour * HOUR, TIMEFRAMES)
    await assert_same(feed, reference, now + 30 * HOUR, TIMEFRAMES)


@st.composite
def written(draw, quarters: st.SearchStrategy[int]) -> Decimal:  # type: ignore[no-untyped-def]
    """A multiple of 0.25 written any way: 10, 1E+1, 10.00, 10.000 (ties between spellings are the point)."""
    value = Decimal(draw(quarters)) / 4
    spelling = draw(st.sampled_from(["normal", "2", "3", "4"]))
    return value.normalize() if spelling == "normal" else value.quantize(Decimal(1).scaleb(-int(spelling)))


prices = written(st.integers(min_value=2, max_value=80))
volumes = written(st.integers(min_value=0, max_value=400))


@st.composite
def candle_series(draw) -> list[Candle]:  # type: ignore[no-untyped-def]
    """Candles on the hourly grid with gaps; few distinct prices, so highs, lows and closes tie in other spellings."""
    candles = []
    ts = draw(st.integers(min_value=0, max_value=30)) * HOUR
    for _ in range(draw(st.integers(min_value=1, max_value=60))):
        ts += HOUR * draw(st.sampled_from([1, 1, 1, 1, 2, 5, 30]))
        low, high = sorted((draw(prices), draw(prices)))
        open_, close = (draw(st.sampled_from([low, high, (low + high) / 2])) for _ in range(2))
        candles.append(Candle(ts=ts, open=open_, high=high, low=low, close=close, volume=draw(volumes)))
    return candles


models = st.builds(
    SyntheticBookModel,
    min_spread=st.sampled_from([D("0.0001"), D("0.002"), D("0.02")]),  # 0.02 > max_spread 0.01: a fixed spread
    max_spread=st.sampled_from([D("0.01"), D("0.5")]),
    spread_atr_factor=st.sampled_from([D("0.05"), D("1.7")]),
    atr_period=st.integers(min_value=1, max_value=30),
    volume_period=st.integers(min_value=1, max_value=30),
    top_depth_fraction=st.sampled_from([D("0.05"), D("0.333")]),
    depth_decay=st.sampled_from([D("0.8"), D("0.97"), D("1"), D("0.123456789")]),
    min_top_amount=st.sampled_from([D("0.001"), D("7.5")]),
)


@settings(max_examples=80, deadline=None)
@given(
    candles=candle_series(),
    model=models,
    steps=st.sampled_from(
        [(D("0.01"), D("0.001")), (D("0.001"), D("0.0001")), (D("0.5"), D("0.25")), (D(0), D(0)), (D("1E+1"), D("1"))]
    ),
    moves=st.lists(
        st.one_of(
            st.sampled_from([0, 1, 30 * 60_000, HOUR, HOUR, 2 * HOUR]), st.integers(min_value=0, max_value=3 * DAY)
        ),
        min_size=1,
        max_size=25,
    ),
)
async def test_feed_when_series_model_and_steps_vary_then_answers_equal_the_straightforward_ones(
    candles, model, steps, moves
):
    market = MarketInfo(
        symbol="ETH/USDT",
        base="ETH",
        quote="USDT",
        type=MarketType.PERPETUAL,
        price_step=steps[0],
        amount_step=steps[1],
    )
    series = ReplaySeries(market=market, candles=candles, base_timeframe="1h")
    now = candles[0].ts
    feed = ReplayFeed(SimulatedClock(now), series, book_model=model, funding_rate=D("-0.00025"))
    reference = ReferenceFeed(market, candles, HOUR, model=model, funding_rate=D("-0.00025"))

    for move in moves:
        now += move
        await assert_same(feed, reference, now, TIMEFRAMES)


def flat_hours(spellings: list[tuple[str, str, str]], volume: str = "4E+1") -> list[Candle]:
    """Hourly candles from midnight, each (high, low, close) as spelled; open = close."""
    return [
        Candle(ts=index * HOUR, open=D(close), high=D(high), low=D(low), close=D(close), volume=D(volume))
        for index, (high, low, close) in enumerate(spellings)
    ]


@pytest.mark.parametrize("close", ["1E+1", "20", "2.5", "7.50"])
@pytest.mark.parametrize("steps", [(D("0.001"), D("0.0001")), (D("0.01"), D("0.00001")), (D("0.5"), D("0.1"))])
async def test_book_when_mid_and_spread_are_short_then_levels_keep_the_spelling_the_straightforward_one_gives(
    close, steps
):
    candles = flat_hours([(close, close, close)] * 30)
    market = MarketInfo(
        symbol="X/USDT", base="X", quote="USDT", type=MarketType.SPOT, price_step=steps[0], amount_step=steps[1]
    )
    model = SyntheticBookModel(min_spread=D("0.01"), min_top_amount=D("7.5"), depth_decay=D("0.5"))
    feed = ReplayFeed(
        SimulatedClock(0), ReplaySeries(market=market, candles=candles, base_timeframe="1h"), book_model=model
    )
    reference = ReferenceFeed(market, candles, HOUR, model=model)

    for hour in (1, 2, 25, 30):
        await assert_same(feed, reference, hour * HOUR, {"1h": HOUR})


async def test_forming_candle_when_extremes_tie_in_other_spellings_then_the_first_spelling_stays():
    candles = flat_hours([("12.5", "10", "11"), ("12.50", "1E+1", "11.0"), ("12.500", "10.00", "12"), ("13", "9", "9")])
    market = MarketInfo(
        symbol="X/USDT", base="X", quote="USDT", type=MarketType.SPOT, price_step=D("0.01"), amount_step=D("0.001")
    )
    feed = ReplayFeed(SimulatedClock(0), ReplaySeries(market=market, candles=candles, base_timeframe="1h"))
    reference = ReferenceFeed(market, candles, HOUR)

    for now in (HOUR, 2 * HOUR, 2 * HOUR + 1, 3 * HOUR, 4 * HOUR - 1, 4 * HOUR):
        await assert_same(feed, reference, now, {"2h": 2 * HOUR, "4h": 4 * HOUR, "1d": DAY})
        if now == 3 * HOUR:
            forming = (await feed.fetch_ohlcv("X/USDT", "4h", limit=1))[0]
            assert (repr(forming.high), repr(forming.low)) == ("Decimal('12.5')", "Decimal('10')")


def test_candle_terms_when_asked_in_two_contexts_then_each_is_computed_in_its_own(shipped_candles):
    series = ReplaySeries(market=default_market(SYMBOL, MarketType.SPOT, D(1)), candles=shipped_candles)
    first = shipped_candles[0]
    exact = series.terms(context_key()).quote_volumes[0]

    with localcontext(prec=4):
        rounded = series.terms(context_key()).quote_volumes[0]

    assert exact == D("114.6") * D("2509.17") == D("287550.882")
    assert rounded == D("2.876E+5")
    assert series.terms(context_key()).quote_volumes[0] == exact == first.volume * first.close


@pytest.mark.parametrize("steps", [(D("0.01"), D("0.00001")), (D("0.5"), D("0.25")), (D(0), D(0))])
def test_build_when_called_directly_then_the_book_equals_the_straightforward_one(shipped_candles, steps):
    model = SyntheticBookModel()

    for end in (1, 2, 15, 5000, 20_111):
        recent = shipped_candles[max(0, end - model.lookback) : end]
        for depth in (0, 1, 20):
            got = model.build(SYMBOL, recent, 7, depth, *steps)
            assert repr(got) == repr(build_book(model, SYMBOL, recent, 7, depth, *steps))
