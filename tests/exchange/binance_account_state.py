"""Account side of the Binance emulator: balances, orders, fills, futures positions and leverage.

Matching is deliberately simple (market orders fill at the best bid/ask, limit orders fill when marketable,
otherwise rest), but filters, balance checks and error codes follow Binance so ccxt maps them as it would live.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

from tests.exchange.binance_executions import Execution, split_fill
from tests.exchange.binance_executions import fmt as _fmt
from tests.exchange.binance_market_state import SymbolSpec

SPOT_FEE = Decimal("0.001")
FUTURES_FEE = Decimal("0.0004")


class BinanceApiError(Exception):
    """An error the emulator answers with Binance's JSON body {code, msg} and an HTTP status."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class EmulatedOrder:
    api: str  # "spot" or "futures"
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    orig_qty: Decimal
    price: Decimal
    stop_price: Decimal
    time: int
    reduce_only: bool = False
    status: str = "NEW"
    executed_qty: Decimal = Decimal(0)
    cum_quote: Decimal = Decimal(0)
    fills: list[Execution] = field(default_factory=list)
    update_time: int = 0

    def spot_json(self) -> dict:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": _fmt(self.price),
            "origQty": _fmt(self.orig_qty),
            "executedQty": _fmt(self.executed_qty),
            "cummulativeQuoteQty": _fmt(self.cum_quote),
            "status": self.status,
            "timeInForce": "GTC",
            "type": self.type,
            "side": self.side,
            "stopPrice": _fmt(self.stop_price),
            "icebergQty": "0",
            "time": self.time,
            "updateTime": self.update_time or self.time,
            "isWorking": True,
            "workingTime": self.time,
            "origQuoteOrderQty": "0",
            "selfTradePreventionMode": "NONE",
        }

    def algo_json(self) -> dict:
        return {
            "algoId": self.order_id,
            "clientAlgoId": self.client_order_id,
            "algoType": "CONDITIONAL",
            "orderType": self.type,
            "symbol": self.symbol,
            "side": self.side,
            "positionSide": "BOTH",
            "timeInForce": "GTC",
            "quantity": _fmt(self.orig_qty),
            "algoStatus": self.status,
            "triggerPrice": _fmt(self.stop_price),
            "price": _fmt(self.price),
            "icebergQuantity": None,
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": "CONTRACT_PRICE",
            "priceMatch": "NONE",
            "closePosition": False,
            "priceProtect": False,
            "reduceOnly": self.reduce_only,
            "createTime": self.time,
            "updateTime": self.update_time or self.time,
            "triggerTime": 0,
            "goodTillDate": 0,
        }

    def futures_json(self) -> dict:
        average = self.cum_quote / self.executed_qty if self.executed_qty else Decimal(0)
        return {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": self.status,
            "clientOrderId": self.client_order_id,
            "price": _fmt(self.price),
            "avgPrice": _fmt(average),
            "origQty": _fmt(self.orig_qty),
            "executedQty": _fmt(self.executed_qty),
            "cumQty": _fmt(self.executed_qty),
            "cumQuote": _fmt(self.cum_quote),
            "timeInForce": "GTC",
            "type": self.type,
            "origType": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": False,
            "side": self.side,
            "positionSide": "BOTH",
            "stopPrice": _fmt(self.stop_price),
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "NONE",
            "goodTillDate": 0,
            "time": self.time,
            "updateTime": self.update_time or self.time,
        }


@dataclass
class FuturesPosition:
    amount: Decimal = Decimal(0)  # signed: > 0 long, < 0 short
    entry_price: Decimal = Decimal(0)


