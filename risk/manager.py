"""The one gate between an AI decision and an order: breakers, then the validator, then the sizer.

check() is pure: it takes the breaker states as stored, lets the clock run on them (cooldowns, the daily
limit), and returns the verdict together with the breaker states to store and the events to announce.
Exits (CLOSE, or a signal against the open position) are never blocked: they skip every entry rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from domain.decision import Action, Decision
from domain.fast_init import fast_init
from domain.market import MarketInfo, MarketType
from domain.money import optional_decimal, to_decimal
from domain.trading import OrderSide, PositionSide
from risk.breaker import BreakerTransition, DailyLossBreaker, LossStreakBreaker
from risk.breaker_state import BreakerEvent, BreakerStatus, DailyLossState, LossStreakState
from risk.inputs import AccountState, MarketConditions, PairContext, ensure_utc
from risk.levels import round_stop_loss, round_take_profit
from risk.limits import RiskLimits
from risk.sizer import PositionSizer, effective_leverage
from risk.validator import EntryProposal, Validator
from risk.verdict import Approved, RejectCode, Rejected, Verdict
from risk.wording import number, when

_ENTRY_SIDE = {Action.BUY: OrderSide.BUY, Action.SELL: OrderSide.SELL}


@lru_cache(maxsize=1024)  # a frozen value: the same for every hold on a symbol
def _hold(symbol: str) -> Rejected:
    return Rejected(RejectCode.HOLD, f"The analysts say hold on {symbol}; nothing to do.")


_HELD_BY = {OrderSide.BUY: PositionSide.LONG, OrderSide.SELL: PositionSide.SHORT}


@fast_init
@dataclass(frozen=True, slots=True)
class RiskCheck:
    """The verdict, plus the breaker states to persist and the breaker events to send as alerts."""

    verdict: Verdict
    pair_breaker: LossStreakState
    daily_breaker: DailyLossState
    events: tuple[BreakerEvent, ...] = ()

    @property
    def approved(self) -> bool:
        return self.verdict.approved


class RiskManager:
    """Built with the limits one (user, pair) trades under (see RiskLimits.resolve)."""

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self.validator = Validator(limits)
        self.sizer = PositionSizer(limits)
        self.streak_breaker = LossStreakBreaker.from_limits(limits)
        self.daily_breaker = DailyLossBreaker.from_limits(limits)

    def check(
        self,
        decision: Decision,
        *,
        market: MarketInfo,
        conditions: MarketConditions,
        account: AccountState,
        pair: PairContext,
        pair_breaker: LossStreakState,
        daily_breaker: DailyLossState,
        now: datetime,
    ) -> RiskCheck:
        now = ensure_utc(now)
        pair_step = self.streak_breaker.advance(pair_breaker, now)
        daily_step = self.daily_breaker.observe(daily_breaker, account, now)
        verdict = self._decide(decision, market, conditions, account, pair, pair_step.state, daily_step.state)
        return RiskCheck(verdict, pair_step.state, daily_step.state, pair_step.events + daily_step.events)

    def record_trade(
        self, pair_breaker: LossStreakState, pnl: Decimal, at: datetime
    ) -> BreakerTransition[LossStreakState]:
        """Feed a closed trade's net P&L to the pair's losing-streak breaker."""
        return self.streak_breaker.record_trade(pair_breaker, pnl, at)

    def observe_account(
        self, daily_breaker: DailyLossState, account: AccountState, now: datetime
    ) -> BreakerTransition[DailyLossState]:
        """Between decisions (after a fill, on each monitoring pass) so the daily limit trips without waiting."""
        return self.daily_breaker.observe(daily_breaker, account, now)

    def _decide(
        self,
        decision: Decision,
        market: MarketInfo,
        conditions: MarketConditions,
        account: AccountState,
        pair: PairContext,
        pair_breaker: LossStreakState,
        daily_breaker: DailyLossState,
    ) -> Verdict:
        symbol, action = market.symbol, Action(decision.action)
        if action is Action.HOLD:
            return _hold(symbol)
        if action is Action.CLOSE:
            if not pair.has_position:
                return Rejected(RejectCode.NO_POSITION, f"There is no open {symbol} position to close.")
            return self._exit(action, market, conditions, pair)
        side = _ENTRY_SIDE[action]
        if pair.has_position and pair.position_side is not _HELD_BY[side]:
            return self._exit(action, market, conditions, pair)
        if side is OrderSide.SELL and market.type is MarketType.SPOT:
            return Rejected(
                RejectCode.SHORT_NOT_SUPPORTED, f"{symbol} is a spot market: there is nothing to sell short."
            )
        if daily_breaker.status is BreakerStatus.OPEN and daily_breaker.reopens_at is not None:
            return Rejected(
                RejectCode.DAILY_LOSS_BREAKER_OPEN,
                f"The daily loss limit is hit: no new entries until {when(daily_breaker.reopens_at)} "
                "(/resume restarts sooner).",
            )
        if pair_breaker.status is BreakerStatus.OPEN and pair_breaker.reopens_at is not None:
            return Rejected(
                RejectCode.BREAKER_OPEN,
                f"The {symbol} circuit breaker is open after {pair_breaker.consecutive_losses} losing trades in a "
                f"row: no new entries until {when(pair_breaker.reopens_at)} (/resume restarts sooner).",
            )
        return self._entry(decision, action, side, market, conditions, account, pair)

    def _entry(
        self,
        decision: Decision,
        action: Action,
        side: OrderSide,
        market: MarketInfo,
        conditions: MarketConditions,
        account: AccountState,
        pair: PairContext,
    ) -> Verdict:
        stop = optional_decimal(decision.stop_loss)
        target = optional_decimal(decision.take_profit)
        proposal = EntryProposal(
            side=side,
            price=conditions.price,
            confidence=to_decimal(decision.confidence),
            stop_loss=stop if stop is None or stop <= 0 else round_stop_loss(stop, side, market.price_step),
            take_profit=target if target is None or target <= 0 else round_take_profit(target, side, market.price_step),
        )
        rejected = self.validator.validate(proposal, market=market, conditions=conditions, account=account, pair=pair)
        if rejected is not None:
            return rejected
        assert proposal.stop_loss is not None and proposal.take_profit is not None  # the validator requires them
        size = self.sizer.size(
            entry=proposal.price, stop=proposal.stop_loss, equity=account.equity, pair=pair, market=market
        )
        if isinstance(size, Rejected):
            return size
        return Approved(
            action=action,
            side=side,
            amount=size.amount,
            price=proposal.price,
            notional=size.notional,
            leverage=size.leverage,
            is_exit=False,
            reduce_only=False,
            message=(
                f"Approved: {proposal.direction} {number(size.amount)} {market.symbol} near {number(proposal.price)}"
                f" ({size.notional:.2f} {market.quote}, {size.leverage}x), risking {size.risk_amount:.2f} "
                f"{market.quote} at the stop {number(proposal.stop_loss)}."
            ),
            stop_loss=proposal.stop_loss,
            take_profit=proposal.take_profit,
            risk_amount=size.risk_amount,
            limited_by=size.limited_by,
        )

    def _exit(self, action: Action, market: MarketInfo, conditions: MarketConditions, pair: PairContext) -> Approved:
        side = OrderSide.SELL if pair.position_side is PositionSide.LONG else OrderSide.BUY
        amount = pair.position_amount
        return Approved(
            action=action,
            side=side,
            amount=amount,
            price=conditions.price,
            notional=amount * market.contract_size * conditions.price,
            leverage=effective_leverage(pair, market, self.limits),
            is_exit=True,
            reduce_only=market.type is MarketType.PERPETUAL,
            message=f"Approved: close the {pair.position_side.value} {market.symbol} position ({number(amount)}).",
        )
