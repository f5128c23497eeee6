"""The demo over real shipped candles, through the engine: the rows it writes (decisions, votes, orders, fills,
trades) are what the summary says, every figure of the summary comes from the engine, and the circuit breaker
trips after three losses in a row and keeps new entries out until its cooldown is over."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from domain.money import ms_to_datetime
from tests.demo.conftest import BREAKER_SPAN, DemoResult, DemoRows


def _cycle_time(consultation_key: str) -> datetime:
    """A consultation key holds the open time of the last closed 1h candle: the cycle ran an hour later."""
    candle_ts = int(consultation_key.split(":")[2])
    return datetime.fromtimestamp(candle_ts / 1000 + 3600, UTC)


def test_demo_when_positions_open_and_close_then_each_trade_pnl_is_what_its_fills_and_the_wallet_say(
    breaker_run: DemoResult, breaker_rows: DemoRows
) -> None:
    summary, rows = breaker_run.summary, breaker_rows
    assert len(summary.trades) == 4
    assert [trade.status for trade in rows.trades] == ["closed"] * len(summary.trades)
    assert [trade.realized_pnl for trade in rows.trades] == [trade.pnl for trade in summary.trades]
    assert [trade.fees for trade in rows.trades] == [trade.fees for trade in summary.trades]

    # final equity is the starting balance plus the trades' P&L, exactly; the wallet and the stored account agree
    wallet = Decimal(rows.paper_state["ledger"]["totals"]["USDT"])
    assert summary.final_equity == BREAKER_SPAN.balance + sum((t.pnl for t in summary.trades), Decimal(0))
    assert summary.final_equity == wallet == rows.state.equity == rows.state.balance
    assert rows.state.realized_pnl == summary.realized_pnl

    # and each trade's P&L is what its own fills say: price moves times amounts, less every fee, to the last digit
    fills_by_order = {order.id: [fill for fill in rows.fills if fill.order_id == order.id] for order in rows.orders}
    for trade in rows.trades:
        assert trade.entry_order_id is not None and trade.exit_order_id is not None
        entry, exit_ = fills_by_order[trade.entry_order_id], fills_by_order[trade.exit_order_id]
        sign = 1 if trade.side == "long" else -1
        moved = sum(f.price * f.amount for f in exit_) - sum(f.price * f.amount for f in entry)
        fees = sum((f.fee for f in entry + exit_), Decimal(0))
        assert sum(f.amount for f in entry) == sum(f.amount for f in exit_) == trade.amount
        assert sign * moved - fees == trade.realized_pnl
        assert trade.fees == fees
    assert "11 Jan 2018 04:00 BTC/USDT opened SHORT 0.15834 @ 13,292.76 (SL 13,906.33 / TP 12,235.97)" in "\n".join(
        breaker_run.lines
    )
    assert "11 Jan 2018 15:00 BTC/USDT closed SHORT 0.15834 @ 13,917.90 -103.29 USDT (stop loss)" in breaker_run.lines


def test_demo_when_it_ends_then_the_summary_is_the_engines_metrics_and_prints_them(breaker_run: DemoResult) -> None:
    summary, lines = breaker_run.summary, breaker_run.lines
    metrics = summary.metrics
    assert (metrics.trades, metrics.wins, metrics.losses) == (4, 0, 4)
    assert metrics.end_equity == summary.final_equity
    assert metrics.start == ms_to_datetime(summary.start_ms) and metrics.end == ms_to_datetime(summary.end_ms)
    assert metrics.total_return == summary.final_equity / BREAKER_SPAN.balance - 1
    assert metrics.sharpe is not None and metrics.sharpe < 0
    assert lines[-10:] == [
        "Summary: BTC/USDT, 11 Jan 2018 00:00 to 07 Feb 2018 00:00 UTC (27 days)",
        "  cycles:          162 (a decision every 4h)",
        "  decisions:       BUY 0, SELL 7, CLOSE 0, HOLD 155 (executed 4, hold 155, rejected 3)",
        "  trades:          4 closed, 0 won, 4 lost (win rate 0.00%)",
        "  realized P&L:    -406.05 USDT (fees 23.29 USDT included)",
        "  final equity:    9,593.95 USDT from 10,000.00 USDT (return -4.06%)",
        f"  max drawdown:    {metrics.max_drawdown * 100:.2f}%",
        f"  Sharpe:          {metrics.sharpe:.2f} (daily returns, annualised)",
        "  breaker trips:   1",
        f"  database:        {summary.database_url} (demo user id {summary.user_id})",
    ]


def test_demo_when_orders_are_placed_then_every_paper_order_has_its_row_with_the_same_state(
    breaker_rows: DemoRows,
) -> None:
    rows = breaker_rows
    paper_orders = {order["client_order_id"]: order for order in rows.paper_state["orders"]}
    booked = {row.client_order_id: row for row in rows.orders}
    assert set(booked) == set(paper_orders)
    for client_id, order in paper_orders.items():
        row = booked[client_id]
        assert (row.exchange_order_id, row.status, row.type, row.side) == (
            order["id"],
            order["status"],
            order["type"],
            order["side"],
        )
        assert row.filled == sum((Decimal(fill["amount"]) for fill in order["fills"]), Decimal(0))
    assert len(rows.fills) == sum(len(order["fills"]) for order in paper_orders.values())
    purposes = Counter(row.purpose for row in rows.orders)
    entries = len(rows.trades)
    assert purposes == {"entry": entries, "stop_loss": entries, "take_profit": entries}
    assert Counter(row.status for row in rows.orders if row.purpose != "entry") == {
        "filled": entries,  # every trade here ended at its stop
        "canceled": entries,  # and its take profit was canceled with it
    }


def test_demo_when_cycles_run_then_every_decision_is_stored_as_the_summary_counts_it(
    breaker_run: DemoResult, breaker_rows: DemoRows
) -> None:
    summary, rows = breaker_run.summary, breaker_rows
    assert len(rows.decisions) == summary.cycles == 27 * 6
    assert Counter(decision.outcome for decision in rows.decisions) == summary.outcomes
    assert Counter(decision.action for decision in rows.decisions) == summary.decisions
    executed = [decision for decision in rows.decisions if decision.outcome == "executed"]
    assert len(executed) == len(rows.trades)
    assert {decision.order_id for decision in executed} == {trade.entry_order_id for trade in rows.trades}
    assert all(decision.reason_code == "hold" for decision in rows.decisions if decision.outcome == "hold")
    assert len(rows.equity) == summary.cycles  # one equity snapshot per cycle


def test_demo_when_cycles_run_then_every_decision_reaches_its_three_votes(breaker_rows: DemoRows) -> None:
    rows = breaker_rows
    votes_by_key = Counter(vote.consultation_key for vote in rows.votes)
    assert set(votes_by_key) == {decision.consultation_key for decision in rows.decisions}
    assert set(votes_by_key.values()) == {3}  # trend, mean reversion, breakout: one row each per consultation
    assert {vote.provider for vote in rows.votes} == {"trend", "mean_reversion", "breakout"}


def test_demo_when_three_trades_lose_in_a_row_then_the_breaker_trips_and_no_entry_comes_before_it_reopens(
    breaker_run: DemoResult, breaker_rows: DemoRows
) -> None:
    lines, rows = breaker_run.lines, breaker_rows
    assert [trade.pnl < 0 for trade in breaker_run.summary.trades[:3]] == [True, True, True]
    tripped_at = rows.trades[2].closed_at
    reopens_at = datetime(2018, 2, 5, 15, tzinfo=UTC)  # one week later
    assert tripped_at == datetime(2018, 1, 29, 15, tzinfo=UTC)
    tripped_line = (
        "29 Jan 2018 15:00 BTC/USDT circuit breaker tripped: 3 losing trades in a row; new entries resume at "
    )
    assert tripped_line + "05 Feb 2018 15:00 UTC (/resume to restart sooner)" in lines
    assert "05 Feb 2018 15:00 BTC/USDT circuit breaker cooldown over: new entries allowed again" in lines
    assert breaker_run.summary.breaker_trips == 1

    blocked = [decision for decision in rows.decisions if decision.reason_code == "breaker_open"]
    assert [_cycle_time(decision.consultation_key) for decision in blocked] == [
        datetime(2018, 2, 4, 16, tzinfo=UTC),
        datetime(2018, 2, 4, 20, tzinfo=UTC),
        datetime(2018, 2, 5, 12, tzinfo=UTC),
    ]
    assert all(decision.action == "SELL" and decision.outcome == "rejected" for decision in blocked)
    assert sum("SELL rejected (breaker_open)" in line for line in lines) == 3  # --verbose shows them
    assert not [trade for trade in rows.trades if tripped_at <= trade.opened_at < reopens_at]
    assert rows.trades[3].opened_at == datetime(2018, 2, 6, 4, tzinfo=UTC)  # the first signal after the cooldown

    # the breaker states were saved through the repositories: the pair's streak and the user's daily limit
    assert rows.pair.breaker_status == "running" and rows.pair.breaker["consecutive_losses"] == 1
    assert rows.state.breaker["day"] == "2018-02-07"
