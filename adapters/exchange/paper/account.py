"""One paper account: balances, orders and positions, and the matching rules. Pure and synchronous.

The async PaperExchange feeds it market data (prices, books, funding) and persists its state; everything that
decides a fill lives here so it can be tested, and property-tested, without any I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal

from adapters.exchange.errors import InsufficientFunds, InvalidOrder, OrderNotFound
from domain.fast_init import fast_init
from domain.market import MarketInfo, MarketType, OrderBook
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType, Position

from .config import PaperConfig
from .exact import exact
from .fills import anchored_levels, book_side, walk_book
from .formatting import amount_text
from .ledger import Ledger
from .orders import PaperFill, PaperOrder, RetiredOrder
from .perpetual import PerpPosition, funding_payment, liquidation_direction
from .settlement import PerpetualSettlement, Settlement, SpotSettlement
from .triggers import Direction, order_direction, touch
from .validation import validate_request


@fast_init
@dataclass(frozen=True, slots=True)
class Mark:
    """The last price the account has seen for a symbol, when, and the last candle it walked."""

    price: Decimal
    ts: int
    candle_ts: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class FundingEvent:
    symbol: str
    ts: int
    rate: Decimal
    amount: Decimal  # paid by the account (out of the position's margin); negative when received


class PaperAccount:
    def __init__(self, ledger: Ledger, config: PaperConfig | None = None) -> None:
        self.ledger = ledger
        self.config = config or PaperConfig()
        self.orders: dict[str, PaperOrder] = {}  # open orders and the latest final ones, oldest first
        self.client_ids: dict[str, str] = {}  # client order id -> id, for the orders in `orders`
        self.retired: dict[str, RetiredOrder] = {}  # by client order id: final orders beyond the recent ones
        self.positions: dict[str, PerpPosition] = {}
        self.leverage: dict[str, int] = {}
        self.marks: dict[str, Mark] = {}
        self.funding: deque[FundingEvent] = deque(maxlen=self.config.keep_funding_events)
        self.order_counter = 0
        self.trade_counter = 0
        self.revision = 0  # bumped on every change worth saving
        self._open: dict[str, PaperOrder] = {}  # every open order (and some just finished), oldest first
        self._retired_ids: dict[str, str] = {}  # id -> client order id of the retired orders
        self._spot = SpotSettlement(ledger, self.config.spot_fee_currency)
        self._perp = PerpetualSettlement(ledger, self.positions, self.leverage, self.config.maintenance_margin_rate)

    # --- lookups -------------------------------------------------------------------------------------------

    def settlement(self, market: MarketInfo) -> Settlement:
        return self._perp if market.type is MarketType.PERPETUAL else self._spot

    def find_by_client_id(self, client_order_id: str) -> PaperOrder | RetiredOrder | None:
        order_id = self.client_ids.get(client_order_id)
        if order_id is not None:
            return self.orders[order_id]
        return self.retired.get(client_order_id)

    def get(self, order_id: str, symbol: str) -> PaperOrder | RetiredOrder:
        order: PaperOrder | RetiredOrder | None = self.orders.get(order_id)
        if order is None and order_id in self._retired_ids:
            order = self.retired[self._retired_ids[order_id]]
        if order is None or order.symbol != symbol:
            raise OrderNotFound(f"There is no paper order {order_id} on {symbol}.")
        return order

    def open_orders(self, symbol: str | None = None) -> list[PaperOrder]:
        """Open orders, oldest first: read from the open index, so the cost does not grow with the history."""
        return [o for o in self._open.values() if o.is_open and (symbol is None or o.symbol == symbol)]

    def active_symbols(self) -> list[str]:
        """Symbols with something for the market to act on: open orders or an open position."""
        if not self._open and not self.positions:
            return []
        return sorted({order.symbol for order in self.open_orders()} | set(self.positions))

    def holds(self, symbol: str) -> bool:
        """Whether anything on `symbol` can move with its price: an open order or an open position."""
        return symbol in self.positions or bool(self.open_orders(symbol))

    def needs_book(self, symbol: str) -> bool:
        return any(order.is_conditional for order in self.open_orders(symbol))

    @exact
    def fires_on(self, market: MarketInfo, path: Sequence[tuple[Decimal, int]]) -> bool:
        """Whether advance(market, path, ...) would fire anything (an order or a liquidation): until something
        fires nothing changes, so it is the first event of each step of the path from the last price seen."""
        if not path:
            return False
        mark = self.marks.get(market.symbol)
        previous = mark.price if mark else path[0][0]
        triggers = self._triggers(market)  # nothing fires, so nothing changes, along the way
        for price, _ in path:
            if _first_event(triggers, previous, price) is not None:
                return True
            previous = price
        return False

    # --- placing and canceling -----------------------------------------------------------------------------

    @exact
    def place(self, request: OrderRequest, market: MarketInfo, book: OrderBook | None, ts: int) -> PaperOrder:
        """Validate, then fill what crosses now and rest the remainder; nothing changes when it raises."""
        mark = self.marks.get(market.symbol)
        if mark is None:
            raise InvalidOrder(f"No price is known yet for {market.symbol}; try again in a moment.")
        reduce_target = self.settlement(market).reduce_target(request.side, market)
        amount, price, stop_price = validate_request(request, market, mark.price, reduce_target)
        settlement = self.settlement(market)
        self.order_counter += 1
        order = PaperOrder.from_request(f"paper-{self.order_counter}", request, amount, price, ts)
        order.stop_price = stop_price
        try:
            with self._trial(order, market):
                if order.type is OrderType.MARKET:
                    executable = settlement.executable(order, market)
                    levels = book_side(book, order.side) if book else anchored_levels(None, order.side, mark.price)
                    if not levels:
                        raise InvalidOrder(
                            f"The {market.symbol} order book has no {'asks' if order.side is OrderSide.BUY else 'bids'}"
                            " to fill a market order right now; try again in a moment."
                        )
                    self._fill_walk(order, market, walk_book(levels, order.side, executable), ts)
                    if order.is_open:
                        order.finish(OrderStatus.FILLED, ts, "amount capped to what was left to reduce")
                elif order.type is OrderType.LIMIT:
                    if book is not None:
                        executable = settlement.executable(order, market)
                        walk = walk_book(book_side(book, order.side), order.side, executable, limit_price=price)
                        self._fill_walk(order, market, walk, ts)
                    if order.remaining > 0:
                        settlement.reserve_resting(order, market, self.config.maker(market))
                self._perp.refuse_if_liquidated_at_once(order, market, mark.price)
        except (InsufficientFunds, InvalidOrder):
            self.order_counter -= 1
            raise
        self._add(order)
        self._after_fill(order, market, ts)
        self.revision += 1
        self._retire_finished()
        return order

    @exact
    def cancel(self, order_id: str, symbol: str, ts: int) -> PaperOrder | RetiredOrder:
        """Cancel an open order and free what it reserved; a finished order is returned unchanged."""
        order = self.get(order_id, symbol)
        if isinstance(order, PaperOrder) and order.is_open:
            self.ledger.release(order.reservation_key)
            order.finish(OrderStatus.CANCELED, ts)
            self.revision += 1
            self._retire_finished()
        return order

    @exact
    def set_leverage(self, market: MarketInfo, leverage: int) -> None:
        if market.type is not MarketType.PERPETUAL:
            raise InvalidOrder(f"{market.symbol} is a spot market; leverage applies to perpetual futures only.")
        if not 1 <= leverage <= market.max_leverage:
            raise InvalidOrder(f"Leverage for {market.symbol} must be between 1 and {market.max_leverage}x.")
        current = self.leverage.get(market.symbol, 1)
        if leverage == current:
            return
        busy = market.symbol in self.positions or any(not o.reduce_only for o in self.open_orders(market.symbol))
        if busy:
            raise InvalidOrder(
                f"Close the {market.symbol} position and its open orders before changing leverage "
                f"from {current}x to {leverage}x."
            )
        self.leverage[market.symbol] = leverage
        self.revision += 1

    # --- market moves --------------------------------------------------------------------------------------

    @exact
    def advance(
        self,
        market: MarketInfo,
        path: Sequence[tuple[Decimal, int]],
        book: OrderBook | None,
        candle_ts: int | None = None,
    ) -> list[PaperOrder]:
        """Walk the price through `path` ((price, ts) points, oldest first) from the last price seen,
        firing limits, stops, take-profits and liquidations in the order the price reaches them."""
        if not path:
            return []
        symbol = market.symbol
        mark = self.marks.get(symbol)
        previous = mark.price if mark else path[0][0]
        changed: list[PaperOrder] = []
        if self.holds(symbol):  # else nothing on the path can fire
            triggers = self._triggers(market)
            for price, ts in path:
                changed.extend(self._move(market, previous, price, ts, book, triggers))
                previous = price
        if candle_ts is None and mark is not None:
            candle_ts = mark.candle_ts
        new_mark = Mark(path[-1][0], path[-1][1], candle_ts)
        if new_mark != mark:
            self.marks[symbol] = new_mark
            self.revision += 1
        self._retire_finished()
        return changed

    def _move(
        self, market: MarketInfo, start: Decimal, end: Decimal, ts: int, book: OrderBook | None, triggers: list
    ) -> list[PaperOrder]:
        """Fire what the move start -> end reaches, nearest first; `triggers` (see _triggers) is brought up to
        date in place after each event, the only thing that changes them."""
        changed: list[PaperOrder] = []
        at = start
        while True:
            event = _first_event(triggers, at, end)
            if event is None:
                return changed
            reached, order = event
            if order is None:
                changed.append(self._liquidate(market, reached, ts))
            else:
                self._execute_resting(order, market, reached, book, ts)
                changed.append(order)
            changed.extend(self._after_fill(order, market, ts) if order else self._cancel_reduce_only(market, ts))
            triggers[:] = self._triggers(market)
            at = reached

    def _triggers(self, market: MarketInfo) -> list[tuple[Decimal, Direction, PaperOrder | None]]:
        """(level, direction, order) of everything that can fire on `market`: its open orders, oldest first, then
        the position's liquidation price (order None). They depend only on the open orders, the position and its
        margin, which change only when something fires (or funding is paid, outside a walk), so a walk computes
        them once and again after each event rather than at every step of its path."""
        triggers: list[tuple[Decimal, Direction, PaperOrder | None]] = []
        for order in self.open_orders(market.symbol):
            level = order.price if order.type is OrderType.LIMIT else order.stop_price
            assert level is not None
            triggers.append((level, order_direction(order.type, order.side), order))
        position = self.positions.get(market.symbol)
        if position is not None:
            liquidation = self._perp.liquidation_price(market, position)
            if liquidation is not None:
                triggers.append((liquidation, liquidation_direction(position), None))
        return triggers

    def _execute_resting(
        self, order: PaperOrder, market: MarketInfo, reached: Decimal, book: OrderBook | None, ts: int
    ) -> None:
        settlement = self.settlement(market)
        executable = settlement.executable(order, market)
        if executable <= 0:
            self.ledger.release(order.reservation_key)
            order.finish(OrderStatus.CANCELED, ts, "nothing left to reduce when it triggered")
            return
        try:
            with self._trial(order, market):
                self.ledger.release(order.reservation_key)
                if order.type is OrderType.LIMIT:
                    assert order.price is not None
                    self._fill(order, market, order.price, executable, self.config.maker(market), ts)
                else:
                    levels = anchored_levels(book, order.side, reached)
                    self._fill_walk(order, market, walk_book(levels, order.side, executable), ts)
        except InsufficientFunds as exc:
            self.ledger.release(order.reservation_key)
            order.finish(OrderStatus.REJECTED, ts, str(exc))
            return
        if order.is_open:
            order.finish(OrderStatus.FILLED, ts, "amount capped to what was left to reduce")

    def _liquidate(self, market: MarketInfo, price: Decimal, ts: int) -> PaperOrder:
        """Close the whole position at `price` with the order and fill that record it (PerpetualSettlement.liquidate
        says what they hold)."""
        position, margin, fee = self._perp.liquidate(market, price)
        self.order_counter += 1
        self.trade_counter += 1
        order = PaperOrder(
            id=f"paper-{self.order_counter}",
            client_order_id=f"paper-liquidation-{self.order_counter}",
            symbol=market.symbol,
            side=position.closing_side,
            type=OrderType.MARKET,
            amount=position.amount,
            ts=ts,
            reduce_only=True,
            note=f"liquidated: the {amount_text(margin, 2)} {market.quote} isolated margin is lost "
            f"({amount_text(fee, 2)} {market.quote} of it as the liquidation fee)",
        )
        order.add_fill(
            PaperFill(
                order.id,
                order.symbol,
                order.side,
                price,
                position.amount,
                fee,
                market.quote,
                ts,
                f"paper-trade-{self.trade_counter}",
                realized_pnl=fee - margin,
            )
        )
        self._add(order)
        self.revision += 1
        return order

    @exact
    def pay_funding(self, market: MarketInfo, rate: Decimal, mark: Decimal, ts: int) -> list[PaperOrder]:
        """Settle one funding time out of (or into) the position's isolated margin. The position is liquidated
        at the mark only when margin + unrealized PnL, after the payment, is down to the maintenance margin:
        a payment larger than the margin leaves it negative while the position's profit covers it."""
        position = self.positions.get(market.symbol)
        if position is None:
            return []
        payment = funding_payment(position, rate, mark, market.contract_size)
        position.funding_paid += payment
        self.funding.append(FundingEvent(market.symbol, ts, rate, payment))
        self.ledger.spend_reserved(position.margin_key, market.quote, payment)
        self.revision += 1
        if self._perp.liquidation_reached(market, position, mark, mark) is None:
            return []
        changed = [self._liquidate(market, mark, ts), *self._cancel_reduce_only(market, ts)]
        self._retire_finished()
        return changed

    # --- the order history ---------------------------------------------------------------------------------

    def _add(self, order: PaperOrder) -> None:
        self.orders[order.id] = order
        self.client_ids[order.client_order_id] = order.id
        if order.is_open:
            self._open[order.id] = order

    def _retire_finished(self) -> None:
        """Drop finished orders from the open index; past keep_final_orders final ones, retire the oldest placed.

        Run at the end of every call that can finish an order, so the index holds every open order and the
        history stays bounded; a final order never opens again, so nothing open is ever retired."""
        for order_id in [order_id for order_id, order in self._open.items() if not order.is_open]:
            del self._open[order_id]
        keep = self.config.keep_final_orders
        excess = len(self.orders) - len(self._open) - keep if keep is not None else 0
        if excess <= 0:
            return
        oldest = [order for order in self.orders.values() if order.id not in self._open][:excess]
        for order in oldest:
            del self.orders[order.id]
            del self.client_ids[order.client_order_id]
            self.retired[order.client_order_id] = RetiredOrder.of(order)
            self._retired_ids[order.id] = order.client_order_id

    def restore_order(self, order: PaperOrder) -> None:
        """An order from a saved state, in the order they were saved."""
        self._add(order)

    def restore_retired(self, order: RetiredOrder) -> None:
        self.retired[order.client_order_id] = order
        self._retired_ids[order.id] = order.client_order_id

    # --- helpers -------------------------------------------------------------------------------------------

    def _fill_walk(self, order: PaperOrder, market: MarketInfo, walk, ts: int) -> None:
        for level in walk.fills:
            self._fill(order, market, level.price, level.amount, self.config.taker(market), ts)

    def _fill(self, order: PaperOrder, market: MarketInfo, price: Decimal, amount: Decimal, rate: Decimal, ts: int):
        self.trade_counter += 1
        fill = self.settlement(market).settle(
            order, market, price, amount, rate, ts, f"paper-trade-{self.trade_counter}"
        )
        order.add_fill(fill)

    def _after_fill(self, order: PaperOrder, market: MarketInfo, ts: int) -> list[PaperOrder]:
        """Once the holding they protect is gone, the remaining reduce-only orders are canceled (OCO-like)."""
        if not order.fills:
            return []
        if market.type is MarketType.SPOT and not order.reduce_only:
            return []
        return self._cancel_reduce_only(market, ts)

    def _cancel_reduce_only(self, market: MarketInfo, ts: int) -> list[PaperOrder]:
        if not self.settlement(market).protected_holding_gone(market):
            return []
        canceled = []
        for order in self.open_orders(market.symbol):
            if order.reduce_only:
                self.ledger.release(order.reservation_key)
                order.finish(OrderStatus.CANCELED, ts, "canceled: the position it protected is closed")
                canceled.append(order)
        return canceled

    @contextmanager
    def _trial(self, order: PaperOrder, market: MarketInfo) -> Iterator[None]:
        """Apply a multi-step fill unchecked, then keep it only if no free balance ended up negative.

        The InsufficientFunds message names the whole order's need, not one book level's."""
        ledger_before = self.ledger.snapshot()
        free_before = {currency: self.ledger.free(currency) for currency in self.ledger.currencies()}
        positions_before = {symbol: replace(position) for symbol, position in self.positions.items()}
        fills_before, status_before, trades_before = list(order.fills), order.status, self.trade_counter
        self.ledger.checked = False
        try:
            yield
            short = self.ledger.shortfall()
        except BaseException:
            short = None
            self._rollback(ledger_before, positions_before, order, fills_before, status_before, trades_before)
            raise
        finally:
            self.ledger.checked = True
        if short is not None:
            needed = free_before.get(short, Decimal(0)) - self.ledger.free(short)
            self._rollback(ledger_before, positions_before, order, fills_before, status_before, trades_before)
            places = 2 if short == market.quote else 8  # cents for the quote; a base coin needs its satoshis
            raise InsufficientFunds(
                f"Not enough {short}: this {order.side.value} of {amount_text(order.amount)} {market.base} "
                f"needs {amount_text(needed, places)} {short} but only "
                f"{amount_text(free_before.get(short, Decimal(0)), places)} {short} is free."
            )

    def _rollback(self, ledger_before, positions_before, order, fills_before, status_before, trades_before) -> None:
        self.ledger.restore(ledger_before)
        self.positions.clear()
        self.positions.update(positions_before)
        order.fills[:] = fills_before
        order.status = status_before
        self.trade_counter = trades_before

    # --- views ---------------------------------------------------------------------------------------------

    @exact
    def position_views(self, markets: dict[str, MarketInfo], symbols: list[str] | None = None) -> list[Position]:
        views = []
        for symbol, position in sorted(self.positions.items()):
            if symbols is not None and symbol not in symbols:
                continue
            market = markets[symbol]
            margin = self.ledger.reserved(position.margin_key)
            mark = self.marks[symbol].price if symbol in self.marks else position.entry_price
            protective = {
                order.type: order.stop_price
                for order in self.open_orders(symbol)
                if order.reduce_only and order.is_conditional and order.side is position.closing_side
            }
            views.append(
                Position(
                    symbol=symbol,
                    side=position.side,
                    amount=position.amount,
                    entry_price=position.entry_price,
                    leverage=position.leverage,
                    margin=margin,
                    unrealized_pnl=position.unrealized_pnl(mark, market.contract_size),
                    liquidation_price=self._perp.liquidation_price(market, position),
                    mark_price=mark,
                    stop_loss=protective.get(OrderType.STOP_MARKET),
                    take_profit=protective.get(OrderType.TAKE_PROFIT_MARKET),
                )
            )
        return views


def _first_event(
    triggers: list[tuple[Decimal, Direction, PaperOrder | None]], start: Decimal, end: Decimal
) -> tuple[Decimal, PaperOrder | None] | None:
    """(price reached, order) of the first trigger the move start -> end fires, the earliest listed on a tie;
    order None = liquidation."""
    best: tuple[Decimal, Decimal, PaperOrder | None] | None = None
    for level, direction, order in triggers:
        reached = touch(start, end, level, direction)
        if reached is not None and (best is None or abs(reached - start) < best[0]):
            best = (abs(reached - start), reached, order)
    return None if best is None else (best[1], best[2])
