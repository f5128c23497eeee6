"""engine.charts renders real PNGs of the requested size, survives empty and one-point input, and keeps
matplotlib out of `import engine.charts`."""

import itertools
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.market import Candle
from engine.charts import (
    ChartWorker,
    EquitySeries,
    TradeMarker,
    candle_chart,
    draw_equity,
    envelope_indices,
    equity_chart,
)
from engine.metrics import drawdown_series

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2024, 3, 1, tzinfo=UTC)
MS0 = int(T0.timestamp() * 1000)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a PNG must start with right after the signature."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def curve(n: int) -> list[tuple[datetime, Decimal]]:
    values = [Decimal(1000) + Decimal(i % 7) * 10 - Decimal(i % 3) * 25 for i in range(n)]
    return [(T0 + timedelta(hours=4 * i), v) for i, v in enumerate(values)]


def candles(n: int) -> list[Candle]:
    out = []
    for i in range(n):
        o = Decimal(40000 + 50 * (i % 5))
        c = o + Decimal(30 if i % 2 else -30)
        out.append(Candle(MS0 + i * 900_000, o, max(o, c) + 20, min(o, c) - 20, c, Decimal(i + 1)))
    return out


def test_equity_chart_when_rendered_then_png_bytes_of_the_default_size() -> None:
    assert png_size(equity_chart(curve(50), None, title="Equity", starting_balance=Decimal(1000))) == (1000, 600)


def test_equity_chart_when_a_size_is_asked_then_the_png_has_exactly_that_size() -> None:
    assert png_size(equity_chart(curve(10), None, width=640, height=480, dpi=80)) == (640, 480)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_equity_chart_when_the_curve_is_empty_or_tiny_then_it_still_renders(n: int) -> None:
    assert png_size(equity_chart(curve(n), None)) == (1000, 600)


def test_equity_chart_when_flat_then_it_still_renders() -> None:
    flat = [(T0 + timedelta(days=i), Decimal(100)) for i in range(3)]
    assert png_size(equity_chart(flat, None)) == (1000, 600)


def test_equity_chart_when_a_path_is_given_then_the_file_holds_the_returned_bytes(tmp_path: Path) -> None:
    target = tmp_path / "equity.png"
    data = equity_chart(curve(5), target)
    assert target.read_bytes() == data


def test_candle_chart_when_rendered_with_markers_then_png_bytes_of_the_default_size(tmp_path: Path) -> None:
    bars = candles(40)
    markers = [
        TradeMarker(bars[5].ts, bars[5].close, "entry", "long"),
        TradeMarker(bars[12].ts, bars[12].close, "exit", "long"),
        TradeMarker(bars[20].ts, bars[20].close, "entry", "short"),
        TradeMarker(bars[30].ts, bars[30].close, "exit", "short"),
    ]
    target = tmp_path / "chart.png"
    data = candle_chart(bars, markers, target, title="BTC/USDT 15m")
    assert png_size(data) == (1000, 600)
    assert target.read_bytes() == data


@pytest.mark.parametrize("n", [0, 1])
def test_candle_chart_when_there_are_no_or_one_candle_then_it_still_renders(n: int) -> None:
    marker = [TradeMarker(MS0, Decimal(40000), "entry")]
    assert png_size(candle_chart(candles(n), marker, None, width=800, height=400)) == (800, 400)


def test_charts_when_the_size_is_not_positive_then_value_error() -> None:
    with pytest.raises(ValueError):
        equity_chart(curve(3), None, width=0)
    with pytest.raises(ValueError):
        candle_chart(candles(3), (), None, dpi=0)


def test_import_when_engine_charts_is_imported_then_matplotlib_is_not_loaded() -> None:
    code = "import sys, engine.charts; sys.exit('matplotlib' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=3000),
    gaps=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=3000),
    columns=st.integers(min_value=1, max_value=200),
)
def test_envelope_indices_when_any_curve_then_each_columns_ends_and_extremes_are_kept(values, gaps, columns):
    x = list(itertools.accumulate((float(gaps[i % len(gaps)]) for i in range(len(values))), initial=0.0))[1:]
    other = [-v / 2 for v in values]

    keep = envelope_indices(x, (values, other), columns)

    assert keep == sorted(set(keep)) and keep[0] == 0 and keep[-1] == len(values) - 1
    if len(values) <= 6 * columns:
        assert keep == list(range(len(values)))
        return
    span = x[-1] - x[0]
    column_of = [min(int((xi - x[0]) / span * columns), columns - 1) for xi in x]
    kept = set(keep)
    for column in set(column_of):
        members = [i for i, c in enumerate(column_of) if c == column]
        for series in (values, other):
            assert min(series[i] for i in members) in {series[i] for i in members if i in kept}
            assert max(series[i] for i in members) in {series[i] for i in members if i in kept}
        assert members[0] in kept and members[-1] in kept
    assert len(keep) <= 6 * columns


def test_chart_worker_when_drawing_then_the_same_png_as_drawing_here(tmp_path: Path) -> None:
    points = [(T0 + timedelta(hours=i), Decimal(1000) + Decimal(i % 97) - Decimal(i % 13) * 3) for i in range(9000)]
    series = EquitySeries.of(points, Decimal(1000))
    worker = ChartWorker()

    worker.start(series, tmp_path / "worker.png", title="Backtest equity")
    worker.finish()
    here = draw_equity(series, tmp_path / "here.png", title="Backtest equity")

    assert (tmp_path / "worker.png").read_bytes() == here == equity_chart(points, None, title="Backtest equity",
                                                                          starting_balance=Decimal(1000))  # fmt: skip
    assert png_size(here) == (1000, 600)


def test_chart_worker_when_started_then_the_child_draws_before_finish_is_called(tmp_path: Path) -> None:
    import time

    points = [(T0 + timedelta(hours=i), Decimal(1000) + Decimal(i % 29)) for i in range(500)]
    series = EquitySeries.of(points, Decimal(1000))
    worker = ChartWorker()
    path = tmp_path / "early.png"

    worker.start(series, path, title="early")
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:  # only the child writes it before finish()
        time.sleep(0.01)
    assert path.exists()
    worker.finish()

    assert path.read_bytes() == draw_equity(series, None, title="early")


def test_chart_worker_when_the_child_is_gone_then_finish_draws_here(tmp_path: Path) -> None:
    series = EquitySeries.of([(T0, Decimal(5)), (T0 + timedelta(hours=1), Decimal(4))], Decimal(5))
    worker = ChartWorker()
    worker.close()  # as if the child could not be started

    worker.start(series, tmp_path / "here.png", title="here")
    worker.finish()

    assert (tmp_path / "here.png").read_bytes() == draw_equity(series, None, title="here")
    with pytest.raises(RuntimeError, match="without start"):
        worker.finish()


def test_equity_series_when_given_the_falls_then_the_same_series_and_a_wrong_length_is_refused() -> None:
    points = [(T0 + timedelta(hours=i), Decimal(1000) + Decimal(i % 7) - Decimal(i % 5)) for i in range(50)]
    falls = drawdown_series(points, Decimal(1000))

    assert EquitySeries.of(points, Decimal(1000), falls) == EquitySeries.of(points, Decimal(1000))
    with pytest.raises(ValueError, match="49 drawdown falls for 50 equity points"):
        EquitySeries.of(points, Decimal(1000), falls[1:])
