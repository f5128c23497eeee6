"""The paper account keeps a bounded history without changing what it does: open orders are indexed, final
orders past the latest keep_final_orders become summaries that still answer lookups and idempotent resends,
and what is saved stops growing with the number of steps. The exchange's shortcuts (a followed in-memory store,
the order book fetched only when something fires, a repeated look skipped) are checked against the long way."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.exchange.errors import InsufficientFunds, InvalidOrder, OrderNotFound
from adapters.exchange.paper import (
    InMemoryPaperStateStore,
    JsonFilePaperStateStore,
    Ledger,
    PaperAccount,
    PaperConfig,
    PaperExchange,
    account_from_state,
    account_to_state,
)
from adapters.exchange.replay import ReplayFeed, ReplaySeries, SimulatedClock
from adapters.exchange.replay.series import default_market
from domain.market import MarketType
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType

from .scripted_feed import START_MS, ScriptedFeed, ladder, perp_market
from .test_paper_invariants import operations

D = Decimal
HOUR = 3_600_000
REFUSED = (InsufficientFunds, InvalidOrder, OrderNotFound)


def apply(account: PaperAccount, market, operation, counter: int, state: dict):
    """One operation of test_paper_invariants' vocabulary; returns what it answered (or the refusal)."""
    kind = operation[0]
    price, ts, book = state["price"], state["ts"], state["book"]
    try:
        if kind == "market":
            _, side, amount, reduce_only = operation
            request = OrderRequest(
                market.symbol, side, OrderType.MARKET, amount, f"c{counter}", reduce_only=reduce_only
            )
            return account.place(request, market, book, ts).to_domain()
        if kind == "limit":
            _, side, amount, offset = operation
            limit = (price * (1 + offset)).quantize(D("0.01"))
            request = OrderRequest(market.symbol, side, OrderType.LIMIT, amount, f"c{counter}", price=limit)
            return account.place(request, market, book, ts).to_domain()
        if kind == "stop":
            _, side, amount, distance, take_profit = operation
            below = (side is OrderSide.SELL) != take_profit
            trigger = (price * (1 - distance if below else 1 + distance)).quantize(D("0.01"))
            order_type = OrderType.TAKE_PROFIT_MARKET if take_profit else OrderType.STOP_MARKET
            request = OrderRequest(
                market.symbol, side, order_type, amount, f"c{counter}", stop_price=trigger, reduce_only=True
            )
            return account.place(request, market, book, ts).to_domain()
        if kind == "cancel":
            return account.cancel(f"paper-{operation[1]}", market.symbol, ts).to_domain()
        if kind == "move":
            state["price"] = (price * operation[1]).quantize(D("0.01"))
            state["ts"] = ts + HOUR
            state["book"] = ladder(state["price"], levels=5, gap=D("0.5"), amount=D(1))
            return [o.to_domain() for o in account.advance(market, [(state["price"], state["ts"])], state["book"])]
        if kind == "funding":
            return [o.to_domain() for o in account.pay_funding(market, operation[1], price, ts)]
        if kind == "leverage":
            return account.set_leverage(market, operation[1])
    except REFUSED as exc:
        return type(exc).__name__, str(exc)
    return None


def observed(account: PaperAccount, market, counters: int) -> tuple:
    """Everything a caller can see of the account: balances, positions, open orders, every order by client id."""
    by_client_id = []
    for counter in range(1, counters + 1):
        order = account.find_by_client_id(f"c{counter}")
        by_client_id.append(None if order is None else order.to_domain())
    return (
        account.ledger.balance(0),
        account.position_views({market.symbol: market}),
        [order.to_domain() for order in account.open_orders()],
        by_client_id,
        account.order_counter,
        account.trade_counter,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.integers(min_value=0, max_value=3))
def test_history_when_orders_retire_then_the_account_answers_exactly_as_one_keeping_everything(ops, keep):
    market = perp_market(amount_step=D("0.001"), min_notional=D(1))
    accounts = [
        PaperAccount(Ledger({"USDT": D(1000)}), PaperConfig(keep_final_orders=None, keep_funding_events=None)),
        PaperAccount(Ledger({"USDT": D(1000)}), PaperConfig(keep_final_orders=keep, keep_funding_events=keep)),
    ]
    states = [
        {"price": D(100), "ts": START_MS, "book": ladder(D(100), levels=5, gap=D("0.5"), amount=D(1))} for _ in accounts
    ]
    for account, state in zip(accounts, states, strict=True):
        account.advance(market, [(state["price"], state["ts"])], None)
    for counter, operation in enumerate(ops, start=1):
        answers = [
            apply(account, market, operation, counter, state) for account, state in zip(accounts, states, strict=True)
        ]
        assert answers[0] == answers[1], operation
        assert observed(accounts[0], market, counter) == observed(accounts[1], market, counter)
        saved = account_to_state(accounts[1])
        assert len([o for o in saved["orders"] if o["status"] in ("filled", "canceled", "rejected")]) <= keep
        assert len(saved["funding"]) <= keep
        restored = account_from_state(json.loads(json.dumps(saved)), accounts[1].config)
        assert account_to_state(restored) == saved
        assert observed(restored, market, counter) == observed(accounts[1], market, counter)
        accounts[1] = restored  # go on from the restored account: a restart anywhere changes nothing


