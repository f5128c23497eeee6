"""The breakers against small reference models written from the spec, over random histories.

Each history mixes closed trades (or account observations), clock moves, manual resumes and restarts (the
state goes through JSON and back). After every step the real state must equal the model's.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from risk import (
    BreakerEventKind,
    BreakerStatus,
    BreakerTransition,
    DailyLossBreaker,
    DailyLossState,
    LossStreakBreaker,
    LossStreakState,
)
from tests.risk.factories import T0, account

COOLDOWN = timedelta(hours=4)
minutes = st.integers(min_value=0, max_value=12 * 60)


@dataclass
class StreakModel:
    """Spec: N losses in a row open it; a win resets; open for the cooldown or until resumed; then N fresh losses."""

    n: int
    open: bool = False
    losses: int = 0
    tripped_at: datetime | None = None
    reopens_at: datetime | None = None
    trips: int = 0

    def clock(self, now: datetime) -> None:
        if self.open and now >= self.reopens_at:
            self.open, self.losses, self.tripped_at, self.reopens_at = False, 0, None, None

    def trade(self, pnl: int, at: datetime) -> None:
        self.clock(at)
        if self.open:
            return
        if pnl > 0:
            self.losses = 0
        elif pnl < 0:
            self.losses += 1
            if self.losses >= self.n:
                self.open, self.tripped_at, self.reopens_at = True, at, at + COOLDOWN
                self.trips += 1

    def resume(self, now: datetime) -> None:
        self.clock(now)
        if self.open:
            self.open, self.losses, self.tripped_at, self.reopens_at = False, 0, None, None


streak_steps = st.lists(
    st.one_of(
        st.tuples(st.just("trade"), st.integers(-50, 50), minutes),
        st.tuples(st.just("wait"), st.just(0), minutes),
        st.tuples(st.just("resume"), st.just(0), st.just(0)),
        st.tuples(st.just("restart"), st.just(0), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=120, deadline=None)
@given(n=st.integers(1, 4), steps=streak_steps)
def test_loss_streak_breaker_when_any_history_then_equals_reference_model(n, steps):
    breaker, model = LossStreakBreaker(n, COOLDOWN), StreakModel(n)
    state, now, trips = LossStreakState(), T0, 0
    for kind, pnl, wait in steps:
        now += timedelta(minutes=wait)
        if kind == "trade":
            step = breaker.record_trade(state, Decimal(pnl), now)
            model.trade(pnl, now)
        elif kind == "wait":
            step = breaker.advance(state, now)
            model.clock(now)
        elif kind == "resume":
            step = breaker.resume(state, now)
            model.resume(now)
        else:
            step = BreakerTransition(LossStreakState.from_dict(json.loads(json.dumps(state.to_dict()))))
        state = step.state
        trips += sum(event.kind is BreakerEventKind.TRIPPED for event in step.events)
        assert (state.status is BreakerStatus.OPEN) == model.open
        assert state.consecutive_losses == model.losses
        assert (state.tripped_at, state.reopens_at) == (model.tripped_at, model.reopens_at)
    assert trips == model.trips


@dataclass
class DailyModel:
    """Spec: trip when the loss since the baseline reaches pct of the baseline equity. A new UTC day's baseline is
    (0, day start equity); after a reopen it is (P&L, equity) at the first observation of that day."""

    pct: Decimal
    open: bool = False
    reopens_at: datetime | None = None
    day: date | None = None
    baseline: tuple[Decimal, Decimal] | None = None
    trips: int = 0

    def observe(self, pnl: Decimal, equity: Decimal, day_start: Decimal, now: datetime) -> None:
        if self.open:
            if now < self.reopens_at:
                return
            self.open, self.reopens_at, self.day, self.baseline = False, None, now.date(), None
        if self.day != now.date():
            self.day, self.baseline = now.date(), (Decimal(0), day_start)
        elif self.baseline is None:
            self.baseline = (pnl, equity)
        base_pnl, base_equity = self.baseline
        if base_equity > 0 and base_pnl - pnl >= self.pct * base_equity:
            self.open, self.reopens_at = True, now + COOLDOWN
            self.trips += 1

    def resume(self, now: datetime) -> None:
        if self.open:
            self.open, self.reopens_at, self.day, self.baseline = False, None, now.date(), None


daily_steps = st.lists(
    st.one_of(
        st.tuples(st.just("observe"), st.integers(-1500, 500), st.integers(8000, 12000), minutes),
        st.tuples(st.just("resume"), st.just(0), st.just(0), minutes),
        st.tuples(st.just("restart"), st.just(0), st.just(0), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=120, deadline=None)
@given(pct=st.sampled_from([Decimal("0.01"), Decimal("0.05"), Decimal("0.1")]), steps=daily_steps)
def test_daily_loss_breaker_when_any_history_then_equals_reference_model(pct, steps):
    breaker, model = DailyLossBreaker(pct, COOLDOWN), DailyModel(pct)
    state, now, trips = DailyLossState(), T0, 0
    for kind, pnl, day_start, wait in steps:
        now += timedelta(minutes=wait)
        if kind == "observe":
            pnl, day_start = Decimal(pnl), Decimal(day_start)
            observed = account(equity=day_start + pnl, day_start_equity=day_start, realized_pnl_today=pnl)
            step = breaker.observe(state, observed, now)
            model.observe(pnl, day_start + pnl, day_start, now)
        elif kind == "resume":
            step = breaker.resume(state, now)
            model.resume(now)
        else:
            step = BreakerTransition(DailyLossState.from_dict(json.loads(json.dumps(state.to_dict()))))
        state = step.state
        trips += sum(event.kind is BreakerEventKind.TRIPPED for event in step.events)
        assert (state.status is BreakerStatus.OPEN) == model.open
        assert state.reopens_at == model.reopens_at
        if not model.open:
            assert state.day == model.day
            assert (None if state.baseline_equity is None else (state.baseline_pnl, state.baseline_equity)) == (
                model.baseline
            )
    assert trips == model.trips
