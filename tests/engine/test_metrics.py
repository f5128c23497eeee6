"""engine.metrics against numbers worked out by hand from the SPEC's conventions (the arithmetic is written
next to each expectation), plus edge cases and contract violations."""

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from engine.metrics import ClosedTrade, PortfolioMetrics, compute_metrics, drawdown_series

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)  # noon, well inside a UTC day
SQRT_YEAR = math.sqrt(365)
approx = pytest.approx


def daily(*values: str, start: datetime = T0) -> list[tuple[datetime, Decimal]]:
    return [(start + timedelta(days=i), Decimal(v)) for i, v in enumerate(values)]


def trade(pnl: str, opened: datetime = T0, closed: datetime | None = None) -> ClosedTrade:
    return ClosedTrade(Decimal(pnl), opened, closed or opened + timedelta(hours=1))


def four_day() -> PortfolioMetrics:
    return compute_metrics(daily("100", "110", "99", "108.9"), Decimal(100))


def test_compute_when_four_daily_points_then_every_curve_metric_matches_the_hand_computation() -> None:
    m = four_day()
    # daily returns vs the previous close, day 1 vs the starting balance: 100/100-1, 110/100-1, 99/110-1, 108.9/99-1
    returns = [0.0, 0.1, -0.1, 0.1]
    mean = 0.1 / 4  # 0.025
    # deviations -0.025, 0.075, -0.125, 0.075 -> squares 0.000625 + 0.005625 + 0.015625 + 0.005625 = 0.0275
    stdev = math.sqrt(0.0275 / 3)  # ddof = 1
    downside = math.sqrt(0.01 / 4)  # only -0.1 is below 0: sqrt(0.01 / 4 periods) = 0.05
    assert sum(returns) / 4 == approx(mean)
    assert m.days == 4
    assert m.start_equity == Decimal(100) and m.end_equity == Decimal("108.9")
    assert m.profit == Decimal("8.9")
    assert m.total_return == Decimal("0.089")  # 108.9 / 100 - 1, exact
    assert m.volatility == approx(stdev * SQRT_YEAR, rel=1e-12)  # 1.82916...
    assert m.sharpe == approx(0.025 / stdev * SQRT_YEAR, rel=1e-12)  # 4.98862...
    assert m.sortino == approx(0.025 / 0.05 * SQRT_YEAR, rel=1e-12)  # 0.5 * sqrt(365) = 9.55249...
    assert downside == approx(0.05)
    # geometric: growth 1.089 over 4 days
    assert m.roi_day == approx(1.089**0.25 - 1, rel=1e-12)  # 2.1544 %
    assert m.roi_week == approx(1.089 ** (7 / 4) - 1, rel=1e-12)
    assert m.roi_month == approx(1.089 ** (30 / 4) - 1, rel=1e-12)
    assert m.cagr == approx(1.089 ** (365 / 4) - 1, rel=1e-12)
    # deepest fall: 110 (day 2) -> 99 (day 3) = 11 / 110 = 0.1; 108.9 < 110, so it lasts to the end (day 4)
    assert m.max_drawdown == Decimal("0.1")
    assert m.max_drawdown_duration == timedelta(days=2)
    assert m.max_drawdown_recovered is False
    assert m.calmar == approx((1.089 ** (365 / 4) - 1) / 0.1, rel=1e-12)


def test_compute_when_several_points_a_day_and_a_gap_then_daily_closes_carry_and_drawdown_sees_every_point() -> None:
    day0 = datetime(2024, 3, 1, tzinfo=UTC)
    curve = [
        (day0 + timedelta(hours=10), Decimal(120)),
        (day0 + timedelta(hours=14), Decimal(90)),
        (day0 + timedelta(hours=23), Decimal(110)),  # day 0 closes at 110
        # day 1: nothing recorded -> close carried forward at 110
        (day0 + timedelta(days=2, hours=12), Decimal(121)),
    ]
    m = compute_metrics(curve, Decimal(100))
    # returns: 110/100-1 = 0.1, 110/110-1 = 0, 121/110-1 = 0.1; mean = 1/15
    # deviations 1/30, -1/15, 1/30 -> squares sum 6/900 -> sample variance (6/900)/2 = 1/300
    assert m.days == 3
    assert m.sharpe == approx((1 / 15) / math.sqrt(1 / 300) * SQRT_YEAR, rel=1e-12)  # sqrt(300*365)/15 = 22.06
    assert m.sortino is None  # no day lost: no downside, the ratio would be +inf
    # daily closes 110, 110, 121 never fall; the intraday points 120 -> 90 do: 30 / 120 = 0.25
    assert m.max_drawdown == Decimal("0.25")
    # peak at day 0 10:00, back at >= 120 on day 2 12:00 (121)
    assert m.max_drawdown_duration == timedelta(days=2, hours=2)
    assert m.max_drawdown_recovered is True
    assert m.total_return == Decimal("0.21")