async def test_resend_when_the_order_was_retired_then_the_same_order_comes_back_and_nothing_is_placed():
    feed = ScriptedFeed(perp_market())
    paper = await PaperExchange.open(
        feed, starting_balances={"USDT": D(100_000)}, config=PaperConfig(keep_final_orders=1), clock=feed.clock
    )
    first = await paper.create_order(OrderRequest("BTC/USDT:USDT", OrderSide.BUY, OrderType.MARKET, D(1), "a"))
    for name in ("b", "c", "d"):
        await paper.create_order(OrderRequest("BTC/USDT:USDT", OrderSide.BUY, OrderType.MARKET, D(1), name))
    assert "a" in paper.account.retired and "a" not in paper.account.client_ids

    again = await paper.create_order(OrderRequest("BTC/USDT:USDT", OrderSide.BUY, OrderType.MARKET, D(1), "a"))

    assert again == first and again.status is OrderStatus.FILLED and again.fills == ()
    assert paper.account.order_counter == 4  # no fifth order
    assert await paper.fetch_order(first.id, "BTC/USDT:USDT") == first
    assert await paper.cancel_order(first.id, "BTC/USDT:USDT") == first  # a final order comes back unchanged
    assert await paper.fetch_order_by_client_id("a", "BTC/USDT:USDT") == first


async def test_saved_state_when_many_round_trips_then_it_stops_growing_but_for_one_summary_per_order(tmp_path):
    feed = ScriptedFeed(perp_market())
    store = JsonFilePaperStateStore(tmp_path / "paper.json")
    paper = await PaperExchange.open(feed, store, starting_balances={"USDT": D(100_000)}, clock=feed.clock)
    sizes = []
    for trip in range(150):
        feed.now += HOUR
        for side, name in ((OrderSide.BUY, "open"), (OrderSide.SELL, "close")):
            await paper.create_order(OrderRequest("BTC/USDT:USDT", side, OrderType.MARKET, D(1), f"{name}-{trip}"))
        state = await store.load()
        sizes.append((len(state["orders"]), len(state["retired"])))
    assert sizes[-1] == (100, 200)  # the latest 100 in full, the 200 before as summaries
    assert max(orders for orders, _ in sizes) == 100


async def test_memory_store_when_followed_then_load_gives_the_state_a_save_after_every_change_would():
    feed = ScriptedFeed(perp_market())
    followed = InMemoryPaperStateStore()
    paper = await PaperExchange.open(feed, followed, starting_balances={"USDT": D(5000)}, clock=feed.clock)
    for step, price in enumerate((D(100), D(101), D(99))):
        feed.now += HOUR
        feed.set_price("BTC/USDT:USDT", price)
        await paper.create_order(OrderRequest("BTC/USDT:USDT", OrderSide.BUY, OrderType.MARKET, D("0.5"), f"b{step}"))
        assert await followed.load() == json.loads(json.dumps(paper.state()))
    saves = followed.saves
    await paper.fetch_balance()  # nothing changed
    assert followed.saves == saves
    restarted = await PaperExchange.open(feed, followed, clock=feed.clock)
    assert restarted.state() == paper.state()


class CountingFeed(ScriptedFeed):
    def __init__(self, *markets) -> None:
        super().__init__(*markets)
        self.book_calls = 0

    async def fetch_order_book(self, symbol: str, limit: int = 20):
        self.book_calls += 1
        return await super().fetch_order_book(symbol, limit)


async def test_look_when_resting_stops_do_not_fire_then_no_book_is_fetched_and_when_one_fires_it_is():
    feed = CountingFeed(perp_market())
    paper = await PaperExchange.open(feed, starting_balances={"USDT": D(10_000)}, clock=feed.clock)
    await paper.create_order(OrderRequest("BTC/USDT:USDT", OrderSide.BUY, OrderType.MARKET, D(1), "in"))
    await paper.create_order(
        OrderRequest(
            "BTC/USDT:USDT", OrderSide.SELL, OrderType.STOP_MARKET, D(1), "sl", stop_price=D(90), reduce_only=True
        )
    )
    calls = feed.book_calls
    for price in (D(99), D(95), D(91)):
        feed.set_price("BTC/USDT:USDT", price)
        assert await paper.process() == []
    assert feed.book_calls == calls  # nothing fired, so the book was never needed

    feed.set_price("BTC/USDT:USDT", D(89))
    [stop] = await paper.process()

    assert stop.client_order_id == "sl" and stop.status is OrderStatus.FILLED
    assert feed.book_calls == calls + 1  # the stop walked the book
    assert await paper.fetch_positions() == []


class CountingReplay(ReplayFeed):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ohlcv_calls = 0

    async def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None):
        self.ohlcv_calls += 1
        return await super().fetch_ohlcv(symbol, timeframe, since, limit)


async def test_look_when_repeated_at_the_same_replay_time_then_skipped_until_time_or_the_account_moves():
    from adapters.exchange.candle_file import read_candles, shipped_candle_file

    candles = read_candles(shipped_candle_file())[:500]
    series = ReplaySeries(market=default_market("BTC/USDT", MarketType.PERPETUAL, candles[0].close), candles=candles)
    feed = CountingReplay(SimulatedClock(series.first_close_ms + 100 * HOUR), series)
    paper = await PaperExchange.open(
        feed, starting_balances={"USDT": D(10_000)}, clock=feed.clock.now_ms, config=PaperConfig(candle_timeframe="1h")
    )
    await paper.fetch_balance()
    calls = feed.ohlcv_calls
    balance = await paper.fetch_balance()
    await paper.fetch_positions()
    assert feed.ohlcv_calls == calls  # the same time and account: nothing to walk again

    await paper.create_order(OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, D("0.1"), "in"))
    await paper.fetch_balance()
    assert feed.ohlcv_calls > calls  # the account moved: looked at again
    calls = feed.ohlcv_calls
    feed.clock.advance_to(feed.clock.now_ms() + HOUR)
    assert await paper.fetch_balance() != balance
    assert feed.ohlcv_calls == calls + 1  # time moved: the new candle is walked
