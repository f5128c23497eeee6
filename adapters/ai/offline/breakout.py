"""Breakout / momentum: trade a close beyond the 20-candle channel on expanding volume."""

from __future__ import annotations

from operator import attrgetter

from adapters.ai.offline.analyst import InsufficientData, OfflineAnalyst, atr_levels, confidence, hold, require
from domain.decision import Action, Decision
from domain.snapshot import MarketSnapshot
from domain.trading import PositionSide

CHANNEL = 20
EXIT_CHANNEL = 10
MIN_VOLUME_RATIO = 1.3
STOP_ATR, TARGET_ATR = 1.5, 3.0
_high, _low = attrgetter("high"), attrgetter("low")
# prices go into the reasoning as their str() (!s): what format() writes for a Decimal, at a third of the cost


class BreakoutAnalyst(OfflineAnalyst):
    name = "breakout"

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

        channel_high, channel_low = max(map(_high, prior)), min(map(_low, prior))
        surge = min((volume_ratio - MIN_VOLUME_RATIO) / 2, 0.2)
        if last.close > channel_high and volume_ratio >= MIN_VOLUME_RATIO:
            stop, target = atr_levels(Action.BUY, snapshot.price, atr, STOP_ATR, TARGET_ATR)
            return Decision(
                Action.BUY,
                confidence(0.55 + surge + 0.1 * (hist > 0)),
                stop,
                target,
                f"close {last.close!s} broke the {CHANNEL}-candle high {channel_high!s} on {volume_ratio:.1f}x volume",
            )
        if last.close < channel_low and volume_ratio >= MIN_VOLUME_RATIO:
            stop, target = atr_levels(Action.SELL, snapshot.price, atr, STOP_ATR, TARGET_ATR)
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
