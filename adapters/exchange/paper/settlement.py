"""How a fill moves money: spot swaps one currency for another, perpetuals move margin and realize PnL.

Both settlements share one shape so the account's matching logic does not care which market it is in.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from domain.market import MarketInfo
from domain.money import quantize_down
from domain.trading import Fill, OrderSide

from .config import SpotFeeCurrency
from .ledger import Ledger
from .orders import PaperOrder
from .perpetual import PerpPosition, initial_margin, money, order_margin, position_margin_key, side_for

ZERO = Decimal(0)


class Settlement(Protocol):
    def executable(self, order: PaperOrder, market: MarketInfo) -> Decimal:
        """How much of the order can execute now (reduce-only orders shrink to what is left to reduce)."""
        ...

    def reduce_target(self, side: OrderSide, market: MarketInfo) -> Decimal:
        """How much a reduce-only order of `side` could reduce right now."""
        ...

    def reserve_resting(self, order: PaperOrder, market: MarketInfo, maker_fee: Decimal) -> None: ...

    def settle(
        self,
        order: PaperOrder,
        market: MarketInfo,
        price: Decimal,
        amount: Decimal,
        fee_rate: Decimal,
        ts: int,
        trade_id: str,
    ) -> Fill: ...

    def protected_holding_gone(self, market: MarketInfo) -> bool:
        """True when nothing is left for reduce-only orders on this market to protect."""
        ...


class SpotSettlement:
    """Buying needs the quote currency, selling needs the base. Fees follow SpotFeeCurrency."""

    def __init__(self, ledger: Ledger, fee_currency: SpotFeeCurrency) -> None:
        self.ledger = ledger
        self.fee_currency = fee_currency

    def reduce_target(self, side: OrderSide, market: MarketInfo) -> Decimal:
        if side is OrderSide.BUY:
            return ZERO
        return quantize_down(self.ledger.free(market.base), market.amount_step)

    def executable(self, order: PaperOrder, market: MarketInfo) -> Decimal:
        if order.reduce_only and order.is_conditional:
            return min(order.remaining, self.reduce_target(order.side, market))
        return order.remaining

    def reserve_resting(self, order: PaperOrder, market: MarketInfo, maker_fee: Decimal) -> None:
        assert order.price is not None
        amount = order.remaining
        if order.side is OrderSide.BUY:
            cost = amount * order.price
            if self.fee_currency is SpotFeeCurrency.QUOTE:
                cost += cost * maker_fee
            self.ledger.reserve(order.reservation_key, market.quote, cost, f"this buy of {amount} {market.base}")
        else:
            self.ledger.reserve(order.reservation_key, market.base, amount, f"this sell of {amount} {market.base}")

    def settle(
        self,
        order: PaperOrder,
        market: MarketInfo,
        price: Decimal,
        amount: Decimal,
        fee_rate: Decimal,
        ts: int,
        trade_id: str,
    ) -> Fill:
        cost = price * amount
        purpose = f"this {order.side.value} of {amount} {market.base}"
        if order.side is OrderSide.BUY:
            if self.fee_currency is SpotFeeCurrency.QUOTE:
                fee, fee_currency = cost * fee_rate, market.quote
                self.ledger.debit(market.quote, cost + fee, purpose)
                self.ledger.credit(market.base, amount)
            else:
                fee, fee_currency = amount * fee_rate, market.base
                self.ledger.debit(market.quote, cost, purpose)
                self.ledger.credit(market.base, amount - fee)
        else:
            fee, fee_currency = cost * fee_rate, market.quote
            self.ledger.debit(market.base, amount, purpose)
            self.ledger.credit(market.quote, cost - fee)
        return Fill(order.id, order.symbol, order.side, price, amount, fee, fee_currency, ts, trade_id)

    def protected_holding_gone(self, market: MarketInfo) -> bool:
        return self.ledger.total(market.base) < max(market.min_amount, market.amount_step)


class PerpetualSettlement:
    """USDT-margined isolated positions in one-way mode: an opposite order reduces, then flips, the position."""

    def __init__(self, ledger: Ledger, positions: dict[str, PerpPosition], leverage: dict[str, int]) -> None:
        self.ledger = ledger
        self.positions = positions
        self.leverage = leverage

    def reduce_target(self, side: OrderSide, market: MarketInfo) -> Decimal:
        position = self.positions.get(market.symbol)
        return position.amount if position is not None and position.closing_side is side else ZERO

    def executable(self, order: PaperOrder, market: MarketInfo) -> Decimal:
        if order.reduce_only:
            return min(order.remaining, self.reduce_target(order.side, market))
        return order.remaining

    def reserve_resting(self, order: PaperOrder, market: MarketInfo, maker_fee: Decimal) -> None:
        assert order.price is not None
        if order.reduce_only:
            return
        leverage = self.leverage.get(market.symbol, 1)
        margin = order_margin(order.remaining, order.price, market.contract_size, leverage, maker_fee)
        self.ledger.reserve(order.reservation_key, market.quote, margin, f"the margin of this {order.side.value} order")

    def settle(
        self,
        order: PaperOrder,
        market: MarketInfo,
        price: Decimal,
        amount: Decimal,
        fee_rate: Decimal,
        ts: int,
        trade_id: str,
    ) -> Fill:
        fee_total = price * amount * market.contract_size * fee_rate
        position = self.positions.get(market.symbol)
        opening = amount
        charged = ZERO
        if position is not None and position.closing_side is order.side:
            reduced = min(amount, position.amount)
            charged += self._reduce(position, market, price, reduced, money(fee_total * reduced / amount))
            opening = amount - reduced
        if opening > 0:
            open_fee = money(fee_total * opening / amount)
            self._open(market, side_for(order.side), price, opening, ts)
            self.ledger.debit(market.quote, open_fee, f"the fee of this {order.side.value}")
            charged += open_fee
        return Fill(order.id, order.symbol, order.side, price, amount, charged, market.quote, ts, trade_id)

    def _reduce(self, position: PerpPosition, market: MarketInfo, price: Decimal, amount: Decimal, fee: Decimal):
        """Close `amount` of the position; returns the fee charged (never more than is left after the close)."""
        key = position.margin_key
        held = self.ledger.reserved(key)
        released = held if amount == position.amount else money(held * amount / position.amount)
        pnl = money((price - position.entry_price) * amount * market.contract_size * position.direction)
        self.ledger.release(key, released)
        if pnl >= 0:
            self.ledger.credit(market.quote, pnl)
        else:
            self.ledger.debit(market.quote, min(-pnl, released), "the loss of this close")
        position.amount -= amount
        if position.amount <= 0:
            self.ledger.release(key)
            del self.positions[market.symbol]
        charged = min(fee, max(ZERO, self.ledger.free(market.quote)))
        self.ledger.debit(market.quote, charged, "the fee of this close")
        return charged

    def _open(self, market: MarketInfo, side, price: Decimal, amount: Decimal, ts: int) -> None:
        position = self.positions.get(market.symbol)
        leverage = self.leverage.get(market.symbol, 1)
        if position is None:
            position = PerpPosition(market.symbol, side, ZERO, price, leverage, ts)
            self.positions[market.symbol] = position
        position.entry_price = (position.entry_price * position.amount + price * amount) / (position.amount + amount)
        position.amount += amount
        margin = initial_margin(amount, price, market.contract_size, position.leverage)
        self.ledger.reserve(
            position_margin_key(market.symbol), market.quote, margin, f"the margin of this {side.value} position"
        )

    def protected_holding_gone(self, market: MarketInfo) -> bool:
        return market.symbol not in self.positions
