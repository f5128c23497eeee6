"""`quorum backtest` through the engine: the four files, and the accounting identity to the last digit."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from adapters.exchange.candle_file import shipped_candle_file
from config.settings import Settings
from engine.backtest import BacktestError, BacktestOptions, run_backtest


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):
    import asyncio

    out = tmp_path_factory.mktemp("backtest")
    options = BacktestOptions(
        data=shipped_candle_file(), out=out, start=date(2018, 1, 1), end=date(2018, 2, 28), cycle_hours=1
    )
    return asyncio.run(run_backtest(options, Settings(_env_file=None))), out


def test_backtest_when_run_then_writes_the_four_files(result) -> None:
    _, out = result
    for name in ("metrics.json", "trades.csv", "equity.csv", "equity.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["trades"] > 0 and "sharpe" in metrics and "max_drawdown" in metrics


def test_backtest_when_run_then_final_equity_is_start_plus_trade_pnl_exactly(result) -> None:
    backtest, out = result
    with (out / "trades.csv").open() as handle:
        pnl = sum((Decimal(row["net_pnl"]) for row in csv.DictReader(handle)), Decimal(0))
    with (out / "equity.csv").open() as handle:
        final = Decimal(list(csv.DictReader(handle))[-1]["equity"])
    assert backtest.unrealized_pnl == 0  # the position open at the end was closed at the last price
    assert final == Decimal(10000) + pnl + backtest.unrealized_pnl
    assert final == backtest.final_equity == backtest.metrics.end_equity


def test_backtest_when_run_then_one_consultation_per_cycle_and_every_cycle_recorded(result) -> None:
    backtest, _ = result
    hours = (date(2018, 3, 1) - date(2018, 1, 1)).days * 24
    assert backtest.cycles == hours
    assert backtest.consultations <= hours + 1  # one per candle (and position side), never per engine call


def test_backtest_when_run_then_one_equity_point_per_hour_and_an_entry_hour_shows_the_trade(result) -> None:
    """The monitor marks the account before the cycle and the cycle marks it again after a trade: the curve keeps
    the last mark of each time (as the database's curve does), so a trade's hour shows its fee and open P&L."""
    backtest, out = result
    times = [ts for ts, _ in backtest.equity]
    assert times == sorted(set(times)) and len(times) == backtest.cycles + 1
    with (out / "equity.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(times)
    equity = dict(backtest.equity)
    trades = sorted(backtest.trades, key=lambda trade: trade.opened_ms)
    opened_when_flat = [t.opened_ms for p, t in pairwise(trades) if p.closed_ms <= t.opened_ms - 3_600_000]
    assert len(opened_when_flat) > 5
    for opened in opened_when_flat:  # flat the hour before: nothing moved the equity but the entry itself
        assert equity[opened] != equity[opened - 3_600_000]


def test_backtest_when_budget_exceeds_balance_then_clear_error(tmp_path: Path) -> None:
    import asyncio

    options = BacktestOptions(data=shipped_candle_file(), out=tmp_path, balance=Decimal(100), budget=Decimal(200))
    with pytest.raises(BacktestError, match="more than the --balance"):
        asyncio.run(run_backtest(options, Settings(_env_file=None)))


def test_batch_collection_when_left_then_the_collector_is_as_it_was() -> None:
    import gc

    from engine.backtest import batch_collection

    before = gc.get_threshold()
    with pytest.raises(RuntimeError), batch_collection(threshold=12_345):
        assert gc.get_threshold() == (12_345, *before[1:])
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == before


def test_backtest_when_run_then_the_chart_is_the_one_drawn_here_from_the_curve(result, tmp_path: Path) -> None:
    # the chart process gets the chart before the metrics and csv files are made; it must draw what drawing it
    # here, after them, draws
    from engine.backtest import CHART_TITLE, _dated
    from engine.charts import EquitySeries, draw_equity

    backtest, out = result
    here = draw_equity(EquitySeries.of(_dated(backtest.equity), Decimal(10000)), None, title=CHART_TITLE)
    assert (out / "equity.png").read_bytes() == here
    assert list(backtest.files) == ["metrics.json", "trades.csv", "equity.csv", "equity.png"]
    assert backtest.seconds["chart"] >= 0 and backtest.seconds["total"] >= backtest.seconds["run"]


def test_backtest_result_when_shown_then_a_short_summary_not_every_point(result) -> None:
    backtest, _ = result
    shown = repr(backtest)
    assert shown.startswith("BacktestResult(cycles=1416, trades=") and len(shown) < 300
    assert f"final_equity={backtest.final_equity}" in shown and str(len(backtest.equity)) in shown
