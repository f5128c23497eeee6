"""Trend following: ride an EMA-stacked trend confirmed by MACD and a higher timeframe."""

from __future__ import annotations

from adapters.ai.offline.analyst import OfflineAnalyst, atr_levels, confidence, higher_view, hold, require
from domain.decision import Action, Decision
from domain.money import to_decimal
from domain.snapshot import MarketSnapshot
from domain.trading import PositionSide

STOP_ATR, TARGET_ATR = 2.0, 3.0
_STOP_ATR, _TARGET_ATR = to_decimal(STOP_ATR), to_decimal(TARGET_ATR)  # what atr_levels makes of them, once
OVERBOUGHT, OVERSOLD = 75.0, 25.0


class TrendFollowingAnalyst(OfflineAnalyst):
    name = "trend"

    def assess(self, snapshot: MarketSnapshot) -> Decision:
        ind = snapshot.base.indicators
        atr = require(ind.atr, "ATR")
        ema_50 = require(ind.ema_50, "EMA50")
        rsi = require(ind.rsi, "RSI")
        hist = ind.macd_hist or 0.0
        higher = higher_view(snapshot)
        higher_trend = higher.indicators.trend if higher else "unknown"
        price = float(snapshot.price)

        if snapshot.position_side is PositionSide.LONG:
            if ind.trend == "down" or price < ema_50:
                return Decision(
                    Action.CLOSE,
                    confidence(0.6 + 0.1 * (ind.trend == "down")),
                    None,
                    None,
                    f"uptrend broken: price below EMA50 ({ema_50:.6g}), trend {ind.trend}",
                )
            return hold("uptrend intact, keep the long", 0.6)
        if snapshot.position_side is PositionSide.SHORT:
            if ind.trend == "up" or price > ema_50:
                return Decision(
                    Action.CLOSE,
                    confidence(0.6 + 0.1 * (ind.trend == "up")),
                    None,
                    None,
                    f"downtrend broken: price above EMA50 ({ema_50:.6g}), trend {ind.trend}",
                )
            return hold("downtrend intact, keep the short", 0.6)

        strength = min(abs(hist) / atr, 1.0) if atr > 0 else 0.0
        if ind.trend == "up" and higher_trend != "down" and hist > 0 and rsi < OVERBOUGHT:
            stop, target = atr_levels(Action.BUY, snapshot.price, atr, _STOP_ATR, _TARGET_ATR)
            conviction = 0.55 + 0.15 * (higher_trend == "up") + 0.15 * strength
            return Decision(
                Action.BUY,
                confidence(conviction),
                stop,
                target,
                f"EMAs stacked up, MACD histogram positive, higher timeframe {higher_trend}",
            )
        if ind.trend == "down" and higher_trend != "up" and hist < 0 and rsi > OVERSOLD:
            stop, target = atr_levels(Action.SELL, snapshot.price, atr, _STOP_ATR, _TARGET_ATR)
            conviction = 0.55 + 0.15 * (higher_trend == "down") + 0.15 * strength
            return Decision(
                Action.SELL,
                confidence(conviction),
                stop,
                target,
                f"EMAs stacked down, MACD histogram negative, higher timeframe {higher_trend}",
            )
        return hold(f"no aligned trend (base {ind.trend}, higher {higher_trend}, RSI {rsi:.0f})")
