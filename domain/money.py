"""Decimal helpers: money never travels as float in the books."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    InvalidOperation,
)
from math import isfinite

ZERO = Decimal(0)


def to_decimal(value: object) -> Decimal:
    """Convert an SDK number (str, int, float, Decimal) to Decimal without binary-float noise."""
    if type(value) is Decimal:
        return value
    if type(value) is float:  # the hot case (an indicator value every cycle): what the general path below does to it
        if not isfinite(value):
            raise ValueError(f"not a finite number: {repr(value)!r}")
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    if value is None:
        raise ValueError("cannot convert None to Decimal")
    if isinstance(value, bool):
        raise ValueError("cannot convert bool to Decimal")
    if isinstance(value, float):
        value = float.__repr__(value)  # a subclass's own repr may not be a number (numpy 2: "np.float64(0.1)")
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
    """Round value toward zero to a multiple of step (amount precision: never round up past the risk)."""
    return round_to_step(value, step, ROUND_DOWN)


def round_to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """value rounded to an integer multiple of step with a decimal rounding mode (ROUND_FLOOR, ...), exactly.

    Computed on integers: dividing value by step first rounds the quotient to the context's 28 digits, half-even,
    so 0.8999999999999999999999999999 / 0.3 became 3 and rounding "down" gave 0.9. A step <= 0 means no step.
    """
    if step <= 0:
        return value
    if not (value.is_finite() and step.is_finite()):
        raise ValueError(f"cannot round {value} to a step of {step}")
    if rounding in _ROUNDINGS and step.as_tuple().digits == (1,):
        # step = 10**n written as 1En (0.01, 1E+2; not 10 or 0.010): round_on_integers gives value rounded at n,
        # written with exponent n, which is what quantize gives in a context wide enough for any coefficient
        # (and a zero keeps no sign there): one C call instead of integer arithmetic on the digits
        rounded = value.quantize(step, rounding, _WIDE)
        return rounded if rounded else rounded.copy_abs()
    return round_on_integers(value, step, rounding)


def round_on_integers(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """round_to_step computed on the integers of the digits, for any finite value and step > 0: the reference
    that round_to_step's power-of-ten fast path is tested against."""
    exponent = min(_exponent(value), _exponent(step))
    quotient = _divide(_scaled(value, exponent), _scaled(step, exponent), rounding)
    return Decimal(f"{quotient * _scaled(step, _exponent(step))}E{_exponent(step)}")  # quotient * step, unrounded


_WIDE = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
_ROUNDINGS = frozenset(
    (ROUND_FLOOR, ROUND_CEILING, ROUND_DOWN, ROUND_UP, ROUND_HALF_UP, ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_05UP)
)


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    return exponent


def _scaled(value: Decimal, exponent: int) -> int:
    """The integer n with value == n * 10**exponent; exponent <= value's own exponent."""
    sign, digits, own = value.as_tuple()
    assert isinstance(own, int)
    magnitude = int("".join(map(str, digits)) or "0") * 10 ** (own - exponent)
    return -magnitude if sign else magnitude


def _divide(numerator: int, denominator: int, rounding: str) -> int:
    """numerator / denominator (denominator > 0) rounded to an integer the way `rounding` says."""
    floor, remainder = divmod(numerator, denominator)
    if remainder == 0:
        return floor
    toward_zero, away = (floor, floor + 1) if numerator > 0 else (floor + 1, floor)
    half = (2 * remainder > denominator) - (2 * remainder < denominator)  # 1: nearer floor + 1, -1: nearer floor
    nearest = floor + 1 if half > 0 else floor
    chosen = {
        ROUND_FLOOR: floor,
        ROUND_CEILING: floor + 1,
        ROUND_DOWN: toward_zero,
        ROUND_UP: away,
        ROUND_HALF_UP: away if half == 0 else nearest,
        ROUND_HALF_DOWN: toward_zero if half == 0 else nearest,
        ROUND_HALF_EVEN: (floor if floor % 2 == 0 else floor + 1) if half == 0 else nearest,
        ROUND_05UP: away if toward_zero % 5 == 0 else toward_zero,
    }.get(rounding)
    if chosen is None:
        raise ValueError(f"unknown rounding mode {rounding!r}")
    return chosen


def utc_now() -> datetime:
    return datetime.now(UTC)


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: times must be timezone-aware UTC")
    return int(dt.timestamp() * 1000)
