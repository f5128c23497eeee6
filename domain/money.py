"""Decimal helpers: money never travels as float in the books."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation

ZERO = Decimal(0)


def to_decimal(value: object) -> Decimal:
    """Convert an SDK number (str, int, float, Decimal) to Decimal without binary-float noise."""
    if isinstance(value, Decimal):
        return value
    if value is None:
        raise ValueError("cannot convert None to Decimal")
    if isinstance(value, bool):
        raise ValueError("cannot convert bool to Decimal")
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def optional_decimal(value: object) -> Decimal | None:
    """Like to_decimal, but None and empty strings stay None."""
    if value is None or value == "":
        return None
    return to_decimal(value)


def quantize_down(value: Decimal, step: Decimal) -> Decimal:
    """Round value down to a multiple of step (amount precision: never round up past the risk)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def utc_now() -> datetime:
    return datetime.now(UTC)


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: times must be timezone-aware UTC")
    return int(dt.timestamp() * 1000)
