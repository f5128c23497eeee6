"""The pieces a restart after kill -9 leans on (tests/faults/test_kill9.py runs them end to end on PostgreSQL):
an exit of ours is known by its client order id, a claimed cycle tells whether it got anywhere, and an entry
booked twice keeps one trade."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from domain.trading import OrderRequest, OrderSide, OrderStatus, OrderType
from engine.ids import Intent, client_order_id, exit_reason
from engine.records import DecisionRecord, TradeOpen
from engine.store import MemoryEngineStore

CANDLE = 1_500_000_000_000 - 1_500_000_000_000 % 3_600_000


def test_exit_reason_when_an_exit_of_ours_then_its_reason_and_otherwise_none() -> None:
    reasons = {intent: exit_reason(client_order_id(7, "BTC/USDT", CANDLE, intent)) for intent in Intent}
    assert reasons == {
        Intent.ENTRY: None, Intent.STOP_LOSS: None, Intent.TAKE_PROFIT: None, Intent.EXIT: "signal",
        Intent.UNPROTECTED: "unprotected", Intent.CLOSE: "user_close", Intent.END: "end_of_replay",
    }  # fmt: skip
    assert exit_reason("paper-liquidation-3") is None and exit_reason("q1-x-zz-abc") is None


async def test_cycle_recorded_when_a_claimed_cycle_left_nothing_then_false_and_after_a_decision_or_answer_true() -> (
    None
):
    store = MemoryEngineStore()
    entry = client_order_id(1, "BTC/USDT", CANDLE, Intent.ENTRY)
    ours = {entry, client_order_id(1, "BTC/USDT", CANDLE, Intent.EXIT)}
    assert await store.claim_candle(1, "BTC/USDT", CANDLE)
    assert not await store.cycle_recorded(1, "BTC/USDT", CANDLE - 3_600_000, ours)
    request = OrderRequest("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.1"), entry)
    await store.order_pending(1, request, "entry")  # recorded, never sent: the cycle may run again
    assert not await store.cycle_recorded(1, "BTC/USDT", CANDLE - 3_600_000, ours)
    await store.order_failed(1, entry, "refused", OrderStatus.REJECTED)  # the exchange answered
    assert await store.cycle_recorded(1, "BTC/USDT", CANDLE - 3_600_000, ours)

    other = MemoryEngineStore()
    key = f"replay:BTC/USDT:{CANDLE - 3_600_000}:flat:abc"
    record = DecisionRecord(CANDLE, key, "HOLD", "hold", None, None, None, "consensus", "hold", "hold")
    await other.record_decision(1, "BTC/USDT", record)
    assert await other.cycle_recorded(1, "BTC/USDT", CANDLE - 3_600_000, ours)
    assert not await other.cycle_recorded(2, "BTC/USDT", CANDLE - 3_600_000, ours)


async def test_open_trade_when_the_same_entry_is_booked_twice_then_one_trade_row() -> None:
    store = MemoryEngineStore()
    opened = TradeOpen("BTC/USDT", "long", Decimal("0.1"), Decimal(2500), datetime(2017, 7, 3, tzinfo=UTC), 4,
                       Decimal("0.1"), 3)  # fmt: skip
    first = await store.open_trade(1, opened)
    assert await store.open_trade(1, opened) == first and len(store.trade_rows) == 1
