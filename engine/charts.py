"""PNG charts for /profit (equity and drawdown) and /chart (candles with entries and exits).

matplotlib is imported inside the functions, so importing engine/ stays fast and only a process that draws
pays for it. Figures use the object API (Figure + the Agg canvas), never pyplot: there is no global figure
state to leak or to share between threads. Without bbox_inches="tight" the PNG is exactly width x height pixels.
"""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from domain.market import Candle
from domain.money import ms_to_datetime
from engine.metrics import drawdown_series

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_PX = 1000
HEIGHT_PX = 600
DPI = 100
EQUITY_MARGINS = (80, 24, 40, 48)  # left, right, top, bottom: 7-digit equity labels, the title, dates + year
_UP = "#26a69a"
_DOWN = "#ef5350"


@dataclass(frozen=True, slots=True)
class TradeMarker:
    """An entry or exit drawn on a candle chart at (ts, price)."""

    ts: int  # UTC milliseconds
    price: Decimal
    kind: Literal["entry", "exit"]
    side: Literal["long", "short"] = "long"


_MARKER_STYLE: dict[tuple[str, str], tuple[str, str, str]] = {
    ("entry", "long"): ("^", _UP, "long entry"),
    ("entry", "short"): ("v", _DOWN, "short entry"),
    ("exit", "long"): ("X", "#333333", "exit"),
    ("exit", "short"): ("X", "#333333", "exit"),
}


@dataclass(frozen=True, slots=True)
class EquitySeries:
    """What an equity chart draws: UTC seconds, equity and drawdown (% below the running peak, <= 0) per point."""

    seconds: list[float]
    equity: list[float]
    drawdown: list[float]

    @classmethod
    def of(
        cls,
        points: Sequence[tuple[datetime, Decimal]],
        starting_balance: Decimal | None = None,
        falls: Sequence[Decimal] | None = None,
    ) -> EquitySeries:
        """falls: drawdown_series(points, starting_balance) when the caller has it already."""
        if falls is None:
            falls = drawdown_series(points, starting_balance)
        elif len(falls) != len(points):
            raise ValueError(f"{len(falls)} drawdown falls for {len(points)} equity points")
        return cls(
            [at.timestamp() for at, _ in points],
            [float(value) for _, value in points],
            [-float(fall) * 100 for fall in falls],
        )


def equity_chart(
    points: Sequence[tuple[datetime, Decimal]],
    path: str | os.PathLike[str] | None = None,
    *,
    title: str = "Equity",
    starting_balance: Decimal | None = None,
    width: int = WIDTH_PX,
    height: int = HEIGHT_PX,
    dpi: int = DPI,
) -> bytes:
    """Equity on top, drawdown (% below the running peak, the same definition as the metrics) below, one time
    axis. Returns the PNG bytes and also writes them to `path` when given."""
    return draw_equity(
        EquitySeries.of(points, starting_balance), path, title=title, width=width, height=height, dpi=dpi
    )


def draw_equity(
    series: EquitySeries,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str = "Equity",
    width: int = WIDTH_PX,
    height: int = HEIGHT_PX,
    dpi: int = DPI,
) -> bytes:
    """equity_chart of prepared series. A long curve is drawn through at most a few points per pixel column
    (envelope_indices): the picture is the same as with every point, and years of hourly equity cost no more
    to draw than a month."""
    fig = _figure(width, height, dpi, EQUITY_MARGINS)
    ax_equity, ax_drawdown = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.12})
    fig.suptitle(title)
    ax_equity.set_ylabel("equity")
    ax_drawdown.set_ylabel("drawdown %")
    seconds, drawdown = series.seconds, series.drawdown
    if not seconds:
        _no_data(ax_equity)
    else:
        keep = envelope_indices(seconds, (series.equity, drawdown), width)
        times = _date_numbers([seconds[i] for i in keep])
        equity, shown_drawdown = [series.equity[i] for i in keep], [drawdown[i] for i in keep]
        marker = "o" if len(seconds) == 1 else None
        ax_equity.plot(times, equity, color="#1f77b4", linewidth=1.4, marker=marker)
        ax_equity.grid(True, alpha=0.3)
        ax_drawdown.fill_between(times, shown_drawdown, 0.0, color=_DOWN, alpha=0.35, linewidth=0)
        ax_drawdown.plot(times, shown_drawdown, color=_DOWN, linewidth=1.0, marker=marker)
        ax_drawdown.set_ylim(top=0.0, bottom=min(min(drawdown), -1.0) * 1.1)
        ax_drawdown.grid(True, alpha=0.3)
        if times[0] == times[-1]:  # one instant: matplotlib would widen the axis to years
            ax_drawdown.set_xlim(times[0] - 1 / 24, times[0] + 1 / 24)
        _date_axis(ax_drawdown)
    return _render(fig, path)


