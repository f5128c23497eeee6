"""When a resting order or a liquidation fires as the price moves from one point to the next.

Prices are treated as continuous between path points: a move from 100 to 90 passes every price in between.
A candle is walked open -> low -> high -> close when it closed up and open -> high -> low -> close when it
closed down (the usual convention when only OHLC is known), so stops and limits inside its range fire.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from domain.market import Candle
from domain.trading import OrderSide, OrderType


class Direction(StrEnum):
    FALLS_TO = "falls_to"  # fires once the price is at or below the level
    RISES_TO = "rises_to"  # fires once the price is at or above the level


def order_direction(order_type: OrderType, side: OrderSide) -> Direction:
    """A buy limit and a buy take-profit wait for the price to fall; a buy stop waits for it to rise."""
    buy = side is OrderSide.BUY
    if order_type is OrderType.STOP_MARKET:
        return Direction.RISES_TO if buy else Direction.FALLS_TO
    return Direction.FALLS_TO if buy else Direction.RISES_TO


def touch(start: Decimal, end: Decimal, level: Decimal, direction: Direction) -> Decimal | None:
    """The price at which a move start -> end first reaches `level`: start itself when already past it (a gap),
    the level when the move crosses it, None when it never gets there."""
    if direction is Direction.FALLS_TO:
        if start <= level:
            return start
        return level if end <= level else None
    if start >= level:
        return start
    return level if end >= level else None


def candle_path(candle: Candle) -> list[Decimal]:
    if candle.close >= candle.open:
        return [candle.open, candle.low, candle.high, candle.close]
    return [candle.open, candle.high, candle.low, candle.close]
