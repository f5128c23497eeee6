"""Plain-text figures for event messages and reports: locale-independent, exact Decimal rounding."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from domain.money import ms_to_datetime

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CENT = Decimal("0.01")


def when(moment: int | datetime) -> str:
    """'09 Mar 2018 16:00' (UTC)."""
    moment = ms_to_datetime(moment) if isinstance(moment, int) else moment
    return f"{moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year} {moment.hour:02d}:{moment.minute:02d}"


def price(value: Decimal) -> str:
    """9,250.10"""
    return f"{value.quantize(CENT, rounding=ROUND_HALF_EVEN):,.2f}"


def amount(value: Decimal) -> str:
    """A base amount without exponent or trailing zeros: 0.031"""
    return f"{value.normalize():f}"


def _cents(value: Decimal) -> Decimal:
    rounded = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return rounded.copy_abs() if rounded == 0 else rounded  # never "-0.00"


def signed(value: Decimal) -> str:
    """+12.40 / -3.10"""
    rounded = _cents(value)
    return f"{'+' if rounded >= 0 else ''}{rounded:,.2f}"


def percent(fraction: Decimal | float, signed_: bool = False) -> str:
    value = _cents(Decimal(str(fraction)) * 100)
    return f"{'+' if signed_ and value >= 0 else ''}{value:.2f}%"


REASON_WORDS = {
    "signal": "analysts' exit signal",
    "stop_loss": "stop loss",
    "take_profit": "take profit",
    "liquidation": "liquidated",
    "end_of_replay": "end of the replay",
    "user_close": "closed on request",
    "unprotected": "protective order refused",
    "closed_by_exchange": "closed on the exchange",
}
