"""A restart restores the paper account exactly: balances, open orders, positions, history and counters."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from adapters.exchange.paper import (
    InMemoryPaperStateStore,
    JsonFilePaperStateStore,
    PaperConfig,
    PaperExchange,
    PaperStateError,
    PaperStateStore,
    account_from_state,
    account_to_state,
)
from adapters.exchange.paper.state import STATE_VERSION
from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType

from .scripted_feed import START_MS, ScriptedFeed, ladder, perp_market, spot_market

D = Decimal
SPOT, PERP = "BTC/USDT", "BTC/USDT:USDT"


async def busy_account(store: PaperStateStore) -> tuple[ScriptedFeed, PaperExchange]:
    """A spot holding with a resting limit and a stop, and a leveraged perpetual long with a take-profit."""
    feed = ScriptedFeed(spot_market(), perp_market())
    paper = await PaperExchange.open(feed, store, starting_balances={"USDT": D(5000)}, clock=feed.clock)
    await paper.create_order(OrderRequest(SPOT, OrderSide.BUY, OrderType.MARKET, D("3"), "buy"))
    await paper.create_order(OrderRequest(SPOT, OrderSide.BUY, OrderType.LIMIT, D("1.5"), "dip", price=D("91.37")))
    await paper.create_order(
        OrderRequest(SPOT, OrderSide.SELL, OrderType.STOP_MARKET, D(2), "sl", stop_price=D(90), reduce_only=True)
    )
    await paper.set_leverage(PERP, 7)
    await paper.create_order(OrderRequest(PERP, OrderSide.BUY, OrderType.MARKET, D("4.2"), "long"))
    await paper.create_order(
        OrderRequest(
            PERP, OrderSide.SELL, OrderType.TAKE_PROFIT_MARKET, D("4.2"), "tp", stop_price=D(130), reduce_only=True
        )
    )
    return feed, paper


@pytest.mark.parametrize("store_kind", ["memory", "json_file"])
async def test_restart_when_state_saved_then_new_exchange_has_identical_account(tmp_path, store_kind):
    store = InMemoryPaperStateStore() if store_kind == "memory" else JsonFilePaperStateStore(tmp_path / "acct.json")
    feed, before = await busy_account(store)
    balance = await before.fetch_balance()
    orders = await before.fetch_open_orders()
    positions = await before.fetch_positions()

    after = await PaperExchange.open(feed, store, starting_balances={"USDT": D(1)}, clock=feed.clock)

    assert after.state() == before.state()
    assert await after.fetch_balance() == balance
    assert await after.fetch_open_orders() == orders
    assert await after.fetch_positions() == positions
    assert (await after.fetch_order_by_client_id("buy", SPOT)).fills == (
        await before.fetch_order_by_client_id("buy", SPOT)
    ).fills


async def test_restart_when_restored_then_ids_continue_and_client_ids_stay_idempotent():
    store = InMemoryPaperStateStore()
    feed, _before = await busy_account(store)
    after = await PaperExchange.open(feed, store, clock=feed.clock)

    repeat = await after.create_order(OrderRequest(SPOT, OrderSide.BUY, OrderType.MARKET, D("3"), "buy"))
    fresh = await after.create_order(OrderRequest(SPOT, OrderSide.BUY, OrderType.MARKET, D("0.1"), "new"))

    assert repeat.id == "paper-1"
    assert fresh.id == "paper-6"


async def test_restart_when_restored_then_resting_orders_still_trigger():
    store = InMemoryPaperStateStore()
    feed, _ = await busy_account(store)
    after = await PaperExchange.open(feed, store, clock=feed.clock)

    feed.set_price(SPOT, D(91))
    changed = await after.process()

    assert [(order.client_order_id, order.status) for order in changed] == [("dip", OrderStatus.FILLED)]


async def test_every_change_when_made_then_saved_before_the_call_returns():
    store = InMemoryPaperStateStore()
    _feed, paper = await busy_account(store)

    assert await store.load() == paper.state()
    saves = store.saves
    await paper.fetch_balance()
    assert store.saves == saves  # nothing changed, nothing written


async def test_state_when_dumped_then_json_safe_with_decimals_as_strings():
    _, paper = await busy_account(InMemoryPaperStateStore())

    state = paper.state()

    assert json.loads(json.dumps(state)) == state
    assert state["ledger"]["totals"]["USDT"] == str(paper.account.ledger.total("USDT"))


async def test_json_store_when_file_damaged_then_clear_error_and_file_untouched(tmp_path):
    path = tmp_path / "acct.json"
    path.write_text("{not json", encoding="utf-8")

    with pytest.raises(PaperStateError, match="is not valid JSON"):
        await PaperExchange.open(ScriptedFeed(spot_market()), JsonFilePaperStateStore(path))

    assert path.read_text(encoding="utf-8") == "{not json"


async def test_open_when_state_version_unknown_then_refused():
    store = InMemoryPaperStateStore()
    await store.save({"version": 99})

    with pytest.raises(PaperStateError, match="version 99"):
        await PaperExchange.open(ScriptedFeed(spot_market()), store)


async def test_close_when_feed_shared_then_feed_left_open_and_when_owned_then_closed():
    feed = ScriptedFeed(spot_market())
    shared = await PaperExchange.open(feed)
    await shared.close()
    assert not feed.closed

    owned = await PaperExchange.open(feed, owns_feed=True)
    await owned.close()
    assert feed.closed


def v1_buy(number: int, amount: str, price: str) -> dict:
    """A filled market buy as version 1 saved it: fills without their realized PnL."""
    fill = {"order_id": f"paper-{number}", "symbol": PERP, "side": "buy", "price": price, "amount": amount}
    fill |= {"fee": "0", "fee_currency": "USDT", "ts": START_MS, "trade_id": f"paper-trade-{number}"}
    return {
        "id": f"paper-{number}", "client_order_id": f"entry-{number}", "symbol": PERP, "side": "buy",
        "type": "market", "amount": amount, "ts": START_MS, "price": None, "stop_price": None, "reduce_only": False,
        "status": "filled", "updated_ts": START_MS, "note": "", "fills": [fill],
    }  # fmt: skip


V1_STATE = {
    "version": 1,
    "ledger": {
        "totals": {"USDT": "1000"},
        "reservations": {f"position:{PERP}": {"currency": "USDT", "amount": "30.2"}},
    },
    "orders": [v1_buy(1, "1", "100"), v1_buy(2, "2", "101")],
    "positions": {
        PERP: {
            "symbol": PERP,
            "side": "long",
            "amount": "3",
            "entry_price": "100.6666666666666666666666667",
            "leverage": 10,
            "opened_ts": START_MS,
            "funding_paid": "0",
        }
    },  # fmt: skip
    "leverage": {PERP: 10},
    "marks": {PERP: {"price": "101", "ts": START_MS, "candle_ts": None}},
    "funding": [],
    "counters": {"order": 2, "trade": 2},
}


async def test_open_when_state_is_version_1_then_the_averaged_entry_becomes_a_cost_basis_on_the_money_grid():
    store = InMemoryPaperStateStore()
    await store.save(V1_STATE)
    feed = ScriptedFeed(perp_market(), price=D(101))
    paper = await PaperExchange.open(feed, store, config=PaperConfig(taker_fee=D(0)), clock=feed.clock)

    [position] = await paper.fetch_positions()
    assert position.entry_price == D("100.6666666666666666666666667") and position.margin == D("30.2")
    assert position.unrealized_pnl == D(1)  # version 1 showed 0.9999999999999999999999999 (3 * 101 - 3 * entry)
    state = paper.state()
    assert state["version"] == STATE_VERSION and state["positions"][PERP]["cost"] == "302.000000000000"
    assert [fill.realized_pnl for order in paper.account.orders.values() for fill in order.fills] == [None, None]
    assert account_to_state(account_from_state(json.loads(json.dumps(state)))) == state

    feed.set_price(PERP, D(101), ladder(D(101), levels=1, gap=D(0), amount=D(10)))  # a close at the mark
    await paper.create_order(OrderRequest(PERP, OrderSide.SELL, OrderType.MARKET, D(3), "close", reduce_only=True))

    assert (await paper.fetch_balance()).total("USDT") == D(1000) + position.unrealized_pnl  # not a digit lost
    assert (await store.load())["version"] == STATE_VERSION
