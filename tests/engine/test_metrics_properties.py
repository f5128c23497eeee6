"""engine.metrics over random curves and trades: never raises, never NaN / inf, drawdown bounded, figures
invariant under scaling the money, and the daily statistics equal a pandas / numpy reference built from the SPEC."""

import json
import math
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.metrics import ClosedTrade, PortfolioMetrics, compute_metrics, drawdown_series

T0 = datetime(2024, 3, 1, 7, 13, tzinfo=UTC)
money = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False)
positive_money = st.decimals(min_value=Decimal("0.01"), max_value=10**6, places=4)
pnl = st.decimals(min_value=-(10**4), max_value=10**4, places=6)
gaps = st.integers(min_value=0, max_value=3 * 24 * 60)  # minutes between points: same day .. 3 days


@st.composite
def curves(draw: st.DrawFn, values: st.SearchStrategy[Decimal] = money) -> list[tuple[datetime, Decimal]]:
    steps = draw(st.lists(st.tuples(gaps, values), max_size=30))
    points, at = [], T0
    for minutes, equity in steps:
        at += timedelta(minutes=minutes)
        points.append((at, equity))
    return points


@st.composite
def trade_lists(draw: st.DrawFn) -> list[ClosedTrade]:
    out = []
    for value, start, length in draw(st.lists(st.tuples(pnl, gaps, gaps), max_size=10)):
        opened = T0 + timedelta(minutes=start)
        out.append(ClosedTrade(value, opened, opened + timedelta(minutes=length)))
    return out


def _every_float_is_finite(m: PortfolioMetrics) -> bool:
    return all(math.isfinite(v) for f in fields(m) if isinstance(v := getattr(m, f.name), float))


@settings(max_examples=300, deadline=None)
@given(curve=curves(), start=money, trades=trade_lists())
def test_compute_when_curves_are_arbitrary_then_it_never_raises_and_output_is_finite_or_none(
    curve: list[tuple[datetime, Decimal]], start: Decimal, trades: list[ClosedTrade]
) -> None:
    m = compute_metrics(curve, start, trades)
    assert _every_float_is_finite(m)
    json.dumps(m.to_json_dict(), allow_nan=False)
    assert len(m.lines()) == 7
    assert 0 <= m.max_drawdown <= 1  # equity never negative here
    assert m.max_drawdown == max(drawdown_series(curve, start), default=0)
    assert m.exposure is None or 0 <= m.exposure <= 1
    assert m.gross_profit + m.gross_loss == sum((t.net_pnl for t in trades), Decimal(0))  # exact
    assert m.wins + m.losses <= m.trades == len(trades)


@settings(max_examples=200, deadline=None)
@given(
    curve=curves(),
    start=money,
    trades=trade_lists(),
    factor=st.one_of(st.integers(1, 10**6).map(Decimal), st.sampled_from(["0.5", "0.001"]).map(Decimal)),
)
def test_compute_when_all_money_is_scaled_then_every_ratio_is_unchanged_and_money_scales(
    curve: list[tuple[datetime, Decimal]], start: Decimal, trades: list[ClosedTrade], factor: Decimal
) -> None:
    base = compute_metrics(curve, start, trades)
    scaled = compute_metrics(
        [(at, equity * factor) for at, equity in curve],
        start * factor,
        [ClosedTrade(t.net_pnl * factor, t.opened_at, t.closed_at) for t in trades],
    )
    # every quotient is the correctly rounded value of the same rational, so equality is exact, not approximate
    for name in ("total_return", "cagr", "roi_day", "roi_week", "roi_month", "volatility", "sharpe", "sortino"):
        assert getattr(scaled, name) == getattr(base, name), name
    for name in ("calmar", "max_drawdown", "max_drawdown_duration", "win_rate", "profit_factor", "exposure", "days"):
        assert getattr(scaled, name) == getattr(base, name), name
    assert scaled.profit == base.profit * factor
    assert scaled.gross_loss == base.gross_loss * factor


def close_to(value: float) -> object:
    return pytest.approx(value, rel=1e-9, abs=1e-12)


def _reference_returns(curve: list[tuple[datetime, Decimal]], start: Decimal) -> list[float]:
    """SPEC: the last observation of each UTC day, carried forward over empty days, day 1 vs the start."""
    series = pd.Series([e for _, e in curve], index=pd.DatetimeIndex([at for at, _ in curve]), dtype=object)
    closes = [start, *series.resample("1D").last().ffill().tolist()]
    return [float(b / a - 1) for a, b in zip(closes, closes[1:], strict=False) if a > 0]


@settings(max_examples=200, deadline=None)
@given(curve=curves(positive_money), start=positive_money)
def test_compute_when_equity_is_positive_then_daily_statistics_equal_a_pandas_numpy_reference(
    curve: list[tuple[datetime, Decimal]], start: Decimal
) -> None:
    m = compute_metrics(curve, start)
    returns = np.array(_reference_returns(curve, start)) if curve else np.array([])
    assert m.days == len(returns)
    if len(returns) < 2:
        assert (m.volatility, m.sharpe, m.sortino) == (None, None, None)
        return
    mean, stdev = returns.mean(), returns.std(ddof=1)
    downside = math.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    assert m.volatility == close_to(stdev * math.sqrt(365))
    if m.sharpe is None:
        assert stdev < 1e-12  # zero variance up to numpy's rounding
    else:
        assert m.sharpe == close_to(mean / stdev * math.sqrt(365))
    if m.sortino is None:
        assert downside == 0
    else:
        assert m.sortino == close_to(mean / downside * math.sqrt(365))
