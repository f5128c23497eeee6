"""`quorum demo` on the command line: the README's first command runs to its report with no keys and no network,
and an argument that cannot work is refused with a sentence that says what to change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from adapters.exchange.candle_file import shipped_candle_file
from adapters.exchange.replay import ReplayFeed
from quorum.cli_demo import demo
from quorum.demo import DemoError, DemoOptions, plan, run_demo
from quorum.demo_screen import Screen
from tests.demo.conftest import chart_paths, offline_settings

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "OPENAI_COMPATIBLE_API_KEY", "TELEGRAM_BOT_TOKEN")


@pytest.fixture(scope="module")
def data_span() -> tuple[int, int]:
    series = ReplayFeed.from_file(shipped_candle_file()).series("BTC/USDT")
    return series.first_close_ms, series.last_close_ms


@pytest.mark.parametrize(
    ("changes", "option", "says"),
    [
        ({"days": 0}, "--days", "at least 1 (got 0)"),
        ({"cycle_hours": 0}, "--cycle-hours", "between 1 and 24 (got 0)"),
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
        plan(replace(DemoOptions(), **changes), *data_span)
    assert raised.value.option == option
    assert says in raised.value.detail


def test_plan_when_the_start_is_the_first_day_of_the_data_then_the_history_starts_at_the_first_close(
    data_span: tuple[int, int],
) -> None:
    window = plan(DemoOptions(start=date(2017, 7, 1), days=1), *data_span)
    assert window.start_ms == data_span[0]  # 2017-07-01 12:00 UTC
    assert window.end_ms == data_span[0] - 12 * 3_600_000 + 86_400_000


async def test_run_demo_when_arguments_are_refused_then_nothing_is_created(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    with pytest.raises(DemoError, match="--days: "):
        await run_demo(DemoOptions(days=-1, database_url=f"sqlite:///{database}", charts=tmp_path), offline_settings())
    assert not database.exists()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(demo)
    return app


def test_cli_when_run_then_it_prints_the_conversation_and_the_report(tmp_path: Path, restore_logging: None) -> None:
    database = tmp_path / "cli.db"
    result = CliRunner().invoke(
        _app(),
        ["--start", "2018-01-11", "--days", "1", "--database-url", f"sqlite:///{database}", "--charts", str(tmp_path)],
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "11 Jan 2018 00:00  Ann > /connect paper 10000" in lines
    assert "11 Jan 2018 04:00  🔔 Cid: 📈 Position opened · BTC/USDT" in lines
    assert "Closing report, 11 Jan 2018 00:00 to 12 Jan 2018 00:00 UTC" in lines
    assert chart_paths(lines) == [tmp_path / f"{name}-profit.png" for name in ("ann", "ben", "cid")]
    assert f"Database: sqlite+aiosqlite:///{database} (every order" in result.output
    assert database.exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--start", "2018-02-30"], "is not a date; write it as YYYY-MM-DD"),
        (["--days", "0"], "at least 1 (got 0)"),
        (["--days", "many"], "unable to parse string as an integer"),
        (["--cycle-hours", "30"], "between 1 and 24 (got 30)"),
        (["--start", "2020-01-01"], "pick a day from 2017-07-01 to 2019-10-16"),
    ],
)
def test_cli_when_an_argument_is_wrong_then_it_exits_2_with_the_reason(
    args: list[str], says: str, restore_logging: None
) -> None:
    result = CliRunner().invoke(_app(), args)

    assert result.exit_code == 2
    assert says in " ".join(result.output.replace("│", " ").split())


def _offline(command: list[str]) -> list[str]:
    """The command in a new network namespace (loopback only, down) when this machine allows one."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True, check=False).returncode == 0:
        return [unshare, "-n", *command]
    return command


@pytest.mark.slow
def test_cli_when_the_readme_command_runs_with_no_keys_and_no_network_then_it_reaches_the_report(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k.upper() not in KEYS and k != "DATABASE_URL"}
    env.update(HOME=str(tmp_path), TMPDIR=str(tmp_path), MPLCONFIGDIR=str(tmp_path / "mpl"))
    done = subprocess.run(
        _offline([str(Path(sys.executable).parent / "quorum"), "demo"]),
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert (
        "History: 10 Jan 2018 00:00 to 09 Feb 2018 00:00 UTC (30 days), a decision every 4h on 1h/4h/1d candles."
        in (lines)
    )
    assert any(line.endswith("  Ann > /resume") for line in lines)
    assert "Closing report, 10 Jan 2018 00:00 to 09 Feb 2018 00:00 UTC" in lines
    charts = chart_paths(lines)
    assert len(charts) == 3 and all(path.is_file() and path.is_relative_to(tmp_path) for path in charts)
    assert "Traceback" not in done.stderr


def test_screen_when_on_a_terminal_then_lines_print_above_a_progress_bar_over_the_simulated_time() -> None:
    out = StringIO()
    screen = Screen(console=Console(file=out, force_terminal=True, width=100, color_system=None))
    start = 1_515_542_400_000  # 10 Jan 2018 00:00 UTC
    with screen.progress(start, start + 10 * 3_600_000) as advance:
        screen.line("10 Jan 2018 01:00  🔔 Ann: 📈 Position opened · BTC/USDT")
        advance(start + 5 * 3_600_000)
    shown = out.getvalue()

    assert screen.rich
    assert "10 Jan 2018 01:00  🔔 Ann: 📈 Position opened · BTC/USDT" in shown
    assert "replaying the history" in shown and "10 Jan 2018 05:00 UTC" in shown
    assert Screen(emit=print).rich is False  # plain lines, no bar, when told where to write
