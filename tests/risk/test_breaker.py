import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from risk import (
    BreakerEventKind,
    BreakerScope,
    BreakerStatus,
    DailyLossBreaker,
    DailyLossState,
    LossStreakBreaker,
    LossStreakState,
    TripReason,
)
from tests.risk.factories import T0, account

D = Decimal
LOSS, WIN = D("-10"), D("10")
STREAK = LossStreakBreaker(3, timedelta(hours=4))
DAILY = DailyLossBreaker(D("0.05"), timedelta(hours=4))


def losses(state: LossStreakState, count: int, start: datetime = T0) -> tuple[LossStreakState, list]:
    events = []
    for i in range(count):
        step = STREAK.record_trade(state, LOSS, start + timedelta(minutes=i))
        state, events = step.state, events + list(step.events)
    return state, events


def test_record_trade_when_three_losses_in_a_row_then_opens_with_event():
    state, events = losses(LossStreakState(), 3)
    assert state.status is BreakerStatus.OPEN
    assert state.reason is TripReason.LOSS_STREAK
    assert state.tripped_at == T0 + timedelta(minutes=2)
    assert state.reopens_at == T0 + timedelta(minutes=2, hours=4)
    [event] = events
    assert (event.kind, event.scope, event.reason) == (
        BreakerEventKind.TRIPPED,
        BreakerScope.PAIR,
        TripReason.LOSS_STREAK,
    )
    assert event.at == state.tripped_at
    assert "3 losing trades in a row" in event.message and "2024-03-01 16:02 UTC" in event.message


def test_record_trade_when_two_losses_then_still_running_without_events():
    state, events = losses(LossStreakState(), 2)
    assert state == LossStreakState(consecutive_losses=2)
    assert events == []


def test_record_trade_when_win_between_losses_then_streak_resets():
    state, _ = losses(LossStreakState(), 2)
    state = STREAK.record_trade(state, WIN, T0 + timedelta(minutes=5)).state
    assert state.consecutive_losses == 0
    state, events = losses(state, 2, T0 + timedelta(minutes=6))
    assert state.status is BreakerStatus.RUNNING and events == []


def test_record_trade_when_break_even_then_streak_unchanged():
    state, _ = losses(LossStreakState(), 2)
    assert STREAK.record_trade(state, D("0"), T0 + timedelta(minutes=5)).state == state


def test_record_trade_when_open_then_trade_not_counted():
    state, _ = losses(LossStreakState(), 3)
    step = STREAK.record_trade(state, LOSS, T0 + timedelta(hours=1))
    assert step.state == state and step.events == ()


def test_advance_when_cooldown_not_over_then_stays_open():
    state, _ = losses(LossStreakState(), 3)
    step = STREAK.advance(state, state.reopens_at - timedelta(seconds=1))
    assert step.state == state and step.events == ()


def test_advance_when_cooldown_over_then_running_with_cleared_streak_and_event():
    state, _ = losses(LossStreakState(), 3)
    step = STREAK.advance(state, state.reopens_at)
    assert step.state == LossStreakState()
    [event] = step.events
    assert event.kind is BreakerEventKind.COOLDOWN_EXPIRED and event.at == state.reopens_at


def test_resume_when_open_then_running_with_event_and_trips_again_after_three_fresh_losses():
    state, _ = losses(LossStreakState(), 3)
    step = STREAK.resume(state, T0 + timedelta(hours=1))
    assert step.state == LossStreakState()
    assert [e.kind for e in step.events] == [BreakerEventKind.RESUMED]
    state, events = losses(step.state, 2, T0 + timedelta(hours=1, minutes=1))
    assert state.status is BreakerStatus.RUNNING
    state, events = losses(state, 1, T0 + timedelta(hours=1, minutes=5))
    assert state.status is BreakerStatus.OPEN and [e.kind for e in events] == [BreakerEventKind.TRIPPED]


def test_record_trade_when_loss_after_cooldown_then_expiry_applied_first_and_streak_starts_at_one():
    state, _ = losses(LossStreakState(), 3)
    step = STREAK.record_trade(state, LOSS, state.reopens_at + timedelta(minutes=1))
    assert step.state == LossStreakState(consecutive_losses=1)
    assert [e.kind for e in step.events] == [BreakerEventKind.COOLDOWN_EXPIRED]


def test_trips_again_when_tripped_and_reset_many_times_then_every_cycle_trips():
    state, now = LossStreakState(), T0
    for _ in range(5):
        state, events = losses(state, 3, now)
        assert state.status is BreakerStatus.OPEN and events[-1].kind is BreakerEventKind.TRIPPED
        now = state.reopens_at + timedelta(minutes=1)
        state = STREAK.advance(state, now).state
        assert state.status is BreakerStatus.RUNNING


def test_resume_when_running_then_nothing_changes():
    state = LossStreakState(consecutive_losses=2)
    step = STREAK.resume(state, T0)
    assert step.state == state and step.events == ()


