"""Spot paper trading: book walking, fees, resting limits, stops, funds checks and idempotency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchange.errors import InsufficientFunds, InvalidOrder, InvalidSymbol, OrderNotFound
from adapters.exchange.paper import PaperConfig, PaperExchange, SpotFeeCurrency
from domain.market import OrderBook
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType

from .scripted_feed import ScriptedFeed, ladder, spot_market

D = Decimal
BTC = "BTC/USDT"


async def open_paper(feed: ScriptedFeed, usdt: str = "10000", btc: str = "0", **config) -> PaperExchange:
    return await PaperExchange.open(
        feed, starting_balances={"USDT": D(usdt), "BTC": D(btc)}, config=PaperConfig(**config), clock=feed.clock
    )


def market_order(side: OrderSide, amount: str, cid: str = "c1", symbol: str = BTC) -> OrderRequest:
    return OrderRequest(symbol, side, OrderType.MARKET, D(amount), cid)


def limit_order(side: OrderSide, amount: str, price: str, cid: str) -> OrderRequest:
    return OrderRequest(BTC, side, OrderType.LIMIT, D(amount), cid, price=D(price))


def stop_order(kind: OrderType, amount: str, trigger: str, cid: str, side=OrderSide.SELL) -> OrderRequest:
    return OrderRequest(BTC, side, kind, D(amount), cid, stop_price=D(trigger), reduce_only=True)


async def test_market_buy_when_larger_than_best_level_then_walks_three_levels_with_slippage():
    feed = ScriptedFeed(spot_market())
    feed.set_price(BTC, D(100), ladder(D(100), levels=5, gap=D(1), amount=D(1)))
    paper = await open_paper(feed)

    order = await paper.create_order(market_order(OrderSide.BUY, "2.5"))

    assert order.status is OrderStatus.FILLED
    assert [(f.price, f.amount) for f in order.fills] == [
        (D("100.5"), D(1)),
        (D("101.5"), D(1)),
        (D("102.5"), D("0.5")),
    ]
    assert order.average == (D("100.5") + D("101.5") + D("102.5") / 2) / D("2.5")
    assert order.average > D("100.5")  # slippage over the best ask is visible
    assert order.filled == D("2.5")


async def test_market_buy_when_fee_in_received_currency_then_base_pays_taker_fee():
    feed = ScriptedFeed(spot_market())
    feed.set_price(BTC, D(100), ladder(D(100), gap=D(1), amount=D(10)))
    paper = await open_paper(feed)

    order = await paper.create_order(market_order(OrderSide.BUY, "2"))
    balance = await paper.fetch_balance()

    assert order.fee == D("0.002") and order.fee_currency == "BTC"  # 0.1% taker of 2 BTC
    assert balance.total("BTC") == D("1.998")
    assert balance.total("USDT") == D(10000) - D("201")


async def test_market_buy_when_fee_in_quote_mode_then_usdt_pays_taker_fee():
    feed = ScriptedFeed(spot_market())
    feed.set_price(BTC, D(100), ladder(D(100), gap=D(1), amount=D(10)))
    paper = await open_paper(feed, spot_fee_currency=SpotFeeCurrency.QUOTE)

    order = await paper.create_order(market_order(OrderSide.BUY, "2"))
    balance = await paper.fetch_balance()

    assert order.fee == D("0.201") and order.fee_currency == "USDT"
    assert balance.total("BTC") == D(2)
    assert balance.total("USDT") == D(10000) - D("201") - D("0.201")


async def test_market_sell_when_holding_base_then_quote_received_minus_fee():
    feed = ScriptedFeed(spot_market())
    feed.set_price(BTC, D(100), ladder(D(100), gap=D(1), amount=D(10)))
    paper = await open_paper(feed, usdt="0", btc="1")

    order = await paper.create_order(market_order(OrderSide.SELL, "1"))
    balance = await paper.fetch_balance()

    assert order.average == D("99.5") and order.fee == D("0.0995") and order.fee_currency == "USDT"
    assert balance.total("USDT") == D("99.5") - D("0.0995")
    assert balance.total("BTC") == 0


async def test_market_buy_when_quote_short_then_insufficient_funds_sentence_and_nothing_changes():
    feed = ScriptedFeed(spot_market())
    paper = await open_paper(feed, usdt="50")
    state_before = paper.state()

    with pytest.raises(InsufficientFunds) as caught:
        await paper.create_order(market_order(OrderSide.BUY, "1"))

    assert str(caught.value) == "Not enough USDT: this buy of 1 BTC needs 100.01 USDT but only 50 USDT is free."
    assert paper.state()["ledger"] == state_before["ledger"] and paper.state()["orders"] == []
    assert await paper.fetch_order_by_client_id("c1", BTC) is None


async def test_market_sell_when_base_short_then_insufficient_funds():
    paper = await open_paper(ScriptedFeed(spot_market()), btc="0.5")

    with pytest.raises(InsufficientFunds, match="Not enough BTC"):
        await paper.create_order(market_order(OrderSide.SELL, "1"))


async def test_create_order_when_symbol_unknown_then_invalid_symbol():
    paper = await open_paper(ScriptedFeed(spot_market()))

    with pytest.raises(InvalidSymbol):
        await paper.create_order(market_order(OrderSide.BUY, "1", symbol="DOGE/USDT"))


async def test_create_order_when_below_market_minimum_then_invalid_order():
    paper = await open_paper(ScriptedFeed(spot_market(min_amount=D("0.01"))))

    with pytest.raises(InvalidOrder, match="below the BTC/USDT minimum order of 0.01 BTC"):
        await paper.create_order(market_order(OrderSide.BUY, "0.005"))


async def test_create_order_when_below_min_notional_then_invalid_order():
    paper = await open_paper(ScriptedFeed(spot_market(min_notional=D(10))))

    with pytest.raises(InvalidOrder, match="needs at least 10 USDT per order"):
        await paper.create_order(market_order(OrderSide.BUY, "0.05"))


async def test_create_order_when_client_id_reused_then_returns_existing_order_without_second_fill():
    feed = ScriptedFeed(spot_market())
    paper = await open_paper(feed)

    first = await paper.create_order(market_order(OrderSide.BUY, "1", cid="same"))
    again = await paper.create_order(market_order(OrderSide.BUY, "1", cid="same"))
    balance = await paper.fetch_balance()

    assert again == first
    assert balance.total("BTC") == D("0.999")
    assert len(paper.state()["orders"]) == 1
    assert (await paper.fetch_order_by_client_id("same", BTC)).id == first.id


async def test_limit_buy_when_below_market_then_rests_with_quote_reserved():
    feed = ScriptedFeed(spot_market())
    paper = await open_paper(feed)

    order = await paper.create_order(limit_order(OrderSide.BUY, "2", "90", "l1"))
    balance = await paper.fetch_balance()

    assert order.status is OrderStatus.OPEN and order.filled == 0
    assert balance.currencies["USDT"].used == D(180)
    assert balance.free("USDT") == D(10000) - D(180)
    assert [o.id for o in await paper.fetch_open_orders(BTC)] == [order.id]


async def test_limit_buy_when_price_crosses_then_fills_at_limit_with_maker_fee():
    feed = ScriptedFeed(spot_market())
    paper = await open_paper(feed)
    order = await paper.create_order(limit_order(OrderSide.BUY, "2", "90", "l1"))

    feed.set_price(BTC, D("95"))
    assert (await paper.fetch_order(order.id, BTC)).status is OrderStatus.OPEN
    feed.set_price(BTC, D("89.5"))
    filled = await paper.fetch_order(order.id, BTC)
    balance = await paper.fetch_balance()

    assert filled.status is OrderStatus.FILLED and filled.average == D(90)
    assert filled.fee == D("0.001")  # maker 0.05% of 2 BTC, paid in BTC
    assert balance.currencies["USDT"].used == 0 and balance.total("USDT") == D(10000) - D(180)
    assert balance.total("BTC") == D("1.999")


async def test_limit_sell_when_marketable_then_taker_fills_to_limit_and_rest_fills_as_maker_next():
    feed = ScriptedFeed(spot_market())
    feed.set_price(BTC, D(100), ladder(D(100), levels=5, gap=D(1), amount=D(1)))
    paper = await open_paper(feed, btc="5")

    order = await paper.create_order(limit_order(OrderSide.SELL, "3", "98.5", "l2"))

    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert [(f.price, f.amount) for f in order.fills] == [(D("99.5"), D(1)), (D("98.5"), D(1))]
    assert all(fill.fee == fill.price * fill.amount * D("0.001") for fill in order.fills)
    assert paper.account.ledger.used("BTC") == D(1)  # the unfilled 1 BTC rests, reserved

    rest = await paper.fetch_order(order.id, BTC)  # the last price (100) is above 98.5: the rest fills as maker
    assert rest.status is OrderStatus.FILLED and rest.fills[-1].price == D("98.5")
    assert rest.fills[-1].fee == D("98.5") * D("0.0005")
    assert paper.account.ledger.used("BTC") == 0


async def test_cancel_order_when_open_then_reservation_released_and_repeat_cancel_is_harmless():
    paper = await open_paper(ScriptedFeed(spot_market()))
    order = await paper.create_order(limit_order(OrderSide.BUY, "1", "90", "l1"))

    canceled = await paper.cancel_order(order.id, BTC)
    again = await paper.cancel_order(order.id, BTC)

    assert canceled.status is OrderStatus.CANCELED and again.status is OrderStatus.CANCELED
    assert (await paper.fetch_balance()).currencies["USDT"].used == 0


async def test_fetch_order_when_id_unknown_then_order_not_found():
    paper = await open_paper(ScriptedFeed(spot_market()))

    with pytest.raises(OrderNotFound):
        await paper.fetch_order("paper-999", BTC)


async def test_stop_loss_when_price_falls_through_then_sells_at_trigger_price_with_taker_fee():
    feed = ScriptedFeed(spot_market())
    paper = await open_paper(feed, btc="1")
    stop = await paper.create_order(stop_order(OrderType.STOP_MARKET, "1", "95", "sl"))

    feed.set_price(BTC, D("96"))
    assert await paper.process() == []
    feed.set_price(BTC, D("94"))
    changed = await paper.process()

    assert [o.id for o in changed] == [stop.id]
    filled = changed[0]
    assert filled.status is OrderStatus.FILLED
    assert filled.average == D("94.99")  # the trigger price minus half the book's 0.02 spread
    assert filled.fee == D("94.99") * D("0.001")


async def test_take_profit_when_price_rises_to_it_then_fills_and_stop_loss_is_canceled():
    feed = ScriptedFeed(spot_market())
    paper = await open_paper(feed, btc="1")
    stop = await paper.create_order(stop_order(OrderType.STOP_MARKET, "1", "90", "sl"))
    take = await paper.create_order(stop_order(OrderType.TAKE_PROFIT_MARKET, "1", "110", "tp"))

    feed.set_price(BTC, D("111"))
    changed = {o.id: o for o in await paper.process()}

    assert changed[take.id].status is OrderStatus.FILLED and changed[take.id].average == D("109.99")
    assert changed[stop.id].status is OrderStatus.CANCELED
    assert await paper.fetch_open_orders() == []


async def test_stop_when_it_would_trigger_immediately_then_invalid_order():
    paper = await open_paper(ScriptedFeed(spot_market()), btc="1")

    with pytest.raises(InvalidOrder, match="would trigger immediately"):
        await paper.create_order(stop_order(OrderType.STOP_MARKET, "1", "101", "sl"))


async def test_reduce_only_stop_when_nothing_held_then_invalid_order():
    paper = await open_paper(ScriptedFeed(spot_market()))

    with pytest.raises(InvalidOrder, match="nothing to reduce"):
        await paper.create_order(stop_order(OrderType.STOP_MARKET, "1", "90", "sl"))


async def test_stop_when_holding_sold_meanwhile_then_triggered_amount_capped_to_holding():
    feed = ScriptedFeed(spot_market())
    paper = await open_paper(feed, btc="1")
    await paper.create_order(stop_order(OrderType.STOP_MARKET, "1", "90", "sl"))
    await paper.create_order(market_order(OrderSide.SELL, "0.6", cid="partial"))

    feed.set_price(BTC, D("89"))
    [stop] = await paper.process()

    assert stop.status is OrderStatus.FILLED and stop.filled == D("0.4") and stop.amount == D(1)
    assert (await paper.fetch_balance()).total("BTC") == 0


async def test_market_order_when_book_side_empty_then_invalid_order_and_no_order_recorded():
    feed = ScriptedFeed(spot_market())
    feed.set_price(BTC, D(100), OrderBook(BTC, 0, bids=ladder(D(100)).bids, asks=()))
    paper = await open_paper(feed)

    with pytest.raises(InvalidOrder, match="has no asks"):
        await paper.create_order(market_order(OrderSide.BUY, "1"))

    assert paper.state()["orders"] == [] and paper.state()["counters"]["order"] == 0