def test_compute_when_the_curve_opens_below_the_starting_balance_then_that_loss_is_drawdown() -> None:
    m = compute_metrics(daily("90", "95"), Decimal(100))
    assert m.max_drawdown == Decimal("0.1")  # the starting balance 100 is the first peak: 10 / 100
    assert m.max_drawdown_duration == timedelta(days=1)  # from the first observation to the end
    assert m.max_drawdown_recovered is False
    assert m.total_return == Decimal("-0.05")
    # returns -0.1 and 95/90-1 = 1/18
    r = [-0.1, 1 / 18]
    mean = sum(r) / 2
    stdev = math.sqrt(sum((x - mean) ** 2 for x in r) / 1)
    assert m.sharpe == approx(mean / stdev * SQRT_YEAR, rel=1e-12)
    assert m.sortino == approx(mean / math.sqrt(0.01 / 2) * SQRT_YEAR, rel=1e-12)


def test_compute_when_times_carry_other_offsets_then_days_are_cut_at_utc_midnight() -> None:
    late_local = datetime(2024, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-2)))  # = 2 March 01:30 UTC
    m = compute_metrics([(T0, Decimal(110)), (late_local, Decimal(121))], Decimal(100))
    assert m.days == 2  # 1 March and 2 March UTC, although both are 1 March locally
    assert m.volatility == 0.0  # returns 0.1 and 0.1
    assert m.sharpe is None


def test_compute_when_one_point_then_growth_figures_exist_and_dispersion_figures_are_none() -> None:
    m = compute_metrics(daily("105"), Decimal(100))
    assert m.days == 1
    assert m.total_return == Decimal("0.05")
    assert m.roi_day == approx(0.05, rel=1e-12)
    assert m.roi_week == approx(1.05**7 - 1, rel=1e-12)
    assert m.cagr == approx(1.05**365 - 1, rel=1e-12)
    assert (m.volatility, m.sharpe, m.sortino) == (None, None, None)  # one return has no spread
    assert m.exposure is None  # a single instant has no duration


def test_compute_when_the_curve_is_empty_then_nothing_raises_and_figures_are_none_or_zero() -> None:
    m = compute_metrics([], Decimal(100))
    assert (m.start, m.end, m.days) == (None, None, 0)
    assert m.end_equity == Decimal(100) and m.profit == 0 and m.total_return == 0
    assert (m.cagr, m.roi_day, m.roi_week, m.roi_month) == (None, None, None, None)
    assert (m.volatility, m.sharpe, m.sortino, m.calmar, m.exposure) == (None, None, None, None, None)
    assert m.max_drawdown == 0 and m.max_drawdown_duration == timedelta(0) and m.max_drawdown_recovered


def test_compute_when_returns_are_constant_and_positive_then_sharpe_is_none_not_inf() -> None:
    m = compute_metrics(daily("110", "121"), Decimal(100))  # 0.1 and 0.1 exactly
    assert m.volatility == 0.0
    assert m.sharpe is None and m.sortino is None
    assert m.calmar is None  # no drawdown


def test_compute_when_equity_is_flat_then_ratios_are_none_and_growth_is_zero() -> None:
    m = compute_metrics(daily("100", "100", "100"), Decimal(100))
    assert m.cagr == 0.0 and m.roi_month == 0.0
    assert (m.sharpe, m.sortino, m.calmar) == (None, None, None)
    assert m.max_drawdown == 0


