from decimal import Decimal

import pytest

from domain.trading import OrderSide
from risk import EntryProposal, RejectCode, Rejected, Validator
from tests.risk.factories import account, conditions, limits, long_pair, market, pair

D = Decimal


def proposal(side=OrderSide.BUY, price="40000", confidence="0.8", stop="39000", target="42000") -> EntryProposal:
    return EntryProposal(
        side, D(price), D(confidence), None if stop is None else D(stop), None if target is None else D(target)
    )


def validate(entry=None, *, the_market=None, the_conditions=None, the_account=None, the_pair=None, **overrides):
    return Validator(limits(**overrides)).validate(
        entry or proposal(),
        market=the_market or market(),
        conditions=the_conditions or conditions(),
        account=the_account or account(),
        pair=the_pair or pair(),
    )


def code_of(result: Rejected | None) -> RejectCode | None:
    return None if result is None else result.code


def test_validate_when_everything_sane_then_passes():
    assert validate() is None
    assert validate(proposal(OrderSide.SELL, stop="41000", target="38000")) is None


def test_validate_when_market_inactive_then_rejected():
    assert code_of(validate(the_market=market(active=False))) is RejectCode.MARKET_INACTIVE


@pytest.mark.parametrize(("spread", "code"), [("0.005", None), ("0.0051", RejectCode.SPREAD_TOO_WIDE), (None, None)])
def test_validate_when_spread_at_or_past_limit_then_only_past_rejected(spread, code):
    spread_value = None if spread is None else D(spread)
    assert code_of(validate(the_conditions=conditions(spread_fraction=spread_value))) is code


def test_validate_when_spread_too_wide_then_message_gives_both_numbers():
    result = validate(the_conditions=conditions(spread_fraction=D("0.012")))
    assert result is not None
    assert result.message == "The BTC/USDT spread is 1.2%, wider than the 0.5% limit; no entry."


@pytest.mark.parametrize(
    ("atr", "code"),
    [
        ("0.0004", RejectCode.VOLATILITY_TOO_LOW),
        ("0.0005", None),
        ("0.10", None),
        ("0.1001", RejectCode.VOLATILITY_TOO_HIGH),
    ],
)
def test_validate_when_volatility_outside_band_then_rejected(atr, code):
    assert code_of(validate(the_conditions=conditions(atr_fraction=D(atr)))) is code


@pytest.mark.parametrize(("volume", "code"), [("49999", RejectCode.VOLUME_TOO_LOW), ("50000", None)])
def test_validate_when_volume_under_minimum_then_rejected(volume, code):
    assert code_of(validate(the_conditions=conditions(quote_volume=D(volume)))) is code


@pytest.mark.parametrize(("equity", "code"), [("8001", None), ("8000", RejectCode.MAX_DRAWDOWN)])
def test_validate_when_drawdown_reaches_limit_then_rejected_and_pair_paused(equity, code):
    result = validate(the_account=account(equity=D(equity), peak_equity=D("10000")))
    assert code_of(result) is code
    if result is not None:
        assert result.pauses_pair
        assert "paused until you /resume it" in result.message


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        (proposal(confidence="0.59"), RejectCode.LOW_CONFIDENCE),
        (proposal(confidence="0.6"), None),
        (proposal(confidence="1.2"), RejectCode.INVALID_CONFIDENCE),
        (proposal(confidence="-0.1"), RejectCode.INVALID_CONFIDENCE),
        (proposal(price="0"), RejectCode.INVALID_PRICE),
        (proposal(stop=None), RejectCode.MISSING_STOP_LOSS),
        (proposal(target=None), RejectCode.MISSING_TAKE_PROFIT),
        (proposal(stop="40000"), RejectCode.STOP_LOSS_WRONG_SIDE),
        (proposal(stop="41000"), RejectCode.STOP_LOSS_WRONG_SIDE),
        (proposal(target="39500"), RejectCode.TAKE_PROFIT_WRONG_SIDE),
        (proposal(OrderSide.SELL, stop="39000", target="38000"), RejectCode.STOP_LOSS_WRONG_SIDE),
        (proposal(OrderSide.SELL, stop="41000", target="42000"), RejectCode.TAKE_PROFIT_WRONG_SIDE),
        (proposal(OrderSide.SELL, stop="41000", target="-1"), RejectCode.TAKE_PROFIT_WRONG_SIDE),
        (proposal(stop="39970", target="40100"), RejectCode.STOP_TOO_CLOSE),
        (proposal(stop="39960", target="40100"), None),
        (proposal(stop="34000", target="50000"), None),
        (proposal(stop="33999", target="50000"), RejectCode.STOP_TOO_FAR),
        (proposal(stop="39000", target="41499"), RejectCode.REWARD_RISK_TOO_LOW),
        (proposal(stop="39000", target="41500"), None),
        (proposal(OrderSide.SELL, stop="41000", target="38501"), RejectCode.REWARD_RISK_TOO_LOW),
    ],
)
def test_validate_when_decision_levels_checked_then_expected_code(entry, code):
    assert code_of(validate(entry)) is code


def test_validate_when_stop_on_wrong_side_then_message_says_which_side():
    result = validate(proposal(stop="41000"))
    assert result is not None
    assert result.message == "A buy needs its stop loss below the entry price 40000; got 41000."


def test_validate_when_reward_risk_low_then_message_shows_ratio():
    result = validate(proposal(stop="39000", target="41000"))
    assert result is not None and result.message == "Reward:risk is 1.00, under the 1.5 minimum."


@pytest.mark.parametrize(("trades", "code"), [(9, None), (10, RejectCode.DAILY_TRADE_CAP)])
def test_validate_when_daily_trade_cap_reached_then_rejected(trades, code):
    assert code_of(validate(the_account=account(trades_today=trades))) is code


@pytest.mark.parametrize(("open_positions", "code"), [(4, None), (5, RejectCode.MAX_OPEN_POSITIONS)])
def test_validate_when_max_open_positions_reached_then_new_position_rejected(open_positions, code):
    assert code_of(validate(the_account=account(open_positions=open_positions))) is code


def test_validate_when_max_open_positions_reached_but_adding_to_open_one_then_passes():
    assert validate(the_account=account(open_positions=5), the_pair=long_pair()) is None


def test_validate_when_limits_overridden_then_rules_follow_them():
    assert code_of(validate(proposal(confidence="0.7"), min_confidence="0.75")) is RejectCode.LOW_CONFIDENCE
    assert validate(the_account=account(trades_today=10), max_trades_per_day=20) is None


def test_validate_when_several_rules_fail_then_first_in_order_reported():
    result = validate(
        proposal(confidence="0.1"),
        the_conditions=conditions(spread_fraction=D("0.1")),
        the_account=account(trades_today=50),
    )
    assert code_of(result) is RejectCode.SPREAD_TOO_WIDE
