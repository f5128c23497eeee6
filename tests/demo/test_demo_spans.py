"""Short spans of real candles: the same arguments print the same results; take-profit and signal exits; the
daily loss limit; PostgreSQL as the database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from quorum.demo import DemoOptions
from tests.conftest import PostgresFactory
from tests.demo.conftest import TAKE_PROFIT_SPAN, load_rows, offline_settings, run


def _without_database(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith("  database:")]


def test_demo_when_run_twice_with_the_same_arguments_then_it_prints_the_same_results(tmp_path: Path) -> None:
    first = run(TAKE_PROFIT_SPAN, f"sqlite:///{tmp_path / 'first.db'}")
    second = run(TAKE_PROFIT_SPAN, f"sqlite:///{tmp_path / 'second.db'}")

    assert first.summary == second.summary
    assert _without_database(first.lines) == _without_database(second.lines)
    assert first.summary.database_url != second.summary.database_url
    assert [line for line in first.lines if " BTC/USDT opened " in line or " BTC/USDT closed " in line] == [
        "05 Feb 2018 12:00 BTC/USDT opened SHORT 0.22926 @ 7,553.74 (SL 7,980.64 / TP 6,829.72) — 2/3 analysts agree",
        "05 Feb 2018 19:00 BTC/USDT closed SHORT 0.22926 @ 6,836.38 +161.16 USDT (take profit)",
    ]
    assert "  trades:          1 closed, 1 won, 0 lost (win rate 100.00%)" in first.lines
    assert first.summary.final_equity == Decimal(10000) + first.summary.realized_pnl


def test_demo_when_the_analysts_call_close_then_the_position_is_closed_by_a_reduce_only_market_order(
    tmp_path: Path,
) -> None:
    result = run(DemoOptions(start=date(2018, 3, 5), days=2), f"sqlite:///{tmp_path / 'close.db'}")
    rows = load_rows(result)

    assert "06 Mar 2018 00:00 BTC/USDT closed LONG 0.5231 @ 11,375.68 -62.26 USDT (analysts' exit signal)" in (
        result.lines
    )
    (trade,) = rows.trades
    assert trade.close_reason == "signal"
    exit_order = next(order for order in rows.orders if order.id == trade.exit_order_id)
    assert (exit_order.purpose, exit_order.type, exit_order.reduce_only) == ("exit", "market", True)
    assert sorted(order.status for order in rows.orders if order.purpose in ("stop_loss", "take_profit")) == [
        "canceled",
        "canceled",
    ]
    closing = next(decision for decision in rows.decisions if decision.action == "CLOSE")
    assert (closing.outcome, closing.order_id) == ("executed", exit_order.id)


def test_demo_when_the_day_loses_past_the_daily_limit_then_the_user_wide_breaker_trips_and_reopens(
    tmp_path: Path,
) -> None:
    settings = offline_settings(breaker_daily_loss_pct=Decimal("0.01"))  # 1% of the day's starting equity
    result = run(DemoOptions(start=date(2018, 1, 11), days=1), f"sqlite:///{tmp_path / 'daily.db'}", settings)
    rows = load_rows(result)

    assert result.lines[4:7] == [
        "11 Jan 2018 15:00 BTC/USDT closed SHORT 0.15834 @ 13,917.90 -103.29 USDT (stop loss)",
        "11 Jan 2018 15:00 daily loss limit hit: no new entries on any pair; new entries resume at 11 Jan 2018 19:00"
        " UTC",
        "11 Jan 2018 19:00 daily loss limit cooldown over: new entries allowed again",
    ]
    assert result.summary.breaker_trips == 1
    assert rows.pair.breaker["consecutive_losses"] == 1  # one loss: the pair's own breaker keeps running
    assert rows.state.breaker_status == "running"
    assert rows.state.breaker["day"] == "2018-01-12"  # re-armed at the next day's starting equity
    assert Decimal(rows.state.breaker["baseline_equity"]) == rows.state.day_start_equity == rows.state.equity


@pytest.mark.postgres
def test_demo_when_given_a_postgresql_url_then_it_records_there(postgres_factory: PostgresFactory) -> None:
    url = postgres_factory.new_url()
    result = run(DemoOptions(start=date(2018, 2, 4), days=1), url)
    rows = load_rows(result)

    assert result.summary.database_url.startswith("postgresql+asyncpg://")
    assert len(rows.trades) == 1 and rows.trades[0].realized_pnl == result.summary.trades[0].pnl
    assert len(rows.decisions) == result.summary.cycles == 6
    assert {order.client_order_id for order in rows.orders} == {
        o["client_order_id"] for o in rows.paper_state["orders"]
    }