def test_compute_when_equity_reaches_zero_then_returns_after_it_are_left_out() -> None:
    m = compute_metrics(daily("50", "0", "0"), Decimal(100))
    # returns -0.5, -1 (0/50 - 1); 0/0 on day 3 is undefined and left out
    mean = -0.75
    stdev = math.sqrt((0.25**2 + 0.25**2) / 1)
    assert m.total_return == Decimal(-1)
    assert m.cagr == -1.0 and m.roi_day == -1.0  # 0 ** (365 / 3) - 1
    assert m.max_drawdown == Decimal(1)
    assert m.sharpe == approx(mean / stdev * SQRT_YEAR, rel=1e-12)
    assert m.sortino == approx(mean / math.sqrt((0.25 + 1) / 2) * SQRT_YEAR, rel=1e-12)


def test_compute_when_the_starting_balance_is_zero_then_return_figures_are_none() -> None:
    m = compute_metrics(daily("10", "12"), Decimal(0))
    assert m.total_return is None and m.cagr is None and m.roi_day is None
    assert m.max_drawdown == 0  # 10 becomes the first peak, 12 a new one
    assert m.volatility is None  # only 12/10 - 1 is defined


def test_compute_when_end_equity_is_negative_then_cagr_is_none() -> None:
    m = compute_metrics(daily("50", "-10"), Decimal(100))
    assert m.total_return == Decimal("-1.1")
    assert m.cagr is None and m.roi_week is None  # a negative growth factor has no real root
    assert m.max_drawdown == Decimal("1.1")  # (100 - -10) / 100: more than everything


def test_compute_when_growth_overflows_a_float_then_cagr_and_calmar_are_none() -> None:
    m = compute_metrics(daily("1", "10000000000", "9000000000"), Decimal(1))
    # (9e9) ** (365 / 3) overflows a float
    assert m.cagr is None and m.calmar is None
    assert m.roi_day == approx(9e9 ** (1 / 3) - 1, rel=1e-12)


def test_compute_when_trades_win_lose_and_break_even_then_trade_figures_match_by_hand() -> None:
    trades = [trade("30"), trade("-10"), trade("20"), trade("0"), trade("-20")]
    m = compute_metrics(daily("100"), Decimal(100), trades)
    assert (m.trades, m.wins, m.losses) == (5, 2, 2)  # the 0 is neither
    assert m.win_rate == Decimal("0.4")  # 2 / 5
    assert m.gross_profit == Decimal(50) and m.gross_loss == Decimal(-30)
    assert m.average_win == Decimal(25)  # 50 / 2
    assert m.average_loss == Decimal(-15)  # -30 / 2
    assert m.profit_factor == Decimal("1.666666666666666666666666667")  # 50 / 30, 28 significant digits
    assert m.expectancy == Decimal(4)  # (30 - 10 + 20 + 0 - 20) / 5


def test_compute_when_trade_pnls_need_more_than_28_digits_then_money_sums_stay_exact() -> None:
    big, tiny = Decimal("12345678901234567890.123456789012345678"), Decimal("0.000000000000000001")
    m = compute_metrics([], Decimal(100), [trade(str(big)), trade(str(tiny)), trade("-0.000000000000000003")])
    assert m.gross_profit == Decimal("12345678901234567890.123456789012345679")
    assert m.gross_loss == Decimal("-0.000000000000000003")


def test_compute_when_no_trade_lost_then_profit_factor_is_none_and_averages_of_wins_exist() -> None:
    m = compute_metrics(daily("100"), Decimal(100), [trade("5"), trade("7")])
    assert m.profit_factor is None  # undefined (no losses), reported as None rather than inf
    assert m.average_win == Decimal(6) and m.average_loss is None
    assert m.win_rate == Decimal(1)


def test_compute_when_there_are_no_trades_then_trade_figures_are_none() -> None:
    m = four_day()
    assert (m.trades, m.wins, m.losses) == (0, 0, 0)
    assert (m.win_rate, m.average_win, m.average_loss, m.profit_factor, m.expectancy) == (None,) * 5
    assert m.gross_profit == 0 and m.gross_loss == 0


