"""The decimal arithmetic paper money is computed in, whatever the process's global decimal context is.

ccxt rewrites the global context (ROUND_HALF_UP, Underflow trapped) and anything else may lower its precision,
so the account runs every public call in CONTEXT: 60 digits keep products and sums of prices and amounts exact,
and a division, the only inexact operation, is always rounded to an explicit quantum right after (the money
grid, a price step) or is for display only.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from functools import wraps

CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
DISPLAY = Context(prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
MONEY_QUANTUM = Decimal("1e-12")


def exact[**P, R](function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` in CONTEXT (a fresh copy: nothing it does leaks out, nothing outside leaks in)."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(CONTEXT):
            return function(*args, **kwargs)

    return wrapper


def money(value: Decimal) -> Decimal:
    """A quote amount that came out of a division, on the 1e-12 grid so that sums of them stay exact."""
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN, context=CONTEXT)


def quotient(numerator: Decimal, denominator: Decimal) -> Decimal:
    """numerator / denominator on the money grid, the same in any global context."""
    return money(CONTEXT.divide(numerator, denominator))


def share(total: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """total * part / whole on the money grid; exactly total when the part is the whole."""
    return total if part == whole else quotient(CONTEXT.multiply(total, part), whole)


def to_step(numerator: Decimal, denominator: Decimal, step: Decimal, up: bool) -> Decimal:
    """numerator / denominator rounded down (or up) to a multiple of `step`, decided exactly: the integer part
    of a division is exact in Decimal, so a quotient a hair below a step is never rounded onto it."""
    if step <= 0:
        step = MONEY_QUANTUM
    scaled = CONTEXT.multiply(denominator, step)
    steps = CONTEXT.divide_int(numerator, scaled)  # truncated toward zero
    if CONTEXT.multiply(steps, scaled) != numerator:
        floor = steps - 1 if (numerator < 0) != (scaled < 0) else steps
        steps = floor + 1 if up else floor
    return CONTEXT.multiply(steps, step)


def display(numerator: Decimal, denominator: Decimal) -> Decimal:
    """A quotient to 28 significant digits, for showing only (an average entry price, say)."""
    return DISPLAY.divide(numerator, denominator)
