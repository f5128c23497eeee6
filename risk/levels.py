"""Protective levels on the exchange's price grid, rounded toward the entry so rounding never adds risk.

A long's stop rounds up and its take profit down; a short's the other way. Sizing uses the rounded stop.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from domain.money import round_to_step
from domain.trading import OrderSide


def round_stop_loss(stop: Decimal, side: OrderSide, step: Decimal) -> Decimal:
    return round_to_step(stop, step, ROUND_CEILING if side is OrderSide.BUY else ROUND_FLOOR)


def round_take_profit(take_profit: Decimal, side: OrderSide, step: Decimal) -> Decimal:
    return round_to_step(take_profit, step, ROUND_FLOOR if side is OrderSide.BUY else ROUND_CEILING)