def test_compute_when_trades_overlap_and_overhang_then_exposure_is_their_union_inside_the_curve() -> None:
    d0 = datetime(2024, 3, 1, tzinfo=UTC)
    curve = [(d0, Decimal(100)), (d0 + timedelta(days=1), Decimal(100)), (d0 + timedelta(days=2), Decimal(100))]
    trades = [
        ClosedTrade(Decimal(1), d0 - timedelta(hours=5), d0 + timedelta(hours=2)),  # 2 h inside
        ClosedTrade(Decimal(1), d0 + timedelta(hours=6), d0 + timedelta(hours=18)),
        ClosedTrade(Decimal(1), d0 + timedelta(hours=12), d0 + timedelta(hours=24)),  # overlaps: union 06-24
        ClosedTrade(Decimal(1), d0 + timedelta(hours=36), d0 + timedelta(hours=60)),  # 12 h inside
    ]
    m = compute_metrics(curve, Decimal(100), trades)
    assert m.exposure == (2 + 18 + 12) / 48  # 32 h of the 48 h span
    assert compute_metrics(curve, Decimal(100), trades, time_in_market=timedelta(hours=12)).exposure == 0.25
    assert compute_metrics(curve, Decimal(100), time_in_market=timedelta(hours=72)).exposure == 1.0


@pytest.mark.parametrize(
    ("curve", "trades", "time_in_market"),
    [
        ([(datetime(2024, 3, 1), Decimal(1))], [], None),  # naive time
        (daily("1", "2")[::-1], [], None),  # out of order
        ([(T0, Decimal("NaN"))], [], None),
        ([(T0, Decimal("Infinity"))], [], None),
        ([], [ClosedTrade(Decimal(1), T0, T0 - timedelta(seconds=1))], None),  # closed before opened
        ([], [ClosedTrade(Decimal("NaN"), T0, T0)], None),
        (daily("1", "2"), [], timedelta(hours=-1)),
    ],
)
def test_compute_when_the_contract_is_broken_then_value_error(
    curve: list[tuple[datetime, Decimal]], trades: list[ClosedTrade], time_in_market: timedelta | None
) -> None:
    with pytest.raises(ValueError):
        compute_metrics(curve, Decimal(100), trades, time_in_market)


def test_drawdown_series_when_given_a_curve_then_each_point_reads_its_fall_from_the_running_peak() -> None:
    series = drawdown_series(daily("100", "110", "99", "110", "121", "60.5"), Decimal(100))
    assert series == [0, 0, Decimal("0.1"), 0, 0, Decimal("0.5")]  # 11/110, 60.5/121


def test_drawdown_series_when_equal_values_written_differently_then_each_fall_keeps_its_own_exponent() -> None:
    # a flat run reuses its fall; the same value written with other digits, or under another peak, does not
    values = ("100", "90", "90.00", "90.00", "90", "100.0", "90.00", "95", "95")
    series = drawdown_series(daily(*values), Decimal(100))
    assert [str(fall) for fall in series] == ["0", "0.1", "0.10", "0.10", "0.1", "0", "0.1", "0.05", "0.05"]


def test_to_json_dict_when_dumped_then_json_safe_with_decimals_as_strings() -> None:
    data = four_day().to_json_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["total_return"] == "0.089"
    assert data["max_drawdown"] == "0.1"
    assert data["max_drawdown_duration_seconds"] == 172800.0
    assert data["start"] == "2024-03-01T12:00:00+00:00"
    assert data["win_rate"] is None and data["trades"] == 0
    assert data["sortino"] == approx(0.5 * SQRT_YEAR)


def test_lines_when_rendered_then_figures_read_as_short_text_with_na_for_undefined() -> None:
    lines = four_day().lines()
    assert lines[0] == "Equity 100.00 -> 108.90 (+8.90, +8.90%) over 4 days"
    assert "Sharpe 4.99 · Sortino 9.55" in lines[2]
    assert "Max drawdown 10.00% lasting 2d 0h 00m, not recovered" in lines
    assert "Trades 0 · win rate n/a · profit factor n/a" in lines
    assert all(len(line) < 120 for line in lines)
    empty = compute_metrics([], Decimal(0)).lines()
    assert "CAGR n/a · ROI/day n/a · week n/a · month n/a" in empty


def test_compute_metrics_when_given_the_drawdown_series_then_the_same_metrics_and_a_wrong_length_is_refused() -> None:
    curve = daily("100", "110", "99", "110", "121", "60.5", "70")
    falls = drawdown_series(curve, Decimal(100))
    trades = [trade("10"), trade("-49.5", T0 + timedelta(days=4))]

    assert compute_metrics(curve, Decimal(100), trades, drawdown=falls) == compute_metrics(curve, Decimal(100), trades)
    with pytest.raises(ValueError, match="6 falls for 7 equity points"):
        compute_metrics(curve, Decimal(100), trades, drawdown=falls[:-1])
