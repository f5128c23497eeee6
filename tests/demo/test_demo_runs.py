"""Short demo runs: the same arguments print the same lines; a position still open at the end is reported as the
database holds it; a database already in use is refused; PostgreSQL works as the database; and over any window
each person's equity is their paper balance plus their trades' P&L and open P&L, exactly."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.demo import DemoError, DemoOptions
from tests.conftest import PostgresFactory
from tests.demo.conftest import SHORT, DemoRun, load_rows, run

# Ann, Ben and Cid open a long on 14 Feb 2018 16:00 that is still open when the day ends.
OPEN_AT_END = DemoOptions(start=date(2018, 2, 14), days=1)


def _figures(result: DemoRun) -> list[tuple[object, ...]]:
    return [
        (r.name, r.equity, r.balance, r.realized_pnl, r.unrealized_pnl, r.metrics, r.breaker_trips, r.resumed)
        for r in result.report.users
    ]


def test_demo_when_run_twice_with_the_same_arguments_then_it_prints_the_same_lines(tmp_path: Path) -> None:
    first, second = run(SHORT, tmp_path / "first"), run(SHORT, tmp_path / "second")

    assert first.without_paths() == second.without_paths()
    assert _figures(first) == _figures(second)
    assert f"    [image saved to {tmp_path / 'first' / 'ann-profit.png'}]" in first.lines
    assert "15 Jan 2018 00:00  🔔 Ben: ⛔ Circuit breaker tripped · BTC/USDT" in first.lines
    assert first.lines[first.lines.index("15 Jan 2018 00:00  Ben > /resume") + 3] == "15 Jan 2018 00:00  Ben > 1"


def test_demo_when_a_position_is_open_at_the_end_then_the_report_shows_the_databases_open_pnl(
    tmp_path: Path,
) -> None:
    result = run(OPEN_AT_END, tmp_path)
    rows = load_rows(result)

    for report in result.report.users:
        state = rows[report.name].state
        assert report.open_positions == 1 and report.unrealized_pnl != 0
        assert (report.equity, report.balance, report.unrealized_pnl) == (
            state.equity,
            state.balance,
            state.unrealized_pnl,
        )
        assert report.equity == report.balance + report.unrealized_pnl
        assert [trade.status for trade in rows[report.name].trades] == ["open"]
    assert "  balance:       9,995.77 USDT; realized +0.00 USDT, unrealized +54.27 USDT (1 position open)" in (
        result.lines
    )


def test_demo_when_the_database_already_has_users_then_it_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run(replace(SHORT, days=1), tmp_path)
    before = load_rows(url)

    with pytest.raises(DemoError) as refused:
        run(SHORT, tmp_path)

    assert refused.value.option == "--database-url"
    assert "already holds 3 users; the demo registers its own three and needs an empty database" in refused.value.detail
    after = load_rows(url)
    assert {name: len(rows.decisions) for name, rows in after.items()} == {
        name: len(rows.decisions) for name, rows in before.items()
    }


@pytest.mark.postgres
def test_demo_when_given_a_postgresql_url_then_it_records_there(
    postgres_factory: PostgresFactory, tmp_path: Path
) -> None:
    result = run(replace(SHORT, days=2), tmp_path, postgres_factory.new_url())
    rows = load_rows(result)

    assert result.report.database_url.startswith("postgresql+asyncpg://")
    for report in result.report.users:
        assert report.equity == rows[report.name].state.equity
        assert report.realized_pnl == rows[report.name].realized
        assert report.metrics.trades == sum(1 for t in rows[report.name].trades if t.status == "closed") == 1


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.dates(min_value=date(2017, 8, 1), max_value=date(2019, 9, 30)),
    days=st.integers(min_value=1, max_value=3),
    cycle_hours=st.sampled_from([1, 2, 4, 6]),
)
def test_demo_when_any_window_is_played_then_equity_is_the_start_plus_realized_plus_open_pnl_exactly(
    start: date, days: int, cycle_hours: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = run(DemoOptions(start=start, days=days, cycle_hours=cycle_hours), Path(folder))
        rows = load_rows(result)
    for report in result.report.users:
        mine = rows[report.name]
        fees_open = sum((t.fees for t in mine.trades if t.status == "open"), Decimal(0))
        assert report.equity == report.starting_balance + mine.realized - fees_open + report.unrealized_pnl
        assert report.equity == mine.state.equity and report.realized_pnl == mine.realized
