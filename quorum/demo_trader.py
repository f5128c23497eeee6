"""The demo's hands on the paper exchange: entries with their stop loss and take profit, exits, and noticing
when the market closed a position between cycles (stop, take profit or liquidation).

Every order is booked as pending before it is sent and updated from the exchange's answer. A round trip's
P&L is what the paper balance moved between just before the entry and just after the close, so fees (and
funding, if any) are in it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from adapters.exchange.errors import ExchangeError
from adapters.exchange.paper import PaperExchange
from domain.market import MarketInfo
from domain.money import ms_to_datetime
from domain.trading import Order, OrderRequest, OrderSide, OrderStatus, OrderType, Position, PositionSide
from quorum.demo_books import DemoBooks
from quorum.demo_report import ClosedTrade
from risk import Approved

LIQUIDATION_PREFIX = "paper-liquidation-"
_PROTECTIVE = (("stop_loss", OrderType.STOP_MARKET), ("take_profit", OrderType.TAKE_PROFIT_MARKET))


class ProtectionFailed(ExchangeError):
    """The stop loss or take profit could not be placed, so the new position was closed at once."""

    code = "protection_failed"

    def __init__(self, message: str, closed: ClosedTrade) -> None:
        super().__init__(message)
        self.closed = closed


@dataclass(slots=True)
class OpenTrade:
    side: PositionSide
    amount: Decimal
    entry_price: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    opened_ms: int
    balance_before: Decimal
    entry_fee: Decimal
    trade_row: int
    entry_row: int
    protective: dict[str, str]  # purpose -> exchange order id


class PaperTrader:
    def __init__(self, paper: PaperExchange, books: DemoBooks, market: MarketInfo) -> None:
        self.paper = paper
        self.books = books
        self.market = market
        self.symbol = market.symbol
        self.open: OpenTrade | None = None
        self.exit_row: int | None = None  # the orders row of the last round trip's closing order

    async def cash(self) -> Decimal:
        """The wallet total in the quote currency (margin in use included, open P&L not)."""
        return (await self.paper.fetch_balance()).total(self.market.quote)

    async def position(self) -> Position | None:
        positions = await self.paper.fetch_positions([self.symbol])
        return positions[0] if positions else None

    async def _send(self, request: OrderRequest, purpose: str) -> tuple[Order, int]:
        """Book as pending, send, book the answer; a refused order is booked as failed and re-raised."""
        row = await self.books.order_pending(request, purpose)
        try:
            order = await self.paper.create_order(request)
        except ExchangeError as exc:
            await self.books.order_failed(request.client_order_id, str(exc))
            raise
        await self.books.order_update(order)
        return order, row

    async def enter(self, approved: Approved, tag: str, now_ms: int) -> OpenTrade:
        """Leverage, a market entry, then reduce-only STOP_MARKET and TAKE_PROFIT_MARKET orders."""
        assert approved.stop_loss is not None and approved.take_profit is not None
        balance_before = await self.cash()
        await self.paper.set_leverage(self.symbol, approved.leverage)
        cid = self.books.client_order_id(tag, "entry")
        entry, row = await self._send(
            OrderRequest(self.symbol, approved.side, OrderType.MARKET, approved.amount, cid), "entry"
        )
        position = await self.position()
        assert position is not None and entry.average is not None, "a filled market entry leaves a position"
        trade_row = await self.books.open_trade(
            position, entry.average, ms_to_datetime(now_ms), row, entry.fee, approved.stop_loss, approved.take_profit
        )
        self.open = OpenTrade(
            position.side, position.amount, entry.average, approved.stop_loss, approved.take_profit, now_ms,
            balance_before, entry.fee, trade_row, row, {},
        )  # fmt: skip
        closing_side = OrderSide.SELL if position.side is PositionSide.LONG else OrderSide.BUY
        for purpose, order_type in _PROTECTIVE:
            level = approved.stop_loss if order_type is OrderType.STOP_MARKET else approved.take_profit
            request = OrderRequest(
                self.symbol, closing_side, order_type, position.amount, self.books.client_order_id(tag, purpose),
                stop_price=level, reduce_only=True,
            )  # fmt: skip
            try:
                placed, _ = await self._send(request, purpose)
            except ExchangeError as exc:
                closed = await self.exit(tag, now_ms, "unprotected")
                message = f"the {purpose.replace('_', ' ')} was refused ({exc}); closed at once"
                raise ProtectionFailed(message, closed) from exc
            self.open.protective[purpose] = placed.id
        return self.open

    async def exit(self, tag: str, now_ms: int, reason: str) -> ClosedTrade:
        """Cancel the protective orders, then close the whole position with a reduce-only market order."""
        assert self.open is not None
        position = await self.position()
        if position is None:  # the market closed it at this very moment
            closed = await self.settle([], now_ms)
            assert closed is not None
            return closed
        await self._cancel_protective()
        side = OrderSide.SELL if position.side is PositionSide.LONG else OrderSide.BUY
        request = OrderRequest(
            self.symbol, side, OrderType.MARKET, position.amount, self.books.client_order_id(tag, "exit"),
            reduce_only=True,
        )  # fmt: skip
        order, row = await self._send(request, "exit")
        return await self._closed(order, row, reason, now_ms)

    async def settle(self, changed: list[Order], now_ms: int) -> ClosedTrade | None:
        """Book what the exchange did on its own; the round trip, when the market closed the position."""
        rows = {order.id: await self.books.order_update(order) for order in changed}
        if self.open is None or await self.position() is not None:
            return None
        for purpose, order_id in self.open.protective.items():
            order = await self.paper.fetch_order(order_id, self.symbol)
            rows[order.id] = await self.books.order_update(order)
            if order.status is OrderStatus.FILLED:
                return await self._closed(order, rows[order.id], purpose, now_ms)
        liquidation = next((o for o in changed if o.client_order_id.startswith(LIQUIDATION_PREFIX)), None)
        if liquidation is not None:
            return await self._closed(liquidation, rows[liquidation.id], "liquidation", now_ms)
        return await self._closed(None, None, "closed_by_exchange", now_ms)

    async def _cancel_protective(self) -> None:
        assert self.open is not None
        for order_id in self.open.protective.values():
            order = await self.paper.cancel_order(order_id, self.symbol)
            await self.books.order_update(order)
        self.open.protective.clear()

    async def _closed(self, order: Order | None, row: int | None, reason: str, now_ms: int) -> ClosedTrade:
        trade, self.open, self.exit_row = self.open, None, row
        assert trade is not None
        pnl = await self.cash() - trade.balance_before
        exit_fee = order.fee if order is not None else Decimal(0)
        exit_price = order.average if order is not None and order.average is not None else trade.entry_price
        closed_ms = order.fills[-1].ts if order is not None and order.fills else now_ms
        await self.books.close_trade(trade.trade_row, exit_price, pnl, ms_to_datetime(closed_ms), reason, row, exit_fee)
        return ClosedTrade(
            trade.side.value, trade.amount, trade.entry_price, exit_price, pnl, trade.entry_fee + exit_fee, reason,
            trade.opened_ms, closed_ms,
        )  # fmt: skip
