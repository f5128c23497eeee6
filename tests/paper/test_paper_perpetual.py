"""USDT perpetuals on paper: leverage, margin, PnL, liquidation and funding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchange.errors import InsufficientFunds, InvalidOrder
from adapters.exchange.paper import PaperConfig, PaperExchange
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType, PositionSide

from .scripted_feed import HOUR, ScriptedFeed, ladder, perp_market, spot_market

D = Decimal
PERP = "BTC/USDT:USDT"
ZERO_FEES = PaperConfig(taker_fee=D(0), maker_fee=D(0))


async def open_paper(feed: ScriptedFeed, usdt: str = "1000", config: PaperConfig = ZERO_FEES) -> PaperExchange:
    return await PaperExchange.open(feed, starting_balances={"USDT": D(usdt)}, config=config, clock=feed.clock)


def market(side: OrderSide, amount: str, cid: str, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(PERP, side, OrderType.MARKET, D(amount), cid, reduce_only=reduce_only)


async def long_at_100(leverage: int = 10, amount: str = "5", usdt: str = "1000", config=ZERO_FEES):
    feed = ScriptedFeed(perp_market())
    paper = await open_paper(feed, usdt, config)
    await paper.set_leverage(PERP, leverage)
    feed.set_price(PERP, D(100), book_at(100))
    await paper.create_order(market(OrderSide.BUY, amount, "open"))
    return feed, paper


def book_at(price: int) -> object:
    """A book with no spread, so PnL arithmetic in these tests stays exact."""
    return ladder(D(price), levels=3, gap=D(0), amount=D(1000))


async def test_open_long_when_leverage_ten_then_margin_is_notional_over_ten():
    _feed, paper = await long_at_100()

    balance = await paper.fetch_balance()
    [position] = await paper.fetch_positions()

    assert position.side is PositionSide.LONG and position.amount == D(5) and position.entry_price == D(100)
    assert position.leverage == 10 and position.margin == D(50)
    assert balance.currencies["USDT"].used == D(50) and balance.free("USDT") == D(950)


async def test_open_long_when_margin_exceeds_free_then_insufficient_funds():
    feed = ScriptedFeed(perp_market())
    paper = await open_paper(feed, usdt="40")
    await paper.set_leverage(PERP, 10)

    with pytest.raises(
        InsufficientFunds, match="Not enough USDT: this buy of 5 BTC needs 50 USDT but only 40 USDT is free."
    ):
        await paper.create_order(market(OrderSide.BUY, "5", "big"))


async def test_long_when_mark_rises_then_unrealized_then_realized_pnl():
    feed, paper = await long_at_100()

    feed.set_price(PERP, D(110), book_at(110))
    [position] = await paper.fetch_positions()
    assert position.unrealized_pnl == D(50) and position.mark_price == D(110)

    await paper.create_order(market(OrderSide.SELL, "5", "close", reduce_only=True))
    balance = await paper.fetch_balance()

    assert await paper.fetch_positions() == []
    assert balance.total("USDT") == D(1050) and balance.currencies["USDT"].used == 0


async def test_short_when_price_rises_then_loses_and_taker_fees_are_charged():
    feed = ScriptedFeed(perp_market())
    paper = await open_paper(feed, config=PaperConfig())
    await paper.set_leverage(PERP, 5)
    feed.set_price(PERP, D(100), book_at(100))
    opened = await paper.create_order(market(OrderSide.SELL, "2", "short"))
    [position] = await paper.fetch_positions()
    assert position.side is PositionSide.SHORT and position.margin == D(40)
    assert opened.fee == D("0.1") and opened.fee_currency == "USDT"  # 0.05% of 200

    feed.set_price(PERP, D(104), book_at(104))
    closed = await paper.create_order(market(OrderSide.BUY, "2", "cover", reduce_only=True))
    balance = await paper.fetch_balance()

    assert closed.fee == D("0.104")
    assert balance.total("USDT") == D(1000) - D(8) - D("0.1") - D("0.104")


async def test_liquidation_price_when_isolated_long_then_matches_maintenance_margin_formula():
    _feed, paper = await long_at_100(leverage=10)

    [position] = await paper.fetch_positions()

    # (entry*amount - margin) / (amount * (1 - 0.005)) = (500 - 50) / (5 * 0.995) = 90.452..., down to the 0.01 step
    assert position.liquidation_price == D("90.45")


async def test_long_when_mark_crosses_liquidation_price_then_liquidated_and_margin_lost():
    feed, paper = await long_at_100(leverage=10)
    stop = await paper.create_order(
        OrderRequest(PERP, OrderSide.SELL, OrderType.STOP_MARKET, D(5), "sl", stop_price=D(80), reduce_only=True)
    )

    feed.set_price(PERP, D(95), book_at(95))
    assert await paper.process() == []
    feed.set_price(PERP, D(85), book_at(85))
    changed = await paper.process()

    liquidation = next(order for order in changed if order.client_order_id.startswith("paper-liquidation"))
    assert liquidation.status is OrderStatus.FILLED and liquidation.fills[0].price == D("90.45")
    assert next(order for order in changed if order.id == stop.id).status is OrderStatus.CANCELED
    assert await paper.fetch_positions() == []
    balance = await paper.fetch_balance()
    assert balance.total("USDT") == D(950) and balance.currencies["USDT"].used == 0


async def test_stop_loss_when_above_liquidation_then_stop_fires_first_and_loss_is_small():
    feed, paper = await long_at_100(leverage=10)
    await paper.create_order(
        OrderRequest(PERP, OrderSide.SELL, OrderType.STOP_MARKET, D(5), "sl", stop_price=D(95), reduce_only=True)
    )

    feed.set_price(PERP, D(80), book_at(80))
    [stop] = await paper.process()

    assert stop.status is OrderStatus.FILLED and stop.average == D(95)
    assert (await paper.fetch_balance()).total("USDT") == D(975)


async def test_funding_when_funding_time_passes_then_long_pays_and_short_receives():
    feed, long_paper = await long_at_100(leverage=10)
    feed.funding_rate = D("0.001")

    feed.now += 8 * HOUR
    await long_paper.process()
    [position] = await long_paper.fetch_positions()

    assert position.margin == D(50) - D("0.5")  # 0.1% of 500 notional, out of the isolated margin
    assert (await long_paper.fetch_balance()).total("USDT") == D("999.5")

    short_feed = ScriptedFeed(perp_market())
    short_feed.funding_rate = D("0.001")
    short_paper = await open_paper(short_feed)
    short_feed.set_price(PERP, D(100), book_at(100))
    await short_paper.create_order(market(OrderSide.SELL, "5", "short"))
    short_feed.now += 16 * HOUR
    await short_paper.process()

    assert (await short_paper.fetch_balance()).total("USDT") == D(1001)
    assert [event.amount for event in short_paper.account.funding] == [D("-0.5"), D("-0.5")]


async def test_funding_when_no_funding_time_passed_then_nothing_paid():
    feed, paper = await long_at_100()
    feed.funding_rate = D("0.01")

    feed.now += HOUR
    await paper.process()

    assert (await paper.fetch_balance()).total("USDT") == D(1000)


async def test_set_leverage_when_above_market_maximum_then_invalid_order():
    paper = await open_paper(ScriptedFeed(perp_market(max_leverage=20)))

    with pytest.raises(InvalidOrder, match="between 1 and 20x"):
        await paper.set_leverage(PERP, 21)


async def test_set_leverage_when_position_open_then_refused_but_same_value_is_fine():
    _feed, paper = await long_at_100(leverage=10)

    await paper.set_leverage(PERP, 10)
    with pytest.raises(InvalidOrder, match="before changing leverage"):
        await paper.set_leverage(PERP, 20)


async def test_set_leverage_when_spot_market_then_invalid_order():
    paper = await open_paper(ScriptedFeed(spot_market()))

    with pytest.raises(InvalidOrder, match="spot market"):
        await paper.set_leverage("BTC/USDT", 3)


async def test_sell_when_larger_than_long_then_position_flips_to_short():
    _feed, paper = await long_at_100(leverage=10)

    await paper.create_order(market(OrderSide.SELL, "8", "flip"))
    [position] = await paper.fetch_positions()

    assert position.side is PositionSide.SHORT and position.amount == D(3) and position.margin == D(30)


async def test_reduce_only_when_no_position_then_invalid_order():
    paper = await open_paper(ScriptedFeed(perp_market()))

    with pytest.raises(InvalidOrder, match="nothing to reduce"):
        await paper.create_order(market(OrderSide.SELL, "1", "ro", reduce_only=True))


async def test_position_when_stop_and_take_profit_rest_then_position_shows_them():
    _feed, paper = await long_at_100()
    for kind, level in ((OrderType.STOP_MARKET, "90"), (OrderType.TAKE_PROFIT_MARKET, "120")):
        await paper.create_order(
            OrderRequest(PERP, OrderSide.SELL, kind, D(5), kind.value, stop_price=D(level), reduce_only=True)
        )

    [position] = await paper.fetch_positions()

    assert position.stop_loss == D(90) and position.take_profit == D(120)
