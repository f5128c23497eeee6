"""Portfolio metrics from an equity curve and closed trades: pure arithmetic, no I/O, no clock.

Conventions (SPEC "Metrics conventions", fixed so figures compare with other tools):

* Returns are UTC-daily simple returns. Each UTC day from the first observation's day to the last one's
  (inclusive, ``days`` of them) closes at its last observation; a day with no observation carries the previous
  close forward (a 0 return). Day 1's return is against the starting balance. A return whose base equity is
  <= 0 is undefined and left out of the statistics.
* 365 periods a year (crypto trades every day), risk-free rate 0.
* volatility = sample stdev (ddof=1) * sqrt(365); Sharpe = mean / sample stdev * sqrt(365);
  Sortino = mean / DD * sqrt(365) with DD = sqrt(mean over ALL periods of min(r, 0)^2) (target 0).
  All three need at least 2 daily returns.
* CAGR = (end / start) ** (365 / days) - 1. ROI per day / week / month is GEOMETRIC: the average daily growth
  g = (end / start) ** (1 / days) - 1, compounded to 1, 7 and 30 days ((1 + g) ** k - 1), so ROI per
  week is what a week at the average pace returns. Calmar = CAGR / max drawdown.
* Max drawdown is the worst peak-to-trough fall over EVERY recorded point (not only daily closes), as a
  fraction of the peak. The starting balance is the first peak (the account was worth it before the first
  observation, at the first observation's time), so a curve that opens below it shows that loss. Its
  duration runs from the peak to the first point back at or above the peak, or to the last point if never.
  The first of equally deep drawdowns is reported. It exceeds 1 only if equity goes negative.

Types: money (equity, profit, average win / loss, expectancy, gross profit / loss) is Decimal, and sums and
differences are exact. Quotients of money amounts (total_return, max_drawdown, profit_factor, win_rate) are
Decimal rounded to 28 significant digits; everything with roots, powers or statistics (cagr, roi_*, volatility,
sharpe, sortino, calmar, exposure) is float. A figure that is undefined, or not a finite float, is None --
never NaN or inf. Contract violations (naive or out-of-order timestamps, non-finite Decimals, a trade closed
before it opened) raise ValueError; every edge case of valid data (empty curve, one day, no trades, no losses,
zero variance) returns a result.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal, localcontext
from typing import NamedTuple, Protocol

PERIODS_PER_YEAR = 365
_SQRT_YEAR = math.sqrt(PERIODS_PER_YEAR)
_ZERO = Decimal(0)
_NAN = Decimal("NaN")
# Sums and differences of NUMERIC(38, 18) money stay exact at 80 digits; quotients round at the usual 28.
_EXACT = Context(prec=80)
_RATIO = Context(prec=28)


class EquityPoint(NamedTuple):
    at: datetime
    equity: Decimal


class TradeLike(Protocol):
    """A closed round trip; net_pnl includes every fee."""

    @property
    def net_pnl(self) -> Decimal: ...
    @property
    def opened_at(self) -> datetime: ...
    @property
    def closed_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    net_pnl: Decimal
    opened_at: datetime
    closed_at: datetime


@dataclass(frozen=True, slots=True)
class PortfolioMetrics:
    start: datetime | None  # first observation; None for an empty curve
    end: datetime | None
    days: int  # UTC days covered, = number of daily periods
    start_equity: Decimal  # the starting balance
    end_equity: Decimal  # last observation (the starting balance when nothing was observed)
    profit: Decimal  # end_equity - start_equity, exact
    total_return: Decimal | None  # end / start - 1; None when the starting balance is <= 0
    cagr: float | None
    roi_day: float | None
    roi_week: float | None
    roi_month: float | None
    volatility: float | None
    sharpe: float | None  # None also for zero variance (it would be +-inf)
    sortino: float | None  # None also when no period lost (no downside)
    calmar: float | None  # None when there was no drawdown
    max_drawdown: Decimal
    max_drawdown_duration: timedelta
    max_drawdown_recovered: bool  # True when there was no drawdown, or it was won back
    trades: int
    wins: int  # net_pnl > 0; break-even trades count in trades only
    losses: int  # net_pnl < 0
    win_rate: Decimal | None  # wins / trades
    gross_profit: Decimal  # sum of winning net_pnl
    gross_loss: Decimal  # sum of losing net_pnl (<= 0)
    average_win: Decimal | None
    average_loss: Decimal | None  # negative
    profit_factor: Decimal | None  # gross_profit / -gross_loss; None without losses (undefined, not inf)
    expectancy: Decimal | None  # mean net_pnl per trade
    exposure: float | None  # fraction of [start, end] with a position open; None for a zero-length curve

    def to_json_dict(self) -> dict[str, object]:
        """JSON-safe values for metrics.json: Decimal as str, datetime as ISO 8601, timedelta as
        ``<name>_seconds`` (float), None kept."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Decimal):
                out[f.name] = str(value)
            elif isinstance(value, datetime):
                out[f.name] = value.isoformat()
            elif isinstance(value, timedelta):
                out[f"{f.name}_seconds"] = value.total_seconds()
            else:
                out[f.name] = value
        return out

    def lines(self) -> list[str]:
        """Short human-readable lines (for /profit and logs); undefined figures read n/a."""
        ret = "n/a" if self.total_return is None else _pct(float(self.total_return))
        recovery = "" if self.max_drawdown_recovered else ", not recovered"
        return [
            f"Equity {_money(self.start_equity)} -> {_money(self.end_equity)} "
            f"({_signed_money(self.profit)}, {ret}) over {self.days} days",
            f"CAGR {_pct(self.cagr)} · ROI/day {_pct(self.roi_day)} · week {_pct(self.roi_week)}"
            f" · month {_pct(self.roi_month)}",
            f"Sharpe {_num(self.sharpe)} · Sortino {_num(self.sortino)} · Calmar {_num(self.calmar)}"
            f" · volatility {_pct(self.volatility, signed=False)}",
            f"Max drawdown {_pct(float(self.max_drawdown), signed=False)} "
            f"lasting {_duration(self.max_drawdown_duration)}{recovery}",
            f"Trades {self.trades} · win rate {_pct(_f(self.win_rate), signed=False)}"
            f" · profit factor {_num(_f(self.profit_factor))}",
            f"Avg win {_signed_money(self.average_win)} · avg loss {_signed_money(self.average_loss)}"
            f" · expectancy {_signed_money(self.expectancy)}",
            f"Exposure {_pct(self.exposure, signed=False)}",
        ]


