"""`quorum demo` on the command line, and the arguments it refuses with a sentence that says what to change."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from loguru import logger
from typer.testing import CliRunner

from adapters.exchange.candle_file import shipped_candle_file
from adapters.exchange.replay import ReplayFeed
from domain.money import ms_to_datetime
from quorum.cli_demo import demo
from quorum.demo import DemoError, DemoOptions, plan, run_demo
from tests.demo.conftest import offline_settings


@pytest.fixture(scope="module")
def data_span() -> tuple[int, int]:
    series = ReplayFeed.from_file(shipped_candle_file()).series("BTC/USDT")
    return series.first_close_ms, series.last_close_ms


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The command configures loguru onto the runner's captured stream; put the default sink back after."""
    yield
    logger.remove()
    logger.add(sys.stderr)


@pytest.mark.parametrize(
    ("changes", "option", "says"),
    [
        ({"days": 0}, "--days", "at least 1 (got 0)"),
        ({"balance": Decimal(0)}, "--balance", "must be a positive amount of USDT (got 0)"),
        ({"budget": Decimal(-5)}, "--budget", "must be a positive amount of USDT (got -5)"),
        ({"budget": Decimal(20000)}, "--budget", "20000 is more than the --balance 10000"),
        ({"leverage": 0}, "--leverage", "between 1 and 5 (the MAX_LEVERAGE setting); got 0"),
        ({"leverage": 6}, "--leverage", "between 1 and 5 (the MAX_LEVERAGE setting); got 6"),
        ({"cycle_hours": 25}, "--cycle-hours", "between 1 and 24 (got 25)"),
        ({"start": date(2017, 6, 30)}, "--start", "pick a day from 2017-07-01 to 2019-10-16"),
        ({"start": date(2019, 10, 17), "days": 1}, "--start", "outside the data: the shipped candles run from"),
        ({"start": date(2019, 10, 1), "days": 30}, "--days", "Use --days 16 at most, or an earlier --start"),
    ],
)
def test_plan_when_an_argument_cannot_work_then_demo_error_names_the_option_and_the_fix(
    data_span: tuple[int, int], changes: dict[str, object], option: str, says: str
) -> None:
    with pytest.raises(DemoError) as raised:
        plan(replace(DemoOptions(), **changes), offline_settings(), *data_span)
    assert raised.value.option == option
    assert says in raised.value.detail


def test_plan_when_the_start_is_the_first_day_of_the_data_then_cycles_begin_at_the_first_candle_close(
    data_span: tuple[int, int],
) -> None:
    window = plan(DemoOptions(start=date(2017, 7, 1), days=1), offline_settings(), *data_span)
    assert window.first_cycle_ms == data_span[0]  # 2017-07-01 12:00 UTC, on the 4h grid
    assert window.end_ms == window.start_ms + 86_400_000


@pytest.mark.parametrize(("cycle_hours", "first_cycle"), [(4, "2018-01-01 00:00"), (5, "2018-01-01 02:00")])
def test_plan_when_the_cycle_does_not_divide_the_day_then_the_first_cycle_is_on_the_engines_utc_grid(
    data_span: tuple[int, int], cycle_hours: int, first_cycle: str
) -> None:
    """The engine decides at multiples of the cycle since the epoch (UTC); the demo starts on that grid."""
    window = plan(DemoOptions(start=date(2018, 1, 1), cycle_hours=cycle_hours), offline_settings(), *data_span)
    assert window.first_cycle_ms % (cycle_hours * 3_600_000) == 0
    assert f"{ms_to_datetime(window.first_cycle_ms):%Y-%m-%d %H:%M}" == first_cycle


async def test_run_demo_when_arguments_are_refused_then_nothing_is_created(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    with pytest.raises(DemoError, match="--days: "):
        await run_demo(DemoOptions(days=-1, database_url=f"sqlite:///{database}"), offline_settings(), print)
    assert not database.exists()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(demo)
    return app


def test_cli_when_run_then_it_prints_trades_and_the_summary(tmp_path: Path, restore_logging: None) -> None:
    database = tmp_path / "cli.db"
    result = CliRunner().invoke(
        _app(), ["--start", "2018-02-04", "--days", "1", "--database-url", f"sqlite:///{database}"]
    )

    assert result.exit_code == 0, result.output
    assert "04 Feb 2018 16:00 BTC/USDT opened SHORT" in result.output
    assert "Summary: BTC/USDT, 04 Feb 2018 00:00 to 05 Feb 2018 00:00 UTC (1 day)" in result.output
    assert "  cycles:          6 (a decision every 4h)" in result.output
    assert f"sqlite+aiosqlite:///{database}" in result.output
    assert database.exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--start", "2018-02-30"], "is not a date; write it as YYYY-MM-DD"),
        (["--balance", "lots"], "'lots' is not a number of USDT"),
        (["--budget", "0"], "must be a positive amount of USDT"),
        (["--days", "0"], "at least 1 (got 0)"),
        (["--start", "2020-01-01"], "pick a day from 2017-07-01 to 2019-10-16"),
    ],
)
def test_cli_when_an_argument_is_wrong_then_it_exits_2_with_the_reason(
    args: list[str], says: str, restore_logging: None
) -> None:
    result = CliRunner().invoke(_app(), args)

    assert result.exit_code == 2
    assert says in " ".join(result.output.replace("│", " ").split())
