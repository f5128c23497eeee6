from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from domain.decision import Action, Decision
from domain.trading import OrderSide
from risk import (
    Approved,
    BreakerEventKind,
    BreakerStatus,
    DailyLossState,
    LossStreakState,
    RejectCode,
    Rejected,
    RiskCheck,
    RiskManager,
)
from tests.risk.factories import (
    T0,
    account,
    buy,
    conditions,
    limits,
    long_pair,
    market,
    pair,
    sell,
    short_pair,
    spot_market,
)

D = Decimal
OPEN_PAIR = LossStreakState(BreakerStatus.OPEN, 3, T0 - timedelta(hours=1), T0 + timedelta(hours=3))
OPEN_DAILY = DailyLossState(
    BreakerStatus.OPEN, T0.date(), D("0"), D("10000"), T0 - timedelta(hours=1), T0 + timedelta(hours=3)
)


def check(
    decision,
    *,
    manager=None,
    the_market=None,
    the_conditions=None,
    the_account=None,
    the_pair=None,
    pair_breaker=None,
    daily_breaker=None,
    now=T0,
) -> RiskCheck:
    return (manager or RiskManager(limits())).check(
        decision,
        market=the_market or market(),
        conditions=the_conditions or conditions(),
        account=the_account or account(),
        pair=the_pair or pair(),
        pair_breaker=pair_breaker or LossStreakState(),
        daily_breaker=daily_breaker or DailyLossState(),
        now=now,
    )


def test_check_when_sane_buy_then_approved_with_size_levels_and_message():
    result = check(buy())
    verdict = result.verdict
    assert result.approved and isinstance(verdict, Approved)
    assert (verdict.action, verdict.side, verdict.is_exit, verdict.reduce_only) == (
        Action.BUY,
        OrderSide.BUY,
        False,
        False,
    )
    assert verdict.amount == D("0.096") and verdict.leverage == 3 and verdict.limited_by == "risk"
    assert (verdict.stop_loss, verdict.take_profit) == (D("39000"), D("42000"))
    assert verdict.code == "approved"
    assert verdict.message == (
        "Approved: buy 0.096 BTC/USDT near 40000 (3840.00 USDT, 3x), risking 99.79 USDT at the stop 39000."
    )
    assert result.events == ()
    assert result.daily_breaker.baseline_equity == D("10000")


def test_check_when_sane_sell_on_perpetual_then_short_approved():
    verdict = check(sell()).verdict
    assert isinstance(verdict, Approved) and verdict.side is OrderSide.SELL and not verdict.is_exit


def test_check_when_levels_off_the_price_grid_then_rounded_toward_entry():
    long_verdict = check(buy(stop="39000.07", target="42000.07")).verdict
    assert isinstance(long_verdict, Approved)
    assert (long_verdict.stop_loss, long_verdict.take_profit) == (D("39000.1"), D("42000.0"))
    short_verdict = check(sell(stop="41000.07", target="38000.03")).verdict
    assert isinstance(short_verdict, Approved)
    assert (short_verdict.stop_loss, short_verdict.take_profit) == (D("41000.0"), D("38000.1"))


def test_check_when_hold_then_rejected_with_hold_code():
    verdict = check(Decision(Action.HOLD, D("0.9"))).verdict
    assert isinstance(verdict, Rejected) and verdict.code is RejectCode.HOLD and verdict.code == "hold"


def test_check_when_close_without_position_then_no_position():
    verdict = check(Decision(Action.CLOSE, D("0.9"))).verdict
    assert isinstance(verdict, Rejected) and verdict.code is RejectCode.NO_POSITION


@pytest.mark.parametrize(
    ("decision", "the_pair", "side"),
    [
        (Decision(Action.CLOSE, D("0.1")), long_pair("0.05"), OrderSide.SELL),
        (Decision(Action.CLOSE, D("0.1")), short_pair("0.05"), OrderSide.BUY),
        (sell(confidence="0.1", stop=None), long_pair("0.05"), OrderSide.SELL),
        (buy(confidence="0.1", stop=None), short_pair("0.05"), OrderSide.BUY),
    ],
)
def test_check_when_exit_while_every_gate_is_shut_then_still_approved(decision, the_pair, side):
    result = check(
        decision,
        the_pair=the_pair,
        the_conditions=conditions(spread_fraction=D("0.5"), atr_fraction=D("0.9"), quote_volume=D("0")),
        the_account=account(equity=D("5000"), trades_today=99, open_positions=99),
        pair_breaker=OPEN_PAIR,
        daily_breaker=OPEN_DAILY,
    )
    verdict = result.verdict
    assert isinstance(verdict, Approved)
    assert (verdict.side, verdict.amount, verdict.is_exit, verdict.reduce_only) == (side, D("0.05"), True, True)
    assert verdict.notional == D("2000.00")


