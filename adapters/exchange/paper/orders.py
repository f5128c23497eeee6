"""The paper exchange's own order record: mutable while the order lives, a domain Order at the boundary."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from domain.trading import Fill, Order, OrderRequest, OrderSide, OrderStatus, OrderType

from .exact import display, exact

ZERO = Decimal(0)
CONDITIONAL_TYPES = frozenset({OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})


@dataclass(frozen=True, slots=True)
class PaperFill(Fill):
    """A fill with the PnL it realized, as a futures exchange's trade history shows it: with the fee, it is
    exactly what the fill moved the balance by. None for spot swaps, and for fills restored from a version-1
    state, which did not record it."""

    realized_pnl: Decimal | None = None


@dataclass(slots=True)
class PaperOrder:
    id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    amount: Decimal
    ts: int
    price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    status: OrderStatus = OrderStatus.OPEN
    fills: list[PaperFill] = field(default_factory=list)
    updated_ts: int = 0
    note: str = ""  # why the order ended the way it did, when that is not obvious (capped, canceled, rejected)

    @classmethod
    def from_request(cls, order_id: str, request: OrderRequest, amount: Decimal, price: Decimal | None, ts: int):
        return cls(
            id=order_id,
            client_order_id=request.client_order_id,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            amount=amount,
            ts=ts,
            price=price,
            stop_price=request.stop_price,
            reduce_only=request.reduce_only,
            updated_ts=ts,
        )

    @property
    def filled(self) -> Decimal:
        return sum((fill.amount for fill in self.fills), ZERO)

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_open(self) -> bool:
        return not self.status.is_final

    @property
    def is_conditional(self) -> bool:
        return self.type in CONDITIONAL_TYPES

    @property
    def reservation_key(self) -> str:
        return f"order:{self.id}"

    def add_fill(self, fill: PaperFill) -> None:
        self.fills.append(fill)
        self.updated_ts = fill.ts
        self.status = OrderStatus.FILLED if self.remaining <= 0 else OrderStatus.PARTIALLY_FILLED

    def finish(self, status: OrderStatus, ts: int, note: str = "") -> None:
        self.status = status
        self.updated_ts = ts
        if note:
            self.note = note

    @exact
    def to_domain(self) -> Order:
        filled = self.filled
        cost = sum((fill.price * fill.amount for fill in self.fills), ZERO)
        fee = sum((fill.fee for fill in self.fills), ZERO)
        return Order(
            id=self.id,
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            status=self.status,
            amount=self.amount,
            filled=filled,
            ts=self.ts,
            price=self.price,
            average=display(cost, filled) if filled else None,
            stop_price=self.stop_price,
            fee=fee,
            fee_currency=self.fills[0].fee_currency if self.fills else "",
            reduce_only=self.reduce_only,
            fills=tuple(self.fills),
        )

    def to_state(self) -> dict:
        return {
            "id": self.id,
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "type": self.type.value,
            "amount": str(self.amount),
            "ts": self.ts,
            "price": None if self.price is None else str(self.price),
            "stop_price": None if self.stop_price is None else str(self.stop_price),
            "reduce_only": self.reduce_only,
            "status": self.status.value,
            "updated_ts": self.updated_ts,
            "note": self.note,
            "fills": [
                {
                    "order_id": fill.order_id,
                    "symbol": fill.symbol,
                    "side": fill.side.value,
                    "price": str(fill.price),
                    "amount": str(fill.amount),
                    "fee": str(fill.fee),
                    "fee_currency": fill.fee_currency,
                    "ts": fill.ts,
                    "trade_id": fill.trade_id,
                    "realized_pnl": None if fill.realized_pnl is None else str(fill.realized_pnl),
                }
                for fill in self.fills
            ],
        }

    @classmethod
    def from_state(cls, state: dict) -> PaperOrder:
        return cls(
            id=state["id"],
            client_order_id=state["client_order_id"],
            symbol=state["symbol"],
            side=OrderSide(state["side"]),
            type=OrderType(state["type"]),
            amount=Decimal(state["amount"]),
            ts=state["ts"],
            price=None if state["price"] is None else Decimal(state["price"]),
            stop_price=None if state["stop_price"] is None else Decimal(state["stop_price"]),
            reduce_only=state["reduce_only"],
            status=OrderStatus(state["status"]),
            updated_ts=state["updated_ts"],
            note=state["note"],
            fills=[
                PaperFill(
                    order_id=fill["order_id"],
                    symbol=fill["symbol"],
                    side=OrderSide(fill["side"]),
                    price=Decimal(fill["price"]),
                    amount=Decimal(fill["amount"]),
                    fee=Decimal(fill["fee"]),
                    fee_currency=fill["fee_currency"],
                    ts=fill["ts"],
                    trade_id=fill["trade_id"],
                    realized_pnl=None if fill.get("realized_pnl") is None else Decimal(fill["realized_pnl"]),
                )
                for fill in state["fills"]
            ],
        )
