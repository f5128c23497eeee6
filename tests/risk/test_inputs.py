from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.trading import PositionSide
from risk import AccountState, MarketConditions, PairContext
from risk.inputs import ensure_utc

D = Decimal


def test_account_state_when_numbers_given_as_text_or_int_then_decimals():
    state = AccountState(equity="1000.5", peak_equity=1200, day_start_equity=D("1100"))  # type: ignore[arg-type]
    assert state.equity == D("1000.5") and state.peak_equity == D("1200")
    assert state.drawdown_fraction == (D("1200") - D("1000.5")) / D("1200")


def test_account_state_when_pnl_split_then_daily_pnl_is_realized_plus_unrealized():
    state = AccountState(D("1"), D("1"), D("1"), realized_pnl_today=D("-3"), unrealized_pnl=D("1.5"))
    assert state.daily_pnl == D("-1.5")


def test_account_state_when_equity_above_peak_then_no_drawdown():
    assert AccountState(D("1100"), D("1000"), D("1000")).drawdown_fraction == 0


def test_account_state_when_not_a_number_then_error_names_field():
    with pytest.raises(ValueError, match=r"AccountState\.equity: not a number"):
        AccountState("ten", D("1"), D("1"))  # type: ignore[arg-type]


def test_market_conditions_when_negative_volume_then_refused():
    with pytest.raises(ValueError, match=r"MarketConditions\.quote_volume must not be negative"):
        MarketConditions(D("1"), D("0.01"), D("-1"))


def test_pair_context_when_side_and_amount_disagree_then_refused():
    with pytest.raises(ValueError, match="position_side long does not match position_amount 0"):
        PairContext(D("100"), position_side=PositionSide.LONG)
    with pytest.raises(ValueError, match="position_side flat does not match"):
        PairContext(D("100"), position_amount=D("1"))


def test_pair_context_when_leverage_below_one_then_refused():
    with pytest.raises(ValueError, match="leverage must be a whole number of at least 1"):
        PairContext(D("100"), leverage=0)


def test_ensure_utc_when_other_zone_then_converted_and_naive_refused():
    moment = datetime(2024, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert ensure_utc(moment) == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert ensure_utc(moment).tzinfo is UTC
    with pytest.raises(ValueError, match="naive datetime"):
        ensure_utc(datetime(2024, 1, 1))