def compute_metrics(
    curve: Sequence[tuple[datetime, Decimal]],
    starting_balance: Decimal,
    trades: Iterable[TradeLike] = (),
    time_in_market: timedelta | None = None,
    *,
    drawdown: Sequence[Decimal] | None = None,
) -> PortfolioMetrics:
    """All metrics for one account or pair. ``time_in_market`` (time with at least one position open) wins
    over the union of the trades' open intervals when given; either is clipped to the curve's span.
    ``drawdown`` is drawdown_series(curve, starting_balance) when the caller has it already (a backtest makes
    it once for its chart and its metrics); it must hold one fall per point."""
    points = _checked_curve(curve)
    if drawdown is not None and len(drawdown) != len(points):
        raise ValueError(f"drawdown holds {len(drawdown)} falls for {len(points)} equity points")
    closed = list(trades)
    _check_finite(starting_balance, "starting balance")
    for trade in closed:
        _check_finite(trade.net_pnl, "trade net_pnl")
        _check_aware(trade.opened_at)
        _check_aware(trade.closed_at)
        if trade.closed_at < trade.opened_at:
            raise ValueError(f"trade closed at {trade.closed_at} before it opened at {trade.opened_at}")
    with localcontext(_EXACT):
        return _compute(points, starting_balance, closed, time_in_market, drawdown)