def envelope_indices(x: Sequence[float], series: Sequence[Sequence[float]], columns: int) -> list[int]:
    """The indices of the points to draw so that a line through them looks like the line through all of them at
    `columns` pixel columns: per column (equal spans of x, which rises), its first and last point and where each
    series is lowest and highest. Every point is kept when there are no more than 6 per column."""
    n = len(x)
    if n <= 6 * max(columns, 1) or x[-1] <= x[0]:
        return list(range(n))
    start, span = x[0], x[-1] - x[0]
    keep: list[int] = []
    first = 0
    while first < n:
        column = min(int((x[first] - start) / span * columns), columns - 1)
        end = first + 1
        while end < n and min(int((x[end] - start) / span * columns), columns - 1) == column:
            end += 1
        chosen = {first, end - 1}
        for values in series:
            part = values[first:end]
            chosen.add(first + part.index(min(part)))
            chosen.add(first + part.index(max(part)))
        keep.extend(sorted(chosen))
        first = end
    return keep


def _date_numbers(seconds: Sequence[float]) -> list[float]:
    """matplotlib date numbers (days since its epoch) of UTC timestamps, without a datetime per point."""
    from matplotlib import dates as mdates

    epoch = float(mdates.date2num(datetime(1970, 1, 1, tzinfo=UTC)))
    return [epoch + second / 86_400 for second in seconds]


def candle_chart(
    candles: Sequence[Candle],
    markers: Sequence[TradeMarker] = (),
    path: str | os.PathLike[str] | None = None,
    *,
    title: str = "",
    width: int = WIDTH_PX,
    height: int = HEIGHT_PX,
    dpi: int = DPI,
) -> bytes:
    """Candles (wicks and bodies) with volume below, and entry / exit markers at their prices. Returns the PNG
    bytes and also writes them to `path` when given."""
    from matplotlib import dates as mdates

    fig = _figure(width, height, dpi)
    ax_price, ax_volume = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    if title:
        fig.suptitle(title)
    ax_volume.set_ylabel("volume")
    if not candles:
        _no_data(ax_price)
        return _render(fig, path)
    bars = sorted(candles, key=lambda c: c.ts)
    x = [float(mdates.date2num(ms_to_datetime(c.ts))) for c in bars]
    gaps = [b.ts - a.ts for a, b in zip(bars, bars[1:], strict=False) if b.ts > a.ts]
    body_width = (min(gaps) if gaps else 60_000) / 86_400_000 * 0.7  # matplotlib dates are in days
    colors = [_UP if c.close >= c.open else _DOWN for c in bars]
    ax_price.vlines(x, [float(c.low) for c in bars], [float(c.high) for c in bars], colors=colors, linewidth=0.8)
    ax_price.bar(
        x,
        [float(abs(c.close - c.open)) for c in bars],
        bottom=[float(min(c.open, c.close)) for c in bars],
        width=body_width,
        color=colors,
        edgecolor=colors,  # an edge keeps a doji (open == close) visible as a line
        linewidth=0.8,
    )
    ax_volume.bar(x, [float(c.volume) for c in bars], width=body_width, color=colors, alpha=0.6)
    labelled: set[str] = set()
    for marker in markers:
        shape, color, label = _MARKER_STYLE[(marker.kind, marker.side)]
        ax_price.scatter(
            [float(mdates.date2num(ms_to_datetime(marker.ts)))],
            [float(marker.price)],
            marker=shape,
            s=90,
            color=color,
            edgecolors="black",
            linewidths=0.6,
            zorder=3,
            label=None if label in labelled else label,
        )
        labelled.add(label)
    if labelled:
        ax_price.legend(loc="best", fontsize="small")
    ax_price.grid(True, alpha=0.3)
    ax_price.set_ylabel("price")
    _date_axis(ax_volume)
    return _render(fig, path)


