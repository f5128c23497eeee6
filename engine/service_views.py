"""Typed, immutable views of the rows the service returns: what a transport renders. No view holds a secret or
an ORM object, so a result can travel anywhere (and its repr can be logged)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from db.models import ExchangeAccount, TradeRow, User, UserPair, UserState
from domain.market import MarketType
from domain.money import ms_to_datetime
from engine.formatting import when
from engine.records import ClosedTrade
from risk import BreakerScope, DailyLossState, LossStreakState, TripReason


@dataclass(frozen=True, slots=True)
class UserView:
    telegram_id: int
    name: str | None
    mode: str
    status: str
    is_admin: bool

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(user.telegram_id, user.display_name, user.mode, user.status, user.is_admin)


@dataclass(frozen=True, slots=True)
class AccountView:
    id: int
    exchange: str  # the CCXT id whose prices (paper) or account (live) is traded
    market_type: MarketType
    paper: bool
    testnet: bool
    connected_at: datetime
    paper_start_balance: Decimal | None

    @classmethod
    def of(cls, account: ExchangeAccount) -> AccountView:
        return cls(
            account.id, account.exchange, MarketType(account.market_type), account.is_paper, account.testnet,
            account.created_at, account.paper_start_balance,
        )  # fmt: skip

    @property
    def label(self) -> str:
        """'paper (perpetual, binance prices)' or 'binance (spot, testnet)'."""
        if self.paper:
            return f"paper ({self.market_type.value}, {self.exchange} prices)"
        return f"{self.exchange} ({self.market_type.value}{', testnet' if self.testnet else ''})"


@dataclass(frozen=True, slots=True)
class PairView:
    id: int
    symbol: str
    status: str  # active | paused | error
    status_reason: str | None
    budget: Decimal
    leverage: int
    risk_overrides: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, pair: UserPair) -> PairView:
        overrides = tuple(sorted((str(k), str(v)) for k, v in (pair.risk_overrides or {}).items()))
        return cls(pair.id, pair.symbol, pair.status, pair.status_reason, pair.budget, pair.leverage, overrides)


@dataclass(frozen=True, slots=True)
class TradeView:
    id: int
    symbol: str
    side: str  # long | short
    status: str  # open | closed
    amount: Decimal
    entry_price: Decimal
    exit_price: Decimal | None
    pnl: Decimal | None  # net of every fee
    fees: Decimal
    leverage: int
    close_reason: str | None
    opened_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, row: TradeRow) -> TradeView:
        return cls(
            row.id, row.symbol, row.side, row.status, row.amount, row.entry_price, row.exit_price, row.realized_pnl,
            row.fees, row.leverage, row.close_reason, row.opened_at, row.closed_at,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClosedTradeView:
    symbol: str
    side: str
    amount: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal
    reason: str
    opened_at: datetime
    closed_at: datetime

    @classmethod
    def of(cls, closed: ClosedTrade) -> ClosedTradeView:
        return cls(
            closed.symbol, closed.side, closed.amount, closed.entry_price, closed.exit_price, closed.pnl,
            closed.fees, closed.reason, ms_to_datetime(closed.opened_ms), ms_to_datetime(closed.closed_ms),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BreakerView:
    """An open circuit breaker: what tripped it, when, and when it reopens on its own."""

    scope: BreakerScope  # pair: a losing streak on one pair; user: the daily loss limit on all pairs
    symbol: str | None
    reason: TripReason
    tripped_at: datetime
    reopens_at: datetime
    consecutive_losses: int | None = None

    @property
    def description(self) -> str:
        if self.scope is BreakerScope.PAIR:
            losses = self.consecutive_losses or 0
            what = f"{self.symbol}: circuit breaker tripped on {when(self.tripped_at)} UTC after {losses} losing " \
                   f"trade{'s' if losses != 1 else ''} in a row"  # fmt: skip
        else:
            what = f"Daily loss limit hit on {when(self.tripped_at)} UTC: no new entries on any of your pairs"
        return f"{what}; it reopens on its own at {when(self.reopens_at)} UTC."


def open_breakers(pairs: Iterable[UserPair], state: UserState | None, now: datetime) -> tuple[BreakerView, ...]:
    """The breakers open at `now`, as the engines stored them (each transition is saved as it happens)."""
    views = []
    for pair in pairs:
        streak = LossStreakState.from_dict(pair.breaker) if pair.breaker else LossStreakState()
        if streak.is_open_at(now) and streak.tripped_at and streak.reopens_at:
            views.append(
                BreakerView(
                    BreakerScope.PAIR,
                    pair.symbol,
                    TripReason.LOSS_STREAK,
                    streak.tripped_at,
                    streak.reopens_at,
                    streak.consecutive_losses,
                )  # fmt: skip
            )
    daily = DailyLossState.from_dict(state.breaker) if state is not None and state.breaker else DailyLossState()
    if daily.is_open_at(now) and daily.tripped_at and daily.reopens_at:
        views.append(BreakerView(BreakerScope.USER, None, TripReason.DAILY_LOSS_LIMIT, daily.tripped_at,
                                 daily.reopens_at))  # fmt: skip
    return tuple(views)
