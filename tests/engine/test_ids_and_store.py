"""Client order ids and the in-memory store's promises (exactly-once claims, forward-only status)."""

from __future__ import annotations

import re
from dataclasses import fields, replace
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.trading import Order, OrderRequest, OrderSide, OrderStatus, OrderType, PositionSide
from engine.ids import Intent, client_order_id
from engine.state import OpenTrade, PairState, UserBook
from engine.store import MemoryEngineStore, moves_forward
from risk import AccountState, LossStreakState

BINANCE_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")


@given(
    st.integers(0, 10**12), st.sampled_from(["BTC/USDT", "ETH/USDT:USDT", "X/Y"]), st.integers(0, 2**45),
    st.sampled_from(list(Intent)),
)  # fmt: skip
def test_client_order_id_when_any_input_then_exchange_safe_and_deterministic(user, symbol, candle, intent):
    cid = client_order_id(user, symbol, candle, intent)
    assert BINANCE_ID.match(cid)
    assert cid == client_order_id(user, symbol, candle, intent)


def test_client_order_id_when_user_symbol_candle_or_intent_differ_then_ids_differ():
    base = client_order_id(7, "BTC/USDT", 3_600_000, Intent.ENTRY)
    assert base != client_order_id(8, "BTC/USDT", 3_600_000, Intent.ENTRY)
    assert base != client_order_id(7, "ETH/USDT", 3_600_000, Intent.ENTRY)
    assert base != client_order_id(7, "BTC/USDT", 7_200_000, Intent.ENTRY)
    assert base != client_order_id(7, "BTC/USDT", 3_600_000, Intent.STOP_LOSS)


async def test_claim_candle_when_claimed_twice_or_older_then_refused():
    store = MemoryEngineStore()
    assert await store.claim_candle(1, "BTC/USDT", 100)
    assert not await store.claim_candle(1, "BTC/USDT", 100)
    assert not await store.claim_candle(1, "BTC/USDT", 50)
    assert await store.claim_candle(2, "BTC/USDT", 100)
    assert await store.claim_candle(1, "BTC/USDT", 200)


def _order(status: OrderStatus, filled: str, fee: str) -> Order:
    return Order(
        "x1", "cid-1", "BTC/USDT", OrderSide.BUY, OrderType.MARKET, status, Decimal(1), Decimal(filled), 0,
        fee=Decimal(fee),
    )  # fmt: skip


async def test_order_update_when_late_update_arrives_then_status_and_fee_never_go_back():
    store = MemoryEngineStore()
    await store.order_pending(
        1, OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal(1), "cid-1"), "entry"
    )
    await store.order_update(1, _order(OrderStatus.FILLED, "1", "0.5"), "entry")
    await store.order_update(1, _order(OrderStatus.OPEN, "0", "0.1"), "entry")
    row = store.orders["cid-1"]
    assert (row.status, row.filled, row.fee) == ("filled", Decimal(1), Decimal("0.5"))


def test_moves_forward_when_final_then_nothing_moves():
    assert moves_forward("pending", "filled") and moves_forward("unknown", "open")
    assert not moves_forward("filled", "open") and not moves_forward("canceled", "filled")
    assert not moves_forward("partially_filled", "open")


def test_user_book_account_when_asked_again_then_the_same_state_until_a_figure_is_replaced() -> None:
    book = UserBook(7, equity=Decimal(1000), balance=Decimal(1000), peak_equity=Decimal(1000),
                    day_start_equity=Decimal(1000))  # fmt: skip
    book.observe(Decimal("990.5"), Decimal("-2.25"), date(2018, 1, 2))  # a new day: the day starts here
    first = book.account()

    assert book.account() is first  # nothing replaced since: the monitor's state serves the cycle
    assert first == AccountState(Decimal("988.25"), Decimal(1000), Decimal("988.25"), Decimal("2.25"),
                                 Decimal("-2.25"), 0, 0)  # fmt: skip
    book.trades_today += 1
    assert book.account() is not first and book.account().trades_today == 1
    book.observe(Decimal("990.5"), Decimal("-2.25"), date(2018, 1, 2))  # equal figures, new objects: built again
    again = book.account()
    assert again is not first and again == replace(first, trades_today=1)
    book.open_positions = 1
    assert book.account().open_positions == 1 and book.account() is book.account()


def test_pair_state_claimed_when_every_field_is_set_then_it_equals_replace() -> None:
    trade = OpenTrade(PositionSide.LONG, Decimal("0.5"), Decimal(100), Decimal(50), Decimal("0.02"), Decimal(95),
                      Decimal(110), 1, 2, 3, 4, {"stop_loss": "q1-sl"})  # fmt: skip
    state = PairState(LossStreakState(consecutive_losses=2), 10, trade, 7, {"client_order_id": "q1-en"})
    assert all(getattr(state, f.name) != f.default for f in fields(PairState)), "every field away from its default"

    assert state.claimed(20) == replace(state, last_candle_ts=20)
    assert state.claimed(20, 8) == replace(state, last_candle_ts=20, cycles=8)
