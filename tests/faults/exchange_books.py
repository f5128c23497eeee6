"""The exchange's books against Quorum's: what the emulators hold (orders, executions, positions) compared with the
database (orders, fills, trades), user by user. Every difference is listed with the order it concerns."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from db.database import Database
from db.models import FillRow, OrderRow, TradeRow
from tests.exchange.binance_emulator import BinanceEmulator

# The emulator's order status -> the status the books must end with.
_STATUS = {"FILLED": "filled", "CANCELED": "canceled", "NEW": "open", "PARTIALLY_FILLED": "partially_filled"}
_NEVER_PLACED = {"rejected", "expired"}


@dataclass
class Audit:
    orders: int = 0  # on the exchanges
    fills: int = 0  # executions on the exchanges
    intents: Counter[str] = field(default_factory=Counter)  # orders on the exchanges by intent (en, sl, tp, ex ...)
    duplicates: list[str] = field(default_factory=list)  # a client order id placed more than once
    unbooked: list[str] = field(default_factory=list)  # an order on the exchange the books do not know
    phantoms: list[str] = field(default_factory=list)  # booked as placed, absent from the exchange
    unresolved: list[str] = field(default_factory=list)  # still pending or unknown in the books
    mismatched: list[str] = field(default_factory=list)  # status, filled amount or exchange id differ
    lost_fills: list[str] = field(default_factory=list)  # an execution missing from the books or booked wrong
    extra_fills: list[str] = field(default_factory=list)  # a booked fill the exchange never made
    positions: list[str] = field(default_factory=list)  # exchange position differs from the open trades
    trades: list[str] = field(default_factory=list)  # a round trip not closed on its exit's fills
    closed_trades: int = 0

    def problems(self) -> dict[str, list[str]]:
        names = ("duplicates", "unbooked", "phantoms", "unresolved", "mismatched", "lost_fills", "extra_fills")
        found = {name: getattr(self, name) for name in (*names, "positions", "trades")}
        return {name: items for name, items in found.items() if items}


async def audit(database: Database, emulators: dict[int, BinanceEmulator], symbol: str) -> Audit:
    result = Audit()
    for user_id, emulator in emulators.items():
        async with database.transaction() as session:
            rows = list(await session.scalars(select(OrderRow).where(OrderRow.user_id == user_id)))
            fills = list(await session.scalars(select(FillRow).where(FillRow.user_id == user_id)))
            trades = list(await session.scalars(select(TradeRow).where(TradeRow.user_id == user_id)))
        _orders(result, rows, emulator)
        _fills(result, rows, fills, emulator)
        _position(result, user_id, trades, emulator, symbol)
        _round_trips(result, trades, fills)
    return result


def _orders(result: Audit, rows: list[OrderRow], emulator: BinanceEmulator) -> None:
    placed = emulator.stored_orders()
    result.orders += len(placed)
    counts = Counter(order.client_order_id for order in placed)
    result.duplicates += [f"{cid} x{n}" for cid, n in counts.items() if n > 1]
    books = {row.client_order_id: row for row in rows}
    for order in placed:
        result.intents[order.client_order_id.split("-")[2]] += 1
        row = books.get(order.client_order_id)
        if row is None:
            result.unbooked.append(order.client_order_id)
            continue
        exchange_id = ("algo:" if order.api == "futures_algo" else "") + str(order.order_id)  # ccxt_mapping's form
        expected = (_STATUS[order.status], order.executed_qty, exchange_id)
        actual = (row.status, row.filled, row.exchange_order_id)
        if actual != expected:
            result.mismatched.append(f"{order.client_order_id}: books {actual}, exchange {expected}")
    for row in rows:
        if row.status in ("pending", "unknown"):
            result.unresolved.append(f"{row.client_order_id} {row.status}")
        elif row.client_order_id not in counts and row.status not in _NEVER_PLACED:
            result.phantoms.append(f"{row.client_order_id} {row.status}")


def _fills(result: Audit, rows: list[OrderRow], fills: list[FillRow], emulator: BinanceEmulator) -> None:
    cid_of = {row.id: row.client_order_id for row in rows}
    booked = {(cid_of.get(f.order_id, "?"), f.exchange_trade_id): f for f in fills}
    made = set()
    for order in emulator.stored_orders():
        for execution in order.fills:
            result.fills += 1
            key = (order.client_order_id, str(execution.trade_id))
            made.add(key)
            fill = booked.get(key)
            expected = (execution.price, execution.qty, execution.commission)
            if fill is None:
                result.lost_fills.append(f"{key}: not in the books")
            elif (fill.price, fill.amount, fill.fee) != expected:
                result.lost_fills.append(f"{key}: books {(fill.price, fill.amount, fill.fee)}, exchange {expected}")
    result.extra_fills += [str(key) for key in booked if key not in made]


def _position(result: Audit, user_id: int, trades: list[TradeRow], emulator: BinanceEmulator, symbol: str) -> None:
    position = emulator.account.positions.get(symbol.replace("/", ""))
    held = position.amount if position is not None else Decimal(0)
    booked = sum(
        (t.amount if t.side == "long" else -t.amount for t in trades if t.status == "open" and t.symbol == symbol),
        Decimal(0),
    )
    if held != booked:
        result.positions.append(f"user {user_id}: exchange holds {held}, open trades {booked}")


def _round_trips(result: Audit, trades: list[TradeRow], fills: list[FillRow]) -> None:
    """Each closed round trip: closed by its exit order (the emulator never triggers a stop), its P&L and fees
    those of the entry's and the exit's fills."""
    by_order: dict[int, list[FillRow]] = {}
    for fill in fills:
        by_order.setdefault(fill.order_id, []).append(fill)
    for trade in trades:
        if trade.status != "closed":
            continue
        result.closed_trades += 1
        entry, exit_ = by_order.get(trade.entry_order_id or 0, []), by_order.get(trade.exit_order_id or 0, [])
        if not entry or not exit_:
            result.trades.append(f"trade {trade.id} ({trade.close_reason}): entry or exit order without fills")
            continue
        sign = 1 if trade.side == "long" else -1
        value = sum((f.price * f.amount for f in exit_), Decimal(0)) - sum(
            (f.price * f.amount for f in entry), Decimal(0)
        )
        fees = sum((f.fee for f in (*entry, *exit_)), Decimal(0))
        if (trade.realized_pnl, trade.fees) != (sign * value - fees, fees):
            result.trades.append(
                f"trade {trade.id} ({trade.close_reason}): pnl {trade.realized_pnl} fees {trade.fees}, "
                f"fills {sign * value - fees} {fees}"
            )
