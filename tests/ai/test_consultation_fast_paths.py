"""The offline analysts' fast paths give exactly what the straightforward ones give: the carried breakout channel
against max() and min() over every window, the checked decision that is the assessed one itself, ATR multiples
converted once, the base view found without the property."""

from __future__ import annotations

import decimal
from dataclasses import replace
from decimal import Decimal, localcontext
from operator import attrgetter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ai.offline.analyst import atr_levels, checked
from adapters.ai.offline.breakout import CHANNEL, BreakoutAnalyst, Channel
from adapters.ai.parsing import MAX_REASONING_CHARS, AnswerRejected, checked_decision
from domain.decision import Action, Decision
from domain.market import Candle
from domain.trading import PositionSide
from tests.ai.market_data import btc_hourly, history_snapshot

BUY, SELL, HOLD, CLOSE = Action.BUY, Action.SELL, Action.HOLD, Action.CLOSE


def _candle(ts: int, high: Decimal, low: Decimal) -> Candle:
    return Candle(ts, low, high, low, high, Decimal(1))


def _straightforward(candles) -> tuple[Decimal, Decimal]:  # type: ignore[no-untyped-def]
    prior = candles[-CHANNEL - 1 : -1]
    return max(map(attrgetter("high"), prior)), min(map(attrgetter("low"), prior))


def _same(channel: Channel, candles) -> None:  # type: ignore[no-untyped-def]
    """The carried extremes are the very objects max() and min() return (an equal value could print apart)."""
    high, low = channel.extremes(candles)
    expected_high, expected_low = _straightforward(candles)
    assert high is expected_high and low is expected_low


def test_channel_when_the_window_moves_a_candle_at_a_time_then_max_and_min_of_every_window() -> None:
    history = btc_hourly()[:3000]
    channel = Channel()
    for end in range(CHANNEL + 1, len(history)):
        _same(channel, history[max(0, end - 100) : end])


prices = st.sampled_from(["7870", "7870.00", "7870.0", "7869.99", "7871", "1E+4", "0.01", "7870.5"]).map(Decimal)
odd = st.sampled_from(["NaN", "-NaN", "sNaN", "Infinity", "-Infinity"]).map(Decimal)
steps = st.one_of(
    st.tuples(st.just("next"), prices, prices),  # the usual hour: one new candle
    st.tuples(st.just("next"), prices | odd, prices | odd),
    st.tuples(st.just("copy"), st.integers(0, CHANNEL), st.none()),  # a candle rebuilt: equal, another object
    st.tuples(st.just("same"), st.none(), st.none()),  # asked again about the same candles
    st.tuples(st.just("jump"), st.integers(2, 30), prices),  # hours skipped (a position held meanwhile)
    st.tuples(st.just("back"), st.integers(1, 5), st.none()),  # an older window (another stream's)
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(prices, prices), min_size=CHANNEL + 1, max_size=CHANNEL + 5), st.lists(steps, max_size=40))
def test_channel_when_candles_move_repeat_jump_or_change_objects_then_max_and_min_of_every_window(start, moves) -> None:
    """Equal values written apart, NaN and infinities, rebuilt candles, repeats, jumps and windows of the past:
    what the carried channel gives is always the objects the straightforward way gives, or the same error."""
    history = [_candle(ts, high, low) for ts, (high, low) in enumerate(start)]
    end = len(history)
    channel = Channel()
    for kind, first, second in moves:
        if kind == "next":
            history.append(_candle(len(history), first, second))
            end = len(history)
        elif kind == "copy" and first is not None:  # a candle of the window rebuilt: equal, written apart
            old = history[max(0, end - 2 - first)]
            high = old.high + Decimal("0.00") if old.high.is_finite() else old.high
            history[max(0, end - 2 - first)] = replace(old, high=high)
        elif kind == "jump" and first is not None:
            history.extend(_candle(len(history) + index, second, second) for index in range(first))
            end = len(history)
        elif kind == "back" and first is not None:
            end = max(CHANNEL + 1, end - first)
        candles = tuple(history[:end])
        try:
            expected = _straightforward(candles)
        except decimal.InvalidOperation:
            with pytest.raises(decimal.InvalidOperation):
                channel.extremes(candles)
            continue
        high, low = channel.extremes(candles)
        assert high is expected[0] and low is expected[1]