@dataclass
class AccountState:
    spot_balances: dict[str, list[Decimal]] = field(
        default_factory=lambda: {"USDT": [Decimal(10000), Decimal(0)], "BTC": [Decimal("0.5"), Decimal(0)]}
    )
    futures_wallet: Decimal = Decimal(10000)
    positions: dict[str, FuturesPosition] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    orders: list[EmulatedOrder] = field(default_factory=list)
    reject_duplicate_client_ids: bool = True
    lists_show_client_ids: bool = True  # False: order lists leave clientOrderId out, as some exchanges' do
    executions_per_fill: int = 1  # > 1: a marketable order fills in that many trades, one tick apart
    _next_id: int = 1000
    _next_trade_id: int = 5000

    # --- lookups ---
    def find(self, api: str, symbol: str, order_id: str | None, client_id: str | None) -> EmulatedOrder:
        for order in self.orders:
            if order.api != api or order.symbol != symbol:
                continue
            if order_id is not None and str(order.order_id) == str(order_id):
                return order
            if order_id is None and client_id is not None and order.client_order_id == client_id:
                return order
        raise BinanceApiError(400, -2013, "Order does not exist.")

    def open_orders(self, api: str, symbol: str | None) -> list[EmulatedOrder]:
        return [
            o
            for o in self.orders
            if o.api == api and o.status in {"NEW", "PARTIALLY_FILLED"} and (symbol is None or o.symbol == symbol)
        ]

    # --- shared validation ---
    def _check_filters(self, spec: SymbolSpec, qty: Decimal, price: Decimal, api: str) -> None:
        if qty < spec.min_qty or qty % spec.step_size != 0:
            raise BinanceApiError(400, -1013, "Filter failure: LOT_SIZE")
        if price and price % spec.tick_size != 0:
            raise BinanceApiError(400, -1013, "Filter failure: PRICE_FILTER")
        if qty * price < spec.min_notional:
            if api == "spot":
                raise BinanceApiError(400, -1013, "Filter failure: NOTIONAL")
            raise BinanceApiError(
                400,
                -4164,
                f"Order's notional must be no smaller than {spec.min_notional} (unless you choose reduce only).",
            )

    def _check_duplicate(self, api: str, client_id: str) -> None:
        if not self.reject_duplicate_client_ids:
            return
        if any(o.api == api and o.client_order_id == client_id for o in self.orders):
            if api == "spot":
                raise BinanceApiError(400, -2010, "Duplicate order sent.")
            raise BinanceApiError(400, -4116, "ClientOrderId is duplicated.")

    def _new_order(self, api: str, params: dict, spec: SymbolSpec) -> EmulatedOrder:
        self._next_id += 1
        return EmulatedOrder(
            api=api,
            symbol=spec.symbol,
            order_id=self._next_id,
            client_order_id=params.get("newClientOrderId") or params.get("clientAlgoId") or f"emu{self._next_id}",
            side=params["side"],
            type=params["type"],
            orig_qty=Decimal(params["quantity"]),
            price=Decimal(params.get("price") or 0),
            stop_price=Decimal(params.get("stopPrice") or params.get("triggerPrice") or 0),
            time=now_ms(),
            reduce_only=str(params.get("reduceOnly", "false")).lower() == "true",
        )

    # --- spot ---
    def _spot_balance(self, asset: str) -> list[Decimal]:
        return self.spot_balances.setdefault(asset, [Decimal(0), Decimal(0)])

    def place_spot(self, params: dict, spec: SymbolSpec, bid: Decimal, ask: Decimal) -> EmulatedOrder:
        order = self._new_order("spot", params, spec)
        if order.type not in {"MARKET", "LIMIT", "STOP_LOSS", "TAKE_PROFIT"}:
            raise BinanceApiError(400, -1116, "Invalid orderType.")
        reference = order.price or order.stop_price or (ask if order.side == "BUY" else bid)
        self._check_filters(spec, order.orig_qty, reference, "spot")
        self._check_duplicate("spot", order.client_order_id)
        quote, base = self._spot_balance(spec.quote), self._spot_balance(spec.base)
        if order.side == "BUY":
            needed = order.orig_qty * reference * (1 + SPOT_FEE)
            if quote[0] < needed:
                raise BinanceApiError(400, -2010, "Account has insufficient balance for requested action.")
        elif base[0] < order.orig_qty:
            raise BinanceApiError(400, -2010, "Account has insufficient balance for requested action.")
        marketable = order.type == "MARKET" or (
            order.type == "LIMIT" and (order.price >= ask if order.side == "BUY" else order.price <= bid)
        )
        if marketable:
            self._fill_spot(order, spec, ask if order.side == "BUY" else bid)
        elif order.side == "BUY":
            locked = order.orig_qty * reference
            quote[0] -= locked
            quote[1] += locked
        else:
            base[0] -= order.orig_qty
            base[1] += order.orig_qty
        self.orders.append(order)
        return order

    def _executions(self, order: EmulatedOrder, spec: SymbolSpec, price: Decimal) -> list[tuple[Decimal, Decimal]]:
        return split_fill(order.orig_qty, price, order.side, spec, self.executions_per_fill)

    def _record(self, order: EmulatedOrder, price: Decimal, qty: Decimal, fee: Decimal, asset: str) -> Execution:
        self._next_trade_id += 1
        # A marketable order executes at its transact time, which is also the time the response's fills carry.
        execution = Execution(
            self._next_trade_id, order.order_id, order.symbol, order.side, price, qty, fee, asset, order.time
        )
        order.fills.append(execution)
        return execution

    def _fill_spot(self, order: EmulatedOrder, spec: SymbolSpec, price: Decimal) -> None:
        quote, base = self._spot_balance(spec.quote), self._spot_balance(spec.base)
        for part_price, qty in self._executions(order, spec, price):
            cost = qty * part_price
            if order.side == "BUY":
                fee = self._record(order, part_price, qty, qty * SPOT_FEE, spec.base).commission
                quote[0] -= cost
                base[0] += qty - fee
            else:
                fee = self._record(order, part_price, qty, cost * SPOT_FEE, spec.quote).commission
                base[0] -= qty
                quote[0] += cost - fee
            order.cum_quote += cost
        order.status = "FILLED"
        order.executed_qty = order.orig_qty

    def cancel_spot(self, order: EmulatedOrder, spec: SymbolSpec) -> None:
        if order.status not in {"NEW", "PARTIALLY_FILLED"}:
            raise BinanceApiError(400, -2011, "Unknown order sent.")
        if order.side == "BUY":
            locked = order.orig_qty * (order.price or order.stop_price)
            quote = self._spot_balance(spec.quote)
            quote[0] += locked
            quote[1] -= locked
        else:
            base = self._spot_balance(spec.base)
            base[0] += order.orig_qty
            base[1] -= order.orig_qty
        order.status = "CANCELED"
        order.update_time = now_ms()

    # --- futures ---
    def _used_margin(self, specs: dict[str, SymbolSpec]) -> Decimal:
        used = Decimal(0)
        for symbol, position in self.positions.items():
            used += abs(position.amount) * specs[symbol].price / self.leverage.get(symbol, 20)
        for order in self.open_orders("futures", None):
            used += order.orig_qty * (order.price or specs[order.symbol].price) / self.leverage.get(order.symbol, 20)
        return used

    def available_futures(self, specs: dict[str, SymbolSpec]) -> Decimal:
        return self.futures_wallet + self.unrealized(specs) - self._used_margin(specs)

    def unrealized(self, specs: dict[str, SymbolSpec]) -> Decimal:
        return sum(
            ((specs[s].price - p.entry_price) * p.amount for s, p in self.positions.items() if p.amount),
            Decimal(0),
        )

    def place_futures(
        self, params: dict, spec: SymbolSpec, specs: dict[str, SymbolSpec], bid: Decimal, ask: Decimal
    ) -> EmulatedOrder:
        order = self._new_order("futures", params, spec)
        if order.type not in {"MARKET", "LIMIT"}:
            raise BinanceApiError(
                400,
                -4120,
                "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
            )
        reference = order.price or (ask if order.side == "BUY" else bid)
        position = self.positions.setdefault(spec.symbol, FuturesPosition())
        signed = order.orig_qty if order.side == "BUY" else -order.orig_qty
        reduces = position.amount and (position.amount > 0) != (signed > 0) and abs(signed) <= abs(position.amount)
        if order.reduce_only and not reduces:
            raise BinanceApiError(400, -2022, "ReduceOnly Order is rejected.")
        if not order.reduce_only:
            self._check_filters(spec, order.orig_qty, reference, "futures")
        self._check_duplicate("futures", order.client_order_id)
        leverage = self.leverage.get(spec.symbol, 20)
        if not reduces and order.orig_qty * reference / leverage > self.available_futures(specs):
            raise BinanceApiError(400, -2019, "Margin is insufficient.")
        marketable = order.type == "MARKET" or (order.price >= ask if order.side == "BUY" else order.price <= bid)
        if marketable:
            self._fill_futures(order, position, spec, ask if order.side == "BUY" else bid)
        self.orders.append(order)
        return order

    def _fill_futures(self, order: EmulatedOrder, position: FuturesPosition, spec: SymbolSpec, price: Decimal) -> None:
        for part_price, qty in self._executions(order, spec, price):
            signed = qty if order.side == "BUY" else -qty
            fee = qty * part_price * FUTURES_FEE
            self.futures_wallet -= fee
            pnl = Decimal(0)
            if position.amount == 0 or (position.amount > 0) == (signed > 0):
                total = abs(position.amount) + qty
                position.entry_price = (abs(position.amount) * position.entry_price + qty * part_price) / total
                position.amount += signed
            else:
                closed = min(abs(signed), abs(position.amount))
                direction = 1 if position.amount > 0 else -1
                pnl = (part_price - position.entry_price) * closed * direction
                self.futures_wallet += pnl
                position.amount += signed
                if position.amount == 0:
                    position.entry_price = Decimal(0)
            self._record(order, part_price, qty, fee, "USDT").realized_pnl = pnl
            order.cum_quote += qty * part_price
        order.status = "FILLED"
        order.executed_qty = order.orig_qty
        order.update_time = now_ms()

    def place_futures_algo(self, params: dict, spec: SymbolSpec) -> EmulatedOrder:
        """A conditional (stop / take profit) order: Binance now keeps these in its separate algo service."""
        order = self._new_order("futures_algo", params, spec)
        if params.get("algoType") != "CONDITIONAL" or order.type not in {"STOP_MARKET", "TAKE_PROFIT_MARKET"}:
            raise BinanceApiError(400, -1116, "Invalid orderType.")
        if order.stop_price <= 0:
            raise BinanceApiError(
                400, -1102, "Mandatory parameter 'triggerPrice' was not sent, was empty/null, or malformed."
            )
        if order.orig_qty < spec.min_qty or order.orig_qty % spec.step_size != 0:
            raise BinanceApiError(400, -1013, "Filter failure: LOT_SIZE")
        self._check_duplicate("futures_algo", order.client_order_id)
        self.orders.append(order)
        return order

    def cancel_futures(self, order: EmulatedOrder) -> None:
        if order.status not in {"NEW", "PARTIALLY_FILLED"}:
            raise BinanceApiError(400, -2011, "Unknown order sent.")
        order.status = "CANCELED"
        order.update_time = now_ms()