def test_record_trade_when_naive_time_then_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        STREAK.record_trade(LossStreakState(), LOSS, datetime(2024, 1, 1))


def test_advance_when_time_in_another_zone_then_compared_as_utc():
    state, _ = losses(LossStreakState(), 3)
    plus_two = timezone(timedelta(hours=2))
    assert STREAK.advance(state, state.reopens_at.astimezone(plus_two)).state.status is BreakerStatus.RUNNING


def test_observe_when_day_loss_reaches_limit_then_user_breaker_opens():
    state = DAILY.observe(DailyLossState(), account(), T0).state
    step = DAILY.observe(state, account(equity=D("9500"), realized_pnl_today=D("-300"), unrealized_pnl=D("-200")), T0)
    assert step.state.status is BreakerStatus.OPEN
    assert step.state.reason is TripReason.DAILY_LOSS_LIMIT
    assert step.state.reopens_at == T0 + timedelta(hours=4)
    [event] = step.events
    assert (event.kind, event.scope) == (BreakerEventKind.TRIPPED, BreakerScope.USER)
    assert "down 5% (limit 5%)" in event.message


def test_observe_when_day_loss_below_limit_then_running():
    step = DAILY.observe(DailyLossState(), account(realized_pnl_today=D("-499.99")), T0)
    assert step.state.status is BreakerStatus.RUNNING and step.events == ()
    assert step.state.baseline_equity == D("10000") and step.state.day == T0.date()


def test_observe_when_fresh_state_mid_day_then_armed_from_day_start_equity():
    later = T0 + timedelta(hours=6)
    step = DAILY.observe(DailyLossState(), account(equity=D("9400"), realized_pnl_today=D("-600")), later)
    assert step.state.status is BreakerStatus.OPEN


def test_observe_when_profit_then_loss_from_day_start_counts_net():
    state = DAILY.observe(DailyLossState(), account(realized_pnl_today=D("300")), T0).state
    step = DAILY.observe(state, account(realized_pnl_today=D("300"), unrealized_pnl=D("-700")), T0)
    assert step.state.status is BreakerStatus.RUNNING


def test_observe_when_new_utc_day_then_yesterdays_loss_forgotten():
    state = DAILY.observe(DailyLossState(), account(realized_pnl_today=D("-400")), T0).state
    next_day = datetime(2024, 3, 2, 0, 5, tzinfo=UTC)
    step = DAILY.observe(state, account(equity=D("9600"), day_start_equity=D("9600")), next_day)
    assert step.state.day == next_day.date() and step.state.baseline_equity == D("9600")
    step = DAILY.observe(
        step.state, account(equity=D("9200"), day_start_equity=D("9600"), realized_pnl_today=D("-400")), next_day
    )
    assert step.state.status is BreakerStatus.RUNNING
    step = DAILY.observe(step.state, account(day_start_equity=D("9600"), realized_pnl_today=D("-480")), next_day)
    assert step.state.status is BreakerStatus.OPEN


def test_resume_when_daily_loss_still_beyond_limit_then_rearmed_from_current_equity():
    tripped = DAILY.observe(DailyLossState(), account(equity=D("9400"), realized_pnl_today=D("-600")), T0).state
    resumed = DAILY.resume(tripped, T0 + timedelta(minutes=30))
    assert [e.kind for e in resumed.events] == [BreakerEventKind.RESUMED]
    later = T0 + timedelta(minutes=31)
    still_down = account(equity=D("9400"), realized_pnl_today=D("-600"))
    step = DAILY.observe(resumed.state, still_down, later)
    assert step.state.status is BreakerStatus.RUNNING
    assert (step.state.baseline_pnl, step.state.baseline_equity) == (D("-600"), D("9400"))
    step = DAILY.observe(step.state, account(equity=D("8960"), realized_pnl_today=D("-1040")), later)
    assert step.state.status is BreakerStatus.RUNNING
    step = DAILY.observe(step.state, account(equity=D("8930"), realized_pnl_today=D("-1070")), later)
    assert step.state.status is BreakerStatus.OPEN
    assert [e.kind for e in step.events] == [BreakerEventKind.TRIPPED]


def test_observe_when_cooldown_over_then_event_and_rearmed_from_observation():
    tripped = DAILY.observe(DailyLossState(), account(equity=D("9400"), realized_pnl_today=D("-600")), T0).state
    step = DAILY.observe(tripped, account(equity=D("9400"), realized_pnl_today=D("-650")), tripped.reopens_at)
    assert step.state.status is BreakerStatus.RUNNING
    assert step.state.baseline_pnl == D("-650")
    assert [e.kind for e in step.events] == [BreakerEventKind.COOLDOWN_EXPIRED]
    assert step.events[0].at == tripped.reopens_at


def test_observe_when_open_and_cooldown_running_then_unchanged_even_if_losses_grow():
    tripped = DAILY.observe(DailyLossState(), account(realized_pnl_today=D("-600")), T0).state
    step = DAILY.observe(tripped, account(realized_pnl_today=D("-2000")), T0 + timedelta(hours=1))
    assert step.state == tripped and step.events == ()


