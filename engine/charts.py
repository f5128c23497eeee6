"""PNG charts for /profit (equity and drawdown) and /chart (candles with entries and exits).

matplotlib is imported inside the functions, so importing engine/ stays fast and only a process that draws
pays for it. Figures use the object API (Figure + the Agg canvas), never pyplot: there is no global figure
state to leak or to share between threads. Without bbox_inches="tight" the PNG is exactly width x height pixels.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from domain.market import Candle
from domain.money import ms_to_datetime
from engine.metrics import drawdown_series

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_PX = 1000
HEIGHT_PX = 600
DPI = 100
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
    fig = _figure(width, height, dpi)
    ax_equity, ax_drawdown = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    fig.suptitle(title)
    ax_equity.set_ylabel("equity")
    ax_drawdown.set_ylabel("drawdown %")
    if not points:
        _no_data(ax_equity)
    else:
        times = [at for at, _ in points]
        equity = [float(value) for _, value in points]
        drawdown = [-float(fall) * 100 for fall in drawdown_series(points, starting_balance)]
        marker = "o" if len(points) == 1 else None
        ax_equity.plot(times, equity, color="#1f77b4", linewidth=1.4, marker=marker)
        ax_equity.grid(True, alpha=0.3)
        ax_drawdown.fill_between(times, drawdown, 0.0, color=_DOWN, alpha=0.35, linewidth=0)
        ax_drawdown.plot(times, drawdown, color=_DOWN, linewidth=1.0, marker=marker)
        ax_drawdown.set_ylim(top=0.0, bottom=min(min(drawdown), -1.0) * 1.1)
        ax_drawdown.grid(True, alpha=0.3)
        if times[0] == times[-1]:  # one instant: matplotlib would widen the axis to years
            ax_drawdown.set_xlim(times[0] - timedelta(hours=1), times[0] + timedelta(hours=1))
        _date_axis(ax_drawdown)
    return _render(fig, path)


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


def _figure(width: int, height: int, dpi: int) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if width <= 0 or height <= 0 or dpi <= 0:
        raise ValueError(f"chart size must be positive, got {width}x{height} at {dpi} dpi")
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, layout="constrained")  # keeps labels inside
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
