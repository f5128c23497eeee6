"""How a fill moves money: spot swaps one currency for another, perpetuals move margin and realize PnL.

Both settlements share one shape so the account's matching logic does not care which market it is in.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from adapters.exchange.errors import InsufficientFunds
from domain.market import MarketInfo
from domain.money import quantize_down
from domain.trading import OrderSide

from .config import SpotFeeCurrency
from .exact import money, share
from .formatting import amount_text
from .ledger import Ledger
from .orders import PaperFill, PaperOrder
from .perpetual import PerpPosition, initial_margin, liquidation_direction, order_margin, position_margin_key, side_for
from .triggers import touch

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
    ) -> PaperFill: ...

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
    ) -> PaperFill:
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
        return PaperFill(order.id, order.symbol, order.side, price, amount, fee, fee_currency, ts, trade_id)

    def protected_holding_gone(self, market: MarketInfo) -> bool:
        return self.ledger.total(market.base) < max(market.min_amount, market.amount_step)


class PerpetualSettlement:
    """USDT-margined isolated positions in one-way mode: an opposite order reduces, then flips, the position."""

    def __init__(
        self, ledger: Ledger, positions: dict[str, PerpPosition], leverage: dict[str, int], mmr: Decimal
    ) -> None:
        self.ledger = ledger
        self.positions = positions
        self.leverage = leverage
        self.mmr = mmr  # maintenance margin rate

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
    ) -> PaperFill:
        """Reduce (then, past the position's size, flip) or open; each part pays the fee on its own amount,
        rounded to the money grid like every other cash movement."""
        position = self.positions.get(market.symbol)
        opening, realized, charged = amount, ZERO, ZERO
        if position is not None and position.closing_side is order.side:
            reduced = min(amount, position.amount)
            realized, charged = self._reduce(
                position, market, price, reduced, money(price * reduced * market.contract_size * fee_rate)
            )
            opening = amount - reduced
        if opening > 0:
            open_fee = money(price * opening * market.contract_size * fee_rate)
            self._open(market, side_for(order.side), price, opening, ts)
            self.ledger.debit(market.quote, open_fee, f"the fee of this {order.side.value}")
            charged += open_fee
        return PaperFill(
            order.id, order.symbol, order.side, price, amount, charged, market.quote, ts, trade_id, realized
        )

    def _reduce(
        self, position: PerpPosition, market: MarketInfo, price: Decimal, amount: Decimal, fee: Decimal
    ) -> tuple[Decimal, Decimal]:
        """Close `amount` of the position: (PnL realized, fee charged). The closed part takes out its share of
        the cost and of the margin; the loss is capped at that margin share (isolated), the fee at what is free."""
        key = position.margin_key
        released = share(self.ledger.reserved(key), amount, position.amount)
        removed = position.cost_share(amount)
        pnl = max((price * amount - removed) * market.contract_size * position.direction, -released)
        self.ledger.release(key, released)
        if pnl >= 0:
            self.ledger.credit(market.quote, pnl)
        else:
            self.ledger.debit(market.quote, -pnl, "the loss of this close")
        position.amount -= amount
        position.cost -= removed
        if position.amount <= 0:
            self.ledger.release(key)
            del self.positions[market.symbol]
        charged = min(fee, max(ZERO, self.ledger.free(market.quote)))
        self.ledger.debit(market.quote, charged, "the fee of this close")
        return pnl, charged

    def _open(self, market: MarketInfo, side, price: Decimal, amount: Decimal, ts: int) -> None:
        position = self.positions.get(market.symbol)
        leverage = self.leverage.get(market.symbol, 1)
        if position is None:
            position = PerpPosition(market.symbol, side, ZERO, ZERO, leverage, ts)
            self.positions[market.symbol] = position
        position.cost += price * amount
        position.amount += amount
        margin = initial_margin(amount, price, market.contract_size, position.leverage)
        self.ledger.reserve(
            position_margin_key(market.symbol), market.quote, margin, f"the margin of this {side.value} position"
        )

    def liquidation_price(self, market: MarketInfo, position: PerpPosition) -> Decimal | None:
        margin = self.ledger.reserved(position.margin_key)
        return position.liquidation_price(margin, self.mmr, market.contract_size, market.price_step)

    def liquidation_reached(
        self, market: MarketInfo, position: PerpPosition, start: Decimal, end: Decimal
    ) -> Decimal | None:
        """Where the move start -> end reaches the position's liquidation price, if it does."""
        liquidation = self.liquidation_price(market, position)
        return touch(start, end, liquidation, liquidation_direction(position)) if liquidation is not None else None

    def refuse_if_liquidated_at_once(self, order: PaperOrder, market: MarketInfo, mark: Decimal) -> None:
        """A fill walked far from the mark can open a position whose margin does not cover the loss it already
        has at the mark; like an exchange counting that open loss against the margin, the order is refused."""
        position = self.positions.get(market.symbol)
        if position is None or self.liquidation_reached(market, position, mark, mark) is None:
            return
        raise InsufficientFunds(
            f"Not enough margin: this {order.side.value} of {amount_text(order.amount)} {market.base} would open a "
            f"{position.side.value} already past its liquidation price at the {amount_text(mark)} {market.quote} "
            f"mark; lower the leverage or the amount."
        )

    def liquidate(self, market: MarketInfo, price: Decimal) -> tuple[PerpPosition, Decimal, Decimal]:
        """Remove the position at `price`, taking its whole isolated margin: (position, margin, fee). The fill
        records the loss at that price as realized PnL, and what is left of the margin after it (about the
        maintenance margin) as the liquidation fee; a loss past the margin is not charged (isolated), so the
        realized PnL is then -margin. Either way realized - fee = -margin, the cash that moved."""
        position = self.positions.pop(market.symbol)
        margin = self.ledger.reserved(position.margin_key)
        fee = max(margin + position.unrealized_pnl(price, market.contract_size), ZERO)
        self.ledger.spend_reserved(position.margin_key, market.quote, margin)
        return position, margin, fee

    def protected_holding_gone(self, market: MarketInfo) -> bool:
        return market.symbol not in self.positions
