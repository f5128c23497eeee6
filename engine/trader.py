"""The engine's hands on an exchange port: entries with their stop loss and take profit, exits, and noticing
when the exchange closed a position between cycles (stop, take profit, liquidation).

Every order is recorded as pending BEFORE it is sent and updated from the exchange's answer, under a client
order id derived from (user, symbol, candle, intent): sending it again can never place a second order. A
round trip's P&L comes from its fills: (exit value - entry cost) in the position's direction, less every fee.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from adapters.exchange.errors import ExchangeError, OrderStateUnknown
from adapters.exchange.port import ExchangePort
from domain.market import MarketInfo, MarketType
from domain.money import ms_to_datetime
from domain.trading import Order, OrderRequest, OrderSide, OrderStatus, OrderType, Position, PositionSide
from engine.ids import Intent, client_order_id, exit_reason
from engine.records import ClosedTrade, TradeClose, TradeOpen
from engine.state import OpenTrade
from engine.store import EngineStore
from risk import Approved

LIQUIDATION_PREFIX = "paper-liquidation-"
_PROTECTIVE = (
    ("stop_loss", OrderType.STOP_MARKET, Intent.STOP_LOSS),
    ("take_profit", OrderType.TAKE_PROFIT_MARKET, Intent.TAKE_PROFIT),
)


class ProtectionFailed(ExchangeError):
    """The stop loss or take profit could not be placed, so the new position was closed at once."""

    code = "protection_failed"

    def __init__(self, message: str, closed: ClosedTrade) -> None:
        super().__init__(message)
        self.closed = closed


class ProtectionUnknown(OrderStateUnknown):
    """The exchange could not confirm a protective order of an open trade: the trade stands (`trade`: with the
    protective orders confirmed so far) and the order is settled, and the protection completed, later."""

    def __init__(self, exc: OrderStateUnknown, trade: OpenTrade) -> None:
        super().__init__(str(exc), exc.client_order_id)
        self.trade = trade


def _fills_value(order: Order) -> tuple[Decimal, Decimal, Decimal]:
    """(sum of price * amount, amount, fee) over the order's fills; the order's own figures without fills."""
    if order.fills:
        value = sum((f.price * f.amount for f in order.fills), Decimal(0))
        amount = sum((f.amount for f in order.fills), Decimal(0))
        fee = sum((f.fee for f in order.fills), Decimal(0))
        return value, amount, max(fee, order.fee)
    average = order.average if order.average is not None else Decimal(0)
    return average * order.filled, order.filled, order.fee


@dataclass(slots=True)
class Trader:
    exchange: ExchangePort
    store: EngineStore
    market: MarketInfo
    user_id: int

    @property
    def symbol(self) -> str:
        return self.market.symbol

    def cid(self, key_ts: int, intent: Intent) -> str:
        return client_order_id(self.user_id, self.symbol, key_ts, intent)

    async def position(self) -> Position | None:
        positions = await self.exchange.fetch_positions([self.symbol])
        return next((p for p in positions if p.symbol == self.symbol and p.amount > 0), None)

    async def send(self, request: OrderRequest, purpose: str) -> tuple[Order, int]:
        """Record as pending, send, record the answer. A refusal is recorded and re-raised; a lost answer the
        exchange cannot resolve is recorded as unknown and raised as OrderStateUnknown (never re-sent)."""
        row = await self.store.order_pending(self.user_id, request, purpose)
        try:
            order = await self.exchange.create_order(request)
        except OrderStateUnknown as exc:
            await self.store.order_failed(self.user_id, request.client_order_id, str(exc), OrderStatus.UNKNOWN)
            raise
        except ExchangeError as exc:
            await self.store.order_failed(self.user_id, request.client_order_id, str(exc), OrderStatus.REJECTED)
            raise
        await self.store.order_update(self.user_id, order, purpose)
        if order.status is OrderStatus.UNKNOWN:
            raise OrderStateUnknown(
                f"The exchange could not confirm order {request.client_order_id}; it will be reconciled.",
                request.client_order_id,
            )
        return order, row

    async def enter(self, approved: Approved, candle_ts: int, now_ms: int) -> OpenTrade:
        """Leverage (perpetuals), a market entry, then reduce-only stop loss and take profit orders."""
        assert approved.stop_loss is not None and approved.take_profit is not None
        if self.market.type is MarketType.PERPETUAL:
            await self.exchange.set_leverage(self.symbol, approved.leverage)
        request = OrderRequest(
            self.symbol, approved.side, OrderType.MARKET, approved.amount, self.cid(candle_ts, Intent.ENTRY)
        )
        entry, row = await self.send(request, "entry")
        trade = await self.book_entry(approved, entry, row, candle_ts, now_ms)
        return await self.protect(trade, now_ms)

    async def book_entry(self, approved: Approved, entry: Order, row: int, candle_ts: int, now_ms: int) -> OpenTrade:
        """The round trip of a filled entry, from its fills."""
        assert approved.stop_loss is not None and approved.take_profit is not None
        value, filled, fee = _fills_value(entry)
        if filled <= 0:
            raise ExchangeError(f"The {self.symbol} entry order was not filled ({entry.status.value}).")
        side = PositionSide.LONG if approved.side is OrderSide.BUY else PositionSide.SHORT
        entry_price = entry.average if entry.average is not None else value / filled
        opened_at = ms_to_datetime(entry.fills[-1].ts if entry.fills else now_ms)
        trade_row = await self.store.open_trade(
            self.user_id,
            TradeOpen(self.symbol, side.value, filled, entry_price, opened_at, row, fee, approved.leverage),
        )
        return OpenTrade(
            side, filled, entry_price, value, fee, approved.stop_loss, approved.take_profit, now_ms, candle_ts,
            trade_row, row, {},
        )  # fmt: skip

    async def protect(self, trade: OpenTrade, now_ms: int) -> OpenTrade:
        """Place whichever protective order the trade lacks (idempotent: ids derive from the entry's candle)."""
        closing = OrderSide.SELL if trade.side is PositionSide.LONG else OrderSide.BUY
        protective = dict(trade.protective)
        for purpose, order_type, intent in _PROTECTIVE:
            if purpose in protective:
                continue
            level = trade.stop_loss if order_type is OrderType.STOP_MARKET else trade.take_profit
            request = OrderRequest(
                self.symbol, closing, order_type, trade.amount, self.cid(trade.candle_ts, intent),
                stop_price=level, reduce_only=True,
            )  # fmt: skip
            try:
                await self.send(request, purpose)
            except OrderStateUnknown as exc:
                raise ProtectionUnknown(exc, replace(trade, protective=protective)) from exc
            except ExchangeError as exc:
                opened = replace(trade, protective=protective)
                closed = await self.exit(opened, trade.candle_ts, Intent.UNPROTECTED, now_ms, "unprotected")
                message = f"the {purpose.replace('_', ' ')} was refused ({exc}); the position was closed at once"
                raise ProtectionFailed(message, closed) from exc
            protective[purpose] = request.client_order_id
        return replace(trade, protective=protective)

    async def exit(self, trade: OpenTrade, key_ts: int, intent: Intent, now_ms: int, reason: str) -> ClosedTrade:
        """Cancel the protective orders, then close the whole position with a reduce-only market order."""
        position = await self.position()
        if position is None:  # the market closed it at this very moment
            closed = await self.settle(trade, [], now_ms)
            assert closed is not None
            return closed
        await self.cancel_protective(trade)
        side = OrderSide.SELL if position.side is PositionSide.LONG else OrderSide.BUY
        request = OrderRequest(
            self.symbol, side, OrderType.MARKET, position.amount, self.cid(key_ts, intent),
            reduce_only=self.market.type is MarketType.PERPETUAL,
        )  # fmt: skip
        order, row = await self.send(request, "exit")
        return await self.closed(trade, order, row, reason, now_ms)

    async def cancel_protective(self, trade: OpenTrade) -> None:
        for purpose, cid in trade.protective.items():
            order = await self.exchange.fetch_order_by_client_id(cid, self.symbol)
            if order is None or order.status.is_final:
                if order is not None:
                    await self.store.order_update(self.user_id, order, purpose)
                continue
            try:
                order = await self.exchange.cancel_order(order.id, self.symbol)
            except ExchangeError:
                order = await self.exchange.fetch_order(order.id, self.symbol)
            await self.store.order_update(self.user_id, order, purpose)

    async def settle(self, trade: OpenTrade, changed: list[Order], now_ms: int) -> ClosedTrade | None:
        """Record what the exchange did on its own; the round trip, when the market closed the position."""
        rows = {}
        for order in changed:
            purpose = next((p for p, c in trade.protective.items() if c == order.client_order_id), "exit")
            rows[order.client_order_id] = await self.store.order_update(self.user_id, order, purpose)
        if await self.position() is not None:
            return None
        for purpose, cid in trade.protective.items():
            protective = await self.exchange.fetch_order_by_client_id(cid, self.symbol)
            if protective is None:
                continue
            row = await self.store.order_update(self.user_id, protective, purpose)
            if protective.status is OrderStatus.FILLED:
                others = {p: c for p, c in trade.protective.items() if p != purpose}
                await self.cancel_protective(replace(trade, protective=others))
                return await self.closed(trade, protective, row, purpose, now_ms)
        await self.cancel_protective(trade)
        liquidation = next((o for o in changed if o.client_order_id.startswith(LIQUIDATION_PREFIX)), None)
        if liquidation is not None:
            return await self.closed(trade, liquidation, rows[liquidation.client_order_id], "liquidation", now_ms)
        exit = next((o for o in changed if o.filled > 0 and exit_reason(o.client_order_id)), None)
        if exit is not None:  # our exit, filled as the process stopped: found again when it restarted
            reason = exit_reason(exit.client_order_id) or "signal"
            return await self.closed(trade, exit, rows[exit.client_order_id], reason, now_ms)
        return await self.closed(trade, None, None, "closed_by_exchange", now_ms)

    async def closed(
        self, trade: OpenTrade, order: Order | None, row: int | None, reason: str, now_ms: int
    ) -> ClosedTrade:
        sign = 1 if trade.side is PositionSide.LONG else -1
        if order is not None:
            value, amount, exit_fee = _fills_value(order)
        else:
            value, amount, exit_fee = trade.entry_cost, trade.amount, Decimal(0)
        exit_price = value / amount if amount > 0 else trade.entry_price
        if order is not None and order.average is not None:
            exit_price = order.average
        gross = sign * (value - trade.entry_cost) * self.market.contract_size
        pnl = gross - trade.entry_fee - exit_fee
        closed_ms = order.fills[-1].ts if order is not None and order.fills else now_ms
        await self.store.close_trade(
            self.user_id,
            self.symbol,
            TradeClose(trade.trade_row, exit_price, pnl, ms_to_datetime(closed_ms), reason, row, exit_fee),
        )
        return ClosedTrade(
            self.symbol, trade.side.value, trade.amount, trade.entry_price, exit_price, pnl,
            trade.entry_fee + exit_fee, reason, trade.opened_ms, closed_ms, row,
        )  # fmt: skip
