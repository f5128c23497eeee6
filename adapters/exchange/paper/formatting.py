"""Numbers in user-facing sentences: plain decimals, no exponent, no trailing zeros."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal


def amount_text(value: Decimal, places: int = 8) -> str:
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN) if value.adjusted() < 20 else value
    text = format(rounded.normalize(), "f")
    return "0" if text in {"-0", ""} else text
