"""How numbers and times read in the sentences shown to users."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).quantize(Decimal('0.01')).normalize():f}%"


def number(value: Decimal) -> str:
    """A Decimal without exponent notation or trailing zeros."""
    return f"{value.normalize():f}"
