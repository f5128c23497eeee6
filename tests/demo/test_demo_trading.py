"""The demo over real shipped candles: trades on paper, books every order, vote and decision, and the circuit
breaker trips after three losses in a row and keeps new entries out until its cooldown is over."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from tests.demo.conftest import BREAKER_SPAN, DemoResult, DemoRows

EXACT = Decimal("1e-9")  # fees and P&L are rounded to 1e-12 inside the paper exchange


def _cycle_time(consultation_key: str) -> datetime:
    """A consultation key ends in the open time of the last closed 1h candle: the cycle ran an hour later."""
    candle_ts = int(consultation_key.split(":")[2])
    return datetime.fromtimestamp(candle_ts / 1000 + 3600, UTC)


def test_demo_when_positions_open_and_close_then_each_trade_pnl_is_what_the_balance_moved(
    breaker_run: DemoResult, breaker_rows: DemoRows
) -> None:
    summary, rows = breaker_run.summary, breaker_rows
    assert len(summary.trades) >= 1
    assert [trade.status for trade in rows.trades] == ["closed"] * len(summary.trades)
    assert [trade.realized_pnl for trade in rows.trades] == [trade.pnl for trade in summary.trades]

    # the paper wallet moved by exactly the trades' P&L (flat at the end, so no margin is held)
    wallet = Decimal(rows.paper_state["ledger"]["totals"]["USDT"])
    assert wallet - BREAKER_SPAN.balance == sum((trade.realized_pnl for trade in rows.trades), Decimal(0))
    assert summary.final_equity == wallet == rows.state.equity == rows.state.balance

    # and each trade's P&L is what its own fills say: price moves times amounts, less every fee
    fills_by_order = {order.id: [fill for fill in rows.fills if fill.order_id == order.id] for order in rows.orders}
    for trade in rows.trades:
        assert trade.entry_order_id is not None and trade.exit_order_id is not None
        entry, exit_ = fills_by_order[trade.entry_order_id], fills_by_order[trade.exit_order_id]
        sign = 1 if trade.side == "long" else -1
        moved = sum(f.price * f.amount for f in exit_) - sum(f.price * f.amount for f in entry)
        fees = sum((f.fee for f in entry + exit_), Decimal(0))
        assert sum(f.amount for f in entry) == sum(f.amount for f in exit_) == trade.amount
        assert abs(sign * moved - fees - trade.realized_pnl) < EXACT
        assert trade.fees == fees
    assert "11 Jan 2018 04:00 BTC/USDT opened SHORT 0.15834 @ 13,292.76 (SL 13,906.33 / TP 12,235.97)" in "\n".join(
        breaker_run.lines
    )
    assert "11 Jan 2018 15:00 BTC/USDT closed SHORT 0.15834 @ 13,917.90 -103.29 USDT (stop loss)" in breaker_run.lines


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


def test_demo_when_cycles_run_then_every_decision_and_every_vote_is_stored(
    breaker_run: DemoResult, breaker_rows: DemoRows
) -> None:
    summary, rows = breaker_run.summary, breaker_rows
    assert len(rows.decisions) == summary.cycles == 27 * 6
    assert Counter(decision.outcome for decision in rows.decisions) == summary.outcomes
    assert Counter(decision.action for decision in rows.decisions) == summary.decisions
    votes_by_key = Counter(vote.consultation_key for vote in rows.votes)
    assert set(votes_by_key) == {decision.consultation_key for decision in rows.decisions}
    assert set(votes_by_key.values()) == {3}  # trend, mean reversion, breakout: one row each per consultation
    assert {vote.provider for vote in rows.votes} == {"trend", "mean_reversion", "breakout"}
    executed = [decision for decision in rows.decisions if decision.outcome == "executed"]
    assert len(executed) == len(rows.trades)
    assert {decision.order_id for decision in executed} == {trade.entry_order_id for trade in rows.trades}
    assert all(decision.reason_code == "hold" for decision in rows.decisions if decision.outcome == "hold")


def test_demo_when_three_trades_lose_in_a_row_then_the_breaker_trips_and_no_entry_comes_before_it_reopens(
    breaker_run: DemoResult, breaker_rows: DemoRows
) -> None:
    lines, rows = breaker_run.lines, breaker_rows
    assert [trade.pnl < 0 for trade in breaker_run.summary.trades[:3]] == [True, True, True]
    tripped_at = rows.trades[2].closed_at
    reopens_at = datetime(2018, 2, 5, 15, tzinfo=UTC)  # one week later
    assert tripped_at == datetime(2018, 1, 29, 15, tzinfo=UTC)
    tripped_line = "29 Jan 2018 15:00 circuit breaker tripped: 3 losing trades in a row; new entries resume at "
    assert tripped_line + "05 Feb 2018 15:00 UTC" in lines
    assert "05 Feb 2018 15:00 circuit breaker cooldown over: new entries allowed again" in lines
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
