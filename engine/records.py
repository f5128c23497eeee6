"""The rows an engine writes, as plain values: the same records go to the database live and in the demo, and to
memory (then files, or the database in batches) in a backtest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.fast_init import fast_init
from domain.trading import OrderRequest


@fast_init
@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One cycle of one pair: what the analysts said and what the risk manager and the engine made of it."""

    candle_ts: int
    consultation_key: str
    action: str
    outcome: str  # executed | rejected | hold | skipped | error
    confidence: Decimal | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    consensus_reason: str
    reason_code: str
    reason_message: str
    order_row: int | None = None


@dataclass(frozen=True, slots=True)
class TradeOpen:
    symbol: str
    side: str
    amount: Decimal
    entry_price: Decimal
    opened_at: datetime
    entry_row: int
    fees: Decimal
    leverage: int


@dataclass(frozen=True, slots=True)
class TradeClose:
    trade_row: int
    exit_price: Decimal
    pnl: Decimal  # net: fees included
    closed_at: datetime
    reason: str
    exit_row: int | None
    exit_fees: Decimal


@fast_init
@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One finished round trip as reports and metrics read it."""

    symbol: str
    side: str
    amount: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal
    reason: str
    opened_ms: int
    closed_ms: int
    exit_row: int | None = None  # the orders row of the exit (None: the market closed it without an order of ours)


@dataclass(frozen=True, slots=True)
class UnresolvedOrder:
    """An order recorded but not known final: reconciled with the exchange before any new decision."""

    row: int
    request: OrderRequest
    purpose: str
    status: str


@fast_init
@dataclass(frozen=True, slots=True)
class EquityPoint:
    ts: int
    equity: Decimal
    balance: Decimal
    unrealized: Decimal