class ChartWorker:
    """Draws an equity chart in a child process (engine.chart_worker) started before the data is ready: the
    child imports matplotlib (most of a chart's cost) on another core while the caller works.

    start() hands the child the chart and returns at once, so the caller can go on (a backtest writes its other
    files meanwhile); finish() returns once the PNG is written. If the child cannot be started
    or fails, the chart is drawn here."""

    def __init__(self) -> None:
        self._job: tuple[EquitySeries, str | os.PathLike[str], dict[str, Any]] | None = None
        try:
            self._child: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-m", "engine.chart_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,  # one line, "done", once the PNG is written and closed
                stderr=subprocess.DEVNULL,  # a child that fails is replaced by drawing here, which says why
            )
        except OSError:
            self._child = None

    def start(
        self,
        series: EquitySeries,
        path: str | os.PathLike[str],
        *,
        title: str = "Equity",
        width: int = WIDTH_PX,
        height: int = HEIGHT_PX,
        dpi: int = DPI,
    ) -> None:
        """Send the chart to the child (which reads it at once: it waits for it) and return."""
        if width <= 0 or height <= 0 or dpi <= 0:
            self.close()
            raise ValueError(f"chart size must be positive, got {width}x{height} at {dpi} dpi")
        style = {"title": title, "width": width, "height": height, "dpi": dpi}
        self._job = (series, path, style)
        child = self._child
        if child is None or child.stdin is None:
            return
        numbers = array("d", series.seconds)
        numbers.extend(series.equity)
        numbers.extend(series.drawdown)
        try:
            child.stdin.write(json.dumps({"path": os.fspath(path), **style, "points": len(series.seconds)}).encode())
            child.stdin.write(b"\n" + numbers.tobytes())
            child.stdin.close()
        except OSError:
            self.close()  # finish() draws here

    def finish(self, timeout_s: float = 120.0) -> None:
        """Wait until the PNG of start() is written (drawing it here if the child did not)."""
        job, self._job = self._job, None
        if job is None:
            raise RuntimeError("ChartWorker.finish() without start()")
        child, self._child = self._child, None
        drawn = child is not None and _done(child, timeout_s) and child.wait() == 0
        _close(child)
        if drawn:
            return
        series, path, style = job
        draw_equity(series, path, **style)

    def close(self) -> None:
        """Stop a child that was never given a chart."""
        child, self._child = self._child, None
        _close(child)


def _done(child: subprocess.Popen[bytes], timeout_s: float) -> bool:
    """Whether the child says "done" within timeout_s. Its stdout is read rather than its exit awaited: with a
    timeout, Popen.wait polls (sleeping up to 50 ms between looks), and the child leaves at once after the line
    (engine.chart_worker), so the wait() after it is short."""
    if child.stdout is None:
        return False
    try:
        readable, _, _ = select.select([child.stdout], [], [], timeout_s)
        return bool(readable) and child.stdout.readline() == b"done\n"
    except (OSError, ValueError):
        return False


def _close(child: subprocess.Popen[bytes] | None) -> None:
    if child is None:
        return
    if child.poll() is None:
        child.kill()
    child.wait()
    for stream in (child.stdin, child.stdout):
        if stream is not None:
            stream.close()


def load_matplotlib() -> None:
    """Import what drawing a chart needs (the chart worker does this first)."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.dates  # noqa: F401
    import matplotlib.figure  # noqa: F401


def _figure(width: int, height: int, dpi: int, margins: tuple[int, int, int, int] | None = None) -> Figure:
    """A figure of exactly width x height pixels. Without margins, constrained layout keeps every label inside;
    with margins (left, right, top, bottom in pixels at 100 dpi, scaled to dpi) the axes are placed at once,
    which costs about half as much to draw (constrained layout measures every label several times)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if width <= 0 or height <= 0 or dpi <= 0:
        raise ValueError(f"chart size must be positive, got {width}x{height} at {dpi} dpi")
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout=None if margins else "constrained")
    if margins:
        left, right, top, bottom = (
            min(px * dpi / 100, size / 3) for px, size in zip(margins, (width, width, height, height), strict=True)
        )
        fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height)
    FigureCanvasAgg(fig)
    return fig


def _date_axis(ax: Axes) -> None:
    from matplotlib import dates as mdates

    locator = mdates.AutoDateLocator(tz=UTC)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data yet", transform=ax.transAxes, ha="center", va="center", color="gray")


def _render(fig: Figure, path: str | os.PathLike[str] | None) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    data = buffer.getvalue()
    if path is not None:
        with open(path, "wb") as handle:
            handle.write(data)
    return data
