"""USDT-margined linear perpetuals with isolated margin: position math, margin, liquidation and funding.

- A position keeps its cost basis exactly: cost = sum of price * amount of what opened it, less what closes
  took out. The average entry price is derived from it for display only; PnL always comes from the cost.
  Closing part of a position takes out its share of the cost (rounded to 1e-12) and realizes exactly the
  rest, so a close at the mark turns unrealized into realized PnL without moving equity by a digit.
- Initial margin = notional / leverage, reserved from USDT under the position's key; that reservation is the
  position's isolated wallet. Funding is paid out of it (or into it) at each funding time: rate * notional at
  the mark, longs pay when the rate is positive. A payment larger than the wallet leaves it negative (the
  unrealized profit backs it) rather than touching the free balance.
- Maintenance margin = maintenance_margin_rate * notional at the mark price. The position is liquidated when
  margin + unrealized PnL falls to the maintenance margin; solving that for the price gives
  long:  (cost - margin) / (amount * (1 - mmr))
  short: (cost + margin) / (amount * (1 + mmr))   (amounts scaled by the contract size),
  rounded to the price step away from the position (it is never liquidated while above maintenance).
- Isolated means a position can never lose more than its margin: a liquidation takes the whole margin, what is
  left of it after the loss at the liquidation price is recorded as the liquidation fee, and a close beyond the
  bankruptcy price loses the margin and no more (its recorded realized PnL is capped at that).
- The mark price is the feed's last price (the ticker), walked along the same path as the orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.trading import OrderSide, PositionSide

from .exact import CONTEXT, display, money, quotient, share, to_step
from .triggers import Direction

ZERO = Decimal(0)


@dataclass(slots=True)
class PerpPosition:
    symbol: str
    side: PositionSide
    amount: Decimal
    cost: Decimal  # exact sum of price * amount still open (the quote cost is this times the contract size)
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

    @property
    def entry_price(self) -> Decimal:
        """The average entry price, for display: PnL is computed from the exact cost, never from this."""
        return display(self.cost, self.amount) if self.amount else ZERO

    def notional(self, price: Decimal, contract_size: Decimal) -> Decimal:
        return self.amount * contract_size * price

    def unrealized_pnl(self, mark: Decimal, contract_size: Decimal) -> Decimal:
        return (mark * self.amount - self.cost) * contract_size * self.direction

    def cost_share(self, amount: Decimal) -> Decimal:
        """The part of the cost that closing `amount` takes out: all of it for a full close."""
        return share(self.cost, amount, self.amount)

    def liquidation_price(self, margin: Decimal, mmr: Decimal, contract_size: Decimal, step: Decimal) -> Decimal | None:
        """Where margin + unrealized PnL meets the maintenance margin, on the price step away from the position;
        None when the position cannot be liquidated (a long whose margin covers its whole notional)."""
        if self.amount <= 0:
            return None
        cost, size = self.cost * contract_size, self.amount * contract_size
        if self.side is PositionSide.LONG:
            price = to_step(cost - margin, size * (1 - mmr), step, up=False)
            return price if price > 0 else None
        return to_step(cost + margin, size * (1 + mmr), step, up=True)

    def to_state(self) -> dict:
        return {
            "symbol": self.symbol,
            "side": self.side.value,
            "amount": str(self.amount),
            "cost": str(self.cost),
            "leverage": self.leverage,
            "opened_ts": self.opened_ts,
            "funding_paid": str(self.funding_paid),
        }

    @classmethod
    def from_state(cls, state: dict) -> PerpPosition:
        """Version-1 states kept only an averaged entry price (a 28-digit quotient): the cost basis is taken as
        its product with the amount on the 1e-12 grid, so the balances it later moves stay on that grid too."""
        amount = Decimal(state["amount"])
        if "cost" in state:
            cost = Decimal(state["cost"])
        else:
            cost = money(CONTEXT.multiply(Decimal(state["entry_price"]), amount))
        return cls(
            symbol=state["symbol"],
            side=PositionSide(state["side"]),
            amount=amount,
            cost=cost,
            leverage=state["leverage"],
            opened_ts=state["opened_ts"],
            funding_paid=Decimal(state["funding_paid"]),
        )


def position_margin_key(symbol: str) -> str:
    return f"position:{symbol}"


def liquidation_direction(position: PerpPosition) -> Direction:
    """A long is liquidated once the price falls to its liquidation price, a short once it rises to it."""
    return Direction.FALLS_TO if position.direction > 0 else Direction.RISES_TO


def side_for(order_side: OrderSide) -> PositionSide:
    return PositionSide.LONG if order_side is OrderSide.BUY else PositionSide.SHORT


def initial_margin(amount: Decimal, price: Decimal, contract_size: Decimal, leverage: int) -> Decimal:
    return quotient(amount * contract_size * price, Decimal(leverage))


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