def drawdown_series(
    curve: Sequence[tuple[datetime, Decimal]], starting_balance: Decimal | None = None
) -> list[Decimal]:
    """Fall from the running peak at every point, as a fraction of the peak (0 at a new high). A point whose
    peak so far is <= 0 has no defined drawdown and reads 0. The starting balance, when given, is the first peak."""
    peak = starting_balance if starting_balance is not None and starting_balance > 0 else None
    out: list[Decimal] = []
    divide = _RATIO.divide
    # a run of points with the same equity (a flat book) has one fall: a quotient depends only on the operands'
    # values and exponents, and the peak cannot change within such a run (after a point the peak is that equity
    # or above it), so the fall is computed again only when the equity's value or exponent changes
    last_equity = fall = _NAN  # equal to nothing
    with localcontext(_EXACT):
        for _, equity in curve:
            if peak is None or equity >= peak:
                peak = equity
            if equity != last_equity or not equity.same_quantum(last_equity):
                last_equity = equity
                fall = divide(peak - equity, peak) if peak > 0 else _ZERO
            out.append(fall)
    return out


def _compute(
    points: list[EquityPoint],
    start: Decimal,
    trades: list[TradeLike],
    time_in_market: timedelta | None,
    drawdown: Sequence[Decimal] | None,
) -> PortfolioMetrics:
    end = points[-1].equity if points else start
    days, returns = _daily_returns(points, start)
    ratio = _RATIO.divide(end, start) if start > 0 else None
    growth = float(ratio) if ratio is not None else None

    cagr = _compound(growth, PERIODS_PER_YEAR, days)
    mdd, mdd_duration, recovered = _max_drawdown(points, start, drawdown)
    volatility = sharpe = sortino = None
    if len(returns) >= 2:
        mean = _finite(lambda: statistics.fmean(returns))
        stdev = _finite(lambda: statistics.stdev(returns))
        downside = _finite(lambda: math.sqrt(statistics.fmean([min(r, 0.0) ** 2 for r in returns])))
        volatility = _scaled(stdev, 1.0)
        sharpe = _scaled(mean, stdev)
        sortino = _scaled(mean, downside)
    calmar = _finite(lambda: cagr / float(mdd)) if cagr is not None and mdd > 0 else None

    pnls = [t.net_pnl for t in trades]
    won = [p for p in pnls if p > 0]
    lost = [p for p in pnls if p < 0]
    gross_profit = sum(won, _ZERO)
    gross_loss = sum(lost, _ZERO)
    return PortfolioMetrics(
        start=points[0].at if points else None,
        end=points[-1].at if points else None,
        days=days,
        start_equity=start,
        end_equity=end,
        profit=end - start,
        total_return=ratio - 1 if ratio is not None else None,
        cagr=cagr,
        roi_day=_compound(growth, 1, days),
        roi_week=_compound(growth, 7, days),
        roi_month=_compound(growth, 30, days),
        volatility=volatility,
        sharpe=sharpe,
        sortino=sortino,
        calmar=calmar,
        max_drawdown=mdd,
        max_drawdown_duration=mdd_duration,
        max_drawdown_recovered=recovered,
        trades=len(pnls),
        wins=len(won),
        losses=len(lost),
        win_rate=_RATIO.divide(Decimal(len(won)), Decimal(len(pnls))) if pnls else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        average_win=_RATIO.divide(gross_profit, Decimal(len(won))) if won else None,
        average_loss=_RATIO.divide(gross_loss, Decimal(len(lost))) if lost else None,
        profit_factor=_RATIO.divide(gross_profit, -gross_loss) if lost else None,
        expectancy=_RATIO.divide(sum(pnls, _ZERO), Decimal(len(pnls))) if pnls else None,
        exposure=_exposure(points, trades, time_in_market),
    )