def test_channel_when_a_nan_is_compared_quietly_then_still_the_straightforward_extremes() -> None:
    """With InvalidOperation not trapped a NaN compares False both ways: such windows are never carried."""
    values = [Decimal(v) for v in ("5", "NaN", "7", "3", "9", "1", "8", "2", "6", "4")] * 5
    history = [_candle(ts, value, value) for ts, value in enumerate(values)]
    channel = Channel()
    with localcontext() as context:
        context.traps[decimal.InvalidOperation] = False
        for end in range(CHANNEL + 1, len(history) + 1):
            _same(channel, tuple(history[:end]))


def test_breakout_when_voting_hour_after_hour_then_what_a_fresh_analyst_gives() -> None:
    carried = BreakoutAnalyst()
    for end in range(4000, 4150):
        snapshot = history_snapshot(end, hours=120)
        assert carried.assess(snapshot) == BreakoutAnalyst().assess(snapshot)


decisions = st.builds(
    Decision,
    st.sampled_from(list(Action)),
    st.sampled_from(["0.55", "0.50", "1.5", "-0.1"]).map(Decimal),
    st.none() | st.sampled_from(["90", "90.00", "110", "-1"]).map(Decimal),
    st.none() | st.sampled_from(["110", "90", "1E+5"]).map(Decimal),
    st.sampled_from(["held", " held", "held\n", "", "x" * MAX_REASONING_CHARS, "y" * (MAX_REASONING_CHARS + 1)]),
)


@given(decisions, st.sampled_from(list(PositionSide)))
def test_checked_when_nothing_to_change_then_the_decision_itself_else_what_checked_decision_builds(
    decision: Decision, side: PositionSide
) -> None:
    price = Decimal(100)
    try:
        expected = checked_decision(
            decision.action,
            decision.confidence,
            decision.stop_loss,
            decision.take_profit,
            decision.reasoning.strip(),
            price,
            side,
        )
    except AnswerRejected as exc:
        with pytest.raises(AnswerRejected) as raised:
            checked(decision, price, side)
        assert (raised.value.reason, str(raised.value)) == (exc.reason, str(exc))
        return
    got = checked(decision, price, side)
    assert got == expected and got.__class__ is Decision
    assert [str(n) for n in (got.confidence, got.stop_loss, got.take_profit)] == [
        str(n) for n in (expected.confidence, expected.stop_loss, expected.take_profit)
    ]
    assert (got is decision) == (got == decision)


def test_checked_when_a_subclass_of_decision_then_a_plain_decision() -> None:
    class Noted(Decision):
        pass

    got = checked(Noted(HOLD, Decimal("0.5"), None, None, "x"), Decimal(100), PositionSide.FLAT)
    assert got.__class__ is Decision and got == Decision(HOLD, Decimal("0.5"), None, None, "x")


@given(
    st.sampled_from([BUY, SELL]),
    st.sampled_from(["11227.31", "0.000123", "7870", "1E+3"]).map(Decimal),
    st.floats(min_value=1e-9, max_value=1e4),
    st.sampled_from([1.0, 1.5, 2.0, 3.0, 0.1]),
    st.sampled_from([1.0, 1.5, 2.0, 3.0, 0.1]),
)
def test_atr_levels_when_multiples_given_as_their_decimals_then_the_same_levels(
    action: Action, price: Decimal, atr: float, stop: float, target: float
) -> None:
    from domain.money import to_decimal

    as_floats = atr_levels(action, price, atr, stop, target)
    as_decimals = atr_levels(action, price, atr, to_decimal(stop), to_decimal(target))
    assert [str(level) for level in as_floats] == [str(level) for level in as_decimals]


def test_snapshot_base_when_any_order_of_timeframes_then_the_view_of_the_base_timeframe() -> None:
    snapshot = history_snapshot(5000, hours=250)
    assert snapshot.base is snapshot.timeframe(snapshot.base_timeframe)
    reordered = replace(snapshot, timeframes=tuple(reversed(snapshot.timeframes)))
    assert reordered.base is reordered.timeframe(reordered.base_timeframe)
    missing = replace(snapshot, timeframes=snapshot.timeframes[1:])
    with pytest.raises(LookupError, match="no base timeframe 1h"):
        _ = missing.base
