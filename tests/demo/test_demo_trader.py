"""The demo's order handling on the real paper exchange: a position is never left without its stop loss."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from adapters.exchange.candle_file import shipped_candle_file
from adapters.exchange.paper import PaperConfig, PaperExchange
from adapters.exchange.replay import ReplayFeed
from db.database import Database
from db.migrate import upgrade
from db.models import OrderRow, PositionRow, TradeRow
from db.repositories import DbPaperStateStore
from domain.decision import Action
from domain.market import MarketType
from domain.money import datetime_to_ms
from domain.trading import OrderSide
from quorum.demo_books import DemoBooks
from quorum.demo_trader import PaperTrader, ProtectionFailed
from risk import Approved

NOW = datetime_to_ms(datetime(2018, 2, 4, 16, tzinfo=UTC))


@dataclass
class Desk:
    database: Database
    paper: PaperExchange
    trader: PaperTrader
    now: int
    price: Decimal


@pytest.fixture(scope="module")
def feed() -> ReplayFeed:
    """The shipped candles at 4 Feb 2018 16:00 (every test here trades at that moment)."""
    feed = ReplayFeed.from_file(shipped_candle_file(), symbol="BTC/USDT", market_type=MarketType.PERPETUAL)
    feed.clock.advance_to(NOW)
    return feed


@pytest.fixture
async def desk(tmp_path: Path, feed: ReplayFeed) -> AsyncIterator[Desk]:
    """A demo user's books, a new BTC/USDT perpetual paper account, and the trader on top."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'trader.db'}")
    await upgrade(database.engine)
    books = DemoBooks(database)
    await books.setup("BTC/USDT", Decimal(10000), Decimal(2000), 3, "replay")
    paper = await PaperExchange.open(
        feed,
        DbPaperStateStore(database, books.user_id, books.account_id),
        starting_balances={"USDT": Decimal(10000)},
        clock=feed.clock.now_ms,
        config=PaperConfig(candle_timeframe="1h", taker_fee=Decimal("0.001"), maker_fee=Decimal("0.001")),
    )
    price = (await paper.fetch_ticker("BTC/USDT")).last
    yield Desk(database, paper, PaperTrader(paper, books, await paper.market("BTC/USDT")), NOW, price)
    await database.dispose()


def _buy(price: Decimal, stop_loss: Decimal, take_profit: Decimal) -> Approved:
    return Approved(
        action=Action.BUY,
        side=OrderSide.BUY,
        amount=Decimal("0.1"),
        price=price,
        notional=price / 10,
        leverage=3,
        is_exit=False,
        reduce_only=False,
        message="",
        stop_loss=stop_loss,
        take_profit=take_profit,
    )


async def _rows(database: Database, model: type) -> list:
    async with database.transaction() as session:
        return list(await session.scalars(select(model)))


async def test_trader_when_it_enters_then_the_position_is_protected_and_booked_until_the_exit(desk: Desk) -> None:
    stop, target = desk.price * Decimal("0.97"), desk.price * Decimal("1.05")
    opened = await desk.trader.enter(_buy(desk.price, stop, target), "c1", desk.now)

    (position,) = await _rows(desk.database, PositionRow)
    assert (position.side, position.amount, position.leverage) == ("long", Decimal("0.1"), 3)
    assert position.margin > 0 and position.liquidation_price is not None
    open_orders = await desk.paper.fetch_open_orders("BTC/USDT")
    assert sorted((order.type.value, order.reduce_only, order.amount) for order in open_orders) == [
        ("stop_market", True, opened.amount),
        ("take_profit_market", True, opened.amount),
    ]

    closed = await desk.trader.exit("c2", desk.now, "signal")

    assert await _rows(desk.database, PositionRow) == []
    assert await desk.paper.fetch_open_orders("BTC/USDT") == []
    assert closed.pnl == await desk.trader.cash() - Decimal(10000)
    statuses = {row.purpose: row.status for row in await _rows(desk.database, OrderRow)}
    assert statuses == {"entry": "filled", "stop_loss": "canceled", "take_profit": "canceled", "exit": "filled"}


async def test_trader_when_the_stop_loss_is_refused_then_the_new_position_is_closed_at_once(desk: Desk) -> None:
    above = desk.price * Decimal("1.01")  # a long's stop above the price would fire at once: the exchange refuses it

    with pytest.raises(ProtectionFailed, match="stop loss was refused") as raised:
        await desk.trader.enter(_buy(desk.price, above, desk.price * Decimal("1.05")), "c1", desk.now)

    closed = raised.value.closed
    assert closed.reason == "unprotected" and desk.trader.open is None
    assert await desk.trader.position() is None
    assert closed.pnl == await desk.trader.cash() - Decimal(10000) < 0  # the fees and the spread, nothing more
    orders = {row.purpose: row for row in await _rows(desk.database, OrderRow)}
    assert {purpose: row.status for purpose, row in orders.items()} == {
        "entry": "filled",
        "stop_loss": "rejected",
        "exit": "filled",
    }
    assert "would trigger immediately" in (orders["stop_loss"].error or "")
    (trade,) = await _rows(desk.database, TradeRow)
    assert (trade.status, trade.close_reason, trade.realized_pnl) == ("closed", "unprotected", closed.pnl)
    assert await _rows(desk.database, PositionRow) == []
