"""The paper exchange driven by the replay feed and its simulated clock, as a backtest and the demo run it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchange.candle_file import read_candles, shipped_candle_file
from adapters.exchange.paper import PaperConfig, PaperExchange
from adapters.exchange.port import ExchangePort
from adapters.exchange.replay import ReplayFeed, ReplaySeries, SimulatedClock, default_market
from domain.market import MarketType
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType

D = Decimal
HOUR = 3_600_000
SYMBOL = "BTC/USDT"


@pytest.fixture(scope="module")
def candles():
    return read_candles(shipped_candle_file())


def long_wick_index(candles) -> int:
    """An hour whose low dipped at least 1% below both its open and its close."""
    return next(
        i
        for i in range(30, len(candles))
        if min(candles[i].open, candles[i].close) - candles[i].low > candles[i].open / 100
        and abs(candles[i].open - candles[i - 1].close) < candles[i].open / 1000
    )


async def paper_on(candles, at_index: int, config: PaperConfig, market_type=MarketType.SPOT, **feed_options):
    market = default_market(SYMBOL, market_type, candles[0].close)
    clock = SimulatedClock(candles[at_index].ts)
    feed = ReplayFeed(clock, ReplaySeries(market, candles, "1h"), **feed_options)
    paper = await PaperExchange.open(feed, starting_balances={"USDT": D(10000)}, config=config, clock=clock.now_ms)
    return clock, paper


@pytest.mark.parametrize("walk_candles, triggered", [(True, True), (False, False)])
async def test_stop_when_candle_wick_touches_it_then_triggers_only_if_candles_are_walked(
    candles, walk_candles, triggered
):
    wick = long_wick_index(candles)
    config = PaperConfig(candle_timeframe="1h" if walk_candles else None)
    clock, paper = await paper_on(candles, wick, config)
    await paper.create_order(OrderRequest(SYMBOL, OrderSide.BUY, OrderType.MARKET, D("0.5"), "entry"))
    held = (await paper.fetch_balance()).free("BTC")
    stop_price = ((min(candles[wick].open, candles[wick].close) + candles[wick].low) / 2).quantize(D("0.01"))
    stop = await paper.create_order(
        OrderRequest(SYMBOL, OrderSide.SELL, OrderType.STOP_MARKET, held, "sl", stop_price=stop_price, reduce_only=True)
    )

    clock.advance(HOUR)
    await paper.process()
    after = await paper.fetch_order(stop.id, SYMBOL)

    assert (after.status is OrderStatus.FILLED) is triggered
    if triggered:
        assert stop_price * D("0.999") < after.average < stop_price  # fills at the trigger, less the spread
        assert isinstance(paper, ExchangePort)


async def test_backtest_loop_when_stepping_hourly_for_a_month_then_fast_and_books_consistent(candles):
    clock, paper = await paper_on(candles, 100, PaperConfig(candle_timeframe="1h"))
    side = OrderSide.BUY
    for step in range(720):
        clock.advance(HOUR)
        await paper.process()
        if step % 24 == 0:
            last = (await paper.fetch_ticker(SYMBOL)).last
            price = last * (D("0.99") if side is OrderSide.BUY else D("1.01"))
            amount = D("0.2") if side is OrderSide.BUY else (await paper.fetch_balance()).free("BTC")
            if amount > D("0.001"):
                await paper.create_order(
                    OrderRequest(SYMBOL, side, OrderType.LIMIT, amount, f"grid-{step}", price=price.quantize(D("0.01")))
                )
            side = side.opposite
    balance = await paper.fetch_balance()
    filled = [o for o in paper.account.orders.values() if o.status is OrderStatus.FILLED]

    assert filled, "a month of BTC moves fills some 1% limit orders"
    for entry in balance.currencies.values():
        assert entry.free >= 0 and entry.free + entry.used == paper.account.ledger.total(entry.currency)


async def test_perpetual_when_held_two_days_on_replay_then_six_funding_payments(candles):
    clock, paper = await paper_on(candles, 1000, PaperConfig(), MarketType.PERPETUAL, funding_rate=D("0.0001"))
    await paper.set_leverage(SYMBOL, 3)
    await paper.create_order(OrderRequest(SYMBOL, OrderSide.BUY, OrderType.MARKET, D("0.3"), "long"))

    for _ in range(48):
        clock.advance(HOUR)
        await paper.process()

    events = paper.account.funding
    assert len(events) == 6 and all(event.ts % (8 * HOUR) == 0 for event in events)
    assert all(event.amount > 0 for event in events)  # a long pays a positive rate


@pytest.mark.parametrize("market_type", [MarketType.SPOT, MarketType.PERPETUAL])
async def test_process_when_nothing_is_open_then_not_looked_at_and_later_orders_fill_as_if_it_had_been(
    candles, market_type
):
    """process() skips a symbol with nothing open, and a look with nothing open skips the candles: an order
    placed after a wick that reached its price is never filled by that earlier wick, and every fill, balance and
    mark matches an exchange that walked every hour's candles."""
    wick = next(
        i
        for i in range(long_wick_index(candles), len(candles))
        if min(candles[i].open, candles[i].close) - candles[i].low > candles[i].open / 100
        and candles[i + 1].low > (min(candles[i].open, candles[i].close) + candles[i].low) / 2
    )
    price = ((min(candles[wick].open, candles[wick].close) + candles[wick].low) / 2).quantize(D("0.01"))
    config = PaperConfig(candle_timeframe="1h")
    skipping = await paper_on(candles, wick - 5, config, market_type)
    walking = await paper_on(candles, wick - 5, config, market_type)
    for _, paper in (skipping, walking):
        await paper.fetch_open_orders(SYMBOL)  # a first look: the mark at the last close
    first_marks = skipping[1].state()["marks"]
    for _ in range(6):  # through the wick's hour with nothing open
        for clock, _ in (skipping, walking):
            clock.advance(HOUR)
        assert await skipping[1].process([SYMBOL]) == []
        await walking[1].fetch_open_orders(SYMBOL)  # a look every hour, walking the closed candles
    assert skipping[1].state()["marks"] == first_marks  # process never looked
    assert skipping[1].state()["marks"] != walking[1].state()["marks"]

    states = []
    for clock, paper in (skipping, walking):
        order = await paper.create_order(
            OrderRequest(SYMBOL, OrderSide.BUY, OrderType.LIMIT, D("0.1"), "after-the-wick", price=price)
        )
        assert order.status is OrderStatus.OPEN  # the wick reached the price before the order existed
        for _ in range(48):
            clock.advance(HOUR)
            await paper.process([SYMBOL])
        states.append(paper.state())
    assert states[0] == states[1]  # same marks, orders, fills and balances as the exchange that walked every hour


async def test_state_version_when_nothing_happens_then_it_stands_and_any_change_or_tick_moves_it(candles):
    """state_version() stands while the balance and positions would read the same: an order, a fill or the
    clock's next tick moves it, reads alone do not."""
    clock, paper = await paper_on(candles, 100, PaperConfig(candle_timeframe="1h"), MarketType.PERPETUAL)
    await paper.fetch_balance()
    version = paper.state_version()
    balance, positions = await paper.fetch_balance(), await paper.fetch_positions()
    assert paper.state_version() == version  # reading changes nothing
    await paper.create_order(OrderRequest(SYMBOL, OrderSide.BUY, OrderType.MARKET, D("0.1"), "version-entry"))
    after_entry = paper.state_version()
    assert after_entry != version
    assert (await paper.fetch_balance(), await paper.fetch_positions()) != (balance, positions)
    clock.advance(HOUR)
    await paper.fetch_positions()  # the next hour's look moves the mark, so the position's open P&L
    assert paper.state_version() not in (version, after_entry)
