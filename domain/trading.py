"""Orders, fills, balances and positions: the typed results of the exchange port."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from domain.fast_init import fast_init


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"  # stop loss: triggers a market order when price crosses stop_price
    TAKE_PROFIT_MARKET = "take_profit_market"


class OrderStatus(StrEnum):
    PENDING = "pending"  # recorded locally, not yet acknowledged by the exchange
    UNKNOWN = "unknown"  # sent, but the exchange could not tell whether it exists: never re-sent, reconciled later
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self in {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}


class PositionSide(StrEnum):
    FLAT = "flat"
    LONG = "long"
    SHORT = "short"


class TradingMode(StrEnum):
    PAPER = "paper"
    LIVE = "live"


@fast_init
@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the engine asks the exchange port to place. client_order_id makes a retry idempotent."""

    symbol: str
    side: OrderSide
    type: OrderType
    amount: Decimal
    client_order_id: str
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class Fill:
    order_id: str
    symbol: str
    side: OrderSide
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str
    ts: int
    trade_id: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class Order:
    id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    status: OrderStatus
    amount: Decimal
    filled: Decimal
    ts: int
    price: Decimal | None = None
    average: Decimal | None = None
    stop_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    reduce_only: bool = False
    fills: tuple[Fill, ...] = field(default=(), compare=False)

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled


@fast_init
@dataclass(frozen=True, slots=True)
class CurrencyBalance:
    currency: str
    free: Decimal
    used: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.used


@fast_init
@dataclass(frozen=True, slots=True)
class Balance:
    currencies: dict[str, CurrencyBalance]
    ts: int

    def free(self, currency: str) -> Decimal:
        entry = self.currencies.get(currency)
        return entry.free if entry else Decimal(0)

    def total(self, currency: str) -> Decimal:
        entry = self.currencies.get(currency)
        return entry.total if entry else Decimal(0)


@fast_init
@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    side: PositionSide
    amount: Decimal  # always >= 0; direction is in side
    entry_price: Decimal
    leverage: int = 1
    margin: Decimal = Decimal(0)
    unrealized_pnl: Decimal = Decimal(0)
    liquidation_price: Decimal | None = None
    mark_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
