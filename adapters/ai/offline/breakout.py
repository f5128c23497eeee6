"""Breakout / momentum: trade a close beyond the 20-candle channel on expanding volume."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from operator import attrgetter

from adapters.ai.offline.analyst import (
    InsufficientData,
    OfflineAnalyst,
    atr_levels,
    confidence,
    hold,
    require,
)
from domain.decision import Action, Decision
from domain.market import Candle
from domain.money import to_decimal
from domain.snapshot import MarketSnapshot
from domain.trading import PositionSide

CHANNEL = 20
EXIT_CHANNEL = 10
MIN_VOLUME_RATIO = 1.3
STOP_ATR, TARGET_ATR = 1.5, 3.0
_STOP_ATR, _TARGET_ATR = to_decimal(STOP_ATR), to_decimal(TARGET_ATR)  # what atr_levels makes of them, once
_high, _low = attrgetter("high"), attrgetter("low")
# prices go into the reasoning as their str() (!s): what format() writes for a Decimal, at a third of the cost


class Channel:
    """The highest high and lowest low of the CHANNEL candles before the last, carried from one candle to the next.

    The straightforward way, max(map(_high, prior)) and min(map(_low, prior)), compares forty Decimals every hour:
    a tenth of a consultation. But the next hour's window is this one moved by a candle: the same candles but the
    oldest, and one more. Then the first highest high found last time is still where it was, a place earlier,
    unless it is the candle that left (then the highs are searched again) or the new candle's high is greater
    (then it is that one); the same for the lows. One tuple comparison and two Decimal ones instead of forty.

    What is carried is the places, never the values: the extremes are read from this window's candles, so they are
    the very objects max() and min() return, exponents included (7870 and 7870.00 are equal but print apart).
    The places are right when the candles that stayed compare equal (==, a Candle compares every field, and the
    tuple comparison passes over the same objects without calling it) to the ones they were: their highs and lows
    are then equal values, which the comparisons order as they did; max() and min() keep the first of equal
    values (they replace only on a strictly greater, strictly smaller one), which is the first equal to the extreme
    (list.index). This needs values that the comparisons order: only windows of Decimals that are not NaN are
    carried (under a NaN a comparison is False both ways, or raises by the context; such a window is computed the
    straightforward way, with what the context makes of it, at every candle), and a value equal to one of them is
    no NaN. One window is kept: an analyst asked about several symbols in turn finds no match and computes the
    straightforward way."""

    __slots__ = ("_carried",)

    def __init__(self) -> None:
        # (the last window, the place of its first highest high, of its first lowest low) or None
        self._carried: tuple[Sequence[Candle], int, int] | None = None

    def extremes(self, candles: Sequence[Candle]) -> tuple[Decimal, Decimal]:
        """(max(map(_high, prior)), min(map(_low, prior))) for prior = candles[-CHANNEL - 1 : -1], a window of
        CHANNEL candles (len(candles) > CHANNEL)."""
        window = candles[-CHANNEL - 1 : -1]
        carried = self._carried
        if carried is not None and window[:-1] == carried[0][1:]:
            entering = window[-1]
            new_high, new_low = entering.high, entering.low
            if (
                new_high.__class__ is Decimal
                and new_low.__class__ is Decimal
                and not (new_high.is_nan() or new_low.is_nan())
            ):
                _, high_at, low_at = carried
                if high_at:  # still in the window, a place earlier; else it left: search again
                    high_at -= 1
                    high = window[high_at].high
                    if new_high > high:
                        high, high_at = new_high, CHANNEL - 1
                else:
                    highs = list(map(_high, window))
                    high = max(highs)
                    high_at = highs.index(high)
                if low_at:
                    low_at -= 1
                    low = window[low_at].low
                    if new_low < low:
                        low, low_at = new_low, CHANNEL - 1
                else:
                    lows = list(map(_low, window))
                    low = min(lows)
                    low_at = lows.index(low)
                self._carried = window, high_at, low_at
                return high, low
        self._carried = None
        highs, lows = list(map(_high, window)), list(map(_low, window))
        high, low = max(highs), min(lows)  # raises as it did on values it cannot compare: nothing is then carried
        if _orderable(highs) and _orderable(lows):
            self._carried = window, highs.index(high), lows.index(low)
        return high, low


def _orderable(values: list[Decimal]) -> bool:
    """Whether every value is a Decimal (not a subclass) that is not NaN: values the comparisons order."""
    for value in values:
        if value.__class__ is not Decimal or value.is_nan():
            return False
    return True


class BreakoutAnalyst(OfflineAnalyst):
    name = "breakout"

    def __init__(self) -> None:
        super().__init__()
        self._channel = Channel()

    def assess(self, snapshot: MarketSnapshot) -> Decision:
        view = snapshot.base
        ind = view.indicators
        if len(view.candles) < CHANNEL + 1:
            raise InsufficientData(f"the {CHANNEL}-candle channel needs more candles")
        atr = require(ind.atr, "ATR")
        volume_ratio = require(ind.volume_ratio, "volume ratio")
        hist = ind.macd_hist or 0.0
        last = view.candles[-1]
        prior = view.candles[-CHANNEL - 1 : -1]
        # with a position open only the exit channel counts: the last EXIT_CHANNEL candles of the entry one
        if snapshot.position_side is PositionSide.LONG:
            exit_low = min(map(_low, prior[-EXIT_CHANNEL:]))
            if last.close < exit_low:
                return Decision(
                    Action.CLOSE,
                    confidence(0.65),
                    None,
                    None,
                    f"momentum lost: close {last.close!s} under the {EXIT_CHANNEL}-candle low {exit_low!s}",
                )
            return hold("momentum holds, keep the long", 0.55)
        if snapshot.position_side is PositionSide.SHORT:
            exit_high = max(map(_high, prior[-EXIT_CHANNEL:]))
            if last.close > exit_high:
                return Decision(
                    Action.CLOSE,
                    confidence(0.65),
                    None,
                    None,
                    f"momentum lost: close {last.close!s} over the {EXIT_CHANNEL}-candle high {exit_high!s}",
                )
            return hold("momentum holds, keep the short", 0.55)

        channel_high, channel_low = self._channel.extremes(view.candles)
        surge = min((volume_ratio - MIN_VOLUME_RATIO) / 2, 0.2)
        if last.close > channel_high and volume_ratio >= MIN_VOLUME_RATIO:
            stop, target = atr_levels(Action.BUY, snapshot.price, atr, _STOP_ATR, _TARGET_ATR)
            return Decision(
                Action.BUY,
                confidence(0.55 + surge + 0.1 * (hist > 0)),
                stop,
                target,
                f"close {last.close!s} broke the {CHANNEL}-candle high {channel_high!s} on {volume_ratio:.1f}x volume",
            )
        if last.close < channel_low and volume_ratio >= MIN_VOLUME_RATIO:
            stop, target = atr_levels(Action.SELL, snapshot.price, atr, _STOP_ATR, _TARGET_ATR)
            return Decision(
                Action.SELL,
                confidence(0.55 + surge + 0.1 * (hist < 0)),
                stop,
                target,
                f"close {last.close!s} broke the {CHANNEL}-candle low {channel_low!s} on {volume_ratio:.1f}x volume",
            )
        return hold(
            f"inside the {CHANNEL}-candle channel {channel_low!s}..{channel_high!s} (volume {volume_ratio:.1f}x)"
        )
