"""The tour over three weeks of real candles: the three people's conversation with the router, alerts as the
outbox delivered them, a tripped breaker answered with /resume (or waited out), the equity charts /profit sent,
and a closing report whose every figure is what the database holds."""

from __future__ import annotations

from decimal import Decimal

from engine.formatting import price, signed
from tests.demo.conftest import DemoRun, UserRows, chart_paths

NAMES = ("Ann", "Ben", "Cid")


def _typed(run: DemoRun, name: str) -> list[str]:
    """What `name` typed, in order (the lines the demo echoes after the time stamp)."""
    marker = f"  {name} > "
    return [line.split(marker, 1)[1] for line in run.lines if marker in line]


def _after(run: DemoRun, start: str, count: int) -> list[str]:
    index = run.lines.index(start)
    return run.lines[index : index + count]


def test_tour_when_played_then_each_person_types_the_script_and_gets_the_bots_replies(tour_run: DemoRun) -> None:
    assert _typed(tour_run, "Ann") == [
        "/start", "/connect paper 10000", "/addpair BTC/USDT 2000 3", "/addpair ETH/USD 1000 2", "/resume", "1",
        "/status", "/profit",
    ]  # fmt: skip
    assert _typed(tour_run, "Ben") == [
        "/start", "/connect paper 5000", "/addpair BTC/USDT 1500 2", "/settings breaker_max_consecutive_losses 2",
        "/settings alert daily_summary off", "/resume", "1", "/status", "/profit",
    ]  # fmt: skip
    assert _typed(tour_run, "Cid") == [
        "/start", "/connect paper 3000", "/addpair btc/usdt 1000", "/settings breaker_cooldown_minutes 10080",
        "/settings alert daily_summary off", "/status", "/profit",
    ]  # fmt: skip
    assert _after(tour_run, "10 Jan 2018 00:00  Ann > /start", 2)[1] == "    Welcome to Quorum, Ann!"
    assert _after(tour_run, "10 Jan 2018 00:00  Ann > /addpair BTC/USDT 2000 3", 2)[1] == (
        "    ✅ Added BTC/USDT: budget 2,000 USDT at 3x."
    )
    # where the data does not allow it, the bot says so: the replay lists BTC/USDT only
    assert _after(tour_run, "10 Jan 2018 00:00  Ann > /addpair ETH/USD 1000 2", 2)[1] == (
        "    Unknown symbol ETH/USD on binance. Did you mean BTC/USDT?"
    )
    assert "ETH/USD: no hourly ETH history ships with Quorum" in tour_run.text
    assert _after(tour_run, "31 Jan 2018 00:00  Cid > /status", 2)[1].startswith("    Status · paper mode")


def test_tour_when_a_breaker_trips_then_the_person_resumes_through_the_bots_preview_and_button(
    tour_run: DemoRun, tour_rows: dict[str, UserRows]
) -> None:
    tripped = "29 Jan 2018 18:00  🔔 Ann: ⛔ Circuit breaker tripped · BTC/USDT"
    assert _after(tour_run, tripped, 3)[1:] == [
        "    BTC/USDT circuit breaker tripped: 3 losing trades in a row; new entries resume at 29 Jan 2018 22:00 UTC "
        "(/resume to restart sooner)",
        "    It reopens on its own at 29 Jan 2018 22:00 UTC, or /resume to decide now.",
    ]
    resume = tour_run.lines.index("29 Jan 2018 18:00  Ann > /resume")
    assert resume > tour_run.lines.index(tripped)
    assert tour_run.lines[resume + 1 : resume + 7] == [
        "    ⛔ BTC/USDT: circuit breaker tripped on 29 Jan 2018 18:00 UTC after 3 losing trades in a row; it reopens "
        "on its own at 29 Jan 2018 22:00 UTC. Resume trading now?",
        "    [1] Resume  [2] Cancel",
        "29 Jan 2018 18:00  Ann > 1",
        "    ▶️ Circuit breaker reset (BTC/USDT): new entries are allowed again.",
        "    • Circuit breaker reset: new entries on this pair are allowed again. It trips again after 3 losing trades "
        "in a row.",
        "29 Jan 2018 18:00  🔔 Ann: ▶️ Trading resumed · BTC/USDT",
    ]
    # Ben's own limit (2 losses) trips two weeks earlier; Cid waits out his week-long cooldown instead
    assert "15 Jan 2018 00:00  Ben > /resume" in tour_run.lines
    assert "29 Jan 2018 18:00  🔔 Cid: ⛔ Circuit breaker tripped · BTC/USDT" in tour_run.lines
    rows = tour_rows
    assert rows["Ann"].pair.breaker_status == "running" and rows["Ben"].pair.breaker_status == "running"
    assert rows["Cid"].pair.breaker_status == "open"
    by_name = {user.name: user for user in tour_run.report.users}
    assert (by_name["Ann"].breaker_trips, by_name["Ann"].resumed, by_name["Ann"].open_until) == (1, 1, None)
    assert (by_name["Cid"].breaker_trips, by_name["Cid"].resumed) == (1, 0)
    assert "  breaker:       tripped 1x, reset with /resume 0x; open, reopens on its own at 05 Feb 2018 18:00 UTC" in (
        tour_run.lines
    )


