"""Mean reversion: fade stretched moves outside the Bollinger Bands when RSI agrees, target the middle band."""

from __future__ import annotations

from adapters.ai.offline.analyst import (
    OfflineAnalyst,
    atr_levels,
    confidence,
    higher_view,
    hold,
    price_step,
    require,
)
from domain.decision import Action, Decision
from domain.money import to_decimal
from domain.snapshot import MarketSnapshot
from domain.trading import PositionSide

STOP_ATR, MIN_TARGET_ATR = 1.5, 1.0
_STOP_ATR, _MIN_TARGET_ATR = to_decimal(STOP_ATR), to_decimal(MIN_TARGET_ATR)  # what atr_levels makes of them, once
LOW_BAND, HIGH_BAND = 0.05, 0.95
OVERSOLD, OVERBOUGHT = 32.0, 68.0


class MeanReversionAnalyst(OfflineAnalyst):
    name = "mean_reversion"

    def assess(self, snapshot: MarketSnapshot) -> Decision:
        ind = snapshot.base.indicators
        atr = require(ind.atr, "ATR")
        percent_b = require(ind.bb_percent_b, "Bollinger %b")
        middle = require(ind.bb_middle, "Bollinger middle band")
        rsi = require(ind.rsi, "RSI")
        higher = higher_view(snapshot)
        higher_trend = higher.indicators.trend if higher else "unknown"

        if snapshot.position_side is PositionSide.LONG:
            if percent_b >= 0.5 or rsi > 55:
                return Decision(
                    Action.CLOSE,
                    confidence(0.55 + 0.3 * min(percent_b, 1.0) / 2),
                    None,
                    None,
                    f"price back at the mean (%b {percent_b:.2f}, RSI {rsi:.0f})",
                )
            return hold(f"still below the mean (%b {percent_b:.2f}), let it revert", 0.55)
        if snapshot.position_side is PositionSide.SHORT:
            if percent_b <= 0.5 or rsi < 45:
                return Decision(
                    Action.CLOSE,
                    confidence(0.55 + 0.3 * (1 - max(percent_b, 0.0)) / 2),
                    None,
                    None,
                    f"price back at the mean (%b {percent_b:.2f}, RSI {rsi:.0f})",
                )
            return hold(f"still above the mean (%b {percent_b:.2f}), let it revert", 0.55)

        if percent_b < LOW_BAND and rsi < OVERSOLD:
            stop, floor_target = atr_levels(Action.BUY, snapshot.price, atr, _STOP_ATR, _MIN_TARGET_ATR)
            target = max(to_decimal(middle).quantize(price_step(snapshot.price)), floor_target)
            conviction = 0.55 + (OVERSOLD - rsi) / 60 + min(LOW_BAND - percent_b, 0.3) - 0.1 * (higher_trend == "down")
            return Decision(
                Action.BUY,
                confidence(conviction),
                stop,
                target,
                f"stretched below the lower band (%b {percent_b:.2f}, RSI {rsi:.0f}), target the mean",
            )
        if percent_b > HIGH_BAND and rsi > OVERBOUGHT:
            stop, floor_target = atr_levels(Action.SELL, snapshot.price, atr, _STOP_ATR, _MIN_TARGET_ATR)
            target = min(to_decimal(middle).quantize(price_step(snapshot.price)), floor_target)
            conviction = 0.55 + (rsi - OVERBOUGHT) / 60 + min(percent_b - HIGH_BAND, 0.3) - 0.1 * (higher_trend == "up")
            return Decision(
                Action.SELL,
                confidence(conviction),
                stop,
                target,
                f"stretched above the upper band (%b {percent_b:.2f}, RSI {rsi:.0f}), target the mean",
            )
        return hold(f"inside the bands (%b {percent_b:.2f}, RSI {rsi:.0f}): nothing to fade")
