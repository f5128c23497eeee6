"""Every executed decision points at its order: an entry at the entry order, a CLOSE at the exit order it sent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from adapters.ai.factory import build_shared_ensemble
from adapters.exchange.candle_file import shipped_candle_file
from config.settings import Settings
from domain.market import MarketType
from domain.money import datetime_to_ms
from engine.notifier import NullNotifier
from engine.replay import ReplayAccount, ReplaySession
from engine.store import MemoryEngineStore
from risk import RiskLimits

SETTINGS = Settings(_env_file=None, openai_api_key=None, anthropic_api_key=None, deepseek_api_key=None)


async def test_decisions_when_executed_then_entries_and_closes_link_the_order_they_sent() -> None:
    store = MemoryEngineStore(keep_decisions=True)
    ensemble = build_shared_ensemble(SETTINGS)
    session = await ReplaySession.build(
        data=shipped_candle_file(), symbol="BTC/USDT", base_timeframe="1h", market_type=MarketType.PERPETUAL,
        ensemble=ensemble, store=store, notifier=NullNotifier(), limits=RiskLimits.from_settings(SETTINGS),
        accounts=[ReplayAccount(1, Decimal(10000), Decimal(2000), 3)], cycle_ms=3_600_000,
    )  # fmt: skip
    start = datetime_to_ms(datetime(2018, 1, 1, tzinfo=UTC))
    try:
        await session.run(start, start + 120 * 86_400_000)
    finally:
        await ensemble.close()
    executed = [record for _, _, record in store.decisions if record.outcome == "executed"]
    purposes = {order.row: order.purpose for order in store.order_rows}
    closes = [record for record in executed if record.action == "CLOSE"]
    entries = [record for record in executed if record.action in ("BUY", "SELL")]
    assert closes and entries, "the run must hold both kinds for the check to mean anything"
    assert all(record.order_row is not None and purposes[record.order_row] == "exit" for record in closes)
    assert all(record.order_row is not None and purposes[record.order_row] == "entry" for record in entries)
