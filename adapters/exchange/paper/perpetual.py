"""USDT-margined linear perpetuals with isolated margin: position math, margin, liquidation and funding.

- Initial margin = notional / leverage, reserved from USDT under the position's key for as long as it is open.
- Maintenance margin = maintenance_margin_rate * notional at the mark price. The position is liquidated when
  margin + unrealized PnL falls to the maintenance margin; solving that for the price gives
  long:  (entry * amount - margin) / (amount * (1 - mmr))
  short: (entry * amount + margin) / (amount * (1 + mmr))   (amounts scaled by the contract size).
- Isolated means a position can never lose more than its margin: a liquidation takes the whole margin, and a
  close beyond the bankruptcy price loses the margin and no more.
- The mark price is the feed's last price (the ticker), walked along the same path as the orders.
- Funding is paid out of (or into) the position's margin at each funding time: rate * notional at the mark,
  longs pay when the rate is positive, shorts receive it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from domain.trading import OrderSide, PositionSide

ZERO = Decimal(0)
MONEY_QUANTUM = Decimal("1e-12")


def money(value: Decimal) -> Decimal:
    """Quote amounts that come out of a division, rounded to 1e-12 so that sums of them stay exact."""
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(slots=True)
class PerpPosition:
    symbol: str
    side: PositionSide
    amount: Decimal
    entry_price: Decimal
    leverage: int
    opened_ts: int
    funding_paid: Decimal = ZERO  # net funding paid (negative: received) since it opened

    @property
    def margin_key(self) -> str:
        return position_margin_key(self.symbol)

    @property
    def direction(self) -> int:
        return 1 if self.side is PositionSide.LONG else -1

    @property
    def closing_side(self) -> OrderSide:
        return OrderSide.SELL if self.side is PositionSide.LONG else OrderSide.BUY

    def notional(self, price: Decimal, contract_size: Decimal) -> Decimal:
        return self.amount * contract_size * price

    def unrealized_pnl(self, mark: Decimal, contract_size: Decimal) -> Decimal:
        return (mark - self.entry_price) * self.amount * contract_size * self.direction

    def liquidation_price(self, margin: Decimal, mmr: Decimal, contract_size: Decimal) -> Decimal | None:
        """None when the position cannot be liquidated (a long whose margin covers its whole notional)."""
        size = self.amount * contract_size
        if size <= 0:
            return None
        if self.side is PositionSide.LONG:
            price = (self.entry_price * size - margin) / (size * (1 - mmr))
            return price if price > 0 else None
        return (self.entry_price * size + margin) / (size * (1 + mmr))

    def to_state(self) -> dict:
        return {
            "symbol": self.symbol,
            "side": self.side.value,
            "amount": str(self.amount),
            "entry_price": str(self.entry_price),
            "leverage": self.leverage,
            "opened_ts": self.opened_ts,
            "funding_paid": str(self.funding_paid),
        }

    @classmethod
    def from_state(cls, state: dict) -> PerpPosition:
        return cls(
            symbol=state["symbol"],
            side=PositionSide(state["side"]),
            amount=Decimal(state["amount"]),
            entry_price=Decimal(state["entry_price"]),
            leverage=state["leverage"],
            opened_ts=state["opened_ts"],
            funding_paid=Decimal(state["funding_paid"]),
        )


def position_margin_key(symbol: str) -> str:
    return f"position:{symbol}"


def side_for(order_side: OrderSide) -> PositionSide:
    return PositionSide.LONG if order_side is OrderSide.BUY else PositionSide.SHORT


def initial_margin(amount: Decimal, price: Decimal, contract_size: Decimal, leverage: int) -> Decimal:
    return money(amount * contract_size * price / leverage)


def order_margin(amount: Decimal, price: Decimal, contract_size: Decimal, leverage: int, maker_fee: Decimal) -> Decimal:
    """What a resting opening order sets aside: its initial margin plus the maker fee it will pay."""
    return initial_margin(amount, price, contract_size, leverage) + money(amount * contract_size * price * maker_fee)


def funding_payment(position: PerpPosition, rate: Decimal, mark: Decimal, contract_size: Decimal) -> Decimal:
    """What the position pays at one funding time (negative: what it receives)."""
    return money(rate * position.notional(mark, contract_size) * position.direction)


def funding_times(after_ms: int, until_ms: int, interval_ms: int) -> list[int]:
    """Funding timestamps t with after_ms < t <= until_ms, on the UTC grid of the interval."""
    first = (after_ms // interval_ms + 1) * interval_ms
    return list(range(first, until_ms + 1, interval_ms)) if first <= until_ms else []
