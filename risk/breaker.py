"""Circuit breakers: pure transitions from one immutable state to the next, each with the events it caused.

Two breakers guard a user: a LossStreakBreaker per (user, pair) and one DailyLossBreaker per user.
    RUNNING --N losing trades in a row--> OPEN          (pair)
    RUNNING --daily net loss >= X% of baseline--> OPEN  (user)
    OPEN --cooldown over--> RUNNING;  OPEN --resume--> RUNNING
Every reopen clears what tripped it, so it trips again: the streak needs N fresh losses, and the daily limit
re-arms from the equity at the first observation after the reopen (a further X% of that equity trips it again,
even when the day's loss is already past the limit). A new UTC day re-arms from the day's starting equity.
Time is always passed in; nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from domain.fast_init import fast_init
from domain.money import to_decimal
from risk.breaker_state import (
    BreakerEvent,
    BreakerEventKind,
    BreakerScope,
    BreakerStatus,
    DailyLossState,
    LossStreakState,
    TripReason,
)
from risk.inputs import AccountState, ensure_utc
from risk.limits import RiskLimits
from risk.wording import percent, when


@fast_init
@dataclass(frozen=True, slots=True)
class BreakerTransition[S]:
    """The state after a step and the events the step produced (empty when nothing changed status)."""

    state: S
    events: tuple[BreakerEvent, ...] = ()


class LossStreakBreaker:
    """Per (user, pair). A loss is pnl < 0, a win pnl > 0 resets the streak, a break-even trade changes nothing.

    Trades closed while open do not count: the streak restarts from zero when the breaker reopens.
    """

    scope = BreakerScope.PAIR

    def __init__(self, max_consecutive_losses: int, cooldown: timedelta) -> None:
        if max_consecutive_losses < 1 or cooldown <= timedelta(0):
            raise ValueError("a loss-streak breaker needs at least one loss and a positive cooldown")
        self.max_consecutive_losses = max_consecutive_losses
        self.cooldown = cooldown

    @classmethod
    def from_limits(cls, limits: RiskLimits) -> LossStreakBreaker:
        return cls(limits.breaker_max_consecutive_losses, timedelta(minutes=limits.breaker_cooldown_minutes))

    def advance(self, state: LossStreakState, now: datetime) -> BreakerTransition[LossStreakState]:
        """Let the clock run: an open breaker whose cooldown is over reopens."""
        now = ensure_utc(now)
        if state.status is BreakerStatus.OPEN and state.reopens_at is not None and now >= state.reopens_at:
            event = self._event(
                BreakerEventKind.COOLDOWN_EXPIRED,
                "Circuit breaker cooldown is over: new entries on this pair are allowed again. "
                f"It trips again after {self.max_consecutive_losses} losing trades in a row.",
                state.reopens_at,
            )
            return BreakerTransition(LossStreakState(), (event,))
        return BreakerTransition(state)

    def record_trade(self, state: LossStreakState, pnl: Decimal, at: datetime) -> BreakerTransition[LossStreakState]:
        """Count a closed trade's net P&L (after fees) at the time it closed."""
        pnl = to_decimal(pnl)
        advanced = self.advance(state, at)
        state = advanced.state
        if state.status is BreakerStatus.OPEN or pnl == 0:
            return advanced
        if pnl > 0:
            return BreakerTransition(replace(state, consecutive_losses=0), advanced.events)
        losses = state.consecutive_losses + 1
        if losses < self.max_consecutive_losses:
            return BreakerTransition(replace(state, consecutive_losses=losses), advanced.events)
        at = ensure_utc(at, "at")
        reopens_at = at + self.cooldown
        tripped = LossStreakState(BreakerStatus.OPEN, losses, tripped_at=at, reopens_at=reopens_at)
        event = self._event(
            BreakerEventKind.TRIPPED,
            f"Circuit breaker tripped after {losses} losing trades in a row: no new entries on this pair until "
            f"{when(reopens_at)}. Open positions keep their stop loss and take profit; /resume restarts it sooner.",
            at,
        )
        return BreakerTransition(tripped, (*advanced.events, event))

    def resume(self, state: LossStreakState, now: datetime) -> BreakerTransition[LossStreakState]:
        """Reopen by hand; a running breaker stays as it is."""
        advanced = self.advance(state, now)
        if advanced.state.status is BreakerStatus.RUNNING:
            return advanced
        event = self._event(
            BreakerEventKind.RESUMED,
            "Circuit breaker reset: new entries on this pair are allowed again. "
            f"It trips again after {self.max_consecutive_losses} losing trades in a row.",
            ensure_utc(now),
        )
        return BreakerTransition(LossStreakState(), (event,))

    def _event(self, kind: BreakerEventKind, message: str, at: datetime) -> BreakerEvent:
        return BreakerEvent(kind, self.scope, TripReason.LOSS_STREAK, message, at)


