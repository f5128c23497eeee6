"""Paper mode on live prices: the paper exchange fills against the public market data of the real ccxt client."""

from __future__ import annotations

from decimal import Decimal

from adapters.exchange.paper import PaperConfig, PaperExchange
from domain.market import MarketType
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType
from tests.exchange.binance_emulator import BinanceEmulator
from tests.exchange.conftest import ExchangeFactory

D = Decimal


async def test_paper_market_buy_when_fed_by_public_ccxt_data_then_walks_the_live_book_and_sends_nothing(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator
) -> None:
    live_prices = make_exchange(MarketType.SPOT, credentials=None)
    paper = await PaperExchange.open(
        live_prices, None, starting_balances={"USDT": D(100_000)}, config=PaperConfig(taker_fee=D("0.001"))
    )

    order = await paper.create_order(OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, D("1.5"), "p-1"))

    # The emulator's asks: 0.4 BTC at 30000.01, 1.4 BTC at 30000.02, ...: 1.5 BTC takes the first two levels.
    assert order.status is OrderStatus.FILLED
    assert [(fill.price, fill.amount) for fill in order.fills] == [(D("30000.01"), D("0.4")), (D("30000.02"), D("1.1"))]
    assert order.average == (D("30000.01") * D("0.4") + D("30000.02") * D("1.1")) / D("1.5")
    balance = await paper.fetch_balance()
    assert balance.total("BTC") == D("1.5") - D("1.5") * D("0.001")  # a spot buy pays its fee in the coin bought
    assert emulator.stored_orders() == []  # paper orders never reach the exchange
    assert all("signature" not in request.params for request in emulator.requests)  # public endpoints, no keys
    await paper.close()
