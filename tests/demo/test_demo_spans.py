"""Short spans of real candles: the same arguments print the same results; take-profit, signal and end-of-replay
exits; the daily loss limit; PostgreSQL as the database."""

from __future__ import annotations

import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.demo import DemoOptions
from tests.conftest import PostgresFactory
from tests.demo.conftest import OPEN_AT_END_SPAN, TAKE_PROFIT_SPAN, load_rows, offline_settings, run


def _without_database(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith("  database:")]


def test_demo_when_run_twice_with_the_same_arguments_then_it_prints_the_same_results(tmp_path: Path) -> None:
    first = run(TAKE_PROFIT_SPAN, f"sqlite:///{tmp_path / 'first.db'}")
    second = run(TAKE_PROFIT_SPAN, f"sqlite:///{tmp_path / 'second.db'}")

    assert first.summary == second.summary
    assert _without_database(first.lines) == _without_database(second.lines)
    assert first.summary.database_url != second.summary.database_url
    assert [line for line in first.lines if " BTC/USDT opened " in line or " BTC/USDT closed " in line] == [
        "05 Feb 2018 12:00 BTC/USDT opened SHORT 0.22926 @ 7,553.74 (SL 7,980.64 / TP 6,829.72) - 2/3 analysts agree",
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
    assert closing.outcome == "executed"


def test_demo_when_a_position_is_open_at_the_end_then_it_is_closed_and_the_books_end_at_the_final_equity(
    tmp_path: Path,
) -> None:
    """Final equity == starting balance + the trades' P&L, to the last digit, and the stored account says so."""
    result = run(OPEN_AT_END_SPAN, f"sqlite:///{tmp_path / 'end.db'}")
    rows, summary = load_rows(result), result.summary

    assert (
        result.lines[4] == "06 Mar 2018 00:00 BTC/USDT closed LONG 0.5231 @ 11,375.68 -62.26 USDT (end of the replay)"
    )
    (trade,) = summary.trades
    assert (trade.reason, trade.closed_ms) == ("end_of_replay", summary.end_ms)
    assert summary.final_equity == OPEN_AT_END_SPAN.balance + summary.realized_pnl
    assert [(row.close_reason, row.realized_pnl) for row in rows.trades] == [("end_of_replay", trade.pnl)]
    assert rows.positions == []
    wallet = Decimal(rows.paper_state["ledger"]["totals"]["USDT"])
    assert (rows.state.equity, rows.state.balance, rows.state.unrealized_pnl) == (summary.final_equity, wallet, 0)
    assert rows.state.realized_pnl == summary.realized_pnl


def test_demo_when_the_day_loses_past_the_daily_limit_then_the_user_wide_breaker_trips_and_reopens(
    tmp_path: Path,
) -> None:
    settings = offline_settings(breaker_daily_loss_pct=Decimal("0.01"))  # 1% of the day's starting equity
    result = run(DemoOptions(start=date(2018, 1, 11), days=1), f"sqlite:///{tmp_path / 'daily.db'}", settings)
    rows = load_rows(result)

    assert result.lines[4:7] == [
        "11 Jan 2018 15:00 BTC/USDT closed SHORT 0.15834 @ 13,917.90 -103.29 USDT (stop loss)",
        "11 Jan 2018 15:00 daily loss limit hit: no new entries on any pair; new entries resume at 11 Jan 2018 19:00"
        " UTC (/resume to restart sooner)",
        "11 Jan 2018 19:00 daily loss limit cooldown over: new entries allowed again",
    ]
    assert result.summary.breaker_trips == 1
    assert "  breaker trips:   1" in result.lines
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


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.dates(min_value=date(2017, 8, 1), max_value=date(2019, 9, 30)),
    days=st.integers(min_value=1, max_value=3),
    leverage=st.integers(min_value=1, max_value=5),
    cycle_hours=st.sampled_from([1, 2, 3, 4, 6]),
    budget=st.decimals(min_value=100, max_value=5000, places=2),
)
def test_demo_when_any_window_is_replayed_then_final_equity_is_the_balance_plus_the_trades_pnl_exactly(
    start: date, days: int, leverage: int, cycle_hours: int, budget: Decimal
) -> None:
    options = DemoOptions(start=start, days=days, leverage=leverage, cycle_hours=cycle_hours, budget=budget)
    with tempfile.TemporaryDirectory() as folder:
        result = run(options, f"sqlite:///{Path(folder) / 'any.db'}")
        rows = load_rows(result)
    summary = result.summary
    assert summary.final_equity == options.balance + sum((trade.pnl for trade in summary.trades), Decimal(0))
    assert [row.realized_pnl for row in rows.trades] == [trade.pnl for trade in summary.trades]
    assert rows.positions == [] and rows.state.equity == summary.final_equity
    assert all(trade.closed_ms <= summary.end_ms for trade in summary.trades)
