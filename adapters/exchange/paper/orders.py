"""The paper exchange's own order record: mutable while the order lives, a domain Order at the boundary."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from domain.fast_init import fast_init
from domain.trading import Fill, Order, OrderRequest, OrderSide, OrderStatus, OrderType

from .exact import display, exact

ZERO = Decimal(0)
CONDITIONAL_TYPES = frozenset({OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET})
FINAL_STATUSES = frozenset(status for status in OrderStatus if status.is_final)


@fast_init
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
        return self.status not in FINAL_STATUSES

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


@dataclass(frozen=True, slots=True)
class RetiredOrder:
    """A final order dropped from the account's recent history (PaperConfig.keep_final_orders): what a lookup by
    id or client order id, a cancel and an idempotent resend still answer. The figures are the order's own
    (status, filled, average, fee); only its fills are no longer kept, as exchanges forget old trade history."""

    order: Order
    state: dict = field(compare=False, repr=False)  # built once: a retired order never changes

    @classmethod
    def of(cls, order: PaperOrder) -> RetiredOrder:
        summary = order.to_domain()
        return cls(replace(summary, fills=()), _summary_state(summary))

    @classmethod
    def from_state(cls, state: dict) -> RetiredOrder:
        def number(key: str) -> Decimal | None:
            return None if state[key] is None else Decimal(state[key])

        order = Order(
            id=state["id"],
            client_order_id=state["client_order_id"],
            symbol=state["symbol"],
            side=OrderSide(state["side"]),
            type=OrderType(state["type"]),
            status=OrderStatus(state["status"]),
            amount=Decimal(state["amount"]),
            filled=Decimal(state["filled"]),
            ts=state["ts"],
            price=number("price"),
            average=number("average"),
            stop_price=number("stop_price"),
            fee=Decimal(state["fee"]),
            fee_currency=state["fee_currency"],
            reduce_only=state["reduce_only"],
        )
        return cls(order, _summary_state(order))

    @property
    def id(self) -> str:
        return self.order.id

    @property
    def client_order_id(self) -> str:
        return self.order.client_order_id

    @property
    def symbol(self) -> str:
        return self.order.symbol

    @property
    def status(self) -> OrderStatus:
        return self.order.status

    @property
    def is_open(self) -> bool:
        return False

    def to_domain(self) -> Order:
        return self.order

    def to_state(self) -> dict:
        return self.state


def _summary_state(order: Order) -> dict:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "id": order.id,
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.type.value,
        "status": order.status.value,
        "amount": str(order.amount),
        "filled": str(order.filled),
        "ts": order.ts,
        "price": text(order.price),
        "average": text(order.average),
        "stop_price": text(order.stop_price),
        "fee": str(order.fee),
        "fee_currency": order.fee_currency,
        "reduce_only": order.reduce_only,
    }
