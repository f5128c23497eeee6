"""The versioned prompt every LLM analyst receives, built only from the shared market snapshot.

It never contains a balance, a size or anything about the user: the same prompt serves every user on a symbol
and position side. Bump PROMPT_VERSION whenever the wording or the schema changes; votes record it.
"""

from __future__ import annotations

from decimal import Decimal

from domain.money import ms_to_datetime
from domain.snapshot import MarketSnapshot, TimeframeIndicators, TimeframeView
from domain.trading import PositionSide

PROMPT_VERSION = "quorum-decision-v1"
CANDLES_PER_TIMEFRAME = 12
MAX_HEADLINES = 10

DECISION_JSON_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["BUY", "SELL", "HOLD", "CLOSE"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "stop_loss": {"type": ["number", "null"], "description": "absolute price; required for BUY and SELL"},
        "take_profit": {"type": ["number", "null"], "description": "absolute price; required for BUY and SELL"},
        "reasoning": {"type": "string", "description": "one or two sentences"},
    },
    "required": ["action", "confidence", "stop_loss", "take_profit", "reasoning"],
    "additionalProperties": False,
}

SYSTEM_PROMPT = """You are one analyst in an ensemble that trades a single crypto market. Read the market \
snapshot and answer with one JSON object and nothing else:
{"action": "BUY" | "SELL" | "HOLD" | "CLOSE", "confidence": 0.0-1.0, "stop_loss": price or null, \
"take_profit": price or null, "reasoning": "one or two sentences"}
Rules:
- BUY opens or adds to a long, SELL opens or adds to a short, CLOSE exits the current position, HOLD does nothing.
- BUY needs stop_loss below and take_profit above the current price; SELL needs stop_loss above and \
take_profit below it. Prices are absolute, in the quote currency.
- CLOSE only when a position is open. Prefer HOLD when the evidence is mixed.
- You decide direction and levels only, never the position size."""


def build_prompt(snapshot: MarketSnapshot) -> str:
    """The user message: a compact, deterministic text rendering of the snapshot."""
    lines = [
        f"Market: {snapshot.symbol} on {snapshot.exchange}",
        f"Current price: {snapshot.price}",
        f"Spread: {_fraction_pct(snapshot.spread_fraction)}",
        _position_line(snapshot),
        "",
    ]
    for view in snapshot.timeframes:
        lines.extend(_timeframe_section(view))
        lines.append("")
    lines.append(f"Order book imbalance (top 20, -1 all asks .. +1 all bids): {_number(snapshot.order_book_imbalance)}")
    if snapshot.funding_rate is not None:
        lines.append(f"Funding rate (perpetual, per period): {snapshot.funding_rate.rate}")
    else:
        lines.append("Funding rate: not applicable (spot)")
    lines.append("")
    lines.extend(_news_section(snapshot))
    lines.append("")
    lines.append("Answer with the JSON object only.")
    return "\n".join(lines)


def _position_line(snapshot: MarketSnapshot) -> str:
    if snapshot.position_side is PositionSide.FLAT:
        return "Position: flat (no open position)"
    return f"Position: {snapshot.position_side.value}, entry price {snapshot.entry_price}"


def _timeframe_section(view: TimeframeView) -> list[str]:
    candles = view.candles[-CANDLES_PER_TIMEFRAME:]
    lines = [f"## {view.timeframe} candles (last {len(candles)} closed, oldest first: open high low close volume)"]
    lines.extend(f"{c.open} {c.high} {c.low} {c.close} {c.volume}" for c in candles)
    if view.candles:
        first, last = view.candles[0], view.candles[-1]
        change = (last.close - first.open) / first.open if first.open else Decimal(0)
        high = max(c.high for c in view.candles)
        low = min(c.low for c in view.candles)
        lines.append(f"Over {len(view.candles)} candles: change {_fraction_pct(change)}, high {high}, low {low}")
    lines.append(_indicator_line(view.indicators))
    return lines


def _indicator_line(ind: TimeframeIndicators) -> str:
    return (
        f"Indicators: trend {ind.trend}; RSI14 {_number(ind.rsi)}; MACD {_number(ind.macd)} "
        f"signal {_number(ind.macd_signal)} hist {_number(ind.macd_hist)}; "
        f"Bollinger lower {_number(ind.bb_lower)} mid {_number(ind.bb_middle)} upper {_number(ind.bb_upper)} "
        f"%b {_number(ind.bb_percent_b)} bandwidth {_number(ind.bb_bandwidth)}; "
        f"EMA20 {_number(ind.ema_20)} EMA50 {_number(ind.ema_50)} EMA200 {_number(ind.ema_200)}; "
        f"ATR14 {_number(ind.atr)} ({_fraction_pct(ind.atr_pct)}); volume ratio {_number(ind.volume_ratio)}; "
        f"volatility {_fraction_pct(ind.realised_volatility)} per bar"
    )


def _news_section(snapshot: MarketSnapshot) -> list[str]:
    headlines = snapshot.news[:MAX_HEADLINES]
    if not headlines:
        return ["News: no recent headlines"]
    now = ms_to_datetime(snapshot.ticker.ts)  # the snapshot's clock, so replays and backtests read alike
    lines = ["News (newest first; sentiment -1 bearish .. +1 bullish):"]
    for item in headlines:
        age_h = max((now - item.published_at).total_seconds() / 3600, 0)
        lines.append(f"- [{item.sentiment:+.2f}] {item.title} ({item.source}, {age_h:.0f}h ago)")
    return lines


def _number(value: float | Decimal | None) -> str:
    if value is None:
        return "n/a"
    return f"{float(value):.6g}"


def _fraction_pct(value: float | Decimal | None) -> str:
    if value is None:
        return "n/a"
    return f"{float(value) * 100:.3g}%"