def test_resume_when_daily_breaker_running_then_nothing_changes():
    state = DAILY.observe(DailyLossState(), account(), T0).state
    step = DAILY.resume(state, T0)
    assert step.state == state and step.events == ()


def test_observe_when_day_start_equity_zero_then_never_trips():
    step = DAILY.observe(
        DailyLossState(), account(equity=D("0"), day_start_equity=D("0"), realized_pnl_today=D("-5")), T0
    )
    assert step.state.status is BreakerStatus.RUNNING


@pytest.mark.parametrize(
    "state",
    [
        LossStreakState(),
        LossStreakState(consecutive_losses=2),
        LossStreakState(BreakerStatus.OPEN, 3, T0, T0 + timedelta(hours=4)),
        DailyLossState(),
        DailyLossState(day=T0.date(), baseline_pnl=D("-12.50"), baseline_equity=D("9987.50")),
        DailyLossState(BreakerStatus.OPEN, T0.date(), D("0"), D("10000"), T0, T0 + timedelta(hours=4)),
    ],
)
def test_from_dict_when_state_went_through_json_then_equal(state):
    restored = type(state).from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state
    assert restored.to_dict() == state.to_dict()


def test_to_dict_when_open_then_reason_and_times_readable():
    state, _ = losses(LossStreakState(), 3)
    assert state.to_dict() == {
        "status": "open",
        "reason": "loss_streak",
        "consecutive_losses": 3,
        "tripped_at": "2024-03-01T12:02:00+00:00",
        "reopens_at": "2024-03-01T16:02:00+00:00",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "open", "consecutive_losses": 3, "tripped_at": None, "reopens_at": None}, "open breaker needs"),
        ({"status": "broken", "consecutive_losses": 0, "tripped_at": None, "reopens_at": None}, "'broken'"),
        ({"status": "running", "tripped_at": None, "reopens_at": None}, "missing field 'consecutive_losses'"),
        ({"status": "running", "consecutive_losses": "2", "tripped_at": None, "reopens_at": None}, "whole number"),
        (
            {"status": "open", "consecutive_losses": 3, "tripped_at": "2024-03-01T12:00:00", "reopens_at": "x"},
            "naive datetime",
        ),
    ],
)
def test_from_dict_when_stored_state_corrupt_then_clear_error(data, message):
    with pytest.raises(ValueError, match="stored LossStreakState is not valid") as error:
        LossStreakState.from_dict(data)
    assert message in str(error.value)


def test_from_dict_when_daily_state_has_bad_number_then_clear_error():
    data = DailyLossState(day=T0.date(), baseline_equity=D("1")).to_dict() | {"baseline_pnl": "lots"}
    with pytest.raises(ValueError, match="stored DailyLossState is not valid: not a number"):
        DailyLossState.from_dict(data)


def test_is_open_at_when_before_and_after_reopen_time_then_true_then_false():
    state, _ = losses(LossStreakState(), 3)
    assert state.is_open_at(state.reopens_at - timedelta(seconds=1))
    assert not state.is_open_at(state.reopens_at)
    assert not LossStreakState().is_open_at(T0)
    tripped = DAILY.observe(DailyLossState(), account(realized_pnl_today=D("-600")), T0).state
    assert tripped.is_open_at(T0) and not tripped.is_open_at(T0 + timedelta(hours=4))


def test_state_when_status_given_as_text_then_stored_as_enum():
    assert LossStreakState("running").status is BreakerStatus.RUNNING  # type: ignore[arg-type]


def test_observe_when_asked_again_with_the_same_objects_then_the_same_transition_and_anything_new_recomputes():
    breaker = DailyLossBreaker(D("0.05"), timedelta(hours=4))
    losing = account(equity=D("9500"), realized_pnl_today=D("-300"), unrealized_pnl=D("-200"))
    armed = breaker.observe(DailyLossState(), account(), T0).state
    tripped = breaker.observe(armed, losing, T0)
    assert tripped.state.status is BreakerStatus.OPEN and len(tripped.events) == 1

    assert breaker.observe(armed, losing, T0) is tripped  # the same three objects: the same answer
    equal_inputs = breaker.observe(armed, account(equity=D("9500"), realized_pnl_today=D("-300"),
                                                  unrealized_pnl=D("-200")), T0)  # fmt: skip
    assert equal_inputs is not tripped and equal_inputs == tripped
    later = T0 + timedelta(hours=5)
    reopened = breaker.observe(tripped.state, losing, later)  # the cooldown is over: not the last answer
    assert reopened.state.status is BreakerStatus.RUNNING
    assert [e.kind for e in reopened.events] == [BreakerEventKind.COOLDOWN_EXPIRED]
    breaker.loss_fraction = D("0.9")  # a limit changed: the same inputs are judged by it
    assert breaker.observe(armed, losing, T0).state.status is BreakerStatus.RUNNING
