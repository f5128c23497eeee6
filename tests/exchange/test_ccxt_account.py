"""Balances, positions and leverage through the real ccxt binance class against the emulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchange.ccxt_live import CcxtExchange
from adapters.exchange.errors import InvalidOrder
from domain.trading import OrderRequest, OrderSide, OrderType, PositionSide
from tests.exchange.binance_emulator import BinanceEmulator


async def test_fetch_balance_when_spot_then_free_and_used_per_currency(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    emulator.account.spot_balances["ETH"] = [Decimal(0), Decimal(0)]

    balance = await spot.fetch_balance()

    assert balance.free("USDT") == Decimal(10000)
    assert balance.total("BTC") == Decimal("0.5")
    assert "ETH" not in balance.currencies
    for entry in balance.currencies.values():
        assert entry.free + entry.used == entry.total


async def test_fetch_balance_when_limit_order_rests_then_funds_move_to_used(
    spot: CcxtExchange,
) -> None:
    await spot.create_order(
        OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.1"), "rest-1", price=Decimal(20000))
    )

    balance = await spot.fetch_balance()

    assert balance.currencies["USDT"].used == Decimal(2000)
    assert balance.currencies["USDT"].free == Decimal(8000)


async def test_fetch_balance_when_perpetual_then_usdt_margin_wallet(perp: CcxtExchange) -> None:
    balance = await perp.fetch_balance()

    assert balance.free("USDT") == Decimal(10000)
    assert set(balance.currencies) == {"USDT"}


async def test_fetch_positions_when_spot_then_empty_without_request(
    spot: CcxtExchange, emulator: BinanceEmulator
) -> None:
    assert await spot.fetch_positions() == []
    assert not [r for r in emulator.requests if "positionRisk" in r.path]


async def test_fetch_positions_when_market_buy_filled_then_long_with_entry_leverage_and_liquidation(
    perp: CcxtExchange,
) -> None:
    await perp.set_leverage("BTC/USDT", 5)
    await perp.create_order(OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.01"), "long-1"))

    positions = await perp.fetch_positions()

    assert len(positions) == 1
    position = positions[0]
    assert position.symbol == "BTC/USDT" and position.side is PositionSide.LONG
    assert position.amount == Decimal("0.01")
    assert position.entry_price == Decimal("30000.1")
    assert position.leverage == 5
    assert position.margin == Decimal(60)
    assert position.liquidation_price is not None and position.liquidation_price < position.entry_price


async def test_fetch_positions_when_market_sell_filled_then_short(perp: CcxtExchange) -> None:
    await perp.create_order(OrderRequest("BTC/USDT", OrderSide.SELL, OrderType.MARKET, Decimal("0.02"), "short-1"))

    [position] = await perp.fetch_positions(["BTC/USDT"])

    assert position.side is PositionSide.SHORT and position.amount == Decimal("0.02")


async def test_set_leverage_when_within_limits_then_exchange_stores_it(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    await perp.set_leverage("ETH/USDT", 7)

    assert emulator.account.leverage["ETHUSDT"] == 7


async def test_set_leverage_when_above_market_maximum_then_invalid_order_without_request(
    perp: CcxtExchange, emulator: BinanceEmulator
) -> None:
    with pytest.raises(InvalidOrder, match="between 1 and 20"):
        await perp.set_leverage("BTC/USDT", 50)
    assert emulator.calls("POST", "/fapi/v1/leverage") == 0


async def test_set_leverage_when_spot_then_invalid_order(spot: CcxtExchange) -> None:
    with pytest.raises(InvalidOrder, match="spot"):
        await spot.set_leverage("BTC/USDT", 2)
