"""Executions (trades) of the Binance emulator: what one fill of an order records, in each of Binance's formats.

An order's executions are kept on the order (EmulatedOrder.fills). The spot order response lists them as `fills`;
the signed trade-history endpoints (GET /api/v3/myTrades, GET /fapi/v1/userTrades) return them as trades.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from tests.exchange.binance_market_state import SymbolSpec


def fmt(value: Decimal) -> str:
    """A Binance decimal string: no exponent, no trailing zeros."""
    return format(value.normalize(), "f") if value else "0"


@dataclass
class Execution:
    trade_id: int
    order_id: int
    symbol: str
    side: str  # "BUY" / "SELL"
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_maker: bool = False
    realized_pnl: Decimal = Decimal(0)  # futures only

    def fill_json(self) -> dict:
        """One entry of the `fills` list of a spot order response (FULL response type)."""
        return {
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "commission": fmt(self.commission),
            "commissionAsset": self.commission_asset,
            "tradeId": self.trade_id,
        }

    def spot_json(self) -> dict:
        """One row of GET /api/v3/myTrades."""
        return {
            "symbol": self.symbol,
            "id": self.trade_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "quoteQty": fmt(self.price * self.qty),
            "commission": fmt(self.commission),
            "commissionAsset": self.commission_asset,
            "time": self.time,
            "isBuyer": self.side == "BUY",
            "isMaker": self.is_maker,
            "isBestMatch": True,
        }

    def futures_json(self) -> dict:
        """One row of GET /fapi/v1/userTrades."""
        return {
            "buyer": self.side == "BUY",
            "commission": fmt(self.commission),
            "commissionAsset": self.commission_asset,
            "id": self.trade_id,
            "maker": self.is_maker,
            "orderId": self.order_id,
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "quoteQty": fmt(self.price * self.qty),
            "realizedPnl": fmt(self.realized_pnl),
            "marginAsset": "USDT",
            "side": self.side,
            "positionSide": "BOTH",
            "symbol": self.symbol,
            "time": self.time,
        }


def split_fill(qty: Decimal, price: Decimal, side: str, spec: SymbolSpec, parts: int) -> list[tuple[Decimal, Decimal]]:
    """(price, qty) of each execution of a marketable order: `parts` slices, each one tick further into the book.

    Slices are whole lot-size steps; the last one takes the remainder. Too small to split: one execution.
    """
    slice_qty = (qty / parts / spec.step_size).to_integral_value(ROUND_DOWN) * spec.step_size if parts > 1 else qty
    if slice_qty <= 0:
        slice_qty, parts = qty, 1
    direction = 1 if side == "BUY" else -1
    prices = [price + direction * spec.tick_size * index for index in range(parts)]
    return [(prices[index], slice_qty) for index in range(parts - 1)] + [(prices[-1], qty - slice_qty * (parts - 1))]
