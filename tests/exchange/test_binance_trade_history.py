"""The emulator's signed trade history (GET /api/v3/myTrades, GET /fapi/v1/userTrades), read with ccxt's raw calls."""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest

from adapters.exchange.ccxt_live import CcxtExchange
from domain.credentials import ExchangeCredentials
from domain.market import MarketType
from domain.trading import OrderRequest, OrderSide, OrderType
from tests.exchange.binance_emulator import BinanceEmulator, Fault
from tests.exchange.conftest import TEST_KEY, ExchangeFactory

SPOT_KEYS = {
    "symbol", "id", "orderId", "orderListId", "price", "qty", "quoteQty", "commission", "commissionAsset", "time",
    "isBuyer", "isMaker", "isBestMatch",
}  # fmt: skip
FUTURES_KEYS = {
    "buyer", "commission", "commissionAsset", "id", "maker", "orderId", "price", "qty", "quoteQty", "realizedPnl",
    "marginAsset", "side", "positionSide", "symbol", "time",
}  # fmt: skip


def order(side: OrderSide, amount: str, client_id: str, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest("BTC/USDT", side, OrderType.MARKET, Decimal(amount), client_id, reduce_only=reduce_only)


async def my_trades(exchange: CcxtExchange, **params: object) -> list[dict]:
    client = exchange._client
    request = {"symbol": "BTCUSDT", **params}
    if exchange.market_type is MarketType.SPOT:
        return await client.private_get_mytrades(request)
    return await client.fapiprivate_get_usertrades(request)


async def test_my_trades_when_spot_order_id_given_then_its_executions_in_binance_format(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    emulator.account.executions_per_fill = 2
    await spot.create_order(order(OrderSide.BUY, "0.01", "other"))
    sell = await spot.create_order(order(OrderSide.SELL, "0.01", "sell-1"))

    rows = await my_trades(spot, orderId=sell.id)

    stored = emulator.stored_orders()[1]
    assert [row["id"] for row in rows] == [execution.trade_id for execution in stored.fills]
    assert all(set(row) == SPOT_KEYS for row in rows)
    first = rows[0]
    assert (first["orderId"], first["isBuyer"], first["isMaker"], first["commissionAsset"]) == (
        int(sell.id),
        False,
        False,
        "USDT",
    )
    assert Decimal(first["quoteQty"]) == Decimal(first["price"]) * Decimal(first["qty"])
    assert Decimal(first["commission"]) == Decimal(first["quoteQty"]) * Decimal("0.001")


async def test_user_trades_when_position_partly_closed_then_realized_pnl_on_the_closing_trade(
    perp: CcxtExchange,
) -> None:
    await perp.create_order(order(OrderSide.BUY, "0.01", "open-1"))
    close = await perp.create_order(order(OrderSide.SELL, "0.005", "close-1", reduce_only=True))

    rows = await my_trades(perp)

    assert all(set(row) == FUTURES_KEYS for row in rows)
    opening, closing = rows
    assert (opening["side"], opening["buyer"], opening["realizedPnl"]) == ("BUY", True, "0")
    assert (closing["side"], closing["orderId"], closing["commissionAsset"]) == ("SELL", int(close.id), "USDT")
    assert Decimal(closing["realizedPnl"]) == (Decimal("29999.9") - Decimal("30000.1")) * Decimal("0.005")


@pytest.mark.parametrize("market_type", [MarketType.SPOT, MarketType.PERPETUAL])
async def test_trade_history_when_limit_and_from_id_then_most_recent_or_from_that_id_oldest_first(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator, market_type: MarketType
) -> None:
    exchange = make_exchange(market_type)
    emulator.account.executions_per_fill = 3
    await exchange.create_order(order(OrderSide.BUY, "0.01", "a"))
    await exchange.create_order(order(OrderSide.BUY, "0.01", "b"))
    ids = [e.trade_id for o in emulator.stored_orders() for e in o.fills]

    everything = await my_trades(exchange)
    latest = await my_trades(exchange, limit=2)
    from_second = await my_trades(exchange, fromId=ids[1], limit=2)

    assert [row["id"] for row in everything] == ids == sorted(ids) and len(ids) == 6
    assert [row["id"] for row in latest] == ids[-2:]
    assert [row["id"] for row in from_second] == ids[1:3]


@pytest.mark.parametrize("market_type", [MarketType.SPOT, MarketType.PERPETUAL])
async def test_trade_history_when_order_id_with_start_time_then_binance_rejects_the_combination(
    make_exchange: ExchangeFactory, market_type: MarketType
) -> None:
    exchange = make_exchange(market_type)
    placed = await exchange.create_order(order(OrderSide.BUY, "0.01", "combo-1"))

    with pytest.raises(ccxt.BadRequest, match="-1128"):
        await my_trades(exchange, orderId=placed.id, startTime=placed.ts)
    with pytest.raises(ccxt.BadRequest, match="-1130"):
        await my_trades(exchange, limit=1001)


async def test_trade_history_when_signature_wrong_then_rejected(
    make_exchange: ExchangeFactory, emulator: BinanceEmulator
) -> None:
    forged = make_exchange(MarketType.SPOT, credentials=ExchangeCredentials(TEST_KEY, "not-the-secret"))

    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        await my_trades(forged)
    assert emulator.calls("GET", "/api/v3/myTrades") == 1


async def test_trade_history_when_fault_injected_then_the_next_request_suffers_it_once(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    await perp.create_order(order(OrderSide.BUY, "0.01", "fault-1"))
    emulator.inject("GET", "/fapi/v1/userTrades", Fault("status", status=429, retry_after=3))

    with pytest.raises(ccxt.DDoSProtection, match="429"):
        await my_trades(perp)
    assert perp._client.last_response_headers.get("Retry-After") == "3"
    assert len(await my_trades(perp)) == 1
