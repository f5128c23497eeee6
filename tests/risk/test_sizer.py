from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.market import MarketType
from domain.trading import PositionSide
from risk import PositionSize, PositionSizer, RejectCode, Rejected
from tests.risk.factories import limits, market, pair, spot_market

D = Decimal


def size(entry="40000", stop="39000", equity="10000", *, the_pair=None, the_market=None, **limit_overrides):
    sizer = PositionSizer(limits(**limit_overrides))
    return sizer.size(
        entry=D(entry),
        stop=D(stop),
        equity=D(equity),
        pair=the_pair or pair(budget=D("100000"), leverage=5),
        market=the_market or market(),
    )


def test_size_when_risk_binds_then_loss_at_stop_within_risk_per_trade():
    result = size()
    assert isinstance(result, PositionSize)
    assert result.limited_by == "risk"
    # 100 USDT risk / (1000 distance + 0.0005 x 79000 fees) = 0.0962..., rounded down to the 0.001 step
    assert result.amount == D("0.096")
    assert result.risk_amount <= D("100")
    assert result.notional == D("3840.000")
    assert result.leverage == 5


def test_size_when_budget_binds_on_perpetual_then_notional_capped_at_budget_times_leverage():
    result = size(the_pair=pair(budget=D("500"), leverage=3))
    assert isinstance(result, PositionSize)
    assert result.limited_by == "budget"
    assert result.notional <= D("1500")
    assert result.amount == D("0.037")


def test_size_when_spot_then_leverage_one_and_notional_capped_at_budget():
    result = size(the_pair=pair(budget=D("500"), leverage=10), the_market=spot_market())
    assert isinstance(result, PositionSize)
    assert result.leverage == 1
    assert result.notional <= D("500")


def test_size_when_user_leverage_above_limit_and_market_then_lowest_used():
    assert size(the_pair=pair(budget=D("1000"), leverage=50)).leverage == 5
    assert size(the_pair=pair(budget=D("1000"), leverage=50), the_market=market(max_leverage=2)).leverage == 2
    assert size(the_pair=pair(budget=D("1000"), leverage=50), max_leverage=3).leverage == 3


def test_size_when_position_fraction_binds_then_margin_within_fraction_of_equity():
    result = size(stop="39900", the_pair=pair(budget=D("100000"), leverage=1), max_position_fraction="0.1")
    assert isinstance(result, PositionSize)
    assert result.limited_by == "max_position_fraction"
    assert result.notional <= D("1000")


def test_size_when_adding_to_position_then_existing_notional_counts_against_budget():
    held = pair(budget=D("2000"), leverage=1, position_side=PositionSide.LONG, position_amount=D("0.04"))
    result = size(the_pair=held)
    assert isinstance(result, PositionSize)
    assert result.notional + D("0.04") * D("40000") <= D("2000")


def test_size_when_position_already_uses_budget_then_budget_exhausted():
    held = pair(budget=D("1000"), leverage=1, position_side=PositionSide.LONG, position_amount=D("0.05"))
    result = size(the_pair=held)
    assert isinstance(result, Rejected) and result.code is RejectCode.BUDGET_EXHAUSTED


def test_size_when_risk_allows_less_than_min_amount_then_skipped_not_rounded_up():
    result = size(equity="300", the_market=market(min_amount=D("0.01")))
    assert isinstance(result, Rejected)
    assert result.code is RejectCode.BELOW_MIN_AMOUNT
    assert "under the exchange minimum of 0.01" in result.message and "skipped" in result.message


def test_size_when_rounding_down_gives_zero_then_skipped():
    result = size(equity="30", the_market=market(min_amount=D("0")))
    assert isinstance(result, Rejected) and result.code is RejectCode.BELOW_MIN_AMOUNT


def test_size_when_notional_under_min_notional_then_skipped():
    result = size(equity="1000", the_market=market(min_notional=D("500")))
    assert isinstance(result, Rejected)
    assert result.code is RejectCode.BELOW_MIN_NOTIONAL
    assert "under the exchange minimum of 500 USDT" in result.message


def test_size_when_contracts_bigger_than_one_coin_then_amount_in_contracts():
    result = size(the_market=market(contract_size=D("0.01"), amount_step=D("1"), min_amount=D("1")))
    assert isinstance(result, PositionSize)
    assert result.amount == D("9")
    assert result.notional == D("9") * D("0.01") * D("40000")


def test_size_when_short_then_stop_above_entry_sizes_the_same_way():
    result = size(entry="40000", stop="41000")
    assert isinstance(result, PositionSize) and result.risk_amount <= D("100")


@pytest.mark.parametrize(
    ("equity", "budget", "code"), [("0", "1000", RejectCode.NO_EQUITY), ("1000", "0", RejectCode.NO_BUDGET)]
)
def test_size_when_no_equity_or_no_budget_then_rejected(equity, budget, code):
    result = size(equity=equity, the_pair=pair(budget=D(budget)))
    assert isinstance(result, Rejected) and result.code is code


def test_size_when_stop_equals_entry_then_programming_error_raised():
    with pytest.raises(ValueError, match="distinct entry and stop"):
        size(stop="40000")


money = st.decimals(min_value=D("1"), max_value=D("1000000"), places=2)


@settings(max_examples=150, deadline=None)
@given(
    entry=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    stop_fraction=st.decimals(min_value=D("0.001"), max_value=D("0.5"), places=4),
    long=st.booleans(),
    equity=money,
    budget=money,
    leverage=st.integers(1, 100),
    risk=st.decimals(min_value=D("0.001"), max_value=D("0.1"), places=3),
    step=st.sampled_from([D("0.00001"), D("0.001"), D("0.1"), D("1")]),
    contract_size=st.sampled_from([D("1"), D("0.01"), D("10")]),
    kind=st.sampled_from(list(MarketType)),
    fee=st.sampled_from([D("0"), D("0.001")]),
)
def test_size_when_any_inputs_then_never_beyond_budget_leverage_or_risk(
    entry, stop_fraction, long, equity, budget, leverage, risk, step, contract_size, kind, fee
):
    stop = entry * (1 - stop_fraction) if long else entry * (1 + stop_fraction)
    the_market = market(type=kind, amount_step=step, min_amount=step, contract_size=contract_size, taker_fee=fee)
    sizer = PositionSizer(limits(risk_per_trade=risk, max_leverage=10))
    result = sizer.size(
        entry=entry, stop=stop, equity=equity, pair=pair(budget=budget, leverage=leverage), market=the_market
    )
    if isinstance(result, Rejected):
        assert result.code in {RejectCode.BELOW_MIN_AMOUNT, RejectCode.BELOW_MIN_NOTIONAL}
        return
    allowed_leverage = min(leverage, 10, the_market.max_leverage) if kind is MarketType.PERPETUAL else 1
    assert result.leverage == allowed_leverage
    assert result.amount >= the_market.min_amount and result.amount % step == 0
    assert result.notional == result.amount * contract_size * entry
    assert result.notional <= budget * allowed_leverage
    assert result.notional <= equity * allowed_leverage
    assert result.amount * contract_size * abs(entry - stop) <= equity * risk
    assert result.risk_amount <= equity * risk
