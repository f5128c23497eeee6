"""The rules an entry must pass before it is sized. Each rule returns None (passes) or a Rejected.

Exits never come here: closing or reducing a position is never blocked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from domain.fast_init import fast_init
from domain.market import MarketInfo
from domain.trading import OrderSide
from risk.inputs import AccountState, MarketConditions, PairContext
from risk.limits import RiskLimits
from risk.verdict import RejectCode, Rejected
from risk.wording import number, percent


@fast_init
@dataclass(frozen=True, slots=True)
class EntryProposal:
    """An entry as the validator sees it: direction, expected fill price and (price-step rounded) levels."""

    side: OrderSide
    price: Decimal
    confidence: Decimal
    stop_loss: Decimal | None
    take_profit: Decimal | None

    @property
    def direction(self) -> str:
        return "buy" if self.side is OrderSide.BUY else "sell"


class Validator:
    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits

    def validate(
        self,
        entry: EntryProposal,
        *,
        market: MarketInfo,
        conditions: MarketConditions,
        account: AccountState,
        pair: PairContext,
    ) -> Rejected | None:
        """The first failing rule, in order: market, drawdown, decision, daily trade cap, open positions."""
        rules: tuple[Callable[[], Rejected | None], ...] = (
            lambda: self.check_market(market, conditions),
            lambda: self.check_drawdown(account, market.symbol),
            lambda: self.check_decision(entry),
            lambda: self.check_daily_trades(account),
            lambda: self.check_open_positions(account, pair),
        )
        for rule in rules:
            if (rejected := rule()) is not None:
                return rejected
        return None

    def check_market(self, market: MarketInfo, conditions: MarketConditions) -> Rejected | None:
        limits, symbol = self.limits, market.symbol
        if not market.active:
            return Rejected(RejectCode.MARKET_INACTIVE, f"{symbol} is not trading on the exchange right now.")
        spread = conditions.spread_fraction
        if spread is not None and spread > limits.max_spread_fraction:
            return Rejected(
                RejectCode.SPREAD_TOO_WIDE,
                f"The {symbol} spread is {percent(spread)}, wider than the {percent(limits.max_spread_fraction)} "
                "limit; no entry.",
            )
        atr = conditions.atr_fraction
        if atr < limits.min_atr_fraction:
            return Rejected(
                RejectCode.VOLATILITY_TOO_LOW,
                f"{symbol} is too quiet to trade: ATR is {percent(atr)} of the price, under the "
                f"{percent(limits.min_atr_fraction)} floor.",
            )
        if atr > limits.max_atr_fraction:
            return Rejected(
                RejectCode.VOLATILITY_TOO_HIGH,
                f"{symbol} is too volatile to trade: ATR is {percent(atr)} of the price, over the "
                f"{percent(limits.max_atr_fraction)} ceiling.",
            )
        if conditions.quote_volume < limits.min_quote_volume:
            return Rejected(
                RejectCode.VOLUME_TOO_LOW,
                f"{symbol} traded {conditions.quote_volume:.0f} {market.quote} in 24h, under the "
                f"{number(limits.min_quote_volume)} {market.quote} minimum.",
            )
        return None

    def check_drawdown(self, account: AccountState, symbol: str) -> Rejected | None:
        drawdown = account.drawdown_fraction
        if drawdown < self.limits.max_drawdown_fraction:
            return None
        return Rejected(
            RejectCode.MAX_DRAWDOWN,
            f"Equity is {percent(drawdown)} below its peak, past the {percent(self.limits.max_drawdown_fraction)} "
            f"drawdown limit: {symbol} is paused until you /resume it.",
            pauses_pair=True,
        )

    def check_decision(self, entry: EntryProposal) -> Rejected | None:
        limits = self.limits
        if entry.price <= 0:
            return Rejected(RejectCode.INVALID_PRICE, "There is no valid market price to enter at; no entry.")
        if not Decimal(0) <= entry.confidence <= Decimal(1):
            return Rejected(
                RejectCode.INVALID_CONFIDENCE, f"The decision's confidence {entry.confidence} is not between 0 and 1."
            )
        if entry.confidence < limits.min_confidence:
            return Rejected(
                RejectCode.LOW_CONFIDENCE,
                f"The analysts' confidence {number(entry.confidence)} is under the {number(limits.min_confidence)} "
                "threshold.",
            )
        if entry.stop_loss is None:
            return Rejected(RejectCode.MISSING_STOP_LOSS, "The decision has no stop loss; entries need one.")
        if entry.take_profit is None:
            return Rejected(RejectCode.MISSING_TAKE_PROFIT, "The decision has no take profit; entries need one.")
        return self._check_levels(entry, entry.stop_loss, entry.take_profit)

    def _check_levels(self, entry: EntryProposal, stop: Decimal, target: Decimal) -> Rejected | None:
        limits, price = self.limits, entry.price
        sign = 1 if entry.side is OrderSide.BUY else -1
        below_or_above = "below" if sign == 1 else "above"
        if stop <= 0 or sign * (price - stop) <= 0:
            return Rejected(
                RejectCode.STOP_LOSS_WRONG_SIDE,
                f"A {entry.direction} needs its stop loss {below_or_above} the entry price {number(price)}; "
                f"got {number(stop)}.",
            )
        if target <= 0 or sign * (target - price) <= 0:
            return Rejected(
                RejectCode.TAKE_PROFIT_WRONG_SIDE,
                f"A {entry.direction} needs its take profit {'above' if sign == 1 else 'below'} the entry price "
                f"{number(price)}; got {number(target)}.",
            )
        risk = abs(price - stop)
        distance = risk / price
        if distance < limits.min_stop_fraction:
            return Rejected(
                RejectCode.STOP_TOO_CLOSE,
                f"The stop loss is {percent(distance)} from the entry, closer than the "
                f"{percent(limits.min_stop_fraction)} minimum; noise would hit it.",
            )
        if distance > limits.max_stop_fraction:
            return Rejected(
                RejectCode.STOP_TOO_FAR,
                f"The stop loss is {percent(distance)} from the entry, farther than the "
                f"{percent(limits.max_stop_fraction)} maximum.",
            )
        reward_risk = abs(target - price) / risk
        if reward_risk < limits.min_reward_risk:
            return Rejected(
                RejectCode.REWARD_RISK_TOO_LOW,
                f"Reward:risk is {reward_risk:.2f}, under the {number(limits.min_reward_risk)} minimum.",
            )
        return None

    def check_daily_trades(self, account: AccountState) -> Rejected | None:
        if account.trades_today < self.limits.max_trades_per_day:
            return None
        return Rejected(
            RejectCode.DAILY_TRADE_CAP,
            f"You made {account.trades_today} trades today, the daily cap of {self.limits.max_trades_per_day}; "
            "new entries resume at 00:00 UTC.",
        )

    def check_open_positions(self, account: AccountState, pair: PairContext) -> Rejected | None:
        """Adding to the pair's open position does not open a new one, so only new positions count here."""
        if pair.has_position or account.open_positions < self.limits.max_open_positions:
            return None
        return Rejected(
            RejectCode.MAX_OPEN_POSITIONS,
            f"You have {account.open_positions} positions open, the maximum of {self.limits.max_open_positions}; "
            "close one before opening another.",
        )