def _daily_returns(points: list[EquityPoint], start: Decimal) -> tuple[int, list[float]]:
    """(number of UTC days covered, defined daily simple returns as floats)."""
    if not points:
        return 0, []
    closes: dict[date, Decimal] = {}
    last_at, day = None, date.min
    for at, equity in points:
        if at is not last_at:  # points of one time often share their datetime (engine.backtest._dated)
            last_at, day = at, at.astimezone(UTC).date()
        closes[day] = equity  # time-ordered: the day's last observation wins
    first = points[0].at.astimezone(UTC).date()
    days = (points[-1].at.astimezone(UTC).date() - first).days + 1
    returns: list[float] = []
    previous = start
    for offset in range(days):
        close = closes.get(first + timedelta(days=offset), previous)
        if previous > 0:
            returns.append(float(_RATIO.divide(close, previous) - 1))
        previous = close
    return days, returns


def _max_drawdown(
    points: list[EquityPoint], start: Decimal, series: Sequence[Decimal] | None = None
) -> tuple[Decimal, timedelta, bool]:
    """(depth, duration, recovered) of the deepest drawdown; see the module docstring."""
    if not points:
        return _ZERO, timedelta(0), True
    if series is None:
        series = drawdown_series(points, start)
    worst = max(series)
    if worst <= 0:
        return _ZERO, timedelta(0), True
    trough = series.index(worst)
    peak_at = points[0].at  # the starting balance's stand-in time, if no recorded point was the peak
    for i in range(trough - 1, -1, -1):
        if series[i] == 0:
            peak_at = points[i].at
            break
    for i in range(trough + 1, len(points)):
        if series[i] == 0:
            return worst, points[i].at - peak_at, True
    return worst, points[-1].at - peak_at, False


def _exposure(points: list[EquityPoint], trades: list[TradeLike], time_in_market: timedelta | None) -> float | None:
    if len(points) < 2 or points[-1].at == points[0].at:
        return None
    lo, hi = points[0].at, points[-1].at
    span = hi - lo
    if time_in_market is not None:
        if time_in_market < timedelta(0):
            raise ValueError(f"time in market cannot be negative: {time_in_market}")
        return min(time_in_market / span, 1.0)  # time before the curve's first point cannot count
    covered = timedelta(0)
    cursor = lo
    for trade in sorted(trades, key=lambda t: t.opened_at):
        begin, finish = max(trade.opened_at, cursor), min(trade.closed_at, hi)
        if finish > begin:
            covered += finish - begin
            cursor = finish
    return covered / span


def _compound(growth: float | None, periods: int, days: int) -> float | None:
    """(growth ** (periods / days)) - 1: the average daily pace compounded over `periods` days."""
    if growth is None or days <= 0 or growth < 0:
        return None  # undefined: no starting balance, no days, or a negative end equity
    return _finite(lambda: growth ** (periods / days) - 1)


def _scaled(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator * sqrt(365); None when either is undefined or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return _finite(lambda: numerator / denominator * _SQRT_YEAR)


def _finite(compute: Callable[[], float]) -> float | None:
    """The value if it is a finite float; None when it overflows or is not finite."""
    try:
        value = compute()
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _checked_curve(curve: Sequence[tuple[datetime, Decimal]]) -> list[EquityPoint]:
    points = [EquityPoint(at, equity) for at, equity in curve]
    previous = None
    for at, equity in points:
        new_time = at is not previous  # a datetime shared with the previous point was checked there
        if new_time:
            _check_aware(at)
        _check_finite(equity, "equity")
        if new_time:
            if previous is not None and at < previous:
                raise ValueError(f"equity curve is not time-ordered at {at}")
            previous = at
    return points


def _check_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at}: metrics need timezone-aware UTC times")


def _check_finite(value: Decimal, what: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{what} must be a finite Decimal, got {value!r}")


def _f(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _pct(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "n/a"
    pct = value * 100
    spec = "+" if signed else ""
    return f"{pct:{spec}.2f}%" if abs(pct) < 1e6 else f"{pct:{spec}.3e}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _signed_money(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:+,.2f}"


def _duration(value: timedelta) -> str:
    hours = value.seconds // 3600
    minutes = value.seconds % 3600 // 60
    return f"{value.days}d {hours}h {minutes:02d}m"
