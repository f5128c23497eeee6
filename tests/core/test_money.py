"""Rounding to a step is exact: a multiple of the step, on the asked side, for any step and any precision."""

from __future__ import annotations

from decimal import (
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.money import quantize_down, round_on_integers, round_to_step, to_decimal


@st.composite
def decimals(draw: st.DrawFn, *, positive: bool = False) -> Decimal:
    """Any finite Decimal: up to 60 significant digits at any exponent, so far past the 28-digit context."""
    coefficient = draw(st.integers(min_value=1 if positive else -(10**60), max_value=10**60))
    exponent = draw(st.integers(min_value=-40, max_value=20))
    return Decimal(f"{coefficient}E{exponent}")


def test_quantize_down_when_quotient_rounds_up_at_28_digits_then_still_rounds_down() -> None:
    # 0.8999999999999999999999999999 / 0.3 = 2.9999999999999999999999999996..., which half-even at 28 digits is 3.
    assert quantize_down(Decimal("0.8999999999999999999999999999"), Decimal("0.3")) == Decimal("0.6")


def test_quantize_down_when_step_is_power_of_ten_then_keeps_the_step_exponent() -> None:
    assert str(quantize_down(Decimal("1.23456"), Decimal("0.01"))) == "1.23"


def test_quantize_down_when_step_not_positive_then_value_unchanged() -> None:
    assert quantize_down(Decimal("1.234"), Decimal(0)) == Decimal("1.234")


@given(value=decimals(), step=decimals(positive=True))
@example(value=Decimal("0.8999999999999999999999999999"), step=Decimal("0.3"))
def test_quantize_down_when_any_value_and_step_then_largest_multiple_not_above_in_magnitude(
    value: Decimal, step: Decimal
) -> None:
    result = quantize_down(value, step)

    exact, size = Fraction(result), Fraction(step)
    assert (exact / size).denominator == 1  # an integer multiple of the step, exactly
    assert abs(exact) <= abs(Fraction(value))  # never grows: for amounts, never past the risk
    assert abs(Fraction(value) - exact) < size
    assert result == 0 or (result > 0) == (value > 0)


ROUNDINGS = [ROUND_DOWN, ROUND_UP, ROUND_FLOOR, ROUND_CEILING, ROUND_HALF_UP, ROUND_HALF_DOWN, ROUND_HALF_EVEN]


@pytest.mark.parametrize("rounding", [*ROUNDINGS, ROUND_05UP])
def test_round_to_step_when_step_is_power_of_ten_then_same_as_decimal_quantize(rounding: str) -> None:
    for text in ("2.5", "-2.5", "3.5", "-3.5", "2.51", "-2.49", "0.05", "-7", "10.04", "-10.06", "15.5"):
        value = Decimal(text)
        assert round_to_step(value, Decimal(1), rounding) == value.quantize(Decimal(1), rounding=rounding), text


@given(value=decimals(), step=decimals(positive=True), rounding=st.sampled_from(ROUNDINGS))
@example(value=Decimal("0.8999999999999999999999999999"), step=Decimal("0.3"), rounding=ROUND_FLOOR)
@example(value=Decimal("0.3000000000000000000000000001"), step=Decimal("0.3"), rounding=ROUND_CEILING)
def test_round_to_step_when_any_value_step_and_mode_then_exact_multiple_on_the_asked_side(
    value: Decimal, step: Decimal, rounding: str
) -> None:
    result = round_to_step(value, step, rounding)

    exact, size, wanted = Fraction(result), Fraction(step), Fraction(value)
    quotient = wanted / size
    assert (exact / size).denominator == 1
    assert abs(wanted - exact) < size
    if rounding == ROUND_FLOOR:
        assert exact <= wanted
    elif rounding == ROUND_CEILING:
        assert exact >= wanted
    elif rounding == ROUND_DOWN:
        assert abs(exact) <= abs(wanted)
    elif rounding == ROUND_UP:
        assert abs(exact) >= abs(wanted)
    else:  # the nearest multiple; a tie goes the mode's way
        assert abs(wanted - exact) <= size / 2
        if quotient.denominator == 2:  # a tie
            away = abs(exact) > abs(wanted)
            if rounding == ROUND_HALF_UP:
                assert away
            elif rounding == ROUND_HALF_DOWN:
                assert not away
            else:
                assert (exact / size) % 2 == 0


@st.composite
def powers_of_ten(draw: st.DrawFn) -> Decimal:
    """10**n as a market writes its steps: a single digit 1 at any exponent (0.01, 1E+2)."""
    return Decimal(1).scaleb(draw(st.integers(min_value=-40, max_value=20)))


@given(value=decimals(), step=powers_of_ten(), rounding=st.sampled_from([*ROUNDINGS, ROUND_05UP]))
@example(value=Decimal("-0.004"), step=Decimal("0.01"), rounding=ROUND_DOWN)  # a zero keeps no sign
@example(value=Decimal("1E+2"), step=Decimal("0.01"), rounding=ROUND_FLOOR)  # a coarser value gains digits
@example(value=Decimal(f"{10**60 - 1}E-40"), step=Decimal("1E-40"), rounding=ROUND_UP)  # past any context
def test_round_to_step_when_step_is_a_power_of_ten_then_fast_path_equals_integer_rounding_digit_for_digit(
    value: Decimal, step: Decimal, rounding: str
) -> None:
    fast, reference = round_to_step(value, step, rounding), round_on_integers(value, step, rounding)

    assert str(fast) == str(reference)  # the same value written the same way (exponent, sign of zero)


@given(
    value=decimals(),
    exponent=st.integers(min_value=-30, max_value=10),
    zeros=st.integers(min_value=1, max_value=5),
    rounding=st.sampled_from([*ROUNDINGS, ROUND_05UP]),
)
def test_round_to_step_when_a_power_of_ten_is_written_with_zeros_then_the_result_keeps_the_steps_exponent(
    value: Decimal, exponent: int, zeros: int, rounding: str
) -> None:
    step = Decimal(f"1{'0' * zeros}E{exponent - zeros}")  # 10**exponent written as 10, 100, 0.010, ...

    result = round_to_step(value, step, rounding)

    assert str(result) == str(round_on_integers(value, step, rounding))
    assert result.as_tuple().exponent == exponent - zeros  # not the exponent a quantize to 1E{exponent} gives


@given(value=st.floats(allow_nan=False, allow_infinity=False))
@example(value=-0.0)
@example(value=5e-324)
@example(value=0.1 + 0.2)
def test_to_decimal_when_a_float_then_its_shortest_repr_exactly_as_from_the_string(value: float) -> None:
    converted = to_decimal(value)
    assert str(converted) == str(Decimal(repr(value)))  # digits and exponent, not only the value
    assert to_decimal(repr(value)) == converted


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_to_decimal_when_a_float_is_not_finite_then_refused_naming_it(value: float) -> None:
    with pytest.raises(ValueError, match=f"not a finite number: '{value!r}'"):
        to_decimal(value)


def test_to_decimal_when_a_float_subclass_then_converted_like_a_float() -> None:
    import numpy as np

    assert str(to_decimal(np.float64(0.1))) == "0.1"
    with pytest.raises(ValueError, match="not a finite number"):
        to_decimal(np.float64("nan"))