def test_check_when_exit_on_spot_then_not_flagged_reduce_only():
    verdict = check(sell(), the_market=spot_market(), the_pair=long_pair()).verdict
    assert isinstance(verdict, Approved) and verdict.is_exit and not verdict.reduce_only and verdict.leverage == 1


def test_check_when_sell_on_spot_without_holding_then_short_not_supported():
    verdict = check(sell(), the_market=spot_market()).verdict
    assert isinstance(verdict, Rejected) and verdict.code is RejectCode.SHORT_NOT_SUPPORTED


def test_check_when_pair_breaker_open_then_entry_rejected_with_reopen_time():
    result = check(buy(), pair_breaker=OPEN_PAIR)
    verdict = result.verdict
    assert isinstance(verdict, Rejected) and verdict.code is RejectCode.BREAKER_OPEN
    assert "until 2024-03-01 15:00 UTC" in verdict.message
    assert result.pair_breaker == OPEN_PAIR


def test_check_when_daily_breaker_open_then_entry_rejected():
    verdict = check(buy(), daily_breaker=OPEN_DAILY).verdict
    assert isinstance(verdict, Rejected) and verdict.code is RejectCode.DAILY_LOSS_BREAKER_OPEN


def test_check_when_day_loss_crosses_limit_during_check_then_trips_and_rejects_with_event():
    result = check(buy(), the_account=account(equity=D("9400"), unrealized_pnl=D("-600")))
    assert isinstance(result.verdict, Rejected) and result.verdict.code is RejectCode.DAILY_LOSS_BREAKER_OPEN
    assert result.daily_breaker.status is BreakerStatus.OPEN
    assert [event.kind for event in result.events] == [BreakerEventKind.TRIPPED]


def test_check_when_pair_cooldown_over_then_entry_approved_and_expiry_event_returned():
    result = check(buy(), pair_breaker=OPEN_PAIR, now=OPEN_PAIR.reopens_at)
    assert result.approved
    assert result.pair_breaker == LossStreakState()
    assert [event.kind for event in result.events] == [BreakerEventKind.COOLDOWN_EXPIRED]


def test_check_when_validator_rejects_then_its_reason_is_the_verdict():
    verdict = check(buy(confidence="0.5")).verdict
    assert isinstance(verdict, Rejected) and verdict.code is RejectCode.LOW_CONFIDENCE


def test_check_when_sizer_skips_then_its_reason_is_the_verdict():
    verdict = check(buy(), the_market=market(min_amount=D("1"))).verdict
    assert isinstance(verdict, Rejected) and verdict.code is RejectCode.BELOW_MIN_AMOUNT


def test_check_when_drawdown_limit_hit_then_rejected_and_pair_pause_requested():
    verdict = check(
        buy(), the_account=account(equity=D("7000"), peak_equity=D("10000"), day_start_equity=D("7000"))
    ).verdict
    assert isinstance(verdict, Rejected) and verdict.code is RejectCode.MAX_DRAWDOWN and verdict.pauses_pair


def test_check_when_decision_numbers_are_floats_then_converted_not_crashed():
    verdict = check(Decision(Action.BUY, 0.8, 39000.0, 42000.0)).verdict  # type: ignore[arg-type]
    assert isinstance(verdict, Approved) and verdict.stop_loss == D("39000")


def test_check_when_naive_now_then_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        check(buy(), now=datetime(2024, 3, 1, 12))


def test_record_trade_when_three_losses_then_next_entry_blocked_until_resume():
    manager = RiskManager(limits())
    state = LossStreakState()
    for minute in range(3):
        state = manager.record_trade(state, D("-5"), T0 + timedelta(minutes=minute)).state
    assert check(buy(), manager=manager, pair_breaker=state, now=T0 + timedelta(minutes=5)).verdict.code is (
        RejectCode.BREAKER_OPEN
    )
    resumed = manager.streak_breaker.resume(state, T0 + timedelta(minutes=6)).state
    assert check(buy(), manager=manager, pair_breaker=resumed, now=T0 + timedelta(minutes=7)).approved


def test_observe_account_when_loss_past_limit_between_decisions_then_trips():
    step = RiskManager(limits()).observe_account(DailyLossState(), account(realized_pnl_today=D("-500")), T0)
    assert step.state.status is BreakerStatus.OPEN


def test_check_when_pair_overrides_tighten_limits_then_applied():
    manager = RiskManager(limits().resolve({"risk_per_trade": "0.02"}, {"risk_per_trade": "0.005"}))
    verdict = check(buy(), manager=manager).verdict
    assert isinstance(verdict, Approved) and verdict.risk_amount <= D("50")


def test_check_when_stop_loss_negative_then_reported_on_wrong_side_not_missing():
    verdict = check(buy(stop="-5")).verdict
    assert isinstance(verdict, Rejected) and verdict.code is RejectCode.STOP_LOSS_WRONG_SIDE