class DailyLossBreaker:
    """Per user: trips when the day's net loss since the baseline reaches loss_fraction of the baseline equity."""

    scope = BreakerScope.USER

    def __init__(self, loss_fraction: Decimal, cooldown: timedelta) -> None:
        if not Decimal(0) < loss_fraction < Decimal(1) or cooldown <= timedelta(0):
            raise ValueError("a daily-loss breaker needs a loss fraction between 0 and 1 and a positive cooldown")
        self.loss_fraction = loss_fraction
        self.cooldown = cooldown
        # the last observation: its (immutable) inputs, the limits it applied and its transition
        self._last: tuple[DailyLossState, AccountState, datetime, Decimal, timedelta, BreakerTransition] | None = None

    @classmethod
    def from_limits(cls, limits: RiskLimits) -> DailyLossBreaker:
        return cls(limits.breaker_daily_loss_pct, timedelta(minutes=limits.breaker_cooldown_minutes))

    def observe(self, state: DailyLossState, account: AccountState, now: datetime) -> BreakerTransition[DailyLossState]:
        """Let the clock run, re-arm the baseline when due, and trip when the loss since the baseline is too big.

        A pure function of its inputs, which are immutable: asked again with the very same three objects (the
        engine's monitor and then its cycle, at the same time, when nothing moved in between) it hands back the
        transition it computed for them."""
        last, limits = self._last, (self.loss_fraction, self.cooldown)
        if (
            last is not None
            and last[0] is state
            and last[1] is account
            and last[2] is now
            and last[3] is limits[0]
            and last[4] is limits[1]
        ):
            return last[5]
        transition = self._observe(state, account, now)
        self._last = (state, account, now, *limits, transition)
        return transition

    def _observe(
        self, state: DailyLossState, account: AccountState, now: datetime
    ) -> BreakerTransition[DailyLossState]:
        now = ensure_utc(now)
        events: list[BreakerEvent] = []
        if state.status is BreakerStatus.OPEN:
            if state.reopens_at is None or now < state.reopens_at:
                return BreakerTransition(state)
            events.append(
                self._event(
                    BreakerEventKind.COOLDOWN_EXPIRED,
                    "Daily loss limit cooldown is over: new entries are allowed again. "
                    f"It trips again after a further {percent(self.loss_fraction)} loss.",
                    state.reopens_at,
                )
            )
            state = DailyLossState(day=now.date())
        state = self._armed(state, account, now)
        loss = state.baseline_pnl - account.daily_pnl
        equity = state.baseline_equity or Decimal(0)
        if equity <= 0 or loss < self.loss_fraction * equity:
            return BreakerTransition(state, tuple(events))
        reopens_at = now + self.cooldown
        tripped = replace(state, status=BreakerStatus.OPEN, tripped_at=now, reopens_at=reopens_at)
        events.append(
            self._event(
                BreakerEventKind.TRIPPED,
                f"Daily loss limit hit: down {percent(loss / equity)} (limit {percent(self.loss_fraction)}). "
                f"No new entries on any of your pairs until {when(reopens_at)}. Open positions keep their stop "
                "loss and take profit; /resume restarts trading sooner.",
                now,
            )
        )
        return BreakerTransition(tripped, tuple(events))

    def resume(self, state: DailyLossState, now: datetime) -> BreakerTransition[DailyLossState]:
        """Reopen by hand; the limit re-arms from the account at the next observation."""
        now = ensure_utc(now)
        if state.status is BreakerStatus.RUNNING:
            return BreakerTransition(state)
        if state.reopens_at is not None and now >= state.reopens_at:
            kind, message, at = BreakerEventKind.COOLDOWN_EXPIRED, "Daily loss limit cooldown is over", state.reopens_at
        else:
            kind, message, at = BreakerEventKind.RESUMED, "Daily loss limit reset", now
        event = self._event(
            kind,
            f"{message}: new entries are allowed again. It trips again after a further "
            f"{percent(self.loss_fraction)} loss from your equity now.",
            at,
        )
        return BreakerTransition(DailyLossState(day=now.date()), (event,))

    @staticmethod
    def _armed(state: DailyLossState, account: AccountState, now: datetime) -> DailyLossState:
        today = now.date()
        if state.day != today:
            return replace(state, day=today, baseline_pnl=Decimal(0), baseline_equity=account.day_start_equity)
        if state.baseline_equity is None:
            return replace(state, baseline_pnl=account.daily_pnl, baseline_equity=account.equity)
        return state

    def _event(self, kind: BreakerEventKind, message: str, at: datetime) -> BreakerEvent:
        return BreakerEvent(kind, self.scope, TripReason.DAILY_LOSS_LIMIT, message, at)