def test_tour_when_alerts_are_queued_then_each_is_delivered_and_printed_as_the_outbox_holds_it(
    tour_run: DemoRun, tour_rows: dict[str, UserRows]
) -> None:
    for name in NAMES:
        alerts = tour_rows[name].alerts
        assert alerts and all(row.sent_at is not None and not row.dropped for row in alerts)
        printed = [line.split(f"🔔 {name}: ", 1)[1] for line in tour_run.lines if f"🔔 {name}: " in line]
        assert printed == [row.text.split("\n", 1)[0].replace("<b>", "").replace("</b>", "") for row in alerts]
    kinds = [row.kind for row in tour_rows["Ann"].alerts]
    assert kinds.count("position_opened") == 3 and kinds.count("stop_loss_hit") == 3
    assert kinds.count("breaker_tripped") == 1 and kinds.count("breaker_resumed") == 1
    # quorum run's scheduled daily summary, on the simulated clock: one a day at 00:00 UTC for Ann, who kept it
    assert kinds.count("daily_summary") == 21
    assert "11 Jan 2018 00:00  🔔 Ann: 📊 Daily summary · all pairs" in tour_run.lines
    assert [row.kind for row in tour_rows["Ben"].alerts].count("daily_summary") == 0  # switched off


def test_tour_when_it_ends_then_the_report_is_the_databases_figures_and_the_charts_are_where_it_says(
    tour_run: DemoRun, tour_rows: dict[str, UserRows]
) -> None:
    reports = tour_run.report.users
    assert [report.name for report in reports] == list(NAMES)
    for report in reports:
        rows = tour_rows[report.name]
        state = rows.state
        assert (report.equity, report.balance, report.unrealized_pnl) == (
            state.equity,
            state.balance,
            state.unrealized_pnl,
        )
        assert report.realized_pnl == state.realized_pnl == rows.realized
        assert report.equity == report.balance + report.unrealized_pnl
        closed = [trade for trade in rows.trades if trade.status == "closed"]
        assert report.metrics.trades == len(closed) == 3
        assert report.metrics.losses == sum(1 for trade in closed if (trade.realized_pnl or 0) < 0)
        assert report.metrics.end_equity == state.equity
        assert f"  equity:        {price(report.equity)} USDT" in "\n".join(report.lines())
        assert f"realized {signed(report.realized_pnl)} USDT" in tour_run.text
    charts = chart_paths(tour_run.lines)
    assert charts == [report.chart for report in reports]
    for chart in charts:
        assert chart.is_file() and chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"[image saved to {chart}]" in tour_run.text  # what /profit sent, saved where the report says


def test_tour_when_trades_close_then_each_pnl_is_what_its_fills_say_and_every_decision_has_three_votes(
    tour_rows: dict[str, UserRows],
) -> None:
    for rows in tour_rows.values():
        fills = {order.id: [fill for fill in rows.fills if fill.order_id == order.id] for order in rows.orders}
        for trade in rows.trades:
            assert trade.entry_order_id is not None and trade.exit_order_id is not None
            entry, exit_ = fills[trade.entry_order_id], fills[trade.exit_order_id]
            sign = 1 if trade.side == "long" else -1
            moved = sum(f.price * f.amount for f in exit_) - sum(f.price * f.amount for f in entry)
            fees = sum((f.fee for f in entry + exit_), Decimal(0))
            assert sign * moved - fees == trade.realized_pnl
        keys = {decision.consultation_key for decision in rows.decisions}
        assert len(rows.decisions) == 21 * 6 + 1  # every 4h from the first tick to the last, both included
        assert {vote.consultation_key for vote in rows.votes} == keys
        assert {vote.provider for vote in rows.votes} == {"trend", "mean_reversion", "breakout"}  # offline only
